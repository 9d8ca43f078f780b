"""The inbox: verified inbound events are committed before the platform is acknowledged, and
processed after; a crash in between loses nothing (unprocessed rows are replayed).

Several instances on one PostgreSQL store: processing locks the row (``FOR UPDATE SKIP LOCKED``)
and re-checks it, so an event is processed once, whichever instance gets to it. Events of one chat
are processed in id order: an event waits while an earlier one of its chat is unprocessed, and the
instance that processed an event goes on with the next one of its chat, whoever wrote it. The
instance that wrote an event claims it for ``claim_seconds``: other instances' sweeps leave it to
its writer, unless the writer is dead (its :class:`~store.leases.Presence` is gone: taken over at
once) or the claim ran out; the sweep also brings back events a store outage left behind. SQLite
serves one process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import BotContext
from bot.messages import IncomingMessage
from bot.tasks import cancel_and_wait
from store.bulk import insert_rows
from store.db import is_postgres, is_store_down
from store.leases import presence_of
from store.models import InboxEvent

log = logging.getLogger("hotline.inbox")
Processor = Callable[[AsyncSession, IncomingMessage], Awaitable[None]]
"""Handles one event inside the transaction that also marks the event processed (exactly once)."""
Prefetch = Callable[[IncomingMessage], Awaitable[None]]
"""Slow work an event needs before its transaction (downloading its files), started at ingest."""

CLAIM_SECONDS = 30.0
"""How long the instance that wrote an event keeps it before another instance may take it over."""
SWEEP_SECONDS = 1.0
"""How often (real time) unprocessed events left behind are looked for."""
_MAX_BATCH = 1000
_KEY_LENGTHS = {"platform": 32, "event_id": 200}


class InvalidEvent(ValueError):
    """An event the inbox cannot store (its platform should answer "bad request")."""


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
        self.claimer = ctx.instance_id
        self.presence = presence_of(ctx.engine, ctx.instance_id)
        self._present = False
        self.claim_seconds = CLAIM_SECONDS
        self.sweep_seconds = SWEEP_SECONDS
        self._queued: set[int] = set()
        self._sweeper: asyncio.Task[None] | None = None

    async def __call__(self, message: IncomingMessage) -> bool:
        """Commit the event; True if new, False for a platform retry (still acknowledge it).

        Group commit: events arriving while a write is in flight are committed together in the
        next transaction, and each caller returns only once its own row is committed. One writer
        at a time also spares SQLite's lock contention (busy-wait sleeps of up to 100 ms).
        """
        values = self._row(message)  # raises InvalidEvent before the event joins a batch
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((values, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending(), name="inbox-writer")
        return await asyncio.shield(done)  # a cancelled caller must not cancel the others' commit

    def _row(self, message: IncomingMessage) -> dict[str, Any]:
        """The inbox row of ``message``, checked so that one bad event cannot fail a batch."""
        payload = message.to_dict()
        try:
            json.dumps(payload, ensure_ascii=False).encode()
        except (TypeError, ValueError, UnicodeError) as exc:
            raise InvalidEvent(f"event not storable: {type(exc).__name__}") from None
        event_id = message.event_id or _fallback_id(message)
        for name, value in (("platform", message.platform), ("event_id", event_id)):
            if not isinstance(value, str) or not value or len(value) > _KEY_LENGTHS[name] or "\x00" in value:
                raise InvalidEvent(f"bad {name}")
        now = self.ctx.clock.now()
        return {"platform": message.platform, "event_id": event_id, "payload": payload, "received_at": now,
                "attempts": 0, "chat_key": chat_key(message), "claimed_by": self.claimer,
                "claimed_until": now + timedelta(seconds=self.claim_seconds)}

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
            except Exception as exc:
                # A duplicate among them, or one row the store refuses: commit one by one below
                # so each event gets its own answer. A store that is down fails each one quickly.
                if is_store_down(exc):
                    raise
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
            self._enqueue(row_id)
        if not done.done():
            done.set_result(row_id is not None)

    def _enqueue(self, row_id: int) -> None:
        if row_id not in self._queued:
            self._queued.add(row_id)
            self.idle.clear()
            self._queue.put_nowait(row_id)

    async def start(self) -> None:
        """Queue every unprocessed row this instance may take (crash recovery), then process in
        the background and sweep for rows left behind (holding the instance's mark of life)."""
        if not self._present:
            await self.presence.acquire()
            self._present = True
        found = await self.sweep()
        if found:
            log.info("replaying %d unprocessed inbox events", found)
        self._task = asyncio.create_task(self._run(), name="inbox")
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="inbox-sweep")

    async def stop(self) -> None:
        """Stop after the event being processed; the rest stays in the store for next start."""
        await cancel_and_wait(self._sweeper)
        await cancel_and_wait(self._task)
        for fetching in self._prefetching.values():  # a replay downloads again, in its transaction
            await cancel_and_wait(fetching)
        self._prefetching.clear()
        if self._present:
            self._present = False
            await self.presence.release()

    async def drain(self) -> None:
        """Wait until every queued event is processed (tests and shutdown)."""
        await self._queue.join()

    async def sweep(self, limit: int = 500) -> int:
        """Queue unprocessed events that are ours, unclaimed, whose writer is dead or whose claim
        expired; on SQLite (one process) every unprocessed event. How many were new."""
        now = self.ctx.clock.now()
        query = select(InboxEvent.id).where(InboxEvent.processed_at.is_(None))
        async with self.ctx.sessions() as s:
            if is_postgres(self.ctx.engine):
                # One query says whether anything is left and who else holds it: an idle sweep
                # (every second, on every instance) ends there.
                holder = case((and_(InboxEvent.claimed_until >= now, InboxEvent.claimed_by != self.claimer),
                               InboxEvent.claimed_by), else_=None)
                holders = set((await s.execute(select(holder).where(
                    InboxEvent.processed_at.is_(None)).distinct())).scalars())
                writers = [h for h in holders if h is not None]
                dead = await self.presence.dead(writers)
                if None not in holders and not dead:  # nothing, or all held by live writers
                    return 0
                query = query.where(or_(InboxEvent.claimed_by == self.claimer, InboxEvent.claimed_until.is_(None),
                                        InboxEvent.claimed_until < now, InboxEvent.claimed_by.in_(dead)))
            ids = (await s.execute(query.order_by(InboxEvent.id).limit(limit))).scalars().all()
        before = len(self._queued)
        for i in ids:
            self._enqueue(i)
        return len(self._queued) - before

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                await self.sweep()
            except Exception as exc:  # the store is away: try again at the next sweep
                log.warning("inbox sweep failed: %s", type(exc).__name__)

    async def _run(self) -> None:
        while True:
            row_id = await self._queue.get()
            try:
                fetching = self._prefetching.pop(row_id, None)
                if fetching is not None:
                    await asyncio.gather(fetching, return_exceptions=True)
                async with self._write_turn:
                    await self.process_one(row_id)
            except Exception as exc:  # never let one event stop the loop; the sweep brings it back
                if is_store_down(exc):
                    log.warning("inbox event %s waits for the store: %s", row_id, type(exc).__name__)
                else:
                    log.exception("inbox event %s failed", row_id)
            finally:
                self._queued.discard(row_id)
                self._queue.task_done()
                if self._queue.empty():
                    self.idle.set()

    async def process_one(self, row_id: int) -> bool:
        """Process one stored event; its effects and ``processed_at`` commit together.

        False when the event is not ours to process now: done already, being processed by
        another instance, claimed by a live one, or waiting for an earlier event of its chat
        (the sweep brings it back). A store outage propagates and leaves the event unprocessed.
        """
        ctx = self.ctx
        try:
            async with ctx.sessions.begin() as s:
                row = (await s.execute(select(InboxEvent).where(
                    InboxEvent.id == row_id, InboxEvent.processed_at.is_(None))
                    .with_for_update(skip_locked=True))).scalar_one_or_none()
                if row is None or not await self._turn_of(s, row):
                    return False
                await self._process(s, IncomingMessage.from_dict(row.payload))
                row.attempts += 1
                row.processed_at = ctx.clock.now()
                row.claimed_by, row.claimed_until = self.claimer, None
                chat = row.chat_key
        except Exception as exc:
            if is_store_down(exc):
                raise
            log.exception("processing inbox event %s", row_id)
            async with ctx.sessions.begin() as s:
                await s.execute(update(InboxEvent).where(
                    InboxEvent.id == row_id, InboxEvent.processed_at.is_(None)).values(
                    attempts=InboxEvent.attempts + 1, error=f"{type(exc).__name__}: {exc}"[:2000],
                    processed_at=ctx.clock.now(), claimed_by=self.claimer, claimed_until=None))
            chat = None
        if self._on_processed is not None:
            self._on_processed()
        if chat is not None:
            await self._queue_next(chat, row_id)
        return True

    async def _queue_next(self, chat: str, after: int) -> None:
        """Go on with the next event of ``chat``: it waited for this one, and its writer (maybe
        another instance) would otherwise find it only at its next sweep."""
        async with self.ctx.sessions() as s:
            following = (await s.execute(select(InboxEvent.id).where(
                InboxEvent.chat_key == chat, InboxEvent.processed_at.is_(None), InboxEvent.id > after)
                .order_by(InboxEvent.id).limit(1))).scalar_one_or_none()
        if following is not None:
            self._enqueue(following)

    async def _turn_of(self, s: AsyncSession, row: InboxEvent) -> bool:
        """Whether ``row`` may be processed now: it is the first unprocessed event of its chat.
        (Its writer's claim does not matter here: the row lock makes processing exactly-once.)"""
        if row.chat_key is None:
            return True
        earlier = await s.execute(select(InboxEvent.id).where(
            InboxEvent.chat_key == row.chat_key, InboxEvent.processed_at.is_(None), InboxEvent.id < row.id)
            .limit(1))
        return earlier.first() is None


def chat_key(message: IncomingMessage) -> str:
    """The order key of a message's chat: events of one chat are processed in arrival order."""
    key = f"{message.platform}:{message.bot}:{message.chat_id}"
    return key if len(key) <= 300 else "h:" + hashlib.sha256(key.encode()).hexdigest()

_MAX_BATCH = 1000


def _fallback_id(message: IncomingMessage) -> str:
    return "h:" + hashlib.sha256(json.dumps(message.to_dict(), sort_keys=True).encode()).hexdigest()[:40]
