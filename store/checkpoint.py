"""SQLite WAL checkpoints off the commit path.

By default SQLite checkpoints inside the commit that takes the WAL past 1,000 pages: that commit
copies the pages into the database file and syncs it, ~20 ms during which the single writer (and
every intake request queued behind it) waits; at 1,000 tickets/s that was every third of a
second and set the p99 latency. Here the writer's connection only checkpoints as a safety net
(:data:`SAFETY_NET_PAGES`, ~40 MB), and a second connection runs a PASSIVE checkpoint every
second on a worker thread, beside the writer (WAL lets the two proceed together; PASSIVE never
waits for a lock).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from contextlib import suppress

log = logging.getLogger("hotline.store")

SAFETY_NET_PAGES = 10_000
"""``wal_autocheckpoint`` of the store's own connections: reached only when no checkpointer runs
(a CLI command) or it falls behind."""


class WalCheckpointer:
    """Checkpoints one SQLite database file every ``interval`` seconds until stopped."""

    def __init__(self, database: str, interval: float = 1.0) -> None:
        self.database = database
        self.interval = interval
        self._conn: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        # A checkpoint runs on a worker thread, which cancelling the task does not stop: closing
        # the connection under it would crash the process, so the two take turns.
        self._lock = threading.Lock()
        self._closed = False

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint (blocking): (busy, frames in the WAL, frames checkpointed);
        (0, 0, 0) once stopped."""
        with self._lock:
            if self._closed:
                return 0, 0, 0
            if self._conn is None:
                self._conn = sqlite3.connect(self.database, timeout=0, check_same_thread=False,
                                             isolation_level=None)
            busy, frames, done = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(frames), int(done)

    def start(self) -> None:
        """Checkpoint in the background from now on."""
        self._task = asyncio.create_task(self._run(), name="wal-checkpoint")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.to_thread(self.checkpoint)
            except sqlite3.Error as exc:  # the writer's safety net still holds; try again later
                log.warning("WAL checkpoint failed: %s", exc)

    async def stop(self) -> None:
        """Stop checkpointing and close the connection (after a checkpoint still running)."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None
