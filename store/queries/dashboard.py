"""The console dashboard's reads: the filtered ticket list, the counts beside it, the values its
filters offer, and the outbox rows that carry the bot's answer to an action taken on a page.

``units`` is the set of unit codes the viewer may see, or None for every unit (the office).
Which states count as open is the caller's to say (the lifecycle lives above the store).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import OutboxMessage, Ticket


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """The list's filters; empty values filter nothing."""

    state: str = ""
    unit: str = ""
    unassigned: bool = False  # only tickets not dispatched to any unit yet
    source: str = ""
    open_only: bool = False
    deadline_before: datetime | None = None
    deadline_from: datetime | None = None
    deadline_until: datetime | None = None  # exclusive
    answered_before: datetime | None = None  # only answered before this and still without a verdict


def _visible(stmt: Select[Any], units: Collection[str] | None) -> Select[Any]:
    return stmt if units is None else stmt.where(Ticket.unit_code.in_(list(units)))


async def list_tickets(s: AsyncSession, units: Collection[str] | None, f: TicketFilter,
                       open_states: Collection[str], limit: int) -> list[Ticket]:
    """The visible tickets matching ``f``, by deadline (none last), at most ``limit``."""
    stmt = _visible(select(Ticket), units)
    if f.state:
        stmt = stmt.where(Ticket.state == f.state)
    if f.unassigned:
        stmt = stmt.where(Ticket.unit_code.is_(None))
    elif f.unit:
        stmt = stmt.where(Ticket.unit_code == f.unit)
    if f.source:
        stmt = stmt.where(Ticket.source == f.source)
    if f.open_only:
        stmt = stmt.where(Ticket.state.in_(list(open_states)))
    if f.deadline_before is not None:
        stmt = stmt.where(Ticket.deadline < f.deadline_before)
    if f.deadline_from is not None:
        stmt = stmt.where(Ticket.deadline >= f.deadline_from)
    if f.deadline_until is not None:
        stmt = stmt.where(Ticket.deadline < f.deadline_until)
    if f.answered_before is not None:
        stmt = stmt.where(Ticket.answered_at < f.answered_before, Ticket.feedback.is_(None))
    stmt = stmt.order_by(Ticket.deadline.is_(None), Ticket.deadline, Ticket.id).limit(limit)
    return list((await s.execute(stmt)).scalars())


async def counts_by(s: AsyncSession, units: Collection[str] | None, column: Any) -> dict[Any, int]:
    """Visible tickets per value of ``column`` (``Ticket.state``, ``Ticket.unit_code``)."""
    stmt = _visible(select(column, func.count()).group_by(column), units)
    return {k: int(n) for k, n in (await s.execute(stmt)).all()}


async def count_open_due(s: AsyncSession, units: Collection[str] | None, open_states: Collection[str], *,
                         before: datetime, since: datetime | None = None) -> int:
    """Visible open tickets whose deadline is before ``before`` (and not before ``since``)."""
    stmt = select(func.count()).select_from(Ticket).where(
        Ticket.state.in_(list(open_states)), Ticket.deadline < before)
    if since is not None:
        stmt = stmt.where(Ticket.deadline >= since)
    return int((await s.execute(_visible(stmt, units))).scalar_one())


async def sources(s: AsyncSession) -> list[str]:
    """Every ticket source in the store, sorted."""
    return sorted({x for x in (await s.execute(select(Ticket.source).distinct())).scalars()})


async def tags_in_use(s: AsyncSession, units: Collection[str] | None) -> set[str]:
    """Every tag on a visible ticket."""
    stmt = _visible(select(Ticket.tags), units)
    return {str(tag) for tags in (await s.execute(stmt)).scalars() for tag in tags or []}


async def last_outbox_id(s: AsyncSession) -> int:
    """The newest outbox row's id (0 when empty)."""
    return int((await s.execute(select(func.max(OutboxMessage.id)))).scalar_one() or 0)


async def first_outbox_after(s: AsyncSession, after_id: int, dest_key: str) -> int | None:
    """The id of the first outbox row after ``after_id`` addressed to ``dest_key``."""
    return (await s.execute(select(OutboxMessage.id).where(
        OutboxMessage.id > after_id, OutboxMessage.dest_key == dest_key)
        .order_by(OutboxMessage.id).limit(1))).scalar_one_or_none()


async def outbox_text(s: AsyncSession, row_id: int, dest_key: str) -> str:
    """The text of outbox row ``row_id`` when it is addressed to ``dest_key``, else empty."""
    row = await s.get(OutboxMessage, row_id)
    if row is None or row.dest_key != dest_key:
        return ""
    return str(row.payload.get("text", ""))


async def count_tickets(s: AsyncSession) -> int:
    """How many tickets the store holds."""
    return int((await s.execute(select(func.count()).select_from(Ticket))).scalar_one())
