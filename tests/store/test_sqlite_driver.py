"""The one-round-trip SQLite cursor behaves as the stock aiosqlite adapter does, in one hop."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from store.db import create_engine
from store.sqlite_driver import DRIVER


@pytest.fixture
async def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    e = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    async with e.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, n INTEGER)"))
    yield e
    await e.dispose()


async def test_sqlite_urls_get_the_one_hop_driver(engine) -> None:  # type: ignore[no-untyped-def]
    assert engine.dialect.driver == DRIVER and engine.dialect.name == "sqlite"


async def test_rows_counts_and_ids_as_the_stock_cursor_gives_them(engine) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        one = await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 1)"))
        assert one.lastrowid == 1 and one.rowcount == 1
        many = await conn.execute(text("INSERT INTO t (k, n) VALUES (:k, :n)"), [{"k": "b", "n": 2}, {"k": "c", "n": 3}])
        assert many.rowcount == 2
        returned = await conn.execute(text("INSERT INTO t (k, n) VALUES ('d', 4), ('e', 5) RETURNING k, n"))
        assert sorted(returned.all()) == [("d", 4), ("e", 5)]
        updated = await conn.execute(text("UPDATE t SET n = n + 10 WHERE n >= 3"))
        assert updated.rowcount == 3
        empty = await conn.execute(text("SELECT k FROM t WHERE n < 0"))
        assert list(empty.keys()) == ["k"] and empty.all() == []
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT k, n FROM t ORDER BY id"))).all() == [
            ("a", 1), ("b", 2), ("c", 13), ("d", 14), ("e", 15)]
        streamed = await conn.stream(text("SELECT k FROM t ORDER BY id"))  # server-side cursor
        assert [row.k async for row in streamed] == ["a", "b", "c", "d", "e"]


async def test_errors_map_to_sqlalchemy_and_roll_back(engine) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 1)"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('z', 9)"))
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 2)"))
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT k FROM t ORDER BY k"))).scalars().all() == ["a"]


async def test_a_statement_is_one_round_trip_to_the_sqlite_thread(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(getattr(fn, "__name__", "?"))
        return await real(self, fn, *args, **kwargs)

    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the connection is open before counting
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        result = await conn.execute(text("SELECT k FROM t"))
        assert result.all() == [] and len(calls) == 1
