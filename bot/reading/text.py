"""Text folding shared by the readers: one form for traditional and simplified characters,
full- and half-width, punctuation and spaces, so that edits people make do not change a text's
fingerprint."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
# characters typed for another that looks the same, which neither NFKC nor OpenCC folds:
# 巿 (fú, U+5DFF) for 市 in 「巿政道路」「张巿长」, seen in citizens' messages
_LOOK_ALIKES = {ord("巿"): "市"}


@lru_cache(maxsize=1)
def _t2s() -> dict[int, str]:
    """Traditional → simplified, character by character, from OpenCC's own table (the package's
    phrase-level converter costs ~2 ms a ticket; one ``str.translate`` costs microseconds, and a
    similarity needs no phrase-level choices)."""
    import opencc

    table: dict[int, str] = {}
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        source, _, targets = line.partition("\t")
        if len(source) == 1 and targets:
            table[ord(source)] = targets.split()[0]
    table.update(_LOOK_ALIKES)
    return table


def fold(text: str) -> str:
    """``text`` in simplified characters, NFKC (full-width → half-width), lower case."""
    return unicodedata.normalize("NFKC", text).translate(_t2s()).lower()


def letters(text: str) -> str:
    """:func:`fold`, then without punctuation and spaces: what the similarity compares."""
    return _NOT_WORD.sub("", fold(text))


def shingles(text: str, n: int = 3) -> frozenset[str]:
    """The character ``n``-grams of :func:`letters` (the whole text when shorter)."""
    core = letters(text)
    if len(core) <= n:
        return frozenset({core}) if core else frozenset()
    return frozenset(core[i:i + n] for i in range(len(core) - n + 1))
