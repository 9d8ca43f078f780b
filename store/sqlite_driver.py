"""SQLAlchemy's aiosqlite dialect with one worker-thread round trip per statement.

aiosqlite runs each call on its connection's own thread, and SQLAlchemy's cursor adapter makes
four calls per statement: create the cursor, execute, fetch all rows, close. Each is a round trip
between the event loop and that thread (a queue put, a wake-up through the loop's self-pipe, a
future), about 0.1 ms of the loop's CPU, so a small statement cost ~0.4 ms of it. The cursor here
does the four in one call on the worker thread; everything else (pool, dialect, transactions,
errors) is SQLAlchemy's. Server-side cursors (``stream()``) keep the stock adapter.

Used for every ``sqlite+aiosqlite`` URL by :func:`store.db.create_engine`.
"""

from __future__ import annotations

import collections
import sqlite3
from threading import Thread
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

DRIVER = "aiosqlite_onehop"

Outcome = tuple[Any, list[Any], int, int | None]


def _run(conn: sqlite3.Connection, many: bool, operation: str, parameters: Any) -> Outcome:
    """On the worker thread: execute, fetch everything, close; what the cursor must remember."""
    cur = conn.cursor()
    try:
        if many:
            cur.executemany(operation, parameters)
        elif parameters is None:
            cur.execute(operation)
        else:
            cur.execute(operation, parameters)
        rows = cur.fetchall() if cur.description else []
        return cur.description, rows, cur.rowcount, cur.lastrowid
    finally:
        cur.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose sqlite3 cursor lives for one call on the worker thread."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")
    _awaitable_cursor_close = False  # nothing is left open to close

    def __init__(self, adapt_connection: Any) -> None:  # no round trip to make a cursor
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass  # rows are fetched all at once

    async def _call(self, many: bool, operation: Any, parameters: Any) -> None:
        async with self._adapt_connection._execute_mutex:
            driver = self._connection  # aiosqlite.Connection: _execute queues on its thread
            outcome = await driver._execute(_run, driver._conn, many, operation, parameters)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._call(False, operation, parameters)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._call(True, operation, seq_of_parameters)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """The stock connection adapter, with :class:`OneHopCursor` as its cursor."""

    __slots__ = ()
    _cursor_cls = OneHopCursor


class OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The stock DBAPI shim, connecting through :class:`OneHopConnection`."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        creator_fn = kw.pop("async_creator_fn", None)
        connection = creator_fn(*arg, **kw) if creator_fn else self.aiosqlite.connect(*arg, **kw)
        thread = connection if isinstance(connection, Thread) else getattr(connection, "_thread", None)
        if thread is not None:
            thread.daemon = True
        return OneHopConnection(self, await_(connection))


class OneHopSQLiteDialect(SQLiteDialect_aiosqlite):
    """``sqlite+aiosqlite`` with :class:`OneHopCursor`."""

    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneHopDbapi:  # type: ignore[override]
        return OneHopDbapi(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(f"sqlite.{DRIVER}", __name__, "OneHopSQLiteDialect")
