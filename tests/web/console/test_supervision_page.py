"""督办 level, 包案 leader and plan on the console (issue 15 §4, §5): the ticket page, the dashboard,
the printable form and the monthly report's 督办件 (平顶山 六、督办机制 “(二)现场督办…网络单位应在现场督办后
3个工作日内向市长热线办公室报送办理工作方案”; C/D类 “要确定1名主管领导”)."""

from __future__ import annotations

from tests.conftest import local, ticket_body
from tests.handlers.chat import Chat
from tests.web.console.conftest import console_overrides
from tests.web.console.test_console_reports import _rows

PDS = {"procedure": {"preset": "pingdingshan"}}


async def test_levels_on_ticket_page_dashboard_and_monthly_report(make_bot, make_user, clock) -> None:
    bot = await make_bot(**PDS, **console_overrides())
    chat = Chat(bot)
    clock.set(local(2026, 9, 30, 10, 0))
    body = ticket_body("202609300003", received_at="2026-09-30T10:00:00+08:00", category="B", unit="YLK")
    assert (await bot.post_ticket(body)).status == 201
    await chat.say("张承办", "签收 202609300003")
    clock.set(local(2026, 10, 9, 10, 0))
    await chat.say("李科长", "包案 202609300003 李科长")
    await chat.say("王办公", "督办 202609300003 现场", chat="bgs")
    office = make_user(bot)
    assert (await office.login("王办公")).status == 302
    page = await office.page("/console/tickets/12345/202609300003")
    assert "<dt>包案领导</dt><dd>李科长</dd>" in page
    assert "<dt>督办</dt><dd>现场督办（时限 10月13日 17:30）</dd>" in page
    assert "现场督办" in await office.page("/console/tickets")
    form = await office.page("/console/tickets/12345/202609300003/forms/signoff")
    assert "包案领导：李科长　督办：现场督办" in form
    report = await office.page("/console/reports?month=2026-09")
    assert "<th>督办件</th>" in report
    # 排名, 单位, 受理量, 按期办结, 超期, 及时响应率, 按期办结率, 满意率, 延期, 退单, 督办件, 综合, 提示
    assert _rows(report)["YLK"][10] == "1" and _rows(report)["*"][10] == "1"
