"""Extensions as the procedures write them: who decides (the rule's ``extension_chain``), how often
one may be asked, that a date the hotline fixed is final, and the citizen's SMS with the new date.

Chat commands go through the real inbox, hotline events through the signed intake API, the SMS to
a fake provider server; the clock moves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.sender import Sender
from scheduler import scans
from store.models import OutboxMessage
from tests.bot.sms_rig import PHONE, rig
from tests.conftest import local, ticket_body
from tests.handlers.chat import Chat, only_answer
from tests.scheduler.conftest import reminders

NUMBER = "202611230001"
REPORT = {"report_url": "http://127.0.0.1:9/report", "report_secret": "report-secret"}
# 利川 “承办单位不能在7天内办结的应在办结时限前2天将情况书面反馈至局办公室，由局办公室向市长热线办申请延期
#  （市长热线办确定的延期时限不能再更改）”
LICHUAN = {"preset": "lichuan"}
# 平顶山 “网络单位应及时提交延期申请,由市长热线办公室根据具体情况重新确定办理时限,原则上每件事项只能提出1次延期申请”
PINGDINGSHAN = {"preset": "pingdingshan"}


async def _accepted(bot: Any, chat: Chat, **body: Any) -> None:
    r = await bot.post_ticket(ticket_body(NUMBER, unit="YLK", **body))
    assert r.status == 201, await r.text()
    await chat.say("张承办", f"签收 {NUMBER}")


async def _view(bot: Any) -> dict[str, Any]:
    r = await bot.get(f"/api/v1/tickets/12345/{NUMBER}")
    assert r.status == 200
    return await r.json()


async def _rows(bot: Any, kind: str) -> list[OutboxMessage]:
    async with bot.ctx.sessions() as s:
        return list((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == kind)
                                     .order_by(OutboxMessage.id))).scalars())


async def test_lichuan_office_then_hotline_and_the_hotline_date_is_final(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "aliyun", procedure=LICHUAN, hotline=REPORT)
    bot, chat = r.bot, r.chat
    await _accepted(bot, chat)
    old = (await chat.ticket(NUMBER)).deadline
    assert old == local(2026, 12, 2, 17, 30)  # 利川 疑难: 7 working days
    rows = await chat.say("张承办", f"延期 {NUMBER} 2026-12-10 需协调人社局多个股室")
    [card] = [x for x in rows if x.kind == "review"]
    # “书面反馈至局办公室”: the card goes to the office's group, not to the unit's leader
    assert card.destination["chat_id"] == "bgs" and "请办公室审核" in card.payload["text"]
    assert "只有办公室" in only_answer(await chat.say("李科长", f"同意 {NUMBER}"))

    # “由局办公室向市长热线办申请延期”: the office's 同意 sends it to the hotline; the deadline stays.
    answer = only_answer(await chat.say("王办公", f"同意 {NUMBER}", chat="bgs"))
    assert "已转市长热线办" in answer and "原时限照常计算" in answer
    [report] = await _rows(bot, "report_extension_request")
    assert report.payload["until"] == local(2026, 12, 10, 17, 30).isoformat()
    clock.set(local(2026, 12, 1, 9, 0))
    t = await chat.ticket(NUMBER)
    assert (t.deadline, t.extension_state, t.extensions_granted) == (old, "pending", 0)
    view = await _view(bot)
    assert view["extension"]["label"] == "延期申请中" and view["deadline"] == old.astimezone(local(2026, 1, 1).tzinfo).isoformat()
    assert "延期申请中" in only_answer(await chat.say("张承办", f"查询 {NUMBER}"))
    assert "市长热线办决定" in only_answer(await chat.say("李科长", f"同意 {NUMBER}"))

    # the hotline's extension_decision event moves the deadline, and the date is final
    fixed = local(2026, 12, 9, 17, 30)
    resp = await bot.post_event("12345", NUMBER, {"id": "ev-ext-1", "type": "extension_decision",
                                                  "granted": True, "deadline": fixed.isoformat()})
    assert resp.status == 200, await resp.text()
    t = await chat.ticket(NUMBER)
    assert (t.deadline, t.extension_state, t.extension_final) == (fixed, "granted", True)
    refused = only_answer(await chat.say("张承办", f"延期 {NUMBER} 3天 还需协调"))
    assert "市长热线办确定的延期时限不能再更改" in refused
    assert (await chat.ticket(NUMBER)).deadline == fixed

    # 吉林 “并承诺办结时限”: the citizen is told the new date, by the provider's own template
    await r.drain()
    [sms] = [m for m in r.accepted() if m.template == "SMS_400"]
    assert sms.phone == PHONE and sms.params == {"number": NUMBER, "date": "12月9日"}


async def test_the_final_date_is_refused_even_when_more_applications_are_allowed(make_bot, clock) -> None:
    rules = [{"name": "热线定时限", "deadline": "7wd", "extension_chain": ["hotline"], "max_extensions": 3}]
    bot = await make_bot(procedure={"preset": "songjiang", "rules": rules})
    chat = Chat(bot)
    await _accepted(bot, chat)
    await chat.say("张承办", f"延期 {NUMBER} 5天 需协调街道")
    # only the hotline decides here: no leader card, the office records the hotline's answer
    assert await _rows(bot, "review") == []
    [office] = await _rows(bot, "extension_office")
    assert f"延期结果 {NUMBER} 同意" in office.payload["text"]
    answer = only_answer(await chat.say("王办公", f"延期结果 {NUMBER} 同意 2026-12-20", chat="bgs"))
    assert "不能再更改" in answer
    t = await chat.ticket(NUMBER)
    assert t.deadline == local(2026, 12, 20, 17, 30) and t.extension_applications == 1
    assert "市长热线办确定的延期时限不能再更改" in only_answer(await chat.say("张承办", f"延期 {NUMBER} 3天 再等"))


async def test_pingdingshan_counts_applications_not_grants(make_bot, clock) -> None:
    bot = await make_bot(procedure=PINGDINGSHAN)
    chat = Chat(bot)
    await _accepted(bot, chat, category="B")
    await chat.say("张承办", f"延期 {NUMBER} 5天 需协调")
    await chat.say("李科长", f"驳回 {NUMBER} 理由不充分")
    t = await chat.ticket(NUMBER)
    assert (t.extension_state, t.extensions_granted, t.extension_applications) == ("rejected", 0, 1)
    refused = only_answer(await chat.say("张承办", f"延期 {NUMBER} 5天 再次申请"))
    assert "原则上每件事项只能提出1次延期申请" in refused
    assert (await chat.ticket(NUMBER)).extension_applications == 1


async def test_pingdingshan_leader_then_hotline_by_the_office_command(make_bot, aiohttp_server, clock) -> None:
    clock.set(local(2026, 11, 23, 20, 0))
    r = await rig(make_bot, aiohttp_server, clock, "tencent", procedure=PINGDINGSHAN)
    bot, chat = r.bot, r.chat
    await _accepted(bot, chat, category="B")
    old = (await chat.ticket(NUMBER)).deadline
    await chat.say("张承办", f"延期 {NUMBER} 5天 需协调")
    # “网络单位应及时提交延期申请”: the unit's leader approves the application first…
    answer = only_answer(await chat.say("李科长", f"同意 {NUMBER}"))
    assert "已转市长热线办" in answer
    assert (await chat.ticket(NUMBER)).deadline == old
    # …“由市长热线办公室根据具体情况重新确定办理时限”: the office records the hotline's date
    usage = only_answer(await chat.say("王办公", f"延期结果 {NUMBER} 好的", chat="bgs"))
    assert "格式：延期结果" in usage
    clock.set(local(2026, 11, 23, 22, 0))
    await chat.say("王办公", f"延期结果 {NUMBER} 同意 12月4日", chat="bgs")
    t = await chat.ticket(NUMBER)
    assert t.deadline == local(2026, 12, 4, 17, 30) and t.extension_final
    # the SMS waits for the end of the quiet hours (21:00-08:00), then reaches the provider
    await r.drain()
    assert [m for m in r.accepted() if m.template == "1004"] == []
    clock.set(local(2026, 11, 24, 8, 0))
    await r.drain()
    [sms] = [m for m in r.accepted() if m.template == "1004"]
    assert sms.params == [NUMBER, "12月4日"]


async def test_the_hotline_may_refuse(make_bot, clock) -> None:
    bot = await make_bot(procedure=PINGDINGSHAN)
    chat = Chat(bot)
    await _accepted(bot, chat, category="B")
    old = (await chat.ticket(NUMBER)).deadline
    await chat.say("张承办", f"延期 {NUMBER} 5天 需协调")
    await chat.say("李科长", f"同意 {NUMBER}")
    rows = await chat.say("王办公", f"延期结果 {NUMBER} 不同意 可按期办结", chat="bgs")
    told = [x.payload["text"] for x in rows if x.destination.get("chat_id") == "ylk"]
    assert any("未同意" in x and "可按期办结" in x for x in told)
    t = await chat.ticket(NUMBER)
    assert (t.deadline, t.extension_state, t.extension_final) == (old, "rejected", False)
    assert await _rows(bot, "sms_extension") == []


async def test_leader_decides_where_the_rule_says_so(make_bot, clock) -> None:
    bot = await make_bot()  # 松江: the unit leader's 同意 moves the deadline
    chat = Chat(bot)
    await _accepted(bot, chat)
    await chat.say("张承办", f"延期 {NUMBER} 5天 需协调街道")
    old = (await chat.ticket(NUMBER)).deadline
    await chat.say("李科长", f"同意 {NUMBER}")
    t = await chat.ticket(NUMBER)
    assert t.deadline > old and t.extension_final is False
    [sms] = await _rows(bot, "sms_extension")
    assert sms.payload["params"]["number"] == NUMBER
    await Sender(bot.ctx).drain()


async def test_the_old_deadline_keeps_counting_while_the_hotline_decides(make_bot, clock) -> None:
    # 平顶山 “由市长热线办公室根据具体情况重新确定办理时限”: until it has, the ladder runs on the old date.
    bot = await make_bot(procedure=PINGDINGSHAN)
    chat = Chat(bot)
    await _accepted(bot, chat, category="B")
    old = (await chat.ticket(NUMBER)).deadline
    clock.set(local(2026, 11, 24, 10, 0))
    await chat.say("张承办", f"延期 {NUMBER} 2026-12-10 需协调")
    await chat.say("李科长", f"同意 {NUMBER}")
    clock.set(bot.ctx.calendar.local(old).replace(hour=9, minute=0))  # the morning of the old deadline
    await scans.deadline_ladder(bot.ctx, clock.now())
    [today] = await reminders(bot.ctx, "remind_ladder_today")
    assert f"工单 {NUMBER} 今天到期" in today.payload["text"] and today.ticket_id is not None
    fixed = local(2026, 12, 10, 17, 30)
    await chat.say("王办公", f"延期结果 {NUMBER} 同意 2026-12-10", chat="bgs")
    clock.set(local(2026, 12, 1, 9, 0))  # past the old deadline, before the hotline's
    await scans.deadline_ladder(bot.ctx, clock.now())
    assert await reminders(bot.ctx, "remind_ladder_overdue") == []
    assert (await chat.ticket(NUMBER)).deadline == fixed


async def test_lichuan_across_national_day_and_the_make_up_saturday(make_bot, clock) -> None:
    # 利川 疑难 received Tue 09-29: 7 working days skip 10-01…10-07 and count Sat 10-10 (调休):
    # 09-30, 10-08, 10-09, 10-10, 10-12, 10-13, 10-14 → Wed 10-14 17:30.
    # “应在办结时限前2天将情况书面反馈至局办公室，由局办公室向市长热线办申请延期”
    clock.set(local(2026, 9, 29, 9, 30))
    bot = await make_bot(procedure=LICHUAN)
    chat = Chat(bot)
    r = await bot.post_ticket(ticket_body(NUMBER, unit="YLK", received_at="2026-09-29T09:30:00+08:00"))
    assert r.status == 201
    await chat.say("张承办", f"签收 {NUMBER}")
    old = (await chat.ticket(NUMBER)).deadline
    assert old == local(2026, 10, 14, 17, 30)
    clock.set(local(2026, 10, 10, 10, 0))  # the make-up Saturday is a working day: the office works
    await chat.say("张承办", f"延期 {NUMBER} 2026-10-23 需调取社保缴费记录")
    assert "已转市长热线办" in only_answer(await chat.say("王办公", f"同意 {NUMBER}", chat="bgs"))
    clock.set(local(2026, 10, 12, 9, 0))
    assert (await chat.ticket(NUMBER)).deadline == old  # still counting on Monday
    resp = await bot.post_event("12345", NUMBER, {"id": "ev-nd", "type": "extension_decision",
                                                  "granted": True, "deadline": "2026-10-21T17:30:00+08:00"})
    assert resp.status == 200
    t = await chat.ticket(NUMBER)
    assert t.deadline == local(2026, 10, 21, 17, 30) and t.extension_final
    [sms] = await _rows(bot, "sms_extension")
    assert sms.payload["params"] == {"number": NUMBER, "date": "10月21日"}


async def test_a_ticket_moved_while_its_extension_waits_says_so_on_the_new_card(make_bot, clock) -> None:
    # 平顶山: the leader agreed, the hotline has not decided; the office moves the ticket meanwhile
    bot = await make_bot(procedure=PINGDINGSHAN)
    chat = Chat(bot)
    await _accepted(bot, chat, category="B")
    first = await _rows(bot, "assignment")
    assert all("延期" not in r.payload["text"] for r in first)
    await chat.say("张承办", f"延期 {NUMBER} 2026-12-10 需协调")
    await chat.say("李科长", f"同意 {NUMBER}")
    assert (await chat.ticket(NUMBER)).extension_state == "pending"
    rows = await chat.say("王办公", f"转办 {NUMBER} SHJZK", chat="bgs")
    [card] = [r for r in rows if r.kind == "assignment"]
    assert card.destination.get("chat_id") == "shjzk"
    assert "延期：延期申请中（申请延至 12月10日 17:30，原办结时限照常计算）" in card.payload["text"]
