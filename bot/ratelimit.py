"""Per-destination token buckets for the outbox sender (PLATFORMS.md §0 rule 4)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """``capacity`` messages per ``per`` seconds, refilled continuously.

    The bucket starts full. ``reserve`` answers how long to wait before one message may go.
    """

    capacity: int
    per: float
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.capacity)
        self.stamp = time.monotonic()

    def _refill(self, now: float) -> None:
        rate = self.capacity / self.per
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * rate)
        self.stamp = now

    def wait_time(self, now: float | None = None) -> float:
        """Seconds until a token is available (0 when one is)."""
        now = time.monotonic() if now is None else now
        self._refill(now)
        if self.tokens >= 1:
            return 0.0
        return (1 - self.tokens) * self.per / self.capacity

    def take(self, now: float | None = None) -> bool:
        """Take one token if available."""
        now = time.monotonic() if now is None else now
        self._refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def penalize(self, seconds: float, now: float | None = None) -> None:
        """The platform said "too fast": empty the bucket so nothing goes for ``seconds``."""
        now = time.monotonic() if now is None else now
        self._refill(now)
        self.tokens = -seconds * self.capacity / self.per


class Buckets:
    """One bucket per destination key, created on first use."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}

    def get(self, key: str, capacity: int, per: float) -> TokenBucket:
        """The bucket of ``key`` (resized if the limit changed)."""
        b = self._buckets.get(key)
        if b is None or (b.capacity, b.per) != (capacity, per):
            b = self._buckets[key] = TokenBucket(capacity, per)
        return b
