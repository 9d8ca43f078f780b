"""Reads of the 回访 duty: answered tickets still without the citizen's verdict, and whether a
ticket's 回访 SMS of its current round has been queued."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import SmsMessage, Ticket


async def awaiting_verdict(s: AsyncSession, answered_state: str, answered_before: datetime,
                           units: Collection[str] | None = None, limit: int | None = None) -> list[Ticket]:
    """Tickets in ``answered_state`` answered before ``answered_before`` with no ``feedback`` yet,
    oldest answer first (``units``: only those units' tickets; None: every unit)."""
    stmt = (select(Ticket).where(Ticket.state == answered_state, Ticket.feedback.is_(None),
                                 Ticket.answered_at < answered_before)
            .order_by(Ticket.answered_at, Ticket.id))
    if units is not None:
        stmt = stmt.where(Ticket.unit_code.in_(list(units)))
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await s.execute(stmt)).scalars())


async def sms_queued(s: AsyncSession, ticket_ids: Collection[int], kind: str) -> set[str]:
    """The ``out_id`` of every ``kind`` SMS queued for ``ticket_ids`` (all rounds)."""
    if not ticket_ids:
        return set()
    rows = await s.execute(select(SmsMessage.out_id).where(SmsMessage.ticket_id.in_(list(ticket_ids)),
                                                           SmsMessage.kind == kind))
    return {str(r) for r in rows.scalars()}
