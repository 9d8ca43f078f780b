"""A provider push of many items is stored with a few statements, not several per item (issue 14,
root cause 13), and means the same as item-by-item: every receipt applied, every reply stored
once (repeats within the push and across pushes dropped) and anchored to its answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, func, insert, select

from store.models import OutboxMessage, SmsMessage, SmsReplyRecord
from tests.bot.sms_rig import rig


async def _sent(ctx: Any, n: int) -> None:
    now = ctx.clock.now()
    rows = [{"phone": f"139{i:08d}", "kind": "answer", "params": {}, "text": "", "provider": "log",
             "out_id": f"t-{i}", "provider_id": f"P{i:06d}", "state": "sent", "segments": 1,
             "created_at": now, "updated_at": now} for i in range(n)]
    async with ctx.sessions.begin() as s:
        await s.execute(insert(SmsMessage), rows)


def _items(lo: int, hi: int, at: str) -> list[dict[str, Any]]:
    receipts = [{"provider_id": f"P{i:06d}", "phone": f"139{i:08d}", "delivered": i % 3 != 0} for i in range(lo, hi)]
    replies = [{"phone": f"139{i:08d}", "text": f"谢谢{i}", "at": at} for i in range(lo, hi)]
    return receipts + replies + replies[:3]  # the provider repeats a few within one push


async def test_a_big_push_costs_a_few_statements_and_means_the_same(make_bot, aiohttp_server, clock,
                                                                    store_url: str) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "log")
    ctx = r.ctx
    await _sent(ctx, 260)
    statements: list[str] = []
    event.listen(ctx.engine.sync_engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    at = (clock.now() + timedelta(minutes=3)).isoformat()

    small = await r.push(_items(0, 10, at))
    assert small.status == 200
    few = len(statements)
    statements.clear()
    big = await r.push(_items(10, 250, at))
    assert big.status == 200
    many = len(statements)
    again = await r.push(_items(10, 250, at))  # the provider's retry of the whole push
    assert again.status == 200

    async with ctx.sessions() as s:
        states = dict((await s.execute(select(SmsMessage.out_id, SmsMessage.state))).all())
        replies = (await s.execute(select(SmsReplyRecord.text, SmsReplyRecord.ticket_id))).all()
        notices = await s.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.kind == "sms_unmatched"))
    assert [states[f"t-{i}"] for i in range(252)] == [
        ("delivered" if i % 3 else "failed") if i < 250 else "sent" for i in range(252)]
    assert sorted(t for t, _ in replies) == sorted(f"谢谢{i}" for i in range(250))
    # answers without a ticket: each reply is anchored, has no ticket, and the office hears once per reply
    assert notices == 250
    if store_url.startswith("postgresql"):  # SQLite inserts row by row in-process; the count is the wire's
        assert many <= few + 10, (few, many)
