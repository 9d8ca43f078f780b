"""Import benchmark: 10,000 rows of an .xlsx export through ``adapters.importing`` into a fresh SQLite store.

    python bench/bench_import.py [--rows 10000]

Builds the workbook first (not timed), then times the import (created) and a second import of the
same file (all duplicate). Target on this 2-core machine: 10,000 rows ≤ 5 s. Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import Workbook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.importing import run_import  # noqa: E402
from bot.config import parse_config  # noqa: E402

HEADER = ["工单编号", "来电人", "联系电话", "诉求内容", "工单类型", "登记时间", "限办时间", "标签"]
KINDS = ["投诉", "求助", "咨询", "建议", "举报"]


def build_xlsx(path: Path, rows: int) -> None:
    """A plausible export: distinct numbers, citizens and words; every 7th has the hotline's deadline."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(HEADER)
    start = datetime(2026, 11, 2, 8, 30)
    for i in range(rows):
        received = start + timedelta(minutes=3 * i)
        ws.append([f"2026{i:08d}", f"市民{i % 997}", f"139{i:08d}", f"第{i}件：小区路灯损坏，夜间出行不便，请尽快修复。",
                   KINDS[i % len(KINDS)], received, received + timedelta(days=10) if i % 7 == 0 else None,
                   "扬言" if i % 50 == 0 else ""])
    wb.save(path)


def config(tmp: Path) -> object:
    return parse_config({
        "store": {"url": f"sqlite+aiosqlite:///{tmp / 'import.db'}"},
        "intake": {"secret": "bench"}, "api": {"tokens": ["bench"]},
        "units": [{"code": "YLK", "name": "养老服务科"}],
        "scheduler": {"enabled": False},
    })


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        xlsx = tmp / "export.xlsx"
        t0 = time.perf_counter()
        build_xlsx(xlsx, args.rows)
        built = time.perf_counter() - t0
        cfg = config(tmp)
        t0 = time.perf_counter()
        first = asyncio.run(run_import(cfg, xlsx))  # type: ignore[arg-type]
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        second = asyncio.run(run_import(cfg, xlsx))  # type: ignore[arg-type]
        t_second = time.perf_counter() - t0
    print(f"import benchmark: {args.rows} rows (.xlsx built in {built:.1f} s, not timed)")
    print(f"first import   {t_first:6.2f} s  {args.rows / t_first:8.0f} rows/s  "
          f"created {first.created}, duplicate {first.duplicate}, rejected {first.rejected}")
    print(f"second import  {t_second:6.2f} s  {args.rows / t_second:8.0f} rows/s  "
          f"created {second.created}, duplicate {second.duplicate}, rejected {second.rejected}")
    print(f"target ≤ 5 s for 10,000 rows: {'met' if t_first <= 5 * args.rows / 10_000 else 'MISSED'}")


if __name__ == "__main__":
    main()
