"""The public labelled messages the reading benchmarks use (never copied into the repository)."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

HELP = "labeled_2000.csv.gz: the public 2,000 labelled messages (kept outside the repository)"


def load(path: Path) -> list[dict[str, str]]:
    """The rows of the .csv.gz file."""
    return list(csv.DictReader(io.StringIO(gzip.decompress(path.read_bytes()).decode("utf-8-sig"))))


def text(row: dict[str, str]) -> str:
    """Title and detail, as ``model evaluate --text-columns 留言主题,留言详情`` joins them."""
    return "\n".join(v for v in (row["留言主题"], row["留言详情"]) if v)
