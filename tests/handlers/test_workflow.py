"""The review workflow end to end: intake over HTTP, then commands through the message model."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.deadlines import apply_duration, parse_duration
from bot.notices import fmt_time
from store.models import OutboxMessage, SmsMessage
from tests.conftest import ticket_body
from tests.handlers.chat import Chat, answers, only_answer

GOOD_REPLY = ("实际解决。11月24日10时，养老服务科工作人员与来电人电话沟通，经核实服务站因装修暂停，"
              "已协调于11月25日恢复供餐。来电人表示接受。")


async def dispatched(make_bot, **overrides):
    bot = await make_bot(**overrides)
    chat = Chat(bot)
    r = await bot.post_ticket(ticket_body(unit="YLK"))
    assert r.status == 201
    rows = await chat.new_rows()
    card = next(r for r in rows if r.kind == "assignment")
    return bot, chat, card


async def test_whole_ticket_story(make_bot, clock) -> None:
    bot, chat, _card = await dispatched(make_bot)
    number = "202611230001"

    text = only_answer(await chat.say("张承办", "@热线助手 签收 0001"))
    assert "张承办 已签收" in text and "12月2日 17:30" in text

    text = only_answer(await chat.say("张承办", "联系 0001 已电话联系来电人，约定明日上门"))
    assert "先行联系" in text
    clock.advance(hours=2)
    text = only_answer(await chat.say("张承办", "进展 0001 已协调社区，明日现场核实"))
    assert "进展" in text

    refused = only_answer(await chat.say("张承办", "答复 0001 已经处理好了"))
    assert "办结规范" in refused and "实际解决" in refused
    assert (await chat.ticket(number)).state == "accepted"

    rows = await chat.say("张承办", f"答复 0001 {GOOD_REPLY}")
    review_card = next(r for r in rows if r.kind == "review")
    assert [m["name"] for m in review_card.payload["mentions"]] == ["李科长"]
    assert {a["command"] for a in review_card.payload["actions"]} == {"同意", "驳回"}
    assert (await chat.ticket(number)).state == "reply_pending"

    rows = await chat.say("李科长", "驳回 0001 请补充服务站恢复后的回访安排")
    assert "已驳回" in only_answer(rows)
    told = [r for r in rows if r.kind == "notice"]
    assert told and "请补充服务站恢复后的回访安排" in told[0].payload["text"]
    assert [m["name"] for m in told[0].payload["mentions"]] == ["张承办"]
    assert (await chat.ticket(number)).state == "accepted"

    rows = await chat.say("张承办", f"回复 {number} {GOOD_REPLY}并于11月26日回访。")
    review_card = next(r for r in rows if r.kind == "review")
    rows = await chat.click("李科长", review_card, "同意")
    assert "已同意" in only_answer(rows)
    kinds = {r.kind for r in rows}
    assert {"answered", "sms_answer", "card_update"} <= kinds
    update = next(r for r in rows if r.kind == "card_update")
    assert "李科长 已同意" in update.payload["text"] and update.payload["update_message_id"]
    sms = next(r for r in rows if r.kind == "sms_answer")
    assert sms.channel == "sms" and sms.destination["user_id"] == "13812341234"
    t = await chat.ticket(number)
    assert t.state == "answered" and t.answered_at is not None

    async with bot.ctx.sessions() as s:
        sms_rows = list((await s.execute(select(SmsMessage))).scalars())
    assert len(sms_rows) == 1 and sms_rows[0].params == {"number": number, "unit": "养老服务科"}

    story = [(e.action, e.outcome) for e in await chat.audit(number)]
    assert story == [
        ("register", "ok"), ("dispatch", "ok"), ("accept", "ok"), ("first_contact", "ok"),
        ("progress", "ok"), ("command:答复", "refused"), ("reply", "ok"), ("reject_reply", "ok"),
        ("reply", "ok"), ("approve_reply", "ok"),
    ]
    events = await chat.audit(number)
    assert events[2].actor == "张承办" and events[2].text == "@热线助手 签收 0001"
    assert events[-1].actor == "李科长" and events[-1].text.startswith("[按钮] 同意")


async def test_button_token_is_single_use_and_expires(make_bot, clock) -> None:
    _bot, chat, _card = await dispatched(make_bot)
    await chat.say("张承办", "签收 0001")
    rows = await chat.say("张承办", f"答复 0001 {GOOD_REPLY}")
    review_card = next(r for r in rows if r.kind == "review")

    clock.advance(days=8)
    text = only_answer(await chat.click("李科长", review_card, "同意"))
    assert "已失效" in text
    assert (await chat.ticket("202611230001")).state == "reply_pending"

    clock.advance(days=-8)
    assert "已同意" in only_answer(await chat.click("李科长", review_card, "同意"))
    again = only_answer(await chat.click("李科长", review_card, "同意"))
    assert "已被使用" in again or "没有待审核" in again


async def test_button_without_rights_does_not_consume_it(make_bot) -> None:
    _bot, chat, card = await dispatched(make_bot)
    text = only_answer(await chat.click("陈承办", card, "签收", chat="shjzk"))
    assert "不属于" in text
    assert "已签收" in only_answer(await chat.click("张承办", card, "签收"))


async def test_reject_button_asks_for_a_reason(make_bot) -> None:
    _bot, chat, _card = await dispatched(make_bot)
    await chat.say("张承办", "签收 0001")
    rows = await chat.say("张承办", f"答复 0001 {GOOD_REPLY}")
    review_card = next(r for r in rows if r.kind == "review")
    text = only_answer(await chat.click("李科长", review_card, "驳回"))
    assert "驳回 202611230001 意见" in text
    assert (await chat.ticket("202611230001")).state == "reply_pending"


async def test_extension_once_and_deadline_moves(make_bot) -> None:
    bot, chat, _ = await dispatched(make_bot)
    await chat.say("张承办", "签收 0001")
    assert "等待审核" in only_answer(await chat.say("张承办", "延期 0001 5天 需协调街道现场核实"))
    second = only_answer(await chat.say("张承办", "延期 0001 3天 再等等"))
    assert "在等待审核" in second
    assert "已批准" in only_answer(await chat.say("李科长", "同意 0001"))
    t = await chat.ticket("202611230001")
    # 12月2日 17:30 + 5 natural days = 12月7日 17:30
    assert bot.ctx.calendar.local(t.deadline).isoformat() == "2026-12-07T17:30:00+08:00"
    assert t.extensions_granted == 1 and t.extension_state == "granted"
    third = only_answer(await chat.say("张承办", "延期 0001 2天 还要再延"))
    assert "不能再次延期" in third


async def test_lichuan_late_extension_refused(make_bot, clock) -> None:
    _bot, chat, _ = await dispatched(make_bot, procedure={"preset": "lichuan"})
    await chat.say("张承办", "签收 0001")
    # 利川 疑难 7wd → Wed 12月2日; 2 working days before is Mon 11月30日. On Tue 12月1日 it is too late.
    clock.set(clock.now() + timedelta(days=8))
    text = only_answer(await chat.say("张承办", "延期 0001 5天 需协调"))
    assert "前 2 个工作日" in text


async def test_giveback_approved_tells_office(make_bot) -> None:
    _bot, chat, _ = await dispatched(make_bot)
    assert "等待审核" in only_answer(await chat.say("张承办", "退单 0001 不属于本单位职责，建议转住建局"))
    assert (await chat.ticket("202611230001")).state == "giveback_pending"
    rows = await chat.say("李科长", "同意 0001")
    office = [r for r in rows if r.kind == "giveback_office"]
    assert office and office[0].destination["chat_id"] == "bgs" and "请于" in office[0].payload["text"]
    assert (await chat.ticket("202611230001")).state == "returned"


async def test_giveback_rejected_goes_back(make_bot) -> None:
    _bot, chat, _ = await dispatched(make_bot)
    await chat.say("张承办", "退单 0001 不属于本单位职责")
    await chat.say("李科长", "驳回 0001 属于本科职责，请办理")
    assert (await chat.ticket("202611230001")).state == "dispatched"


async def test_office_redispatches(make_bot) -> None:
    _bot, chat, _ = await dispatched(make_bot)
    rows = await chat.say("王办公", "转办 0001 社会救助科", chat="bgs")
    assert "已派至社会救助科" in only_answer(rows)
    dests = {r.destination.get("chat_id") for r in rows if r.kind in ("assignment", "notice")}
    assert {"shjzk", "ylk"} <= dests
    refused = only_answer(await chat.say("张承办", "签收 0001"))
    assert "没有找到工单" in refused or "不属于" in refused
    assert "已签收" in only_answer(await chat.say("陈承办", "签收 0001", chat="shjzk"))


async def test_quoting_the_assignment_names_the_ticket(make_bot) -> None:
    bot, chat, card = await dispatched(make_bot)
    async with bot.ctx.sessions.begin() as s:
        row = await s.get(OutboxMessage, card.id)
        row.provider_message_id = "msg-assign-1"
    text = only_answer(await chat.say("张承办", "签收", mentioned=False, quoted="msg-assign-1"))
    assert "已签收工单 202611230001" in text


async def test_plain_group_chat_is_left_alone(make_bot) -> None:
    _bot, chat, _ = await dispatched(make_bot)
    assert await chat.say("张承办", "签收 0001", mentioned=False) == []
    assert (await chat.ticket("202611230001")).state == "dispatched"


async def test_direct_message_needs_no_mention(make_bot) -> None:
    _bot, chat, _ = await dispatched(make_bot)
    rows = await chat.say("张承办", "签收 0001", direct=True, mentioned=False)
    assert "已签收" in only_answer(rows)
    assert rows[0].destination == {"platform": "console", "bot": "console", "user_id": "张承办"}


async def test_stranger_is_refused_politely(make_bot) -> None:
    _bot, chat, _ = await dispatched(make_bot)
    text = only_answer(await chat.say("路人甲", "签收 0001"))
    assert "不在本系统的人员名单" in text
    assert (await chat.ticket("202611230001")).state == "dispatched"


async def test_retried_event_is_a_no_op(make_bot) -> None:
    _bot, chat, _ = await dispatched(make_bot)
    first = await chat.say("张承办", "进展 0001 第一次", event_id="same")
    assert answers(first)
    assert await chat.say("张承办", "进展 0001 第一次", event_id="same") == []


async def test_ambiguous_suffix_lists_candidates(make_bot) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    for n in ("A10001234", "B20001234"):
        await bot.post_ticket(ticket_body(number=n, content=f"诉求{n}", unit="YLK"))
    text = only_answer(await chat.say("张承办", "签收 1234"))
    assert "A10001234" in text and "B20001234" in text


async def test_query_masks_in_group_and_shows_full_to_assignee_in_dm(make_bot) -> None:
    _bot, chat, _ = await dispatched(make_bot)
    group = only_answer(await chat.say("刘承办", "查询 0001"))
    assert "138****1234" in group and "13812341234" not in group and "张*" in group
    await chat.say("张承办", "签收 0001")
    dm = only_answer(await chat.say("张承办", "查 0001", direct=True))
    assert "13812341234" in dm and "张三" in dm
    other_dm = only_answer(await chat.say("刘承办", "查询 0001", direct=True))
    assert "13812341234" not in other_dm


async def test_todo_lists_own_then_unit(make_bot) -> None:
    bot, chat, _ = await dispatched(make_bot)
    await bot.post_ticket(ticket_body(number="202611230002", content="另一件", unit="YLK"))
    await chat.say("张承办", "签收 0001")
    text = only_answer(await chat.say("张承办", "待办"))
    assert text.index("我承办的") < text.index("202611230001") < text.index("待签收") < text.index("202611230002")


async def test_other_unit_group_cannot_touch_ticket(make_bot) -> None:
    _bot, chat, _ = await dispatched(make_bot)
    text = only_answer(await chat.say("赵科长", "查询 202611230001", chat="shjzk"))
    assert "没有找到" in text or "不属于" in text
    assert "13812341234" not in text and "138****1234" not in text


async def test_every_command_is_in_the_audit_trail(make_bot) -> None:
    _bot, chat, _ = await dispatched(make_bot)
    await chat.say("刘承办", "查询 0001")
    await chat.say("路人甲", "签收 0001")
    await chat.say("张承办", "随便说说")
    trail = [(e.actor, e.action, e.text, e.outcome) for e in await chat.audit()][-3:]
    assert trail == [
        ("刘承办", "command:查询", "查询 0001", "ok"),
        ("未登记用户 console:路人甲", "command:-", "签收 0001", "refused"),
        ("张承办", "command:-", "随便说说", "refused"),
    ]


async def test_answer_check_comes_from_the_rule(make_bot) -> None:
    # 松江's 办结规范 is the songjiang preset's reply_check; 利川 sets none, so a plain answer goes to review.
    _bot, chat, _ = await dispatched(make_bot, procedure={"preset": "lichuan"})
    await chat.say("张承办", "签收 0001")
    assert "等待领导审核" in only_answer(await chat.say("张承办", "答复 0001 已经处理好了"))
    assert (await chat.ticket("202611230001")).state == "reply_pending"


@pytest.mark.parametrize(("preset", "within"),
                         [("lichuan", "same-day@17:30"), ("songjiang", "1wd"), ("pingdingshan", None)])
async def test_giveback_deadline_comes_from_the_rule(make_bot, clock, preset: str, within: str | None) -> None:
    bot, chat, _ = await dispatched(make_bot, procedure={"preset": preset})
    await chat.say("张承办", "退单 0001 不属于本单位职责")
    rows = await chat.say("李科长", "同意 0001")
    text = next(r for r in rows if r.kind == "giveback_office").payload["text"]
    if within is None:  # the rule sets no giveback_within: no date is made up
        assert text.endswith("请在热线系统中退回。")
    else:
        due = apply_duration(bot.ctx.calendar, clock.now(), parse_duration(within))
        assert f"请于 {fmt_time(bot.ctx.calendar, due)} 前在热线系统中退回。" in text
