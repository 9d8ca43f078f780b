"""Ticket lookups: by key, by a number or its suffix, and what waits for review on a ticket."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ReviewRequest, Ticket

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
        q = q.where(Ticket.unit_code.in_(units))
    exact = list((await s.execute(q)).scalars())
    if exact or len(ref) < SUFFIX_MIN:
        return exact
    q = select(Ticket).where(Ticket.number.like(f"%{escape_like(ref)}", escape="\\")).limit(SUFFIX_LIMIT)
    if units is not None:
        q = q.where(Ticket.unit_code.in_(units))
    return list((await s.execute(q)).scalars())


async def pending_review(s: AsyncSession, ticket_id: int) -> ReviewRequest | None:
    """The request waiting for review on a ticket, oldest first."""
    q = (select(ReviewRequest).where(ReviewRequest.ticket_id == ticket_id, ReviewRequest.state == "pending")
         .order_by(ReviewRequest.id).limit(1))
    return (await s.execute(q)).scalar_one_or_none()


def escape_like(text: str) -> str:
    """``text`` with the LIKE wildcards escaped (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
