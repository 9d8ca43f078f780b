"""Hotline events (urge, extension_decision, …) are applied once per id: the store's unique key
decides, so concurrent deliveries of one event apply it once on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from store.models import AuditEvent, NotificationLedger, OutboxMessage
from store.queries import tickets as tickets_q
from tests.bot.test_tickets import accepted


async def _counts(bot, number: str) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    async with bot.ctx.sessions() as s:
        ticket = await tickets_q.by_key(s, "12345", number)
        assert ticket is not None
        urges = await s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.ticket_id == ticket.id, AuditEvent.action == "urge"))
        notices = await s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.ticket_id == ticket.id, OutboxMessage.kind == "urge"))
        return ticket.urge_count, int(urges or 0), int(notices or 0)


async def test_concurrent_deliveries_of_one_event_apply_it_once(make_bot) -> None:
    bot = await make_bot()
    number = await accepted(bot)
    answers = await asyncio.gather(*(bot.post_event("12345", number, {"type": "urge", "id": "U-1", "note": "请快办"})
                                     for _ in range(6)))
    assert [r.status for r in answers] == [200] * 6
    assert await _counts(bot, number) == (1, 1, 1)
    # another id is another event
    other = await bot.post_event("12345", number, {"type": "urge", "id": "U-2"})
    assert other.status == 200
    assert await _counts(bot, number) == (2, 2, 2)


async def test_a_refused_event_takes_no_key_and_is_judged_again(make_bot) -> None:
    bot = await make_bot()
    number = await accepted(bot)
    closed = await bot.post_event("12345", number, {"type": "close", "id": "C-1"})
    assert closed.status == 200
    refused = [await bot.post_event("12345", number, {"type": "urge", "id": "U-9"}) for _ in range(2)]
    assert [r.status for r in refused] == [409, 409]
    async with bot.ctx.sessions() as s:
        slots = (await s.execute(select(NotificationLedger.slot).where(
            NotificationLedger.kind == "hotline_event"))).scalars().all()
    assert len(slots) == 1  # C-1 only
