"""What one ticket's view needs from the store, read in a fixed number of queries for any number
of tickets (no query per ticket): its audit trail, reviews, SMS and the citizen's replies.

The read API, the intake answers and the console's ticket page all build their view from a
:class:`TicketRecord`, so the rows behind a ticket are gathered in one place.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import (
    AuditEvent,
    ReviewRequest,
    SmsMessage,
    SmsReplyRecord,
    Ticket,
    TicketUnit,
    UsedToken,
)


@dataclass
class TicketRecord:
    """A ticket with its rows, each list oldest first."""

    ticket: Ticket
    events: list[AuditEvent] = field(default_factory=list)
    reviews: list[ReviewRequest] = field(default_factory=list)
    sms: list[SmsMessage] = field(default_factory=list)
    replies: list[SmsReplyRecord] = field(default_factory=list)
    units: list[TicketUnit] = field(default_factory=list)  # assisting and copied units, every round


async def load_records(s: AsyncSession, tickets: Sequence[Ticket], *,
                       reviews: bool = False) -> list[TicketRecord]:
    """The records of ``tickets`` (same order): one query per kind of row, whatever their number.

    Reviews are read only when asked for (the read API does not show them).
    """
    records = [TicketRecord(t) for t in tickets]
    if not records:
        return records
    by_id = {r.ticket.id: r for r in records}
    ids = list(by_id)
    kinds: list[tuple[Any, str]] = [(AuditEvent, "events"), (SmsMessage, "sms"), (SmsReplyRecord, "replies"),
                                    (TicketUnit, "units")]
    if reviews:
        kinds.append((ReviewRequest, "reviews"))
    for model, attr in kinds:
        rows = (await s.execute(select(model).where(model.ticket_id.in_(ids)).order_by(model.id))).scalars()
        for row in rows:
            getattr(by_id[row.ticket_id], attr).append(row)
    return records


async def load_record(s: AsyncSession, ticket: Ticket, *, reviews: bool = False) -> TicketRecord:
    """The record of one ticket."""
    [record] = await load_records(s, [ticket], reviews=reviews)
    return record


async def approved_answer(s: AsyncSession, ticket_id: int, round_: int) -> str | None:
    """The newest approved reply of ``round_`` (what the citizen is answered), or None."""
    return (await s.execute(
        select(ReviewRequest.content).where(ReviewRequest.ticket_id == ticket_id, ReviewRequest.kind == "reply",
                                            ReviewRequest.round == round_, ReviewRequest.state == "approved")
        .order_by(ReviewRequest.id.desc()).limit(1))).scalar_one_or_none()


async def token_used(s: AsyncSession, token_id: str) -> bool:
    """Whether a single-use token was spent already."""
    return await s.get(UsedToken, token_id) is not None


async def page_of_tickets(s: AsyncSession, *, state: str = "", unit: str = "", tag: str = "",
                          deadline_before: datetime | None = None, open_states: Collection[str] = (),
                          limit: int, offset: int) -> tuple[int, list[Ticket]]:
    """(total matching, one page) of tickets by deadline (none last); ``deadline_before`` keeps the
    open tickets (``open_states``) due before it. Tags are a JSON list: filtered in Python (portable)."""
    conds: list[Any] = []
    if state:
        conds.append(Ticket.state == state)
    if unit:
        conds.append(Ticket.unit_code == unit)
    if deadline_before is not None:
        conds += [Ticket.deadline < deadline_before, Ticket.state.in_(list(open_states))]
    stmt = select(Ticket).where(*conds).order_by(Ticket.deadline.is_(None), Ticket.deadline, Ticket.id)
    if tag:
        tickets = [t for t in (await s.execute(stmt)).scalars() if tag in (t.tags or [])]
        return len(tickets), tickets[offset:offset + limit]
    total = (await s.execute(select(func.count()).select_from(Ticket).where(*conds))).scalar_one()
    return int(total), list((await s.execute(stmt.limit(limit).offset(offset))).scalars())
