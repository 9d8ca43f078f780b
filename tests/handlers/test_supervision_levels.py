"""督办 levels (issue 15 §5, 平顶山 六、督办机制): the office raises a ticket's level by command or
the hotline by event; each level has its duty and its clock from the preset (``supervision``), its
reminders and escalation, and shows on the ticket page, the dashboard and the monthly report.

Seed: “(一)书面督办…网络单位按照《市长热线督办通知》要求明确责任领导和责任人…并向市长热线办公室书面回复
办理结果”; “(二)现场督办…网络单位应在现场督办后3个工作日内向市长热线办公室报送办理工作方案”;
“(三)重点督办…编制《市长热线专报》直接报市政府有关领导”; “(四)移交办理…移交监察机关…处理”.
"""

from __future__ import annotations

from scheduler.runner import SchedulerRunner
from tests.conftest import local, ticket_body
from tests.handlers.chat import Chat, only_answer
from tests.scheduler.conftest import mentioned, reminders, text

PDS = {"procedure": {"preset": "pingdingshan"}}


async def _b_ticket(bot, chat: Chat, clock, number: str) -> None:
    clock.set(local(2026, 9, 30, 10, 0))
    body = ticket_body(number, received_at="2026-09-30T10:00:00+08:00", category="B", unit="YLK")
    assert (await bot.post_ticket(body)).status == 201
    await chat.say("张承办", f"签收 {number}")


async def _watch(runner: SchedulerRunner, clock, *when: int) -> list[str]:
    clock.set(local(*when))
    before = len(await reminders(runner.ctx))
    await runner.run_job("supervision_watch")
    return [r.kind for r in (await reminders(runner.ctx))[before:]]


async def test_onsite_supervision_owes_a_plan_within_three_working_days(make_bot, clock) -> None:
    bot = await make_bot(**PDS)
    chat = Chat(bot)
    runner = SchedulerRunner(bot.ctx)
    await _b_ticket(bot, chat, clock, "202609300001")
    clock.set(local(2026, 10, 9, 10, 0))
    rows = await chat.say("王办公", "督办 202609300001 现场 群众反映集中，请抓紧", chat="bgs")
    # 3 working days after Fri 10-09: Sat 10-10 (调休), Mon 10-12, Tue 10-13
    assert only_answer(rows) == ("已对工单 202609300001 启动现场督办（要求：报送办理工作方案，时限 10月13日 17:30），"
                                 "已通知承办单位。")
    unit = next(r for r in rows if r.kind == "supervise")
    assert unit.dest_key == "console:console:ylk" and mentioned(unit) == ["张承办", "李科长"]
    assert text(unit) == ("【现场督办】工单 202609300001：群众反映集中，请抓紧。要求：报送办理工作方案，"
                          "须于 10月13日 17:30 前完成。请回复「进展 202609300001 方案：……」报送。")
    t = await chat.ticket("202609300001")
    assert (t.supervision_level, t.supervision_due) == ("现场", local(2026, 10, 13, 17, 30))
    # reminders on working days only: the 调休 Saturday is one, Sunday is not
    assert await _watch(runner, clock, 2026, 10, 10, 9, 0) == []
    assert await _watch(runner, clock, 2026, 10, 11, 9, 0) == []
    assert await _watch(runner, clock, 2026, 10, 12, 9, 0) == ["remind_sup_soon"]
    assert await _watch(runner, clock, 2026, 10, 13, 9, 0) == []
    assert await _watch(runner, clock, 2026, 10, 14, 9, 0) == ["remind_sup_late"]
    assert await _watch(runner, clock, 2026, 10, 15, 9, 0) == ["remind_sup_office"]
    office = (await reminders(bot.ctx, "remind_sup_office"))[0]
    assert office.dest_key == "console:console:bgs" and "现场督办要求“报送办理工作方案”已超过时限 10月13日 17:30" in text(office)
    # the 方案 meets the duty: the office is told, no more reminders
    rows = await chat.say("张承办", "进展 202609300001 方案：成立专班，10月20日前完成整改")
    assert only_answer(rows) == "已记录工单 202609300001 的方案。"
    done = next(r for r in rows if r.kind == "supervise")
    assert done.dest_key == "console:console:bgs" and "已完成现场督办要求" in text(done)
    assert (await chat.ticket("202609300001")).supervision_met_at == local(2026, 10, 15, 9, 0)
    assert await _watch(runner, clock, 2026, 10, 16, 9, 0) == []


async def test_written_supervision_by_hotline_event_is_met_by_naming_the_leader(make_bot, clock) -> None:
    bot = await make_bot(**PDS)
    chat = Chat(bot)
    await _b_ticket(bot, chat, clock, "202609300002")
    clock.set(local(2026, 10, 8, 10, 0))
    r = await bot.post_event("12345", "202609300002", {"type": "supervise", "level": "书面", "id": "sup-1",
                                                       "note": "未按时限办结"})
    assert r.status == 200
    rows = await chat.new_rows()
    assert "请回复「包案 202609300002 领导姓名」明确责任领导" in text(next(r for r in rows if r.kind == "supervise"))
    # the same event again changes nothing; a lower level is refused
    assert (await bot.post_event("12345", "202609300002", {"type": "supervise", "level": "书面",
                                                           "id": "sup-1"})).status == 200
    assert (await bot.post_event("12345", "202609300002", {"type": "supervise"})).status == 400
    assert (await bot.post_event("12345", "202609300002", {"type": "supervise", "level": "书面"})).status == 409
    await chat.say("李科长", "包案 202609300002 李科长")
    t = await chat.ticket("202609300002")
    assert t.supervision_level == "书面" and t.supervision_met_at == local(2026, 10, 8, 10, 0)
    # raising goes on: 重点, then 移交; lowering is refused with the order
    await chat.say("王办公", "督办 202609300002 重点 已报市政府领导", chat="bgs")
    answer = only_answer(await chat.say("王办公", "督办 202609300002 现场", chat="bgs"))
    assert answer == "工单 202609300002 已是重点督办，督办只能升级（书面 → 现场 → 重点 → 移交）。"
    answer = only_answer(await chat.say("王办公", "督办 202609300002 约谈", chat="bgs"))
    assert answer.startswith("请写明督办级别（书面、现场、重点、移交）。") and "格式：督办" in answer
    assert only_answer(await chat.say("张承办", "督办 202609300002 移交")).startswith("只有办公室")
    # 重点: “领导批示后，交由网络单位办理，并对办理落实情况及时跟踪了解” — met by the next 进展
    assert (await chat.ticket("202609300002")).supervision_met_at is None
    clock.set(local(2026, 10, 9, 9, 0))
    await chat.say("张承办", "进展 202609300002 已按批示成立专班")
    t = await chat.ticket("202609300002")
    assert (t.supervision_level, t.supervision_met_at) == ("重点", local(2026, 10, 9, 9, 0))
