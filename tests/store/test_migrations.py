"""Migrations: the schema they build is the models' schema, and 0003 fills in what it adds."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import column, insert, select
from sqlalchemy import table as sqltable
from sqlalchemy.engine import Connection

from store.db import create_engine
from store.migrate import alembic_config, upgrade
from store.models import Base, Ticket, twin_key


def _to(store_url: str, revision: str):  # type: ignore[no-untyped-def]
    def run(conn: Connection) -> None:
        cfg = alembic_config(store_url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return run


async def test_migrated_schema_matches_the_models(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": False}),
                                           Base.metadata))
        # an index declared for another dialect only (ddl_if) is rightly not built here
        elsewhere = {i.name for t in Base.metadata.tables.values() for i in t.indexes
                     if i._ddl_if is not None and i._ddl_if.dialect not in (None, engine.dialect.name)}
        assert [d for d in diff if not (d[0] == "add_index" and d[1].name in elsewhere)] == []
    finally:
        await engine.dispose()


async def test_0003_gives_stored_tickets_their_twin_key(store_url: str) -> None:
    engine = create_engine(store_url)
    now = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    words = ["路灯不亮", "噪音扰民，夜里施工", "井盖缺失"]
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_to(store_url, "0002"))
            table = Ticket.__table__
            columns = {c.name for c in table.columns} - {"twin_key", "id"}
            rows = [{"source": "12345", "number": f"N{i}", "content_hash": f"h{i}", "received_at": now,
                     "content": text, "tags": [], "state": "registered",
                     "citizen_phone": None if i == 2 else "13800000000",
                     "max_extensions": 1, "round": 1, "extensions_granted": 0, "urge_count": 0,
                     "created_at": now, "updated_at": now} for i, text in enumerate(words)]
            assert set(rows[0]) <= columns
            before = sqltable("tickets", *[column(k, table.c[k].type) for k in rows[0]])  # the 0002 columns
            await conn.execute(insert(before), rows)
        await upgrade(engine)
        async with engine.connect() as conn:
            stored = (await conn.execute(select(Ticket.content, Ticket.twin_key).order_by(Ticket.id))).all()
        assert [k for _, k in stored] == [twin_key("13800000000", words[0]), twin_key("13800000000", words[1]), None]
        assert stored[0][1] != stored[1][1] and stored[0][1] is not None
    finally:
        await engine.dispose()
