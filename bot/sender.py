"""The outbox sender: delivers what the bot owes, once, within each destination's rate limit.

Rows are claimed before delivery (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; a claim column with a
lease on SQLite), so several sender tasks or processes never send the same row twice. A claim of an
instance that died (its :class:`~store.leases.Presence` is gone) is taken over at once; one of a live
instance only when its lease runs out. Rows of one destination go in order, one claimer at a time
across instances; destinations proceed side by side. Network errors, 5xx and "too fast"
answers are retried with exponential backoff and jitter; a permanent error or the last try
dead-letters the row and alerts the office once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import aiohttp
from aiohttp import web
from sqlalchemy import ColumnElement, case, false, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import BotContext
from bot.messages import Destination
from bot.outbox_channels import alert_office
from bot.privacy import mask_phone
from bot.ratelimit import Buckets, StoreWindows
from bot.send_errors import NotYetError, PermanentSendError, SendError, TransientSendError
from bot.tasks import KeyedLocks, cancel_and_wait
from store.db import is_postgres
from store.leases import PRESENCE_LOCK_CLASS, instance_of, presence_of
from store.models import OutboxMessage

log = logging.getLogger("hotline.sender")
CLAIM_SECONDS = 120
MAX_ATTEMPTS = 8
BACKOFF_BASE = 2.0
BACKOFF_CAP = 900.0
DRAIN_SECONDS = 10.0
"""How long :meth:`Sender.stop` waits for the send in flight before cancelling it."""


class Sender:
    """Drains the outbox in the background."""

    def __init__(self, ctx: BotContext, *, batch: int = 100, poll: float = 0.5,
                 drain_seconds: float = DRAIN_SECONDS, shared_windows: bool | None = None) -> None:
        """``shared_windows``: keep the rate windows in the store, shared with every instance
        (by default on PostgreSQL, where several instances may run; SQLite serves one process)."""
        self.ctx = ctx
        self.drain_seconds = drain_seconds
        self.batch = batch
        self.poll = poll
        self.buckets = Buckets()
        if shared_windows is None:
            shared_windows = is_postgres(ctx.engine)
        # The instance's mark of life, shared with its inbox: held from start() to stop().
        self.presence = presence_of(ctx.engine, ctx.instance_id)
        self.windows = StoreWindows(ctx.sessions, presence=self.presence) if shared_windows else None
        # Each sender task claims under its own name, so two tasks of one process never share rows.
        self.claimer = f"{ctx.instance_id}:{uuid.uuid4().hex[:8]}"
        self._present = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._dest_locks = KeyedLocks()  # a destination's groups go one after the other
        self._stopping = False

    def wake(self) -> None:
        """Look at the outbox now instead of at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        """Start the background loop (holding the instance's mark of life while it runs)."""
        await self.presence.acquire()
        self._present = True
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        """Stop after the sends in flight: each is finished and recorded, claimed rows not yet
        begun are handed back. Past ``drain_seconds`` the loop is cancelled; a row cut short then
        is picked up again after its claim expires."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=self.drain_seconds)
            if not done:
                log.warning("sender: sends still in flight after %.1f s; cancelling them", self.drain_seconds)
                await cancel_and_wait(task)
        if self._present:  # only now: a send cut short above still counts as ours until we are gone
            self._present = False
            await self.presence.release()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("sender pass failed")
                sent = 0
            if sent == 0 and not self._stopping:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll)
                except TimeoutError:
                    pass

    async def drain(self, max_passes: int = 1000) -> None:
        """Deliver until nothing is due now (tests; rate-limited rows may need several passes)."""
        for _ in range(max_passes):
            if await self.run_once() == 0 and not await self._due_exists():
                return
            await asyncio.sleep(0)

    async def _due_exists(self) -> bool:
        now = self.ctx.clock.now()
        async with self.ctx.sessions() as s:
            free, dead = await self._look(s, now)
            if free or not dead:
                return free
            # a dead claimer's rows count only when due: one waiting for its retry is not
            row = (await s.execute(select(OutboxMessage.id).where(
                OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now,
                _unclaimed(now, dead)).limit(1))).first()
        return row is not None

    async def _look(self, s: AsyncSession, now: datetime) -> tuple[bool, list[str]]:
        """In one query: whether a row is due with nobody holding it, and the claimers holding
        pending rows whose instance is gone. Neither: no row can be claimed now.

        Read before the claims' lock, as safe as under it: a claimer seen dead never claims again
        (each sender task claims under a name of its own, and one whose mark was lost hands its
        rows back), and one that claims after this look counts as alive."""
        holder = case((OutboxMessage.claimed_until >= now, OutboxMessage.claimed_by), else_=None)
        holders = set((await s.execute(select(holder).where(
            OutboxMessage.state == "pending",
            or_(OutboxMessage.next_attempt_at <= now, OutboxMessage.claimed_until >= now)).distinct())).scalars())
        claimers = [c for c in holders if c is not None]
        dead = await self.presence.dead(instance_of(c) for c in claimers)
        return None in holders, [c for c in claimers if instance_of(c) in dead]

    async def run_once(self) -> int:
        """One pass: claim due rows, deliver them; returns how many were attempted."""
        generation = self.presence.generation  # read before claiming: a loss after it voids the claims
        rows = await self._claim()
        if not rows:
            return 0
        groups: dict[str, list[OutboxMessage]] = {}
        for row in rows:
            groups.setdefault(row.dest_key, []).append(row)
        # Every group finishes (and records) its sends before an error of one is raised: no send
        # is left running behind a failed pass while the next pass claims again.
        results = await asyncio.gather(*(self._deliver_group(g, generation) for g in groups.values()), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return len(rows)

    async def _claim(self) -> list[OutboxMessage]:
        ctx = self.ctx
        now = ctx.clock.now()
        until = now + timedelta(seconds=CLAIM_SECONDS)
        postgres = is_postgres(ctx.engine)
        async with ctx.sessions.begin() as s:
            free, dead = await self._look(s, now)
            if not free and not dead:  # an idle poll ends at its one query: nothing can be claimed
                return []
            if postgres:
                # Claims of all instances one after the other (a short transaction each), so the
                # test below for a destination held by another live claimer cannot race.
                await s.execute(text("SELECT pg_advisory_xact_lock(:cls, 0)"), {"cls": PRESENCE_LOCK_CLASS + 1})
            unclaimed = _unclaimed(now, dead)
            # A destination another live claimer holds rows of is left to it: its rows go in order.
            held = select(OutboxMessage.dest_key).where(
                OutboxMessage.state == "pending", OutboxMessage.claimed_by != self.claimer,
                OutboxMessage.claimed_until >= now, ~unclaimed)
            is_due = (OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now, unclaimed,
                      OutboxMessage.dest_key.not_in(held))
            due = select(OutboxMessage.id).where(*is_due).order_by(OutboxMessage.id).limit(self.batch)
            if postgres:
                ids = list((await s.execute(due.with_for_update(skip_locked=True))).scalars())
            else:
                ids = list((await s.execute(due)).scalars())
            if not ids:
                return []
            # The WHERE repeats the whole due test (not only the claim): on SQLite the SELECT above
            # may be stale, and a row another sender claimed and already sent (claim cleared,
            # state "sent") must not be claimed again.
            result = await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), *is_due)
                .values(claimed_by=self.claimer, claimed_until=until)
                .returning(OutboxMessage.id))
            claimed = set(result.scalars())
            if not claimed:
                return []
            rows = list((await s.execute(select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
                                         .order_by(OutboxMessage.id))).scalars())
        return [r for r in rows if r.claimed_by == self.claimer]

    async def _deliver_group(self, rows: list[OutboxMessage], generation: int) -> None:
        async with self._dest_locks.hold(rows[0].dest_key):
            # Short waits are slept through while the rows stay claimed (well inside the claim);
            # longer ones hand the rows back, due again when the window allows.
            deadline = time.monotonic() + CLAIM_SECONDS / 2
            for i, row in enumerate(rows):
                if self._stopping:  # shutting down: begin no new send
                    await self._release(rows[i:], 0)
                    return
                if self._present and (not self.presence.held or self.presence.generation != generation):
                    # Our mark of life was lost a while: another instance may have taken these
                    # rows over. Hand back those still ours; the next pass claims afresh.
                    await self._release(rows[i:], self.poll)
                    return
                limit = self._rate_limit(row)
                token = 0.0
                while limit is not None:
                    wait, token = await self._take(row, limit)
                    if wait <= 0:
                        break
                    wait = max(wait, 0.001)
                    if self._stopping or wait > self.poll or time.monotonic() + wait > deadline:
                        await self._release(rows[i:], wait)
                        return
                    await asyncio.sleep(wait)
                try:
                    await self._deliver(row)
                finally:
                    if limit is not None:
                        await self._finish(row, limit, token)

    async def _take(self, row: OutboxMessage, limit: tuple[int, float]) -> tuple[float, float]:
        """Start a message to the row's destination if its window allows: (0, token) or (wait, 0)."""
        if self.windows is not None:
            return await self.windows.take(row.dest_key, *limit)
        bucket = self.buckets.get(row.dest_key, *limit)
        return bucket.take(), 0.0

    async def _finish(self, row: OutboxMessage, limit: tuple[int, float], token: float) -> None:
        if self.windows is not None:
            await self.windows.finish(row.dest_key, token)
        else:
            self.buckets.get(row.dest_key, *limit).finish()

    def _rate_limit(self, row: OutboxMessage) -> tuple[int, float] | None:
        channel = self.ctx.channels.get(row.channel)
        return None if channel is None else channel.rate_limit(Destination.from_dict(row.destination))

    async def _release(self, rows: list[OutboxMessage], wait: float) -> None:
        # Rate-limit waits are real time; the moment is computed on the injectable clock so a
        # frozen test clock still releases them (the bucket, not the row time, enforces the pace).
        ids = [r.id for r in rows]
        async with self.ctx.sessions.begin() as s:
            await s.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids),
                                                        OutboxMessage.claimed_by == self.claimer)
                            .values(claimed_by=None, claimed_until=None))
        if not self._stopping:
            await asyncio.sleep(min(wait, self.poll))

    async def _deliver(self, row: OutboxMessage) -> None:
        ctx = self.ctx
        try:
            provider_id = await self._send(row)
        except SendError as exc:
            await self._failed(row, exc)
            return
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            await self._failed(row, TransientSendError(f"network: {type(exc).__name__}: {exc}"))
            return
        except Exception as exc:  # a bug in an adapter must not stop the sender
            log.exception("outbox row %s: unexpected error", row.id)
            await self._failed(row, TransientSendError(f"{type(exc).__name__}: {exc}"))
            return
        async with ctx.sessions.begin() as s:
            await s.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(
                state="sent", sent_at=ctx.clock.now(), attempts=row.attempts + 1, claimed_until=None,
                provider_message_id=provider_id or None, last_error=None))
            channel = ctx.channels.get(row.channel)
            if channel is not None:
                await channel.after_send(s, row, provider_id)
        ctx.metrics.outbox_sent.labels(row.channel).inc()

    async def _send(self, row: OutboxMessage) -> str:
        channel = self.ctx.channels.get(row.channel)
        if channel is None:
            raise PermanentSendError(f"outbox channel {row.channel} is not configured")
        return await channel.deliver(row)

    async def _failed(self, row: OutboxMessage, exc: SendError) -> None:
        ctx = self.ctx
        if isinstance(exc, NotYetError):
            async with ctx.sessions.begin() as s:
                await s.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(
                    claimed_until=None, last_error=str(exc)[:2000],
                    next_attempt_at=ctx.clock.now() + timedelta(seconds=exc.retry_after or self.poll)))
            return
        attempts = row.attempts + 1
        kind = "transient" if exc.transient else "permanent"
        ctx.metrics.outbox_failed.labels(row.channel, kind).inc()
        dead = not exc.transient or attempts >= MAX_ATTEMPTS
        if exc.retry_after:
            if self.windows is not None:
                await self.windows.penalize(row.dest_key, exc.retry_after)
            else:
                self.buckets.get(row.dest_key, *(self._rate_limit(row) or (1, 1.0))).penalize(exc.retry_after)
        delay = exc.retry_after or min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempts - 1))
        delay *= random.uniform(0.8, 1.2)
        log.warning("outbox row %s (%s) attempt %d failed (%s): %s", row.id, _safe_key(row), attempts,
                    kind, exc)
        async with ctx.sessions.begin() as s:
            await s.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(
                attempts=attempts, last_error=str(exc)[:2000], claimed_until=None,
                state="dead" if dead else "pending",
                next_attempt_at=ctx.clock.now() + timedelta(seconds=delay)))
            if dead:
                ctx.metrics.outbox_dead.labels(row.channel).inc()
                channel = ctx.channels.get(row.channel)
                if channel is not None:
                    await channel.after_dead(s, row, exc)
                else:
                    alert_office(ctx, s, row, exc)


def _unclaimed(now: datetime, dead: list[str]) -> ColumnElement[bool]:
    """A row nobody may be sending: never claimed, released, its lease run out, or its claimer dead."""
    return or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now,
               OutboxMessage.claimed_by.in_(dead) if dead else false())


def _safe_key(row: OutboxMessage) -> str:
    """The destination for a log line: a citizen's phone number is masked."""
    if row.channel != "sms":
        return row.dest_key
    dest = Destination.from_dict(row.destination)
    return f"sms:{dest.bot}:{mask_phone(dest.user_id)}"


SENDER: web.AppKey[Sender] = web.AppKey("hotline_sender", Sender)


async def sender_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the sender runs while the app does."""
    sender = app[SENDER]
    await sender.start()
    yield
    await sender.stop()
