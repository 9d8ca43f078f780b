"""The 信访 复查 window on the ticket page: 松江 信访答复模板 “如不服本意见，您可自收到本处理意见之日起
30 日内向[上一级行政机关]提出复查申请”, kept on the ticket once the answer is approved."""

from __future__ import annotations

from bot.notices import fmt_time
from tests.conftest import ticket_body
from tests.handlers.chat import Chat
from tests.handlers.test_answer_templates import XINFANG_REPLY
from tests.web.console.conftest import console_overrides


async def test_ticket_page_shows_the_review_window(make_bot, make_user) -> None:
    bot = await make_bot(**console_overrides())
    assert (await bot.post_ticket(ticket_body(source="xinfang", unit="YLK"))).status == 201
    chat = Chat(bot)
    await chat.say("张承办", "签收 0001")
    office = make_user(bot)
    await office.login("王办公")
    page = await office.page("/console/tickets/xinfang/202611230001")
    assert "复查期限" not in page  # nothing until the answer is approved
    await chat.say("张承办", f"答复 0001 {XINFANG_REPLY}")
    await chat.say("李科长", "同意 0001")
    t = await chat.ticket("202611230001")
    assert t.reconsider_until is not None
    page = await office.page("/console/tickets/xinfang/202611230001")
    assert f"{fmt_time(bot.ctx.calendar, t.reconsider_until)} 前可申请复查" in page
