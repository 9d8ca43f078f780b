"""Per-destination rate windows for the outbox sender (``docs/design.md``, platform adapters, rule 4).

Platforms count "N messages per window" over a sliding window of arrival times (DingTalk's
"20 msgs/min per robot", WeCom's robot 20/min). A token bucket that starts full and refills
continuously lets up to 2N through in one window and trips those limits, so the sender keeps a
sliding log instead: message k+N may start only one window (plus a small margin) after message k
*finished*. Messages to one destination go one after another, so message k reached the platform
before it finished, and message k+N reaches it after it started: the platform never counts more
than N in any window, whatever the network delay.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.leases import Presence
from store.models import RateWindowRow


def _now() -> float:
    return time.monotonic()


@dataclass
class RateWindow:
    """At most ``capacity`` messages in any ``per`` seconds, counted from when each finished."""

    capacity: int
    per: float
    stamps: deque[float] = field(init=False, default_factory=deque)
    blocked_until: float = field(init=False, default=0.0)

    @property
    def margin(self) -> float:
        """Slack for clock differences between us and the platform (1 % of the window + 5 ms)."""
        return self.per * 0.01 + 0.005

    def _prune(self, now: float) -> None:
        while self.stamps and self.stamps[0] + self.per + self.margin <= now:
            self.stamps.popleft()

    def wait_time(self, now: float | None = None) -> float:
        """Seconds until one more message may start (0 when it may start now)."""
        now = _now() if now is None else now
        self._prune(now)
        wait = max(0.0, self.blocked_until - now)
        if len(self.stamps) >= self.capacity:
            wait = max(wait, self.stamps[-self.capacity] + self.per + self.margin - now)
        return wait

    def take(self, now: float | None = None) -> float:
        """Start one message if allowed: 0, and call :meth:`finish` once it has been answered;
        else the seconds to wait, read at the same instant as the refusal (a second reading of
        the clock could find the wait over and let a message go that was never counted)."""
        now = _now() if now is None else now
        wait = self.wait_time(now)
        if wait > 0:
            return wait
        self.stamps.append(now)
        return 0.0

    def finish(self, now: float | None = None) -> None:
        """The message last started has been answered: count the window from now."""
        now = _now() if now is None else now
        if self.stamps:
            self.stamps[-1] = max(self.stamps[-1], now)

    def penalize(self, seconds: float, now: float | None = None) -> None:
        """The platform said "too fast": nothing goes for ``seconds``."""
        now = _now() if now is None else now
        self.blocked_until = max(self.blocked_until, now + seconds)


class Buckets:
    """One rate window per destination key, created on first use. Every :attr:`sweep_every` uses,
    the windows with nothing left in them are dropped: a citizen texted once does not keep a
    window for the life of the process, and a window that counts nothing is a new one."""

    sweep_every = 1024

    def __init__(self) -> None:
        self._buckets: dict[str, RateWindow] = {}
        self._uses = 0

    def __len__(self) -> int:
        return len(self._buckets)

    def get(self, key: str, capacity: int, per: float) -> RateWindow:
        """The window of ``key`` (replaced if the limit changed)."""
        self._uses += 1
        if self._uses % self.sweep_every == 0:
            self.sweep()
        b = self._buckets.get(key)
        if b is None or (b.capacity, b.per) != (capacity, per):
            b = self._buckets[key] = RateWindow(capacity, per)
        return b

    def sweep(self, now: float | None = None) -> None:
        """Drop the windows that count no message and block nothing at ``now``."""
        now = _now() if now is None else now
        self._buckets = {k: b for k, b in self._buckets.items() if b.wait_time(now) > 0 or b.stamps}


FLIGHT_SECONDS = 60.0
"""A send never said finished counts as finished this late at most (when its instance's death
cannot be seen: a store without marks of life)."""


class StoreWindows:
    """The windows kept in the store (``rate_windows``), so that every instance of a deployment
    counts against one limit per destination (two instances together respect a robot's 20/min).

    A stamp is ``[start, finished, instance]`` in wall-clock epoch seconds; while a send is in
    flight its stamp counts as finishing now, so the message ``capacity`` later waits for its real
    end, even when it is another instance's. A stamp left in flight by an instance that died (its
    :class:`~store.leases.Presence` is gone) is closed at the moment that is seen: the send
    reached the platform before the death, so no later. Each call is one short transaction that
    locks the window's row (``FOR UPDATE``; SQLite's writer lock does the same).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], wall: Callable[[], float] = time.time,
                 presence: Presence | None = None) -> None:
        self.sessions = sessions
        self.wall = wall
        self.presence = presence

    async def take(self, key: str, capacity: int, per: float) -> tuple[float, float]:
        """Start one message if the window allows: ``(0, token)``, else ``(seconds to wait, 0)``.
        Pass the token to :meth:`finish` once the message has been answered."""
        async with self.sessions.begin() as s:
            row = await self._row(s, key)
            now = self.wall()
            stamps = await self._close_orphans(_live(row.stamps, now, per), now)
            window = _window(capacity, per, stamps, row.blocked_until, now)
            wait = window.wait_time(now)
            if wait > 0:
                row.stamps = stamps
                return wait, 0.0
            owner = self.presence.name if self.presence is not None else None
            row.stamps = [*stamps, [now, None, owner]][-max(capacity, 1):]
            return 0.0, now

    async def _close_orphans(self, stamps: list[list[Any]], now: float) -> list[list[Any]]:
        """The stamps, those in flight for an instance that is gone closed at ``now``."""
        owners = {st[2] for st in stamps if st[1] is None and len(st) > 2 and st[2]}
        if self.presence is None or not owners:
            return stamps
        dead = await self.presence.dead(owners)
        return [[st[0], now, *st[2:]] if st[1] is None and len(st) > 2 and st[2] in dead else st
                for st in stamps]

    async def finish(self, key: str, token: float) -> None:
        """The message started at ``token`` has been answered: count the window from now."""
        async with self.sessions.begin() as s:
            row = await self._row(s, key)
            now = self.wall()
            row.stamps = [[st[0], now, *st[2:]] if st[0] == token and st[1] is None else st for st in row.stamps]

    async def penalize(self, key: str, seconds: float) -> None:
        """The platform said "too fast": nothing goes to ``key`` for ``seconds``, from any instance."""
        async with self.sessions.begin() as s:
            row = await self._row(s, key)
            row.blocked_until = max(row.blocked_until, self.wall() + seconds)

    async def _row(self, s: AsyncSession, key: str) -> RateWindowRow:
        query = select(RateWindowRow).where(RateWindowRow.key == key).with_for_update()
        row = (await s.execute(query)).scalar_one_or_none()
        if row is None:
            try:
                async with s.begin_nested():
                    s.add(RateWindowRow(key=key, stamps=[], blocked_until=0.0))
            except IntegrityError:  # another instance created it meanwhile
                pass
            row = (await s.execute(query)).scalar_one()
        return row


def _live(stamps: list[list[Any]], now: float, per: float) -> list[list[Any]]:
    """The stamps still inside a window (older ones can no longer hold anything back)."""
    return [list(st) for st in stamps if _end(st[0], st[1], now) + per * 1.01 + 0.005 > now]


def _end(start: float | None, done: float | None, now: float) -> float:
    assert start is not None
    if done is not None:
        return done
    return min(now, start + FLIGHT_SECONDS)


def _window(capacity: int, per: float, stamps: list[list[Any]], blocked_until: float,
            now: float) -> RateWindow:
    window = RateWindow(capacity, per)
    window.stamps.extend(sorted(_end(st[0], st[1], now) for st in stamps))
    window.blocked_until = blocked_until
    return window
