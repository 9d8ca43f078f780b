"""The store on SQLite and PostgreSQL: migrations, aware UTC times, unique constraints."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select
from sqlalchemy.dialects.sqlite import DATETIME
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite as sqlite_dialect
from sqlalchemy.exc import IntegrityError, StatementError

from bot.bootstrap import prepare_store
from store.db import create_engine, ping, session_factory
from store.migrate import current_revision, head_revision, is_empty, upgrade
from store.models import (
    AuditEvent,
    InboxEvent,
    NotificationLedger,
    OutboxMessage,
    Person,
    Ticket,
    Unit,
    UtcDateTime,
)
from tests.conftest import local, ticket_body

TABLES = {"units", "people", "roles", "tickets", "audit_events", "review_requests", "inbox", "outbox",
          "notifications", "sms_messages", "sms_replies", "sms_optout", "leases", "used_tokens"}


def _ticket(number: str, received: datetime) -> Ticket:
    now = datetime.now(UTC)
    return Ticket(source="12345", number=number, content_hash="h", received_at=received, content="c",
                  tags=[], state="registered", created_at=now, updated_at=now)


async def test_migrations_upgrade_an_empty_store(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        assert await is_empty(engine)
        assert await current_revision(engine) is None
        await upgrade(engine)
        await upgrade(engine)  # idempotent
        assert await current_revision(engine) == head_revision()
        assert not await is_empty(engine)
        async with engine.connect() as conn:
            names = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert names >= TABLES
        assert await ping(engine)
    finally:
        await engine.dispose()


async def test_prepare_store_is_a_no_op_on_an_upgraded_store(make_bot) -> None:
    bot = await make_bot()
    r = await bot.post_ticket(ticket_body(unit="YLK"))
    assert r.status == 201
    ctx = bot.ctx
    async with ctx.sessions() as s:
        people_before = [(p.id, p.name) for p in (await s.execute(select(Person).order_by(Person.id))).scalars()]
        units_before = sorted((await s.execute(select(Unit.code))).scalars())
    await prepare_store(ctx)
    await prepare_store(ctx)
    assert await current_revision(ctx.engine) == head_revision()
    async with ctx.sessions() as s:
        assert [(p.id, p.name) for p in (await s.execute(select(Person).order_by(Person.id))).scalars()] == people_before
        assert sorted((await s.execute(select(Unit.code))).scalars()) == units_before
        assert len(list((await s.execute(select(Ticket))).scalars())) == 1
    assert ctx.directory.people["张承办"].id == {name: pid for pid, name in people_before}["张承办"]

async def test_store_with_tables_but_no_revision_is_refused(make_bot) -> None:
    bot = await make_bot()
    async with bot.ctx.engine.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE alembic_version")
    with pytest.raises(RuntimeError, match="db upgrade"):
        await prepare_store(bot.ctx)


async def test_aware_utc_round_trip(make_bot) -> None:
    bot = await make_bot()
    sessions = bot.ctx.sessions
    plus8 = local(2026, 11, 23, 9, 30, 15)
    minus5 = datetime(2026, 3, 8, 1, 59, 59, 123456, tzinfo=timezone(timedelta(hours=-5)))
    async with sessions.begin() as s:
        s.add_all([_ticket("RT-1", plus8), _ticket("RT-2", minus5)])
    async with session_factory(bot.ctx.engine)() as s:  # a fresh session: values come from the database
        got = {t.number: t.received_at for t in (await s.execute(select(Ticket))).scalars()}
    assert got["RT-1"] == plus8 and got["RT-1"].utcoffset() == timedelta(0)
    assert got["RT-1"].isoformat() == "2026-11-23T01:30:15+00:00"
    assert got["RT-2"] == minus5 and got["RT-2"].tzinfo is not None
    # Ordering and comparison happen on the UTC instant, whatever the offset written.
    async with sessions() as s:
        first = (await s.execute(select(Ticket.number).order_by(Ticket.received_at).limit(1))).scalar_one()
        later = list((await s.execute(select(Ticket.number).where(
            Ticket.received_at > datetime(2026, 11, 23, 1, 30, tzinfo=UTC)))).scalars())
    assert first == "RT-2" and later == ["RT-1"]


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()))
def test_sqlite_datetime_text_is_the_dialect_format(value: datetime) -> None:
    """The fast SQLite bind of ``UtcDateTime`` writes exactly what SQLAlchemy's DATETIME would
    for the UTC instant, so stored rows compare and sort as before."""
    dialect = sqlite_dialect()
    ours = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    generic = DATETIME().bind_processor(dialect)
    assert ours(value) == generic(value.astimezone(UTC).replace(tzinfo=None))
    assert ours(None) is None


async def test_naive_datetime_is_refused(make_bot) -> None:
    bot = await make_bot()
    with pytest.raises(StatementError, match="naive"):
        async with bot.ctx.sessions.begin() as s:
            s.add(_ticket("NAIVE", datetime(2026, 11, 23, 9, 30)))


async def test_unique_constraints_hold(make_bot) -> None:
    bot = await make_bot()
    now = datetime.now(UTC)
    sessions = bot.ctx.sessions
    cases = [
        lambda: InboxEvent(platform="wecom", event_id="msg-1", payload={}, received_at=now),
        lambda: NotificationLedger(subject="ticket:1", kind="deadline", slot="2026-11-23", created_at=now),
        lambda: _ticket("DUP-1", now),
        lambda: OutboxMessage(channel="chat", dest_key="k", destination={}, payload={}, next_attempt_at=now,
                              created_at=now, dedupe_key="same"),
    ]
    for make in cases:
        async with sessions.begin() as s:
            s.add(make())
        with pytest.raises(IntegrityError):
            async with sessions.begin() as s:
                s.add(make())
    # Differing in one part of the key is fine.
    async with sessions.begin() as s:
        s.add(InboxEvent(platform="feishu", event_id="msg-1", payload={}, received_at=now))
        s.add(NotificationLedger(subject="ticket:1", kind="deadline", slot="2026-11-24", created_at=now))
        s.add(OutboxMessage(channel="chat", dest_key="k", destination={}, payload={}, next_attempt_at=now,
                            created_at=now, dedupe_key=None))
        s.add(OutboxMessage(channel="chat", dest_key="k", destination={}, payload={}, next_attempt_at=now,
                            created_at=now, dedupe_key=None))


async def test_citizen_data_is_stored_once_on_the_ticket(make_bot) -> None:
    bot = await make_bot()
    assert (await bot.post_ticket(ticket_body(unit="YLK"))).status == 201
    async with bot.ctx.sessions() as s:
        t = (await s.execute(select(Ticket))).scalar_one()
        audits = list((await s.execute(select(AuditEvent))).scalars())
        outbox = list((await s.execute(select(OutboxMessage))).scalars())
    assert (t.citizen_name, t.citizen_phone) == ("张三", "13812341234")
    assert outbox, "the assignment was queued"
    for row in [*audits, *outbox]:
        dumped = json.dumps([getattr(row, c.key) for c in row.__table__.columns], default=str, ensure_ascii=False)
        assert "13812341234" not in dumped and "张三" not in dumped


async def test_prepare_store_brings_an_older_store_to_head(store_url: str, make_config) -> None:
    from alembic import command

    from bot.bootstrap import build_context
    from store.migrate import alembic_config

    engine = create_engine(store_url)
    try:
        def to_first(conn) -> None:  # type: ignore[no-untyped-def]
            cfg = alembic_config(store_url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")

        async with engine.begin() as conn:
            await conn.run_sync(to_first)
        assert await current_revision(engine) == "0001" != head_revision()
    finally:
        await engine.dispose()
    ctx = build_context(make_config())
    try:
        await prepare_store(ctx)
        assert await current_revision(ctx.engine) == head_revision()
    finally:
        await ctx.engine.dispose()
