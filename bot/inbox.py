"""The inbox: verified inbound events are committed before the platform is acknowledged, and
processed after; a crash in between loses nothing (unprocessed rows are replayed on start)."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import BotContext
from bot.messages import IncomingMessage
from bot.tasks import cancel_and_wait
from store.models import InboxEvent

log = logging.getLogger("hotline.inbox")
HOLD_ENV = "HOTLINE_TEST_HOLD_INBOX"
"""Test-only: when set to "1", events are written and acknowledged but never processed, so the crash
test can kill the process at a known point (after the ack, before processing). Never set it in
production: nothing inbound would be handled."""
Processor = Callable[[AsyncSession, IncomingMessage], Awaitable[None]]
"""Handles one event inside the transaction that also marks the event processed (exactly once)."""


class Inbox:
    """Writes inbound events and hands them to the dispatcher in the background."""

    def __init__(self, ctx: BotContext, process: Processor) -> None:
        self.ctx = ctx
        self._process = process
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()
        self.idle.set()
        self._pending: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None
        # Ingest commits and processing transactions take turns instead of fighting over the
        # SQLite write lock (whose busy handler sleeps up to 100 ms at a time).
        self._write_turn = asyncio.Lock()
        self._sqlite: bool | None = None
        self._binders: list[tuple[str, Callable[[Any], Any] | None]] | None = None

    async def __call__(self, message: IncomingMessage) -> bool:
        """Commit the event; True if new, False for a platform retry (still acknowledge it).

        Group commit: events arriving while a write is in flight are committed together in the
        next transaction, and each caller returns only once its own row is committed. One writer
        at a time also spares SQLite's lock contention (busy-wait sleeps of up to 100 ms).
        """
        values = {"platform": message.platform, "event_id": message.event_id or _fallback_id(message),
                  "payload": message.to_dict(), "received_at": self.ctx.clock.now(), "attempts": 0}
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((values, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending(), name="inbox-writer")
        return await asyncio.shield(done)  # a cancelled caller must not cancel the others' commit

    async def _write_pending(self) -> None:
        while self._pending:
            async with self._write_turn:
                # At most _MAX_BATCH rows a statement (SQLite binds at most 32766 variables).
                batch, self._pending = self._pending[:_MAX_BATCH], self._pending[_MAX_BATCH:]
                try:
                    await self._commit_batch(batch)
                except Exception as exc:  # the store is down: every caller of this batch fails
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)

    async def _insert(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert ``rows`` in one transaction (one multi-row INSERT); their ids, in order."""
        if self._sqlite is None:
            self._sqlite = self.ctx.engine.dialect.name == "sqlite"
        if self._sqlite:
            return await self._insert_sqlite(rows)
        stmt = insert(InboxEvent).returning(InboxEvent.id, sort_by_parameter_order=True)
        async with self.ctx.sessions.begin() as s:
            return list((await s.execute(stmt, rows)).scalars())

    async def _insert_sqlite(self, rows: list[dict[str, Any]]) -> list[int]:
        """The SQLite ack path: one INSERT … RETURNING and one COMMIT, one worker-thread hop each.

        SQLAlchemy's cursor adapter costs four hops to aiosqlite's thread per statement (cursor,
        execute, fetch, close) plus ORM bookkeeping; this writes the same row values, bound by the
        columns' own types. SQLite runs a single-statement multi-row INSERT atomically.
        """
        if self._binders is None:
            dialect = self.ctx.engine.dialect
            self._binders = [(name, InboxEvent.__table__.c[name].type._cached_bind_processor(dialect))
                             for name in _INSERT_COLUMNS]
        params: list[Any] = []
        for row in rows:
            for name, bind in self._binders:
                params.append(bind(row[name]) if bind is not None else row[name])
        sql = _insert_sql(len(rows))
        async with self.ctx.engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            try:
                returned = await driver.execute_fetchall(sql, params)
                await driver.commit()
            except BaseException as exc:
                await driver.rollback()
                if isinstance(exc, sqlite3.IntegrityError):  # a duplicate (platform, event_id)
                    raise IntegrityError(sql, None, exc) from exc
                raise
        # RETURNING's row order is unspecified: match ids by the event's unique key.
        by_key = {(platform, event_id): row_id for row_id, platform, event_id in returned}
        return [by_key[row["platform"], row["event_id"]] for row in rows]

    async def _commit_batch(self, batch: list[tuple[dict[str, Any], asyncio.Future[bool]]]) -> None:
        if len(batch) > 1:
            try:
                ids = await self._insert([values for values, _ in batch])
            except IntegrityError:
                pass  # a duplicate among them: commit one by one below to tell which
            else:
                for (values, done), row_id in zip(batch, ids, strict=True):
                    self._committed(values["platform"], row_id, done)
                return
        for values, done in batch:
            try:
                [row_id] = await self._insert([values])
            except IntegrityError:
                self._committed(values["platform"], None, done)
            except Exception as exc:
                done.set_exception(exc)
            else:
                self._committed(values["platform"], row_id, done)

    def _committed(self, platform: str, row_id: int | None, done: asyncio.Future[bool]) -> None:
        """Count the event, queue it for processing if new (``row_id``), and release its caller."""
        self.ctx.metrics.inbox_events.labels(platform, "duplicate" if row_id is None else "accepted").inc()
        if row_id is not None:
            self.idle.clear()
            self._queue.put_nowait(row_id)
        if not done.done():
            done.set_result(row_id is not None)

    async def start(self) -> None:
        """Queue every unprocessed row (crash recovery), then process in the background."""
        async with self.ctx.sessions() as s:
            ids = (await s.execute(select(InboxEvent.id).where(InboxEvent.processed_at.is_(None))
                                   .order_by(InboxEvent.id))).scalars().all()
        for i in ids:
            self._queue.put_nowait(i)
        if ids:
            self.idle.clear()
            log.info("replaying %d unprocessed inbox events", len(ids))
        if os.environ.get(HOLD_ENV) == "1":
            log.warning("%s=1: inbound events are stored but NOT processed (test-only)", HOLD_ENV)
            return
        self._task = asyncio.create_task(self._run(), name="inbox")

    async def stop(self) -> None:
        """Stop after the event being processed; the rest stays in the store for next start."""
        await cancel_and_wait(self._task)

    async def drain(self) -> None:
        """Wait until every queued event is processed (tests and shutdown)."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            row_id = await self._queue.get()
            try:
                async with self._write_turn:
                    await self.process_one(row_id)
            except Exception:  # never let one event stop the loop
                log.exception("inbox event %s failed", row_id)
            finally:
                self._queue.task_done()
                if self._queue.empty():
                    self.idle.set()

    async def process_one(self, row_id: int) -> None:
        """Process one stored event; its effects and ``processed_at`` commit together."""
        ctx = self.ctx
        try:
            async with ctx.sessions.begin() as s:
                row = await s.get(InboxEvent, row_id)
                if row is None or row.processed_at is not None:
                    return
                await self._process(s, IncomingMessage.from_dict(row.payload))
                row.attempts += 1
                row.processed_at = ctx.clock.now()
        except Exception as exc:
            log.exception("processing inbox event %s", row_id)
            async with ctx.sessions.begin() as s:
                row = await s.get(InboxEvent, row_id)
                if row is not None:
                    row.attempts += 1
                    row.error = f"{type(exc).__name__}: {exc}"[:2000]
                    row.processed_at = ctx.clock.now()
        sender = ctx.extras.get("sender")
        if sender is not None:
            sender.wake()


_MAX_BATCH = 1000
_INSERT_COLUMNS = ("platform", "event_id", "payload", "received_at", "attempts")


@functools.lru_cache(maxsize=64)
def _insert_sql(n: int) -> str:
    """``INSERT INTO inbox (…) VALUES (?, …), … RETURNING id, platform, event_id``, ``n`` rows."""
    one = "(" + ", ".join("?" * len(_INSERT_COLUMNS)) + ")"
    return (f"INSERT INTO {InboxEvent.__tablename__} ({', '.join(_INSERT_COLUMNS)}) "
            f"VALUES {', '.join([one] * n)} RETURNING id, platform, event_id")


def _fallback_id(message: IncomingMessage) -> str:
    import hashlib
    import json

    return "h:" + hashlib.sha256(json.dumps(message.to_dict(), sort_keys=True).encode()).hexdigest()[:40]
