"""A 重复件 end to end: the office is told which earlier ticket it repeats and how that one was
answered; the unit's card carries 「按重复件答复」, which submits "于…回复，该件为重复件"; the ticket
page links the earlier ticket and its approved answer."""

from __future__ import annotations

from typing import Any

from tests.conftest import ticket_body
from tests.handlers.chat import Chat, only_answer
from tests.handlers.test_workflow import GOOD_REPLY
from tests.web.console.conftest import console_overrides

FIRST = "小区门口的养老服务站长期关门，老人无法就餐，请尽快处理。"
AGAIN = "小區門口的養老服務站長期關門 老人無法就餐！請儘快處理！！"  # traditional, other punctuation


async def test_repeat_is_told_answered_in_one_tap_and_linked(make_bot: Any, make_user: Any) -> None:
    bot = await make_bot(**console_overrides())
    chat = Chat(bot)
    assert (await bot.post_ticket(ticket_body(number="202611230001", content=FIRST, unit="YLK"))).status == 201
    assert "已签收" in only_answer(await chat.say("张承办", "签收 0001"))
    rows = await chat.say("张承办", f"答复 0001 {GOOD_REPLY}")
    card = next(r for r in rows if any(a["command"] == "同意" for a in r.payload.get("actions", [])))
    await chat.click("李科长", card, "同意")
    await chat.new_rows()
    assert (await bot.post_ticket(ticket_body(number="202611230002", content=AGAIN, unit="YLK",
                                              received_at="2026-11-23T09:45:00+08:00"))).status == 201
    rows = await chat.new_rows()
    note = next(r.payload["text"] for r in rows if r.kind == "repeat")
    assert "202611230002" in note and "202611230001（11月23日登记，已答复：实际解决。" in note
    assert "/console/tickets/12345/202611230001" in note
    assignment = next(r for r in rows if r.kind == "assignment")
    assert [a["command"] for a in assignment.payload["actions"]] == ["签收", "按重复件答复"]
    assert "已签收" in only_answer(await chat.say("张承办", "签收 0002"))
    answer = only_answer(await chat.click("张承办", assignment, "按重复件答复"))
    # the same words as 「答复 0002 重复件」: when the earlier one was answered, and its answer
    assert answer.startswith("工单 202611230002 已按重复件提交答复，等待领导审核：于")
    assert "回复，该件为重复件（原工单 202611230001）。原答复：实际解决。" in answer
    office = make_user(bot)
    await office.login("王办公")
    page = await office.page("/console/tickets/12345/202611230002")
    assert "重复件：此前基本一致的诉求" in page and 'href="/console/tickets/12345/202611230001"' in page
    assert "实际解决。" in page


async def test_one_tap_answer_on_a_ticket_that_repeats_nothing_says_how(make_bot: Any) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    assert (await bot.post_ticket(ticket_body(unit="YLK"))).status == 201
    await chat.say("张承办", "签收 0001")
    text = only_answer(await chat.say("张承办", "按重复件答复 0001"))
    assert "没有记为重复件" in text and "答复 202611230001 答复内容" in text
