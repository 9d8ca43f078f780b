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
from dataclasses import dataclass, field


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

    def take(self, now: float | None = None) -> bool:
        """Start one message if allowed; call :meth:`finish` once it has been answered."""
        now = _now() if now is None else now
        if self.wait_time(now) > 0:
            return False
        self.stamps.append(now)
        return True

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
    """One rate window per destination key, created on first use."""

    def __init__(self) -> None:
        self._buckets: dict[str, RateWindow] = {}

    def get(self, key: str, capacity: int, per: float) -> RateWindow:
        """The window of ``key`` (replaced if the limit changed)."""
        b = self._buckets.get(key)
        if b is None or (b.capacity, b.per) != (capacity, per):
            b = self._buckets[key] = RateWindow(capacity, per)
        return b
