"""store.bulk.insert_rows stores exactly what SQLAlchemy's own INSERT stores, on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from store.bulk import SQLITE_MAX_VARIABLES, insert_rows
from store.db import create_engine
from store.migrate import upgrade
from store.models import Ticket, twin_key


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated store (SQLite or PostgreSQL) for one test."""
    e = create_engine(store_url)
    await upgrade(e)
    yield e
    await e.dispose()


def _row(number: str, **extra: Any) -> dict[str, Any]:
    at = datetime(2026, 11, 23, 9, 30, 15, 120000, tzinfo=timezone(timedelta(hours=8)))
    return {"source": "12345", "number": number, "content_hash": "h" + number, "received_at": at,
            "content": "路灯不亮，夜里看不清路", "tags": ["涉稳", "重复件"], "citizen_phone": "13800000000",
            "deadline": at + timedelta(days=3), "created_at": at, "updated_at": at, **extra}


async def test_rows_match_sqlalchemys_insert_and_conflicts_are_skipped(engine: AsyncEngine) -> None:
    table = Ticket.__table__
    async with engine.begin() as conn:
        await conn.execute(insert(table), [_row("SA-1")])
        returned = await insert_rows(conn, table, [_row("FAST-1"), _row("FAST-2"), _row("SA-1")],
                                     returning=("id", "number"), skip_conflicts_on=("source", "number"))
    assert sorted(n for _, n in returned) == ["FAST-1", "FAST-2"]  # SA-1 was already there
    async with engine.connect() as conn:
        raw = {r["number"]: dict(r) for r in (await conn.execute(text("SELECT * FROM tickets"))).mappings()}
        typed = (await conn.execute(select(Ticket.tags, Ticket.received_at, Ticket.state, Ticket.round,
                                           Ticket.urge_count, Ticket.twin_key)
                                    .where(Ticket.number == "FAST-1"))).one()
    assert len(raw) == 3
    ours, theirs = raw["FAST-1"], raw["SA-1"]
    different = {"id", "number", "content_hash"}
    assert {k: v for k, v in ours.items() if k not in different} == \
           {k: v for k, v in theirs.items() if k not in different}
    # the client-side defaults were applied: plain values, callables and context-sensitive ones
    assert typed.tags == ["涉稳", "重复件"] and typed.state == "registered" and typed.round == 1
    assert typed.urge_count == 0 and typed.twin_key == twin_key("13800000000", "路灯不亮，夜里看不清路")
    assert typed.received_at == datetime(2026, 11, 23, 1, 30, 15, 120000, tzinfo=UTC)


async def test_a_failing_batch_writes_nothing(engine: AsyncEngine) -> None:
    with pytest.raises(Exception, match=r"(?i)unique"):  # the driver's or SQLAlchemy's IntegrityError
        async with engine.begin() as conn:
            await insert_rows(conn, Ticket.__table__, [_row("A-1"), _row("A-2"), _row("A-1")])  # no ON CONFLICT
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM tickets"))).scalar_one() == 0


async def test_a_batch_larger_than_one_statement_takes_is_split(engine: AsyncEngine) -> None:
    n = SQLITE_MAX_VARIABLES // len(_row("X")) * 2 + 7  # three statements on SQLite
    async with engine.begin() as conn:
        returned = await insert_rows(conn, Ticket.__table__, [_row(f"N{i}") for i in range(n)],
                                     returning=("number",))
    assert sorted(r[0] for r in returned) == sorted(f"N{i}" for i in range(n))
