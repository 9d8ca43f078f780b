"""The notification ledger: a reminder is owed once per (subject, kind, slot).

Claiming is insert-and-catch-conflict in bulk (``INSERT … ON CONFLICT DO NOTHING RETURNING``):
only the keys this transaction inserted are sent, so a scan run twice, late, or by two
instances at once queues each reminder once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, String, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from store.models import NotificationLedger

Key = tuple[str, str, str]  # (subject, kind, slot)
CHUNK = 500


def compact(when: datetime) -> str:
    """A short, sortable UTC stamp for slots: ``20261123T0200``."""
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M")


class compact_sql(FunctionElement[str]):
    """SQL twin of :func:`compact` for a datetime column or expression (the same string)."""

    type = String()
    inherit_cache = True
    name = "compact_sql"

    def __init__(self, when: ColumnElement[datetime]) -> None:
        super().__init__(when)


@compiles(compact_sql, "sqlite")
def _compact_sqlite(element: compact_sql, compiler: SQLCompiler, **kw: object) -> str:
    # SQLite keeps datetimes as naive UTC text ``2026-11-23 02:00:00.000000`` (store.models.UtcDateTime)
    return compiler.process(func.strftime("%Y%m%dT%H%M", *element.clauses), **kw)


@compiles(compact_sql, "postgresql")
def _compact_postgresql(element: compact_sql, compiler: SQLCompiler, **kw: object) -> str:
    return compiler.process(func.to_char(func.timezone("UTC", *element.clauses), 'YYYYMMDD"T"HH24MI'), **kw)


async def claim(s: AsyncSession, keys: Iterable[Key], now: datetime) -> set[Key]:
    """Insert ledger rows for ``keys``; returns the keys that were new (the ones to send)."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return set()
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    got: set[Key] = set()
    L = NotificationLedger
    for i in range(0, len(wanted), CHUNK):
        part = wanted[i:i + CHUNK]
        stmt = (insert(L).values([{"subject": a, "kind": b, "slot": c, "created_at": now} for a, b, c in part])
                .on_conflict_do_nothing(index_elements=["subject", "kind", "slot"])
                .returning(L.subject, L.kind, L.slot))
        got.update((a, b, c) for a, b, c in (await s.execute(stmt)).all())
    return got


async def existing(s: AsyncSession, keys: Sequence[Key]) -> set[Key]:
    """Which of ``keys`` (a handful: one per unit, say) are in the ledger already (one query)."""
    if not keys:
        return set()
    L = NotificationLedger
    rows = await s.execute(select(L.subject, L.kind, L.slot).where(
        L.subject.in_(sorted({k[0] for k in keys})), L.kind.in_(sorted({k[1] for k in keys})),
        L.slot.in_(sorted({k[2] for k in keys}))))
    return {(a, b, c) for a, b, c in rows.all()} & set(keys)


# ---- job runs: subject "job:<name>", kind "run", slot = compact fire time ----------------------

async def record_run(s: AsyncSession, job: str, fire: datetime, now: datetime) -> bool:
    """Record that ``job`` ran for the fire time ``fire``; False when some instance already did."""
    return bool(await claim(s, [(f"job:{job}", "run", compact(fire))], now))


async def last_run(s: AsyncSession, job: str) -> str | None:
    """The latest recorded fire slot of ``job`` (compact UTC), or None."""
    L = NotificationLedger
    return (await s.execute(select(func.max(L.slot)).where(L.subject == f"job:{job}", L.kind == "run"))
            ).scalar_one_or_none()


async def prune_runs(s: AsyncSession, job: str, before: datetime) -> None:
    """Forget run records older than ``before`` (reminder rows are kept: they are the history)."""
    L = NotificationLedger
    await s.execute(delete(L).where(L.subject == f"job:{job}", L.kind == "run", L.slot < compact(before)))
