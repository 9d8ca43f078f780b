"""The rows a web chat's history is rebuilt from: the bot's sent chat messages to one destination
and the platform's inbox events, newest first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import InboxEvent, OutboxMessage


async def sent_chat_messages(s: AsyncSession, dest_key: str, limit: int) -> list[OutboxMessage]:
    """The last ``limit`` chat messages sent to ``dest_key``, newest first."""
    return list((await s.execute(
        select(OutboxMessage).where(OutboxMessage.channel == "chat", OutboxMessage.state == "sent",
                                    OutboxMessage.dest_key == dest_key)
        .order_by(OutboxMessage.id.desc()).limit(limit))).scalars())


async def inbox_events(s: AsyncSession, platform: str, limit: int) -> list[InboxEvent]:
    """The last ``limit`` inbox events of ``platform``, newest first."""
    return list((await s.execute(
        select(InboxEvent).where(InboxEvent.platform == platform)
        .order_by(InboxEvent.id.desc()).limit(limit))).scalars())
