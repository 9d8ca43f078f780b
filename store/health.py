"""The store's health as ``/healthz`` reports it, probed beside the requests, not behind them.

Under load a request that pings the store waits its turn for a connection (SQLite serves one at a
time), so a health check that pings per request is as slow as the busiest moment. A background
probe pings every ``interval`` seconds and ``/healthz`` answers from its latest result while that
is fresh; a result older than ``max_age`` (the probe itself is stuck) is refreshed by a direct ping,
so a store that goes away is reported within about ``interval`` seconds plus one failed ping.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import ping


class StoreHealth:
    """The latest answer of the store to ``SELECT 1``, kept fresh by a background probe."""

    def __init__(self, engine: Callable[[], AsyncEngine], *, interval: float = 0.5, max_age: float = 3.0) -> None:
        self._engine = engine
        self._interval = interval
        self._max_age = max_age
        self._last: tuple[float, bool] | None = None
        self._task: asyncio.Task[None] | None = None

    async def _probe(self) -> bool:
        ok = await ping(self._engine())
        self._last = (time.monotonic(), ok)
        return ok

    async def _run(self) -> None:
        while True:
            await self._probe()
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        """Start probing in the background (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="store-health")

    async def stop(self) -> None:
        """Stop the background probe."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def ok(self) -> bool:
        """Whether the store answered lately: the probe's fresh result, or a ping of our own."""
        last = self._last
        if last is not None and time.monotonic() - last[0] <= self._max_age:
            return last[1]
        return await self._probe()
