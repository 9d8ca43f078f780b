"""The inbox: verified inbound events are committed before the platform is acknowledged, and
processed after; a crash in between loses nothing (unprocessed rows are replayed on start)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import BotContext
from bot.messages import IncomingMessage
from bot.tasks import cancel_and_wait
from store.bulk import insert_rows
from store.models import InboxEvent

log = logging.getLogger("hotline.inbox")
Processor = Callable[[AsyncSession, IncomingMessage], Awaitable[None]]
"""Handles one event inside the transaction that also marks the event processed (exactly once)."""
Prefetch = Callable[[IncomingMessage], Awaitable[None]]
"""Slow work an event needs before its transaction (downloading its files), started at ingest."""


class Inbox:
    """Writes inbound events and hands them to the dispatcher in the background."""

    def __init__(self, ctx: BotContext, process: Processor, *,
                 on_processed: Callable[[], None] | None = None, prefetch: Prefetch | None = None) -> None:
        self.ctx = ctx
        self._process = process
        # Downloads run outside the write turn and the transaction, so ingest never waits for them.
        self._prefetch = prefetch
        self._prefetching: dict[int, asyncio.Task[None]] = {}
        self._on_processed = on_processed  # e.g. wake the sender: the event may have queued replies
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
        """Insert ``rows`` atomically with one multi-row INSERT; their ids, in order.

        On SQLite the INSERT runs without BEGIN/COMMIT around it: a single statement commits
        itself (the driver is in autocommit mode, see ``store.db``), which spares two round trips
        to the SQLite thread on the acknowledgement path. A duplicate (platform, event_id) fails
        the statement, and with it the whole batch, as IntegrityError.
        """
        if self._sqlite is None:
            self._sqlite = self.ctx.engine.dialect.name == "sqlite"
        table = InboxEvent.__table__
        returning = ("id", "platform", "event_id")
        if self._sqlite:
            async with self.ctx.engine.connect() as conn:
                try:
                    returned = await insert_rows(conn, table, rows, returning=returning)
                except sqlite3.IntegrityError as exc:
                    raise IntegrityError("INSERT INTO inbox", None, exc) from exc
        else:
            async with self.ctx.engine.begin() as conn:
                returned = await insert_rows(conn, table, rows, returning=returning)
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
                    self._committed(values, row_id, done)
                return
        for values, done in batch:
            try:
                [row_id] = await self._insert([values])
            except IntegrityError:
                self._committed(values, None, done)
            except Exception as exc:
                done.set_exception(exc)
            else:
                self._committed(values, row_id, done)

    def _committed(self, values: dict[str, Any], row_id: int | None, done: asyncio.Future[bool]) -> None:
        """Count the event, queue it for processing if new (``row_id``), and release its caller."""
        self.ctx.metrics.inbox_events.labels(values["platform"], "duplicate" if row_id is None else "accepted").inc()
        if row_id is not None and self._prefetch is not None and values["payload"].get("files"):
            self._prefetching[row_id] = asyncio.create_task(
                self._prefetch(IncomingMessage.from_dict(values["payload"])), name=f"inbox-prefetch-{row_id}")
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
        self._task = asyncio.create_task(self._run(), name="inbox")

    async def stop(self) -> None:
        """Stop after the event being processed; the rest stays in the store for next start."""
        await cancel_and_wait(self._task)
        for fetching in self._prefetching.values():  # a replay downloads again, in its transaction
            await cancel_and_wait(fetching)
        self._prefetching.clear()

    async def drain(self) -> None:
        """Wait until every queued event is processed (tests and shutdown)."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            row_id = await self._queue.get()
            try:
                fetching = self._prefetching.pop(row_id, None)
                if fetching is not None:
                    await asyncio.gather(fetching, return_exceptions=True)
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
        if self._on_processed is not None:
            self._on_processed()


_MAX_BATCH = 1000


def _fallback_id(message: IncomingMessage) -> str:
    import hashlib
    import json

    return "h:" + hashlib.sha256(json.dumps(message.to_dict(), sort_keys=True).encode()).hexdigest()[:40]
