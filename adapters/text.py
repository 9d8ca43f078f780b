"""Splitting long texts for platforms whose limits count UTF-8 bytes (``docs/design.md``, platform adapters, rule 5)."""

from __future__ import annotations


def split_utf8(text: str, limit: int) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` UTF-8 bytes, at line boundaries when possible.

    A single line longer than the limit is cut between characters, never inside one.

    >>> split_utf8("甲\\n乙", 4)
    ['甲', '乙']
    """
    if limit < 4:
        raise ValueError("limit must hold at least one character (4 bytes)")
    if len(text.encode()) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        current = ""
        while len(line.encode()) > limit:
            cut = _cut_at(line, limit)
            parts.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        parts.append(current)
    return parts


def _cut_at(line: str, limit: int) -> int:
    """The largest character index whose prefix fits in ``limit`` bytes."""
    size = 0
    for i, ch in enumerate(line):
        size += len(ch.encode())
        if size > limit:
            return i
    return len(line)
