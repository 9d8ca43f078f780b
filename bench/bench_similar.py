"""Near-duplicate 重复件 on public messages: recall on pairs made by the edits people make, precision
against a citizen's other matters, and the time of one comparison.

    python bench/bench_similar.py --data labeled_2000.csv.gz [--threshold 0.6]

Positives: each message against an edited copy (punctuation and spaces; a changed sentence;
reordered clauses; traditional characters; all of these). Negatives: each message against 5 other
messages of the same 一级标签 (the hardest kind of "another matter of the same citizen").
Targets: recall ≥ 0.95, precision ≥ 0.95, lookup ≤ 2 ms p50. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import functools
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _labeled import HELP, load, text

from bot import plugins  # noqa: F401  (the config needs the registered SMS providers)
from bot.config import IntelligenceConfig
from bot.reading.similar import fingerprint, similarity

FILLER = "我多次反映都没有人处理，希望有关部门高度重视"


def sentences(t: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！？!?；;])", t) if s.strip()]


def punctuation(t: str, rng: random.Random) -> str:
    t = t.replace("。", "！", 2).replace("，", " ,", 3)
    return t + rng.choice(["  ", "！！", "。。", "\n"])


def changed_sentence(t: str, rng: random.Random) -> str:
    parts = sentences(t)
    if len(parts) < 3:
        return t + FILLER + "。"
    parts[rng.randrange(len(parts))] = FILLER + "。"
    return "".join(parts)


def reordered(t: str, rng: random.Random) -> str:
    parts = sentences(t)
    rng.shuffle(parts)
    return "".join(parts)


@functools.lru_cache(maxsize=1)
def _s2t():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("s2t")


def traditional(t: str, rng: random.Random) -> str:
    return _s2t().convert(t)


EDITS = {"punctuation": punctuation, "changed sentence": changed_sentence, "reordered": reordered,
         "traditional": traditional,
         "all": lambda t, r: traditional(reordered(changed_sentence(punctuation(t, r), r), r), r)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", type=Path, required=True, help=HELP)
    p.add_argument("--threshold", type=float, default=IntelligenceConfig().near_duplicate_similarity)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    rows = load(args.data)
    rng = random.Random(1)
    texts = [text(r) for r in rows]
    by_label: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_label.setdefault(r["一级标签"], []).append(i)
    for name, edit in EDITS.items():
        hits = sum(similarity(t, edit(t, rng)) >= args.threshold for t in texts)
        print(f"recall, {name}: {hits / len(texts):.4f}")
    positives = sum(similarity(t, EDITS["all"](t, rng)) >= args.threshold for t in texts)
    pos_pairs = [(t, edit(t, rng)) for t in texts for edit in EDITS.values()]
    tp = sum(similarity(a, b) >= args.threshold for a, b in pos_pairs)
    neg_pairs = [(texts[i], texts[j]) for label, idx in by_label.items() for i in idx
                 for j in rng.sample([k for k in idx if k != i], 5)]
    fp = sum(similarity(a, b) >= args.threshold for a, b in neg_pairs)
    print(f"pairs: {len(pos_pairs)} edited, {len(neg_pairs)} other matters; all edits at once {positives / len(texts):.4f}")
    print(f"recall {tp / len(pos_pairs):.4f}, precision {tp / (tp + fp):.4f} "
          f"(false matches {fp} of {len(neg_pairs)} other matters)")
    runs = []
    for _ in range(args.runs):
        fingerprint.cache_clear()
        times = []
        for i in range(0, len(texts), 4):  # a new ticket against 5 earlier ones of its citizen, cold cache
            new = EDITS["changed sentence"](texts[i], rng)
            start = time.perf_counter()
            for j in range(5):
                similarity(texts[(i + j) % len(texts)], new)
            times.append((time.perf_counter() - start) * 1000)
        runs.append(statistics.median(times))
    print(f"one lookup (new ticket vs 5 earlier, cold): p50 {statistics.median(runs):.3f} ms (median of {args.runs})")


if __name__ == "__main__":
    main()
