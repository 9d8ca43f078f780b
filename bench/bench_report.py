"""Benchmark: the monthly report (figures, ranking, 3-month bottom 3, .xlsx and .png) for a month
of N tickets. Prints medians of 3 runs per N and the ratio between the largest and smallest N.

    python bench/bench_report.py          # SQLite; PostgreSQL too when HOTLINE_TEST_PG_URL is set
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from _store import NOW, TZ, QueryCounter, context, fill, fresh_pg, store_urls

from scheduler import reports

SIZES = (10_000, 100_000)


async def one(label: str, url: str, n: int) -> tuple[float, float, int]:
    drop = None
    if label == "postgresql":
        url, drop = await fresh_pg(url)
    ctx = await context(url)
    try:
        await fill(ctx, n, received_from=datetime(2026, 11, 1, tzinfo=TZ), received_days=30)
        names = {c: u.name for c, u in ctx.directory.units.items()}
        counter = QueryCounter(ctx)
        figures, files = [], []
        out = Path(tempfile.mkdtemp(prefix="hotline-report-"))
        for _ in range(3):
            t0 = time.perf_counter()
            async with ctx.sessions() as s:
                report = await reports.build_report(s, ctx.calendar, names, "2026-11", NOW)
            t1 = time.perf_counter()
            await asyncio.to_thread(reports.write_files, report, out)
            figures.append(t1 - t0)
            files.append(time.perf_counter() - t1)
        return statistics.median(figures), statistics.median(files), counter.take() // 3
    finally:
        await ctx.engine.dispose()
        if drop:
            await drop()


async def main() -> None:
    for label, url in store_urls():
        res = {}
        for n in SIZES:
            u = url if label == "postgresql" else url.replace("bench.db", f"r{n}.db")
            fig, files, q = res[n] = await one(label, u, n)
            print(f"{label:10s} N={n:>7,d}  figures {fig:.3f} s ({q} queries)  files {files:.3f} s  "
                  f"total {fig + files:.3f} s")
        print(f"{label:10s} ratio N={SIZES[-1]:,}/N={SIZES[0]:,}: figures x{res[SIZES[-1]][0] / res[SIZES[0]][0]:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
