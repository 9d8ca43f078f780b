"""``GET /api/v1/tickets`` reads a page of tickets in a fixed number of queries (no query per ticket)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.conftest import ticket_body


async def _queries_for_list(bot: Any) -> tuple[int, int]:
    """(statements run, tickets listed) for one list request."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = bot.ctx.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        r = await bot.get("/api/v1/tickets?limit=500")
        assert r.status == 200
        body = await r.json()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements), len(body["items"])


async def test_list_query_count_does_not_grow_with_tickets(make_bot) -> None:
    bot = await make_bot()
    for i in range(2):
        assert (await bot.post_ticket(ticket_body(f"2026112300{i:02d}"))).status == 201
    few, listed = await _queries_for_list(bot)
    assert listed == 2
    for i in range(2, 12):
        assert (await bot.post_ticket(ticket_body(f"2026112300{i:02d}"))).status == 201
    many, listed = await _queries_for_list(bot)
    assert listed == 12
    assert many == few
    assert few <= 7  # the count, the page, and one query per kind of row (events, SMS, replies, units)
