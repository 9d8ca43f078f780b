"""Reads of the period reports (``scheduler/period_reports.py``): the cohort of tickets received
in a period, with what each needs for the figures — its first answer review's outcome and whether
the citizen was told the answer by SMS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ReviewRequest, SmsMessage, Ticket


@dataclass(frozen=True, slots=True)
class CohortRow:
    """One ticket of the cohort, as the figures read it."""

    id: int
    number: str
    source: str
    channel: str | None
    tags: list[str] | None
    unit_code: str | None
    rule: str | None
    kind: str | None
    category: str | None
    address: str | None
    state: str
    round: int
    deadline: datetime | None
    dispatched_at: datetime | None
    accepted_at: datetime | None
    answered_at: datetime | None
    feedback: str | None
    urge_count: int
    first_review: str | None = None  # approved | rejected: the first decided answer review
    sms_told: bool = False  # an answer or 回访 SMS reached the provider (sent or delivered)


_COLUMNS = (Ticket.id, Ticket.number, Ticket.source, Ticket.channel, Ticket.tags, Ticket.unit_code, Ticket.rule, Ticket.kind, Ticket.category,
            Ticket.address, Ticket.state, Ticket.round, Ticket.deadline, Ticket.dispatched_at,
            Ticket.accepted_at, Ticket.answered_at, Ticket.feedback, Ticket.urge_count)


async def cohort(s: AsyncSession, start: datetime, end: datetime) -> list[CohortRow]:
    """Tickets received in ``[start, end)`` with their first answer review and SMS facts."""
    window = (Ticket.received_at >= start, Ticket.received_at < end)
    ids = select(Ticket.id).where(*window).scalar_subquery()
    first: dict[int, str] = {}
    reviews = await s.execute(
        select(ReviewRequest.ticket_id, ReviewRequest.state)
        .where(ReviewRequest.ticket_id.in_(ids), ReviewRequest.kind == "reply",
               ReviewRequest.state.in_(("approved", "rejected")))
        .order_by(ReviewRequest.ticket_id, ReviewRequest.decided_at, ReviewRequest.id))
    for ticket_id, state in reviews.all():
        first.setdefault(ticket_id, state)
    told = set((await s.execute(
        select(SmsMessage.ticket_id).distinct()
        .where(SmsMessage.ticket_id.in_(ids), SmsMessage.kind.in_(("answer", "feedback")),
               SmsMessage.state.in_(("sent", "delivered"))))).scalars())
    rows = await s.execute(select(*_COLUMNS).where(*window).order_by(Ticket.received_at, Ticket.id))
    return [CohortRow(*r, first_review=first.get(r[0]), sms_told=r[0] in told) for r in rows.all()]
