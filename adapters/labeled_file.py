"""Reading an export as a table of named columns for ``hotline-bot model evaluate`` and
``hotline-bot topics --file``: the same file types as the import (.csv in UTF-8, UTF-8-BOM or
GB18030, .xlsx, .xls), and .csv.gz; cells as text."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

from adapters.importer import (
    TEXT_SUFFIXES,
    WORKBOOK_SUFFIXES,
    UnreadableFile,
    _csv_rows,
    _decode,
    _workbook_rows,
    normalize_header,
)


class MissingColumn(ValueError):
    """A column named on the command line is not in the file's header."""


def read_table(path: Path) -> list[dict[str, str]]:
    """The rows of the file's first sheet (or of the CSV) as header → text, blank rows left out."""
    suffixes = [s.lower() for s in path.suffixes]
    if not path.is_file():
        raise UnreadableFile(f"找不到文件「{path}」。")
    if suffixes[-1:] == [".gz"]:
        text = _decode(gzip.decompress(path.read_bytes()))
        first = next((line for line in text.splitlines() if line.strip()), "")
        rows = iter(csv.reader(io.StringIO(text, newline=""), delimiter="\t" if "\t" in first else ","))
    elif suffixes[-1:] and suffixes[-1] in WORKBOOK_SUFFIXES:
        rows = _workbook_rows(path)[0]
    elif suffixes[-1:] and suffixes[-1] in TEXT_SUFFIXES:
        rows = _csv_rows(path)[0]
    else:
        raise UnreadableFile(f"文件「{path.name}」的类型不支持，请用 .csv、.csv.gz、.xlsx 或 .xls。")
    header: list[str] | None = None
    out: list[dict[str, str]] = []
    for row in rows:
        cells = ["" if v is None else str(v).strip() for v in row]
        if not any(cells):
            continue
        if header is None:
            header = [normalize_header(c) for c in cells]
            continue
        out.append(dict(zip(header, cells, strict=False)))
    return out


def columns(rows: list[dict[str, str]], names: list[str], path: Path) -> None:
    """Raise :class:`MissingColumn` naming each of ``names`` the table lacks."""
    have = set(rows[0]) if rows else set()
    missing = [n for n in names if normalize_header(n) not in have]
    if missing:
        raise MissingColumn(f"文件「{path.name}」没有列：{'、'.join(missing)}。"
                            f"现有列：{'、'.join(sorted(have)) or '（无）'}")


def text_of(row: dict[str, str], names: list[str]) -> str:
    """The named columns' texts joined by new lines (empty ones left out)."""
    return "\n".join(v for v in (row.get(normalize_header(n), "") for n in names) if v)
