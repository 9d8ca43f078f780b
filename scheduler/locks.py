"""One job run at a time across bot instances: a PostgreSQL advisory lock per job.

On SQLite (one process owns the file) the lock is a no-op. The notification ledger's unique key
is what guarantees "sent once"; the lock only saves a second instance the work of a duplicate run.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import is_postgres


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL advisory locks take a bigint)."""
    digest = hashlib.blake2b(f"hotline-job:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@asynccontextmanager
async def job_lock(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Try to take the job's lock; yields whether we hold it (always True on SQLite)."""
    if not is_postgres(engine):
        yield True
        return
    key = lock_key(name)
    async with engine.connect() as conn:
        got = bool(await conn.scalar(select(func.pg_try_advisory_lock(key))))
        await conn.commit()
        try:
            yield got
        finally:
            if got:
                await conn.execute(select(func.pg_advisory_unlock(key)))
                await conn.commit()
