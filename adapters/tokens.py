"""A single-flight access-token cache shared by every sender of one credential.

``docs/design.md`` (platform adapters, rule 3): one cache per credential, refreshed shortly before expiry, one fetch at a
time, and on a token-invalid answer refreshed once and retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from bot.clock import Clock, SystemClock

log = logging.getLogger(__name__)
Fetcher = Callable[[], Awaitable[tuple[str, float]]]  # -> (token, lifetime in seconds)
T = TypeVar("T")


class TokenRejected(Exception):
    """Raised by an authorized call when the platform refused its token; ``error`` is what the
    caller gets when a freshly fetched token is refused too."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class TokenCache:
    """Caches one access token; concurrent callers share one fetch."""

    def __init__(self, fetch: Fetcher, *, clock: Clock | None = None,
                 refresh_margin: float = 300.0) -> None:
        self._fetch = fetch
        self._clock = clock or SystemClock()
        self._margin = refresh_margin
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def get(self) -> str:
        """A token valid for at least the refresh margin, fetching one if needed."""
        if self._fresh():
            assert self._token is not None
            return self._token
        async with self._lock:
            if not self._fresh():  # another caller may have refreshed while we waited
                await self._refresh()
            assert self._token is not None
            return self._token

    async def invalidate(self, stale: str | None = None) -> None:
        """Forget the token (after a token-invalid error); ``stale`` guards against double refresh."""
        async with self._lock:
            if stale is None or stale == self._token:
                self._token = None
                self._expires_at = None

    async def authorized(self, call: Callable[[str], Awaitable[T]], *, what: str) -> T:
        """``call(token)``; when it raises :class:`TokenRejected`, forget that token, fetch a fresh
        one and call once more. A second refusal raises the rejection's ``error``."""
        token = await self.get()
        try:
            return await call(token)
        except TokenRejected:
            await self.invalidate(token)
            log.info("%s: access token refused, refreshing once", what)
        token = await self.get()
        try:
            return await call(token)
        except TokenRejected as again:
            await self.invalidate(token)
            raise again.error from None

    def _fresh(self) -> bool:
        return (self._token is not None and self._expires_at is not None
                and self._clock.now() + timedelta(seconds=self._margin) < self._expires_at)

    async def _refresh(self) -> None:
        token, lifetime = await self._fetch()
        self.fetch_count += 1
        self._token = token
        # A lifetime shorter than twice the margin would refresh on every call; shrink the margin.
        self._margin = min(self._margin, lifetime / 2)
        self._expires_at = self._clock.now() + timedelta(seconds=lifetime)
