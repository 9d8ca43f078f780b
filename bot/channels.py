"""Outbox channels: what the sender calls to deliver a row of one channel and to record its end.

Each outbox channel (``chat``, ``sms``, ``report``) registers one :class:`Channel` in the context's
:class:`Channels` registry; the sender looks the row's channel up there and knows nothing else
about it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Destination
from store.models import OutboxMessage


class Channel(Protocol):
    """One outbox channel: delivers its rows and records what became of them."""

    def rate_limit(self, dest: Destination) -> tuple[int, float] | None:
        """``(count, seconds)``: how many rows ``dest`` may take per window, or None (no limit)."""
        ...

    async def deliver(self, row: OutboxMessage) -> str:
        """Send ``row``; return the provider's message id ("" when there is none).

        Raises ``TransientSendError`` / ``PermanentSendError`` (or a network error) on failure."""
        ...

    async def after_send(self, s: AsyncSession, row: OutboxMessage, provider_id: str) -> None:
        """Inside the transaction that marks ``row`` sent: record the channel's own trail."""
        ...

    async def after_dead(self, s: AsyncSession, row: OutboxMessage, exc: Exception) -> None:
        """Inside the transaction that dead-letters ``row``: tell the people who must know."""
        ...


class Channels:
    """The outbox channels by name; a name is registered once."""

    def __init__(self) -> None:
        self._by_name: dict[str, Channel] = {}

    def register(self, name: str, channel: Channel) -> None:
        """Add ``channel`` under ``name``; a second channel of one name is a wiring bug."""
        if name in self._by_name:
            raise ValueError(f"outbox channel {name!r} is registered twice")
        self._by_name[name] = channel

    def get(self, name: str) -> Channel | None:
        """The channel named ``name``, or None when it is not configured."""
        return self._by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)
