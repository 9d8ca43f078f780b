"""TicketService.register_many: a fixed number of statements per batch, same outcome as one by one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.intake import TicketIn, parse_ticket
from bot.ticket_rows import session_rows
from store.models import AuditEvent, OutboxMessage, Ticket
from store.queries import tickets as tickets_q
from tests.conftest import Bot, ticket_body
from tests.statements import statements_of_this_task


def batch(prefix: str, n: int, first_phone: int) -> list[TicketIn]:
    """``n`` dispatched tickets from different citizens (no 重复件 among them)."""
    return [parse_ticket(ticket_body(number=f"{prefix}{i:03d}", unit="YLK",
                                     citizen={"name": "张三", "phone": f"139{first_phone + i:08d}"}))
            for i in range(n)]


async def register(bot: Bot, items: list[TicketIn]) -> tuple[int, list[list[str]]]:
    """Statements run by one batch, and each ticket's audit actions as session_rows gives them."""
    with statements_of_this_task(bot.ctx.engine) as statements:  # not the app's background probes
        async with bot.ctx.sessions.begin() as s:
            results = await bot.ctx.service.register_many(s, items, via="api")
            assert all(r.created for r in results)
            actions = [[e.action for e in session_rows(s, r.ticket)[0]] for r in results]
    return len(statements), actions


async def test_statements_per_batch_do_not_grow_with_its_size(make_bot: Any) -> None:
    bot = await make_bot()
    small, small_actions = await register(bot, batch("S", 3, 0))
    large, large_actions = await register(bot, batch("L", 40, 100))
    assert large == small
    assert small_actions == [["register", "dispatch"]] * 3
    assert large_actions == [["register", "dispatch"]] * 40
    async with bot.ctx.sessions() as s:
        tickets = list((await s.execute(select(Ticket).where(Ticket.number.like("L%")))).scalars())
        assert {t.state for t in tickets} == {"dispatched"} and len(tickets) == 40
        events = list((await s.execute(select(AuditEvent.action).where(
            AuditEvent.ticket_id.in_([t.id for t in tickets])).order_by(AuditEvent.id))).scalars())
        assert events == ["register", "dispatch"] * 40  # in registration order
        assignments = (await s.execute(select(OutboxMessage).where(
            OutboxMessage.kind == "assignment", OutboxMessage.ticket_id.in_([t.id for t in tickets])))).scalars()
        assert sorted(m.ticket_id for m in assignments) == sorted(t.id for t in tickets)  # YLK has one chat


async def test_repeat_in_one_batch_is_a_duplicate_of_the_earlier_one(make_bot: Any) -> None:
    bot = await make_bot()
    first = parse_ticket(ticket_body(number="D001"))
    again = parse_ticket(ticket_body(number="D002", received_at="2026-11-23T11:00:00+08:00"))
    same_number = parse_ticket(ticket_body(number="D001"))
    async with bot.ctx.sessions.begin() as s:
        results = await bot.ctx.service.register_many(s, [first, again, same_number], via="import")
        assert [(r.created, r.conflict) for r in results] == [(True, False), (True, False), (False, False)]
        assert results[2].ticket is results[0].ticket
        assert [e.action for e in session_rows(s, results[1].ticket)[0]] == ["register", "duplicate"]
    async with bot.ctx.sessions() as s:
        d1 = await tickets_q.by_key(s, "12345", "D001")
        d2 = await tickets_q.by_key(s, "12345", "D002")
        assert d1 is not None and d2 is not None
        assert d2.duplicate_of == d1.id and "重复件" in d2.tags
        assert d1.duplicate_of is None and "重复件" not in d1.tags


async def test_the_same_ticket_twice_in_one_transaction_is_not_created_again(make_bot: Any) -> None:
    # The import registers many tickets in one transaction, each in a SAVEPOINT: the second copy of
    # a ticket hits the unique key and comes back as the stored one, not as an error.
    bot = await make_bot()
    [item] = batch("T", 1, 1000)
    async with bot.ctx.sessions.begin() as s:
        first = await bot.ctx.service.register(s, item, via="import", savepoint=True)
        again = await bot.ctx.service.register(s, item, via="import", savepoint=True)
    assert first.created and not again.created and not again.conflict
    assert again.ticket.id == first.ticket.id
    async with bot.ctx.sessions() as s:
        assert len((await s.execute(select(Ticket).where(Ticket.number == "T000"))).scalars().all()) == 1
