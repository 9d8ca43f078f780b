"""Multi-row INSERTs for the hot paths (intake, import, webhook inbox).

On SQLite a batch is one ``INSERT … VALUES (…), (…) [ON CONFLICT DO NOTHING] [RETURNING …]``
sent straight to the driver connection of the caller's transaction: values are bound by the
columns' own SQLAlchemy types (so the stored text is what SQLAlchemy would store), without its
per-row parameter processing, which cost ~0.1 ms of the event loop's CPU per ticket row. On any
other database the same call is SQLAlchemy's own INSERT (insertmanyvalues). SQLite runs one
statement atomically, so a batch is written whole or not at all either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Column, Table, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

SQLITE_MAX_VARIABLES = 32766  # SQLITE_MAX_VARIABLE_NUMBER since SQLite 3.32

Binder = Callable[[Any], Any] | None


async def insert_rows(conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]], *,
                      returning: Sequence[str] = (), skip_conflicts_on: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (all with the same keys) into ``table`` in the caller's transaction.

    ``skip_conflicts_on`` names a unique key: rows that collide with it are skipped (ON CONFLICT
    DO NOTHING). Returns the ``returning`` columns of the rows inserted, in no particular order
    (match them by a unique key), or ``[]``.
    """
    if not rows:
        return []
    if conn.dialect.name != "sqlite":
        stmt: Any = insert(table)
        if skip_conflicts_on:
            insert_ = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            stmt = insert_(table).on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        if returning:
            stmt = stmt.returning(*(table.c[name] for name in returning))
            return [tuple(r) for r in (await conn.execute(stmt, list(rows))).all()]
        await conn.execute(stmt, list(rows))
        return []
    defaults = _python_defaults(table, frozenset(rows[0]))
    if defaults:
        rows = [{**row, **{name: default(row) for name, default in defaults}} for row in rows]
    columns = tuple(rows[0])
    binders = _binders(table, columns, conn.dialect)
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    per_statement = max(1, SQLITE_MAX_VARIABLES // len(columns))
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        params: list[Any] = []
        for row in chunk:
            params.extend(row[name] if bind is None else bind(row[name]) for name, bind in binders)
        sql = _sqlite_sql(table.name, columns, len(chunk), tuple(returning), tuple(skip_conflicts_on))
        out.extend(tuple(r) for r in await driver.execute_fetchall(sql, params))
    return out


class _RowContext:
    """What a context-sensitive column default reads: the row being inserted."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        self.current_parameters = row

    def get_current_parameters(self, isolate_multiinsert_groups: bool = True) -> Mapping[str, Any]:
        return self.current_parameters


RowDefault = Callable[[Mapping[str, Any]], Any]


def client_default(column: Column[Any]) -> RowDefault | None:
    """The client-side default SQLAlchemy applies to ``column`` as a function of the row being
    inserted (plain values, functions of no argument and context-sensitive ones alike), or None."""
    default = column.default
    if default is None:
        return None
    if default.is_scalar:
        return lambda _row, value=default.arg: value  # type: ignore[attr-defined, misc]
    if default.is_callable:
        return lambda row, fn=default.arg: fn(_RowContext(row))  # type: ignore[attr-defined, misc]
    return None


@cache
def _python_defaults(table: Table, given: frozenset[str]) -> list[tuple[str, RowDefault]]:
    """The client-side defaults SQLAlchemy would apply to the columns a row leaves out."""
    return [(column.name, fn) for column in table.columns
            if column.name not in given and (fn := client_default(column)) is not None]


@cache
def _binders(table: Table, columns: tuple[str, ...], dialect: Any) -> list[tuple[str, Binder]]:
    return [(name, table.c[name].type._cached_bind_processor(dialect)) for name in columns]


@cache
def _sqlite_sql(table: str, columns: tuple[str, ...], n: int, returning: tuple[str, ...],
                conflict: tuple[str, ...]) -> str:
    one = "(" + ", ".join("?" * len(columns)) + ")"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * n)}"
    if conflict:
        sql += f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
    return sql
