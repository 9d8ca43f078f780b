"""The inbox: verified inbound events are committed before the platform is acknowledged, and
processed after; a crash in between loses nothing (unprocessed rows are replayed on start)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import BotContext
from bot.messages import IncomingMessage
from store.models import InboxEvent

log = logging.getLogger("hotline.inbox")
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

    async def __call__(self, message: IncomingMessage) -> bool:
        """Commit the event; True if new, False for a platform retry (still acknowledge it)."""
        ctx = self.ctx
        row = InboxEvent(platform=message.platform, event_id=message.event_id or _fallback_id(message),
                         payload=message.to_dict(), received_at=ctx.clock.now())
        try:
            async with ctx.sessions.begin() as s:
                s.add(row)
        except IntegrityError:
            ctx.metrics.inbox_events.labels(message.platform, "duplicate").inc()
            return False
        ctx.metrics.inbox_events.labels(message.platform, "accepted").inc()
        self.idle.clear()
        self._queue.put_nowait(row.id)
        return True

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
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def drain(self) -> None:
        """Wait until every queued event is processed (tests and shutdown)."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            row_id = await self._queue.get()
            try:
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


def _fallback_id(message: IncomingMessage) -> str:
    import hashlib
    import json

    return "h:" + hashlib.sha256(json.dumps(message.to_dict(), sort_keys=True).encode()).hexdigest()[:40]
