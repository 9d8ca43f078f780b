"""Named leases in the store: one holder at a time, taken over when the holder stops renewing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import LeaseRow


class StoreLease:
    """The :class:`bot.ports.Lease` protocol over the ``leases`` table."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime]) -> None:
        """``now`` tells the current aware UTC time (the bot's injectable clock)."""
        self.sessions = sessions
        self.now = now

    async def acquire(self, name: str, holder: str, ttl: float) -> bool:
        """Take the lease if free or expired, or renew it if ours."""
        now = self.now()
        until = now + timedelta(seconds=ttl)
        async with self.sessions.begin() as s:
            result = await s.execute(
                update(LeaseRow).where(LeaseRow.name == name,
                                       (LeaseRow.holder == holder) | (LeaseRow.expires_at < now))
                .values(holder=holder, expires_at=until))
            if result.rowcount:
                return True
        try:
            async with self.sessions.begin() as s:
                s.add(LeaseRow(name=name, holder=holder, expires_at=until))
            return True
        except IntegrityError:
            return False

    async def release(self, name: str, holder: str) -> None:
        """Give the lease up if we hold it."""
        async with self.sessions.begin() as s:
            await s.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder))
