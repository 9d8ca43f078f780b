"""Shared set-up of the scheduler benchmarks: a bot context on a fresh store filled with N tickets
by bulk insert (the service would take minutes for 100,000), and a query counter."""

from __future__ import annotations

import os
import random
import sys
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert

from bot.bootstrap import build_context, prepare_store
from bot.clock import FrozenClock
from bot.config import parse_config
from bot.context import BotContext
from store.models import Ticket

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
UNITS = [f"U{i:02d}" for i in range(20)]


def config(url: str) -> Any:
    people = [{"name": "办公室", "roles": [{"unit": "OFFICE", "role": "office"}]}]
    for u in UNITS:
        people.append({"name": f"{u}领导", "roles": [{"unit": u, "role": "leader"}]})
        people += [{"name": f"{u}承办{j}", "roles": [{"unit": u, "role": "handler"}]} for j in range(3)]
    units = [{"code": "OFFICE", "name": "办公室", "chats": [{"platform": "console", "chat_id": "office"}]}]
    units += [{"code": u, "name": f"单位{u}", "parent": "OFFICE", "chats": [{"platform": "console", "chat_id": u}]}
              for u in UNITS]
    return parse_config({"store": {"url": url}, "intake": {"secret": "x"}, "api": {"tokens": ["t"]},
                         "units": units, "people": people, "procedure": {"preset": "songjiang"},
                         "scheduler": {"enabled": False}})


def store_urls() -> list[tuple[str, str]]:
    """(label, url) for SQLite and, when HOTLINE_TEST_PG_URL is set, a fresh PostgreSQL database."""
    urls = [("sqlite", f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='hotline-bench-')}/bench.db")]
    if os.environ.get("HOTLINE_TEST_PG_URL"):
        urls.append(("postgresql", os.environ["HOTLINE_TEST_PG_URL"]))
    return urls


async def fresh_pg(url: str) -> tuple[str, Any]:
    import asyncpg

    base = url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(base)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()

    async def drop() -> None:
        c = await asyncpg.connect(base)
        await c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await c.close()
    return url.rpartition("/")[0] + "/" + name, drop


async def context(url: str) -> BotContext:
    ctx = build_context(config(url), FrozenClock(NOW))
    await prepare_store(ctx)
    return ctx


async def fill(ctx: BotContext, n: int, *, received_from: datetime, received_days: int, seed: int = 7) -> None:
    """``n`` tickets: mostly accepted, some dispatched or registered, deadlines around NOW."""
    rnd = random.Random(seed)
    handlers = {u: [p.id for p in ctx.directory.members(u, "handler")] for u in UNITS}
    rows = []
    for i in range(n):
        unit = rnd.choice(UNITS)
        received = received_from + timedelta(minutes=rnd.randrange(received_days * 24 * 60))
        state = rnd.choices(["accepted", "dispatched", "registered", "answered", "archived"], [70, 10, 2, 10, 8])[0]
        deadline = NOW + timedelta(hours=rnd.randrange(-10 * 24, 30 * 24))
        answered = deadline - timedelta(hours=rnd.randrange(-48, 96)) if state in ("answered", "archived") else None
        tags = rnd.choices([[], ["涉稳"], ["扬言"], ["紧急"], ["咨询"]], [90, 3, 2, 2, 3])[0]
        rows.append({
            "source": "12345", "number": f"B{i:08d}", "content_hash": "x", "received_at": received,
            "content": "诉求", "kind": rnd.choice(["求助", "投诉", "咨询", "建议"]), "tags": tags,
            "state": state, "unit_code": None if state == "registered" else unit,
            "handler_id": rnd.choice(handlers[unit]) if state in ("accepted", "answered", "archived") else None,
            "rule": "songjiang-普通", "deadline": deadline, "internal_due": deadline - timedelta(days=1),
            "first_contact_due": received + timedelta(days=1), "progress": "daily" if tags[:1] in (["涉稳"], ["扬言"]) else None,
            "dispatched_at": None if state == "registered" else received,
            "accepted_at": received + timedelta(hours=rnd.randrange(1, 40)) if state != "registered" and state != "dispatched" else None,
            "first_contact_at": received + timedelta(hours=3) if rnd.random() < 0.8 else None,
            "answered_at": answered, "feedback": rnd.choice(["满意", "不满意", "认可", None]) if answered else None,
            "extensions_granted": 1 if rnd.random() < 0.05 else 0,
            "created_at": received, "updated_at": received,
        })
    async with ctx.sessions.begin() as s:
        for i in range(0, n, 2000):
            await s.execute(insert(Ticket), rows[i:i + 2000])


class QueryCounter:
    """Counts statements sent to the database (executemany counts once)."""

    def __init__(self, ctx: BotContext) -> None:
        self.n = 0
        event.listen(ctx.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *args: Any) -> None:
        self.n += 1

    def take(self) -> int:
        n, self.n = self.n, 0
        return n
