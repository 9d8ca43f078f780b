"""The reminders a scan owes, found and claimed in SQL.

A scan describes its reminders as a SELECT over the tickets that computes, per ticket, the
reminder's ``kind`` and ``slot`` and leaves out those already in the notification ledger
(``NOT EXISTS`` on its unique key). :func:`claim` runs it: in the steady state (every 15 minutes,
nothing new) that is one query returning no rows; when rows come back, one ``INSERT … SELECT …
ON CONFLICT DO NOTHING RETURNING`` claims them all, so the number of queries never grows with the
number of tickets or reminders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    and_,
    case,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.deadlines import TicketFacts
from scheduler.ledger import Key
from store.models import NotificationLedger, Ticket, UtcDateTime

CHUNK = 500


@dataclass(frozen=True, slots=True)
class Item:
    """The columns of a ticket a reminder needs (no ORM objects: a first scan may queue 80,000)."""

    id: int
    source: str
    number: str
    state: str
    unit_code: str | None
    handler_id: int | None
    tags: list[str] | None
    category: str | None
    kind: str | None
    channel: str | None
    deadline: datetime | None
    internal_due: datetime | None
    first_contact_due: datetime | None
    dispatched_at: datetime | None
    created_at: datetime
    round: int
    clock: str | None = None
    lead_leader: str | None = None
    giveback_due: datetime | None = None
    supervision_level: str | None = None
    supervision_due: datetime | None = None

    @property
    def key(self) -> str:
        """``source/number`` as on a card button."""
        return f"{self.source}/{self.number}"

    @property
    def facts(self) -> TicketFacts:
        """What a rule matches on (``RuleBook.match``)."""
        return TicketFacts(source=self.source, kind=self.kind, category=self.category, channel=self.channel,
                           tags=frozenset(self.tags or ()))

    @property
    def subject(self) -> str:
        """The ledger subject of this ticket."""
        return f"ticket:{self.id}"

    @property
    def due(self) -> datetime | None:
        """The unit's own deadline: ``internal_due`` where the rule sets one, else the deadline."""
        if self.internal_due is not None and (self.deadline is None or self.internal_due <= self.deadline):
            return self.internal_due
        return self.deadline


COLUMNS = tuple(getattr(Ticket, f) for f in Item.__dataclass_fields__)
_WIDTH = len(COLUMNS)
SUBJECT = literal("ticket:") + sql_cast(Ticket.id, String)
DUE: ColumnElement[datetime] = case(  # SQL twin of ``Item.due``
    (and_(Ticket.internal_due.is_not(None), or_(Ticket.deadline.is_(None), Ticket.internal_due <= Ticket.deadline)),
     Ticket.internal_due),
    else_=Ticket.deadline)


@dataclass(frozen=True, slots=True)
class Owed:
    """One reminder a scan owes: the ticket and the ledger kind and slot of the reminder."""

    item: Item
    kind: str
    slot: str

    @property
    def key(self) -> Key:
        """The ledger key (subject, kind, slot)."""
        return (self.item.subject, self.kind, self.slot)


def owed(where: Sequence[ColumnElement[bool]], kind: ColumnElement[str] | str, slot: ColumnElement[str] | str,
         *, blocked_by: Sequence[str] = (), ticket: ColumnElement[int] = Ticket.id) -> Select[Any]:
    """(ticket id, ``kind``, ``slot``) of the reminder each ticket matching ``where`` owes, those
    already in the ledger under that key (or under ``blocked_by`` kinds in the same slot) left out.

    ``ticket`` is the ticket id column the query runs over: ``Ticket.id``, or another table's
    reference to it (``TicketUnit.ticket_id``: one reminder per assisting unit, the query driven by
    that small table). Only key columns are selected, so that a covering index answers it without
    reading the rows of tickets that owe nothing (the 15-minute steady state)."""
    kind_c = literal(kind, String) if isinstance(kind, str) else kind
    slot_c = literal(slot, String) if isinstance(slot, str) else slot
    L = NotificationLedger
    same_kind = L.kind == kind_c
    if blocked_by:
        same_kind = or_(same_kind, L.kind.in_(blocked_by))
    subject = SUBJECT if ticket is Ticket.id else literal("ticket:") + sql_cast(ticket, String)
    # every table of the outer query is correlated: only the ledger is the subquery's own
    taken = select(L.id).where(L.subject == subject, L.slot == slot_c, same_kind).correlate_except(L)
    return select(ticket.label("owed_id"), kind_c.label("owed_kind"), slot_c.label("owed_slot")
                  ).where(*where, ~taken.exists())


def _keys(selects: Sequence[Select[Any]]) -> Subquery:
    return (selects[0] if len(selects) == 1 else union_all(*selects)).subquery("owed")


async def pending(s: AsyncSession, selects: Sequence[Select[Any]]) -> list[Owed]:
    """The reminders the ``owed`` selects find, with their tickets, without claiming them (one query)."""
    keys = _keys(selects)
    row = aliased(Ticket, name="owed_ticket")  # rows read only for the tickets that owe something
    conn = await s.connection()  # Core rows: no ORM loading machinery
    rows = (await conn.execute(select(*(getattr(row, f) for f in Item.__dataclass_fields__),
                                      keys.c.owed_kind, keys.c.owed_slot)
                               .join_from(keys, row, row.id == keys.c.owed_id))).all()
    return [Owed(Item(*r[:_WIDTH]), r[_WIDTH], r[_WIDTH + 1]) for r in rows]


async def claim(s: AsyncSession, selects: Sequence[Select[Any]], now: datetime) -> list[Owed]:
    """Run the ``owed`` selects and claim their reminders in the ledger; returns the reminders this
    call claimed (a concurrent scan's are left to it), sorted by key. Two queries when something
    is owed, one when nothing is."""
    found = {o.key: o for o in await pending(s, selects)}
    if not found:
        return []
    keys = _keys(selects)
    L = NotificationLedger
    conn = await s.connection()
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    source = select(literal("ticket:") + sql_cast(keys.c.owed_id, String), keys.c.owed_kind, keys.c.owed_slot,
                    literal(now, UtcDateTime())).where(true())  # SQLite: INSERT … SELECT before ON CONFLICT needs a WHERE
    stmt = (insert(L).from_select(["subject", "kind", "slot", "created_at"], source)
            .on_conflict_do_nothing(index_elements=["subject", "kind", "slot"])
            .returning(L.subject, L.kind, L.slot))
    claimed: set[Key] = {(a, b, c) for a, b, c in (await conn.execute(stmt)).all()}
    items = {key[0]: o.item for key, o in found.items()}
    # a ticket that changed between the two statements (another transaction, PostgreSQL): reload it
    missing = sorted({int(k[0].removeprefix("ticket:")) for k in claimed if k not in found})
    for i in range(0, len(missing), CHUNK):
        for r in (await conn.execute(select(*COLUMNS).where(Ticket.id.in_(missing[i:i + CHUNK])))).all():
            items[f"ticket:{r[0]}"] = Item(*r)
    return [Owed(items[key[0]], key[1], key[2]) for key in sorted(claimed) if key[0] in items]
