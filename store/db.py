"""Engine and session factory for SQLite (WAL) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from store import sqlite_driver
from store.checkpoint import SAFETY_NET_PAGES

# Driver loggers whose DEBUG lines carry every statement's parameters (citizens' phone numbers):
# held at INFO even when the bot runs verbose, so no log line at any level shows a full number.
PARAMETER_LOGGERS = ("aiosqlite", "asyncpg")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and foreign keys."""
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    u = make_url(url)
    # An error's text would otherwise quote the statement's parameters (a citizen's phone number)
    # into every traceback the bot logs; ``echo`` is asked for by an operator reading statements.
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": not echo}
    if u.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30}
        if u.database and u.database != ":memory:":
            # SQLite has one writer at a time. Concurrent transactions on several connections wait
            # for its lock in the busy handler, which sleeps in steps of up to 100 ms (intake fell
            # to ~30 tickets/s at 32 clients). One connection makes them queue in the pool
            # instead, which is fair and costs no sleep. A session must not open a second one
            # while it holds the connection: that waits ``pool_timeout`` and fails loudly.
            kwargs.update(poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0, pool_timeout=30)
    else:
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    if u.drivername == "sqlite+aiosqlite":  # the same driver, one thread round trip a statement
        u = u.set(drivername=f"sqlite+{sqlite_driver.DRIVER}")
    engine = create_async_engine(u, **kwargs)
    if u.get_backend_name() == "sqlite":
        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if u.database and u.database != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")  # see store.checkpoint
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            # Take transactions over from the driver so that every one starts with BEGIN IMMEDIATE:
            # a deferred transaction that reads, then writes, fails at once with "database is
            # locked" when another connection wrote meanwhile (WAL snapshot); an immediate one
            # waits for the busy timeout instead. This also makes SAVEPOINTs behave.
            dbapi_conn.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    return engine


def sqlite_file(engine: AsyncEngine) -> str | None:
    """The database file of a SQLite store, or None (PostgreSQL, in-memory SQLite)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return url.database


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """One session per unit of work; objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine: AsyncEngine) -> bool:
    """Whether the store is PostgreSQL (advisory locks, SKIP LOCKED)."""
    return engine.dialect.name == "postgresql"


def is_store_down(exc: BaseException) -> bool:
    """Whether ``exc`` says the store could not be reached (connection lost or refused, pool
    exhausted, database locked) rather than that a statement was wrong: worth a retry later."""
    if isinstance(exc, (OSError, TimeoutError, sa_exc.TimeoutError, sa_exc.OperationalError,
                        sa_exc.InterfaceError, sqlite3.OperationalError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and type(cause).__module__.startswith("asyncpg") \
        and type(cause).__name__ in _ASYNCPG_DOWN


_ASYNCPG_DOWN = frozenset({"ConnectionDoesNotExistError", "ConnectionFailureError", "CannotConnectNowError",
                           "AdminShutdownError", "CrashShutdownError", "TooManyConnectionsError"})


async def ping(engine: AsyncEngine) -> bool:
    """True when the store answers a trivial query."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
