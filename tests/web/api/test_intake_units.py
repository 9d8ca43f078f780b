"""The intake API names a unit by code or by name; an unknown unit is a 400 on the ``unit`` field."""

from __future__ import annotations

from sqlalchemy import func, select

from store.models import Ticket
from tests.conftest import ticket_body


async def test_unit_by_name_is_stored_by_code(make_bot) -> None:
    bot = await make_bot()
    r = await bot.post_ticket(ticket_body(unit="养老服务科"))
    assert r.status == 201, await r.text()
    view = await r.json()
    assert view["unit"] == "YLK" and view["state"] == "dispatched"
    # Named by code the next time, it is the same ticket again, not a conflict.
    again = await bot.post_ticket(ticket_body(unit="YLK"))
    assert again.status == 200, await again.text()
    full_width = await bot.post_ticket(ticket_body("202611230002", unit="ｓｈｊｚｋ"))
    assert full_width.status == 201 and (await full_width.json())["unit"] == "SHJZK"


async def test_unknown_unit_is_400_with_the_unit_field(make_bot) -> None:
    bot = await make_bot()
    r = await bot.post_ticket(ticket_body(unit="城管局"))
    assert r.status == 400
    body = await r.json()
    assert body["error"] == "invalid"
    assert body["fields"] == {"unit": "没有这个承办单位：城管局"}
    async with bot.ctx.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Ticket))).scalar_one() == 0
