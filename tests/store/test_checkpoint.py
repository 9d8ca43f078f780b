"""WAL checkpoints run beside the writer, not inside its commits."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from store.checkpoint import SAFETY_NET_PAGES, WalCheckpointer
from store.db import create_engine, sqlite_file


async def test_commits_leave_checkpoints_to_the_checkpointer(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    database = sqlite_file(engine)
    assert database == str(tmp_path / "w.db")
    checkpointer = WalCheckpointer(database, interval=0.05)
    try:
        async with engine.begin() as conn:
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one() == SAFETY_NET_PAGES
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        for _ in range(30):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "x" * 2000}] * 20)
        wal = tmp_path / "w.db-wal"
        grown = wal.stat().st_size
        assert grown > 1_000_000  # 600 rows of 2 kB and no checkpoint in the commits
        busy, frames, done = checkpointer.checkpoint()
        assert busy == 0 and frames > 0 and done == frames  # everything copied into the database
        checkpointer.start()
        async with engine.begin() as conn:  # the next writer starts the WAL over
            await conn.execute(text("INSERT INTO t (v) VALUES ('y')"))
        await asyncio.sleep(0.2)
        _, frames_after, _ = checkpointer.checkpoint()
        assert frames_after < frames
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 601
    finally:
        await checkpointer.stop()
        await engine.dispose()


def test_no_checkpointer_for_memory_or_postgres() -> None:
    assert sqlite_file(create_engine("sqlite+aiosqlite:///:memory:")) is None
    assert sqlite_file(create_engine("postgresql+asyncpg://u@127.0.0.1:5432/x")) is None


async def test_stopping_waits_for_a_checkpoint_in_flight(tmp_path: Path) -> None:
    """Stop while checkpoints run on worker threads: nothing crashes, none runs after stop."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (v TEXT)"))
            await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "x" * 4000}] * 500)
        for _ in range(20):
            checkpointer = WalCheckpointer(str(tmp_path / "s.db"), interval=0)
            checkpointer.start()
            running = [asyncio.create_task(asyncio.to_thread(checkpointer.checkpoint)) for _ in range(3)]
            await asyncio.sleep(0)
            await checkpointer.stop()
            await asyncio.gather(*running)
            assert checkpointer.checkpoint() == (0, 0, 0)
    finally:
        await engine.dispose()
