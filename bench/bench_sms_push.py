"""SMS push benchmark (issue 14, root cause 13): one provider push of N items (half delivery
receipts for answers we sent, half citizen replies from those numbers) posted to
``/webhooks/sms/log`` of the real app on a fresh store. Reported: the time the push takes and how
many SQL statements it sends (the push is one transaction; before batching every item cost
several statements). Medians of ``--runs``, each on a fresh store.

Usage: ``HOTLINE_TEST_PG_URL=postgresql+asyncpg://… python bench/bench_sms_push.py [--items 3000] [--runs 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert

from bench._store import NOW, QueryCounter, fresh_pg, store_urls
from bot.app import create_app
from bot.clock import FrozenClock
from bot.config import parse_config
from bot.context import CTX
from store.models import SmsMessage

TOKEN = "bench-token"


def _config(url: str) -> Any:
    units = [{"code": "OFFICE", "name": "办公室", "chats": [{"platform": "console", "chat_id": "office"}]}]
    people = [{"name": "办公室", "roles": [{"unit": "OFFICE", "role": "office"}]}]
    return parse_config({"store": {"url": url}, "intake": {"secret": "x"}, "api": {"tokens": ["t"]},
                         "units": units, "people": people, "procedure": {"preset": "songjiang"},
                         "scheduler": {"enabled": False}, "sms": {"provider": "log", "callback_token": TOKEN}})


def _push(n: int) -> bytes:
    half = n // 2
    items: list[dict[str, Any]] = [{"provider_id": f"P{i:06d}", "phone": f"139{i:08d}", "delivered": True}
                                   for i in range(half)]
    items += [{"phone": f"139{i:08d}", "text": "满意" if i % 2 else "谢谢，已解决",
               "at": (NOW + timedelta(minutes=5)).isoformat()} for i in range(n - half)]
    return json.dumps(items, ensure_ascii=False).encode()


async def one_run(url: str, n: int) -> tuple[float, int, int]:
    client = TestClient(TestServer(create_app(_config(url), clock=FrozenClock(NOW), with_background=False)))
    await client.start_server()
    try:
        ctx = client.app[CTX]  # type: ignore[index]
        rows = [{"phone": f"139{i:08d}", "kind": "answer", "params": {}, "text": "", "provider": "log",
                 "out_id": f"bench-{i}", "provider_id": f"P{i:06d}", "state": "sent", "segments": 1,
                 "created_at": NOW, "updated_at": NOW} for i in range(n)]
        async with ctx.sessions.begin() as s:
            for i in range(0, n, 2000):
                await s.execute(insert(SmsMessage), rows[i:i + 2000])
        body = _push(n)
        counter = QueryCounter(ctx)
        started = time.perf_counter()
        r = await client.post(f"/webhooks/sms/log?token={TOKEN}", data=body,
                              headers={"Content-Type": "application/json"})
        elapsed = time.perf_counter() - started
        assert r.status == 200, await r.text()
        return elapsed, counter.n, r.status
    finally:
        await client.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for label, base in store_urls():
        times, statements = [], []
        for _ in range(args.runs):
            if label == "postgresql":
                url, drop = await fresh_pg(base)
            else:
                url, drop = store_urls()[0][1], None
            try:
                elapsed, n_sql, _ = await one_run(url, args.items)
            finally:
                if drop is not None:
                    await drop()
            times.append(elapsed)
            statements.append(n_sql)
        print(f"{label}: {args.items} items: {statistics.median(times):.2f} s "
              f"(runs {', '.join(f'{t:.2f}' for t in times)}), {statistics.median(statements):.0f} statements")


if __name__ == "__main__":
    asyncio.run(main())
