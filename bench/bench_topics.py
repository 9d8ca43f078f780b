"""Hot topics on public messages: the time to cluster 10,000 tickets, and the clusters of the
2,000 public messages for a reader to check (bench/README.md, "hot topics", says how).

    python bench/bench_topics.py --data labeled_2000.csv.gz [--runs 3] [--show 10]   (--runs 0: only the clusters to read)

10,000 tickets: the 2,000 messages five times, each copy edited (a sentence changed, clauses
reordered), so that the period holds repeated matters as a real week does. Target: ≤ 30 s.
Then the 2,000 alone: the top clusters with their label, size, 一级标签 purity and titles.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _labeled import HELP, load, text
from bench_similar import changed_sentence, reordered

from bot.reading.topics import TopicItem, topics


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", type=Path, required=True, help=HELP)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--show", type=int, default=10)
    args = p.parse_args()
    rows = load(args.data)
    rng = random.Random(1)
    many = [TopicItem(id=f"{k}-{i}", text=(reordered if k % 2 else changed_sentence)(text(r), rng))
            for k in range(5) for i, r in enumerate(rows)]
    import jieba

    jieba.initialize()
    times: list[float] = []
    cpus: list[float] = []
    for run in range(args.runs):
        start, cpu = time.perf_counter(), time.process_time()
        found = topics(many, top=50)
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
        print(f"run {run + 1}: {len(many)} tickets → {len(found)} topics shown in {times[-1]:.1f} s "
              f"({cpus[-1]:.1f} s CPU)", flush=True)
    if times:
        print(f"median of {args.runs}: {statistics.median(times):.1f} s wall, {statistics.median(cpus):.1f} s CPU "
              f"for {len(many)} tickets\n")
    items = [TopicItem(id=str(i), text=text(r)) for i, r in enumerate(rows)]
    found = topics(items, top=args.show)
    pure = 0
    for rank, t in enumerate(found, start=1):
        labels = Counter(rows[int(i)]["一级标签"] for i in t.ids)
        purity = labels.most_common(1)[0][1] / t.count
        pure += purity == 1.0
        print(f"{rank}. {t.label}  {t.count} 件  热度 {t.heat:.1f}  一级标签纯度 {purity:.2f}")
        for i in t.ids[:5]:
            print(f"     - {rows[int(i)]['留言主题'][:40]}")
    print(f"\n{pure} of {len(found)} shown topics hold one 一级标签 only")


if __name__ == "__main__":
    main()
