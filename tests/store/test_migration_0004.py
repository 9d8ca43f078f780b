"""Migration 0004: hotline events already applied (their id in the audit detail) get their key in
the notifications ledger, so a redelivery after the upgrade is still recognised."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import column, insert, select
from sqlalchemy import table as sqltable

from bot.tickets import HOTLINE_EVENT, hotline_event_slot
from store.db import create_engine
from store.migrate import upgrade
from store.models import AuditEvent, NotificationLedger, Ticket
from tests.store.test_migrations import _to


async def test_0004_keys_the_hotline_events_already_applied(store_url: str) -> None:
    engine = create_engine(store_url)
    now = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_to(store_url, "0003"))
            # Only the columns of the 0003 schema: later migrations add more, with model-side defaults
            # an insert through the model would write.
            ticket = {"source": "12345", "number": "N1", "content_hash": "h", "received_at": now,
                      "content": "路灯不亮", "tags": [], "state": "accepted", "max_extensions": 1, "round": 1,
                      "extensions_granted": 0, "urge_count": 1, "created_at": now, "updated_at": now}
            tickets = sqltable("tickets", *[column(name, Ticket.__table__.c[name].type) for name in ticket])
            await conn.execute(insert(tickets), [ticket])
            audit_columns = ("ticket_id", "at", "actor", "action", "outcome", "detail")
            audit = sqltable("audit_events", *[column(name, AuditEvent.__table__.c[name].type)
                                               for name in audit_columns])
            rows = [("urge", {"event": "U-1"}), ("urge", {"event": "U-1"}), ("extension_decision", {"event": "X-9"}),
                    ("accept", {"event": "not-a-hotline-event"}), ("urge", {"event": None})]
            await conn.execute(insert(audit), [{"ticket_id": 1, "at": now, "actor": "热线", "action": action,
                                                "outcome": "ok", "detail": detail} for action, detail in rows])
        await upgrade(engine)
        async with engine.connect() as conn:
            keys = (await conn.execute(select(NotificationLedger.subject, NotificationLedger.kind,
                                              NotificationLedger.slot))).all()
        assert sorted(keys) == sorted([("ticket:1", HOTLINE_EVENT, hotline_event_slot("U-1")),
                                       ("ticket:1", HOTLINE_EVENT, hotline_event_slot("X-9"))])
    finally:
        await engine.dispose()
