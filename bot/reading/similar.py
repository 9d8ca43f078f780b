"""Near-duplicate texts (重复件 that are 基本一致): the share of character bigrams two texts have
in common, after folding traditional/simplified, width, case, punctuation and spaces.

The share is taken of the shorter text (containment): an added or changed sentence, reordered
clauses or a trailing ``！`` keep most of a text's bigrams, while two matters raised by the same
citizen share few. Measured in ``bench/bench_similar.py``."""

from __future__ import annotations

from functools import lru_cache

from bot.reading.text import shingles

N = 2


@lru_cache(maxsize=4096)
def fingerprint(text: str) -> frozenset[str]:
    """The character bigrams of ``text`` after folding (cached: a text is compared many times)."""
    return shingles(text, N)


def similarity(a: str, b: str) -> float:
    """0–1: how much of the shorter text's bigrams the other one has too."""
    fa, fb = fingerprint(a), fingerprint(b)
    if not fa or not fb:
        return 1.0 if fa == fb else 0.0
    return len(fa & fb) / min(len(fa), len(fb))
