"""Benchmark: one full scan (every ticket scan of the scheduler) over N open tickets.

Prints, per store and N: seconds and queries of the first scan (which queues the reminders owed)
and of a repeat scan (nothing new: the steady state every 15 minutes), medians of 3, and the ratio
between the largest and smallest N. Queries must not grow with N.

    python bench/bench_scan.py            # SQLite; PostgreSQL too when HOTLINE_TEST_PG_URL is set
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import timedelta
from pathlib import Path

from _store import NOW, QueryCounter, context, fill, fresh_pg, store_urls

from scheduler import scans

SCANS = (scans.dispatch_watch, scans.accept_watch, scans.first_contact, scans.deadline_ladder,
         scans.extension_window, scans.sensitive_duty, scans.sensitive_chase, scans.unit_digest)
SIZES = (10_000, 50_000, 100_000)


async def full_scan(ctx) -> int:
    total = 0
    for scan in SCANS:
        total += await scan(ctx, NOW)
    return total


async def one(label: str, url: str, n: int) -> dict[str, float]:
    drop = None
    if label == "postgresql":
        url, drop = await fresh_pg(url)
    ctx = await context(url)
    try:
        await fill(ctx, n, received_from=NOW - timedelta(days=40), received_days=40)
        counter = QueryCounter(ctx)
        t0 = time.perf_counter()
        queued = await full_scan(ctx)
        cold, cold_q = time.perf_counter() - t0, counter.take()
        times, queries = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            assert await full_scan(ctx) == 0
            times.append(time.perf_counter() - t0)
            queries.append(counter.take())
        return {"queued": queued, "cold_s": cold, "cold_q": cold_q,
                "steady_s": statistics.median(times), "steady_q": statistics.median(queries)}
    finally:
        await ctx.engine.dispose()
        if drop:
            await drop()
        elif url.startswith("sqlite"):  # 100,000 tickets plus their reminders: ~130 MB per size
            for path in Path(url.partition("///")[2]).parent.glob(Path(url).name + "*"):
                path.unlink()


async def main() -> None:
    for label, url in store_urls():
        results = {}
        for n in SIZES:
            r = results[n] = await one(label, url if label == "postgresql" else url.replace("bench.db", f"b{n}.db"), n)
            print(f"{label:10s} N={n:>7,d}  first scan {r['cold_s']:.3f} s / {r['cold_q']:.0f} queries "
                  f"({r['queued']:.0f} reminders queued)  repeat scan {r['steady_s']:.3f} s / {r['steady_q']:.0f} queries")
        lo, hi = results[SIZES[0]], results[SIZES[-1]]
        print(f"{label:10s} ratio N={SIZES[-1]:,}/N={SIZES[0]:,}: repeat time x{hi['steady_s'] / lo['steady_s']:.1f}, "
              f"repeat queries x{hi['steady_q'] / lo['steady_q']:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
