"""The ticket page of a 涉众 ticket links the other citizens' earlier tickets about the matter."""

from __future__ import annotations

import html
from typing import Any

from tests.bot.test_reading_related import FIRST, NEIGHBOUR, post
from tests.web.console.conftest import console_overrides


async def test_the_ticket_page_links_the_related_tickets(make_bot: Any, make_user: Any) -> None:
    bot = await make_bot(**console_overrides())
    await post(bot, "202611200001", FIRST, "13800000001")
    await post(bot, "202611200002", NEIGHBOUR, "13800000002", received="2026-11-21T09:00:00+08:00")
    office = make_user(bot)
    await office.login("王办公")
    page = html.unescape(await office.page("/console/tickets/12345/202611200002"))
    assert "涉众：其他群众此前反映的同一地点同一事项" in page
    assert '<a href="/console/tickets/12345/202611200001">202611200001</a>' in page
    first = html.unescape(await office.page("/console/tickets/12345/202611200001"))
    assert "涉众：" not in first
