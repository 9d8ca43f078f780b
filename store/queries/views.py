"""What one ticket's view needs from the store, read in a fixed number of queries for any number
of tickets (no query per ticket): its audit trail, reviews, SMS and the citizen's replies.

The read API, the intake answers and the console's ticket page all build their view from a
:class:`TicketRecord`, so the rows behind a ticket are gathered in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AuditEvent, ReviewRequest, SmsMessage, SmsReplyRecord, Ticket


@dataclass
class TicketRecord:
    """A ticket with its rows, each list oldest first."""

    ticket: Ticket
    events: list[AuditEvent] = field(default_factory=list)
    reviews: list[ReviewRequest] = field(default_factory=list)
    sms: list[SmsMessage] = field(default_factory=list)
    replies: list[SmsReplyRecord] = field(default_factory=list)


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
    kinds: list[tuple[Any, str]] = [(AuditEvent, "events"), (SmsMessage, "sms"), (SmsReplyRecord, "replies")]
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
