"""Rows written with Core instead of as ORM objects, and the rows a session added.

Registration writes a batch's tickets, audit rows, SMS and outbox rows with one multi-row INSERT
per table (``store.bulk``), without ORM objects: :class:`TicketRow` reads like a :class:`Ticket`
for the ticket view, and :func:`session_rows` finds what a session added without a query.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from store.bulk import RowDefault, client_default
from store.models import AuditEvent, OutboxMessage, SmsMessage, Ticket

AUDIT_ROWS = "hotline_audit_rows"  # Session.info keys: rows this session added (see session_rows)
SMS_ROWS = "hotline_sms_rows"


class TicketRow:
    """A row written with Core, not as an ORM object: its column values as attributes.

    :meth:`TicketService.register_many` answers a new ticket that needs nothing but its register
    audit row as a ``TicketRow`` (and that audit row as one too): the ticket view reads the same
    attributes as from a :class:`Ticket`, without the ORM's instrumentation and identity map."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    @classmethod
    def new(cls, values: dict[str, Any], ticket_id: int) -> TicketRow:
        """A ticket just inserted with ``values``: the columns not given take their defaults."""
        row = cls(values)
        for attr, _, default in bulk_columns(Ticket):
            if attr not in values:
                setattr(row, attr, default(values) if default else None)
        row.id = ticket_id
        return row

    @property
    def key(self) -> str:
        """``source/number``, as :attr:`Ticket.key`."""
        return f"{self.source}/{self.number}"  # type: ignore[attr-defined]


def take_pending(s: AsyncSession, skip: set[int], by_table: dict[type, list[dict[str, Any]]]) -> None:
    """Move the audit, SMS and outbox rows pending in ``s`` into ``by_table`` (column values per
    model, in the order they were added), for one executemany INSERT per table.

    The ORM flush wants each new row's id back and, on SQLite, fetches it one INSERT at a time;
    nobody needs these ids, so they are written without. The objects leave the session as
    transient rows with every column filled (id None), still readable through
    :func:`session_rows`. Rows in ``skip`` (ids of objects pending before) are left to the flush.
    """
    pending = sorted((o for o in s.new if type(o) in _BULK and id(o) not in skip),
                     key=lambda o: inspect(o).insert_order)
    for obj in pending:
        s.expunge(obj)
        state = obj.__dict__
        values: dict[str, Any] = {}
        for attr, column, default in bulk_columns(type(obj)):
            if attr not in state:  # what the INSERT fills in, set on the object as a flush would
                setattr(obj, attr, default(state) if default else None)
            values[column] = state[attr]
        by_table.setdefault(type(obj), []).append(values)


_BULK = (AuditEvent, SmsMessage, OutboxMessage)


@cache
def bulk_columns(model: type) -> list[tuple[str, str, RowDefault | None]]:
    """(attribute, column, default) of every column of ``model`` but its autoincrement key; the
    default (``store.bulk.client_default``) is a function of the row's values, or None."""
    return [(prop.key, prop.columns[0].key, client_default(prop.columns[0]))
            for prop in inspect(model).column_attrs
            if not (prop.columns[0].primary_key and prop.columns[0].autoincrement)]


def session_rows(s: AsyncSession, ticket: Ticket) -> tuple[list[AuditEvent], list[SmsMessage]]:
    """The audit rows and SMS this session added for ``ticket``, in order (no query needed)."""
    return ([r for r in s.info.get(AUDIT_ROWS, ()) if r.ticket_id == ticket.id],
            [m for m in s.info.get(SMS_ROWS, ()) if m.ticket_id == ticket.id])
