"""Attachment lookups: a person's pending files in one chat, a quoted message's, a ticket's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Attachment


async def pending(s: AsyncSession, platform: str, chat_id: str, person_id: int, since: datetime,
                  quoted_message_id: str | None = None) -> list[Attachment]:
    """Unattached files ``person_id`` sent in the chat since ``since``, and those of the quoted
    message (whenever it was sent), oldest first."""
    recent = (Attachment.person_id == person_id) & (Attachment.received_at >= since)
    cond = or_(recent, Attachment.message_id == quoted_message_id) if quoted_message_id else recent
    q = (select(Attachment)
         .where(Attachment.platform == platform, Attachment.chat_id == chat_id,
                Attachment.ticket_id.is_(None), cond)
         .order_by(Attachment.id))
    return list((await s.execute(q)).scalars())


async def of_ticket(s: AsyncSession, ticket_id: int, round: int | None = None) -> list[Attachment]:
    """The ticket's attachments (of one round when given), in the order they were attached."""
    q = select(Attachment).where(Attachment.ticket_id == ticket_id)
    if round is not None:
        q = q.where(Attachment.round == round)
    return list((await s.execute(q.order_by(Attachment.id))).scalars())
