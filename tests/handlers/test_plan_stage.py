"""平顶山 C类 (issue 15 §4): the 5-working-day step is met by a 进展 that carries the plan, the final
deadline is the office's (时限 command, or the hotline's ``deadline`` event), and C/D tickets
record their 主管/包案 leader, who is @mentioned in their reminders. Across the National Day week
and the 调休 Saturday 10-10.

Seed: “C类事项：即重要事项…要确定1名主管领导，认真组织调查处理，并与反映人沟通，在5个工作日内向市长热线
办公室回复前期处理情况及办理计划，待事项办结后以书面形式回复市长热线办公室”.
"""

from __future__ import annotations

from scheduler.runner import SchedulerRunner
from tests.conftest import local, ticket_body
from tests.handlers.chat import Chat, only_answer
from tests.scheduler.conftest import mentioned, reminders, text

PDS = {"procedure": {"preset": "pingdingshan"}}


async def _c_ticket(bot, chat: Chat, clock, number: str) -> None:
    # received Tue 09-29 10:00: 5 working days = 09-30, 10-08, 10-09, 10-10 (调休), 10-12 → 10-12 17:30
    clock.set(local(2026, 9, 29, 10, 0))
    body = ticket_body(number, received_at="2026-09-29T10:00:00+08:00", category="C", unit="YLK")
    assert (await bot.post_ticket(body)).status == 201
    await chat.say("张承办", f"签收 {number}")


async def _ladder(runner: SchedulerRunner, clock, *when: int) -> list[str]:
    clock.set(local(*when))
    before = len(await reminders(runner.ctx))
    await runner.run_job("deadline_ladder")
    return [r.kind for r in (await reminders(runner.ctx))[before:]]


async def test_plan_meets_the_stage_and_the_office_sets_the_final_deadline(make_bot, clock) -> None:
    bot = await make_bot(**PDS)
    chat = Chat(bot)
    runner = SchedulerRunner(bot.ctx)
    await _c_ticket(bot, chat, clock, "202609290001")
    assert (await chat.ticket("202609290001")).deadline == local(2026, 10, 12, 17, 30)
    # “要确定1名主管领导”: the leader names themself; shown in 查询
    assert only_answer(await chat.say("李科长", "包案 202609290001 李科长")) == "已登记工单 202609290001 的包案领导：李科长。"
    clock.set(local(2026, 10, 10, 10, 0))  # the 调休 Saturday
    answer = only_answer(await chat.say("张承办", "进展 202609290001 计划：已约谈物业，拟10月底前完成维修"))
    assert answer == "已记录工单 202609290001 的前期处理情况及办理计划，最终办结时限待办公室确定。"
    t = await chat.ticket("202609290001")
    assert t.plan_at == local(2026, 10, 10, 10, 0) and t.deadline is None and t.lead_leader == "李科长"
    # no 【超期督办】 while the plan stage is met and no final date is set
    for day in (12, 13, 14, 15):
        assert await _ladder(runner, clock, 2026, 10, day, 9, 0) == []
        assert await _ladder(runner, clock, 2026, 10, day, 14, 0) == []
    # the office sets the final date
    clock.set(local(2026, 10, 15, 15, 0))
    rows = await chat.say("王办公", "时限 202609290001 2026-10-20", chat="bgs")
    assert only_answer(rows) == "已确定工单 202609290001 的最终办结时限为 10月20日 17:30，已通知承办单位。"
    told = next(r for r in rows if r.kind == "deadline_set")
    assert [m["name"] for m in told.payload["mentions"]] == ["张承办", "李科长"]
    assert (await chat.ticket("202609290001")).deadline == local(2026, 10, 20, 17, 30)
    # the ladder runs again toward the office's date; the 包案 leader is @mentioned
    assert await _ladder(runner, clock, 2026, 10, 16, 9, 0) == ["remind_ladder_due2"]
    due2 = (await reminders(bot.ctx, "remind_ladder_due2"))[0]
    assert mentioned(due2) == ["张承办", "李科长"] and "10月20日 17:30" in text(due2)
    summary = only_answer(await chat.say("张承办", "查询 202609290001"))
    assert "包案领导：李科长" in summary


async def test_without_the_plan_the_stage_is_overdue(make_bot, clock) -> None:
    bot = await make_bot(**PDS)
    chat = Chat(bot)
    runner = SchedulerRunner(bot.ctx)
    await _c_ticket(bot, chat, clock, "202609290002")
    await chat.say("张承办", "进展 202609290002 已约谈物业")  # a 进展 without the plan
    assert (await chat.ticket("202609290002")).deadline == local(2026, 10, 12, 17, 30)
    assert await _ladder(runner, clock, 2026, 10, 13, 9, 0) == ["remind_ladder_overdue"]
    assert sorted(await _ladder(runner, clock, 2026, 10, 14, 9, 0)) == ["remind_escalation", "remind_ladder_overdue"]
    assert text((await reminders(bot.ctx, "remind_escalation"))[0]).startswith("【超期督办】工单 202609290002")


async def test_final_deadline_by_hotline_event_and_refused_where_the_rule_sets_it(make_bot, clock) -> None:
    bot = await make_bot(**PDS)
    chat = Chat(bot)
    await _c_ticket(bot, chat, clock, "202609290003")
    clock.set(local(2026, 10, 9, 10, 0))
    r = await bot.post_event("12345", "202609290003", {"type": "deadline", "id": "ev-1",
                                                       "deadline": "2026-10-30T17:30:00+08:00"})
    assert r.status == 200
    view = await r.json()
    assert view["deadline"] == "2026-10-30T17:30:00+08:00"
    assert (await bot.post_event("12345", "202609290003", {"type": "deadline"})).status == 400
    # a B ticket's deadline is the rule's: neither the office nor the hotline sets it
    body = ticket_body("202610090004", received_at="2026-10-09T10:00:00+08:00", category="B", unit="YLK")
    assert (await bot.post_ticket(body)).status == 201
    answer = only_answer(await chat.say("王办公", "时限 202610090004 2026-10-30", chat="bgs"))
    assert answer == "工单 202610090004 的办结时限由办理规则确定，不能另行设定。"
    r = await bot.post_event("12345", "202610090004", {"type": "deadline", "deadline": "2026-10-30T17:30:00+08:00"})
    assert r.status == 409
    # 5 working days from Fri 10-09: 10-10 (调休), 10-12, 10-13, 10-14, 10-15
    assert (await chat.ticket("202610090004")).deadline == local(2026, 10, 15, 17, 30)
    # a mistyped 时限 shows how to write it; only the office may set it
    assert "格式：时限" in only_answer(await chat.say("王办公", "时限 202609290003 下周", chat="bgs"))
    assert only_answer(await chat.say("张承办", "时限 202609290003 2026-11-30")).startswith("只有办公室")
