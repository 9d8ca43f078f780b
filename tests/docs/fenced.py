"""Fenced code blocks of a Markdown page, with the line of prose that introduces each one.

Doc tests run or parse these blocks, so a page's examples are the code that is tested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^(`{3,})([\w+-]*)[^\n]*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: its language tag, its text, the prose line before it and its line number."""

    lang: str
    text: str
    label: str
    line: int


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path`` in page order; ``label`` is the last non-blank line before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    last_prose = ""
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            if lines[i].strip():
                last_prose = lines[i].strip()
            i += 1
            continue
        fence, lang, start = m.group(1), m.group(2), i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise AssertionError(f"{path.name}:{start + 1}: unclosed code fence")
        blocks.append(Block(lang, "\n".join(body) + "\n", last_prose, start + 1))
        last_prose = ""
        i += 1
    return blocks


def table_rows(path: Path, first_header: str) -> list[list[str]]:
    """The cells of the Markdown table whose header row starts with ``| first_header |``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines):
        if line.startswith(f"| {first_header} |"):
            rows = []
            for row in lines[n + 2:]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip().strip("|").split("|")])
            return rows
    raise AssertionError(f"{path.name}: no table headed '{first_header}'")
