"""Naming a unit: wherever a person or a file names a unit, its code or its name is accepted."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Protocol


class _NamedUnit(Protocol):
    code: str
    name: str


def _key(text: str) -> str:
    # Full-width spaces and surrounding blanks are how people type; the code/name itself is kept.
    return text.replace("\u3000", " ").strip()


def _folded(text: str) -> str:
    """The matching form: NFKC (ＭＺＪ is MZJ, （ is (), no spaces, case-folded."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def resolve_unit(units: Iterable[_NamedUnit], text: str | None) -> str | None:
    """The code of the unit named by ``text`` (its code, or its name), or ``None`` if none matches.

    A code wins over a name when both could match; names are compared exactly after trimming,
    then (when nothing matched) with full-width and half-width characters, spaces and letter
    case ignored, as long as that names one unit only.

    >>> from types import SimpleNamespace as U
    >>> units = [U(code="YLK", name="养老服务科"), U(code="ZJJ", name="区住建局（物业科）")]
    >>> resolve_unit(units, "养老服务科"), resolve_unit(units, "ｙｌｋ"), resolve_unit(units, "区住建局(物业科)")
    ('YLK', 'YLK', 'ZJJ')
    >>> resolve_unit(units, "民政局") is None
    True
    """
    if text is None:
        return None
    wanted = _key(text)
    if not wanted:
        return None
    listed = list(units)
    for unit in listed:
        if unit.code == wanted:
            return unit.code
    for unit in listed:
        if _key(unit.name) == wanted:
            return unit.code
    lowered = wanted.lower()
    for unit in listed:
        if unit.code.lower() == lowered:
            return unit.code
    folded = _folded(wanted)
    for attribute in ("code", "name"):
        found = {unit.code for unit in listed if _folded(getattr(unit, attribute)) == folded}
        if len(found) == 1:
            return found.pop()
    return None
