"""Small helpers for the bot's background tasks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


async def cancel_and_wait(task: asyncio.Task[object] | None) -> None:
    """Cancel ``task`` (if any) and wait until it has stopped."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class KeyedLocks:
    """One lock per key (a destination: a group chat, a citizen's number), kept only while some
    task holds it or waits for it, so that keys seen once do not pile up for the life of the
    process."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold ``key``'s lock for the block; tasks holding other keys run alongside."""
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)  # counted before waiting: a waiter keeps the lock alive
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
