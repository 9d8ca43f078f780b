"""Naming a unit: wherever a person or a file names a unit, its code or its name is accepted."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class _NamedUnit(Protocol):
    code: str
    name: str


def _key(text: str) -> str:
    # Full-width spaces and surrounding blanks are how people type; the code/name itself is kept.
    return text.replace("\u3000", " ").strip()


def resolve_unit(units: Iterable[_NamedUnit], text: str | None) -> str | None:
    """The code of the unit named by ``text`` (its code, or its name), or ``None`` if none matches.

    A code wins over a name when both could match; names are compared exactly after trimming.
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
    return None
