"""Ticket lookups: by key, by a number or its suffix, what waits for review on a ticket, the open
tickets of a person or of units, and a ticket's latest audit events."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AuditEvent, OutboxMessage, ReviewRequest, Ticket, TicketUnit

SUFFIX_MIN = 4
"""A reference shorter than this must be a whole number; longer ones may be a suffix."""
SUFFIX_LIMIT = 6
"""At most this many tickets are returned for a suffix (enough to name the ambiguity)."""


async def by_key(s: AsyncSession, source: str, number: str) -> Ticket | None:
    """The ticket (source, number), or None."""
    q = select(Ticket).where(Ticket.source == source, Ticket.number == number)
    return (await s.execute(q)).scalar_one_or_none()


async def by_reference(s: AsyncSession, ref: str, *, units: set[str] | None = None) -> list[Ticket]:
    """Tickets named by ``ref``: an exact number first, else a suffix of at least 4 characters.

    ``units`` limits the search (None: every unit).
    """
    q = select(Ticket).where(Ticket.number == ref)
    if units is not None:
        q = q.where(_of_units(units))
    exact = list((await s.execute(q)).scalars())
    if exact or len(ref) < SUFFIX_MIN:
        return exact
    q = select(Ticket).where(Ticket.number.like(f"%{escape_like(ref)}", escape="\\")).limit(SUFFIX_LIMIT)
    if units is not None:
        q = q.where(_of_units(units))
    return list((await s.execute(q)).scalars())


def _of_units(units: set[str]) -> ColumnElement[bool]:
    """Tickets led by one of ``units``, or one of them assists in the ticket's current round."""
    assisted = (select(TicketUnit.ticket_id).where(TicketUnit.unit_code.in_(units), TicketUnit.role == "assist",
                                                   TicketUnit.ticket_id == Ticket.id,
                                                   TicketUnit.round == Ticket.round))
    return or_(Ticket.unit_code.in_(units), assisted.exists())


async def ticket_units(s: AsyncSession, ticket_id: int, round_: int, *, role: str | None = None) -> list[TicketUnit]:
    """The assisting (``assist``) and copied (``copy``) units of a ticket's round, oldest first."""
    q = select(TicketUnit).where(TicketUnit.ticket_id == ticket_id, TicketUnit.round == round_)
    if role is not None:
        q = q.where(TicketUnit.role == role)
    return list((await s.execute(q.order_by(TicketUnit.id))).scalars())


async def pending_review(s: AsyncSession, ticket_id: int, *, kind: str | None = None) -> ReviewRequest | None:
    """The request waiting for review on a ticket (of ``kind`` when given), oldest first."""
    q = select(ReviewRequest).where(ReviewRequest.ticket_id == ticket_id, ReviewRequest.state == "pending")
    if kind is not None:
        q = q.where(ReviewRequest.kind == kind)
    return (await s.execute(q.order_by(ReviewRequest.id).limit(1))).scalar_one_or_none()


async def request_version(s: AsyncSession, req: ReviewRequest) -> int:
    """Which version of its kind ``req`` is on its ticket: 1 for the first 答复, 2 for the next…"""
    q = select(func.count()).select_from(ReviewRequest).where(
        ReviewRequest.ticket_id == req.ticket_id, ReviewRequest.kind == req.kind, ReviewRequest.id <= req.id)
    return int((await s.execute(q)).scalar_one())


async def review_cards(s: AsyncSession, ticket_id: int, card_key: str) -> list[OutboxMessage]:
    """The review cards queued for one request (every platform's copy), sent or not."""
    q = (select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id, OutboxMessage.kind == "review")
         .order_by(OutboxMessage.id))
    return [row for row in (await s.execute(q)).scalars() if row.payload.get("card_key") == card_key]


async def approved_answer(s: AsyncSession, ticket_id: int) -> ReviewRequest | None:
    """The latest approved answer (答复) of a ticket, or None."""
    q = (select(ReviewRequest).where(ReviewRequest.ticket_id == ticket_id, ReviewRequest.kind == "reply",
                                     ReviewRequest.state == "approved")
         .order_by(ReviewRequest.id.desc()).limit(1))
    return (await s.execute(q)).scalar_one_or_none()


async def of_sent_message(s: AsyncSession, provider_message_id: str) -> Ticket | None:
    """The ticket a message we sent (known by the platform's message id) was about, or None."""
    q = (select(OutboxMessage.ticket_id).where(OutboxMessage.provider_message_id == provider_message_id,
                                                OutboxMessage.ticket_id.is_not(None)).limit(1))
    ticket_id = (await s.execute(q)).scalar_one_or_none()
    return await s.get(Ticket, ticket_id) if ticket_id is not None else None


_BY_DEADLINE = (Ticket.deadline.is_(None), Ticket.deadline, Ticket.id)


async def handled_by(s: AsyncSession, handler_id: int | None, states: Collection[str], *,
                     limit: int) -> list[Ticket]:
    """Tickets in ``states`` accepted by ``handler_id``, soonest deadline first (none last)."""
    q = (select(Ticket).where(Ticket.handler_id == handler_id, Ticket.state.in_(list(states)))
         .order_by(*_BY_DEADLINE).limit(limit))
    return list((await s.execute(q)).scalars())


async def unaccepted(s: AsyncSession, states: Collection[str], *, units: Collection[str] | None,
                     limit: int) -> list[Ticket]:
    """Tickets in ``states`` nobody has accepted, of ``units`` (None: every unit), soonest first."""
    q = select(Ticket).where(Ticket.state.in_(list(states)), Ticket.handler_id.is_(None))
    if units is not None:
        q = q.where(Ticket.unit_code.in_(list(units)))
    return list((await s.execute(q.order_by(*_BY_DEADLINE).limit(limit))).scalars())


async def latest_events(s: AsyncSession, ticket_id: int, *, limit: int) -> list[AuditEvent]:
    """The ticket's last ``limit`` successful audit events, oldest first."""
    q = (select(AuditEvent).where(AuditEvent.ticket_id == ticket_id, AuditEvent.outcome == "ok")
         .order_by(AuditEvent.id.desc()).limit(limit))
    return list(reversed(list((await s.execute(q)).scalars())))


def escape_like(text: str) -> str:
    """``text`` with the LIKE wildcards escaped (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
