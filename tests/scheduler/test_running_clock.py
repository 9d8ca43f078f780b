"""No holiday for a running clock (issue 15 §1), across the 2026 National Day week and the 调休
Saturday 10-10: tickets in through the intake API and chat, the scheduler's jobs run at moved
times, outbox rows and ticket state out.

The seeds' words:
- 平顶山 A类 “立即安排专人负责处理…不得以节假日为由拖延办理”; D类 “第一时间…不得以节假日为由拖延处理”;
- 吉林 紧急类 “24小时响应…最迟不超过24小时办结”;
- 信访 “对于重大、紧急信访事项，要及时向市政府办领导报告”.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from scheduler.runner import SchedulerRunner
from store.models import OutboxMessage
from tests.conftest import local, ticket_body
from tests.handlers.chat import Chat
from tests.scheduler.conftest import mentioned, reminders, text

PDS = {"procedure": {"preset": "pingdingshan"}}


def _body(number: str, received: str, **fields: Any) -> dict[str, Any]:
    return ticket_body(number, received_at=received, **fields)


async def _kinds_at(runner: SchedulerRunner, clock: Any, job: str, *when: int) -> list[str]:
    """Run ``job`` at ``when``; the kinds of the reminders it queued."""
    clock.set(local(*when))
    before = len(await reminders(runner.ctx))
    await runner.run_job(job)
    return [r.kind for r in (await reminders(runner.ctx))[before:]]


async def test_a_class_ladder_runs_through_the_holiday_working_ticket_waits(sched, clock) -> None:
    # 平顶山 A类 “不得以节假日为由拖延办理”: 24 hours from 09-30 10:00 → due 10-01 10:00.
    bot, _, runner = await sched(**PDS)
    chat = Chat(bot)
    clock.set(local(2026, 9, 30, 10, 0))
    assert (await bot.post_ticket(_body("202609300001", "2026-09-30T10:00:00+08:00", category="A",
                                        unit="YLK"))).status == 201
    assert (await bot.post_ticket(_body("202609300002", "2026-09-30T10:05:00+08:00", category="B",
                                        unit="YLK"))).status == 201
    await chat.say("张承办", "签收 202609300001")
    await chat.say("张承办", "签收 202609300002")
    a = await chat.ticket("202609300001")
    assert a.clock == "calendar" and (await chat.ticket("202609300002")).clock is None

    assert await _kinds_at(runner, clock, "deadline_ladder", 2026, 10, 1, 9, 0) == ["remind_ladder_today"]
    assert await _kinds_at(runner, clock, "deadline_ladder", 2026, 10, 1, 14, 0) == ["remind_ladder_overdue"]
    assert await _kinds_at(runner, clock, "deadline_ladder", 2026, 10, 2, 9, 0) == ["remind_ladder_overdue"]
    # one day (not one working day) past 10-01 10:00 → the office, on 10-02 14:00
    assert sorted(await _kinds_at(runner, clock, "deadline_ladder", 2026, 10, 2, 14, 0)) == ["remind_escalation"]
    rows = await reminders(bot.ctx)
    assert all(r.ticket_id == a.id for r in rows)  # the 5-working-day B ticket heard nothing in the holiday
    overdue = next(r for r in rows if r.kind == "remind_ladder_overdue")
    assert mentioned(overdue) == ["张承办", "李科长"] and "10月1日 10:00" in text(overdue)
    office = next(r for r in rows if r.kind == "remind_escalation")
    assert office.dest_key == "console:console:bgs" and "1天以上" in text(office)
    for day in range(3, 8):
        await _kinds_at(runner, clock, "deadline_ladder", 2026, 10, day, 9, 0)
    assert not [r for r in await reminders(bot.ctx) if r.ticket_id != a.id]
    # B: 5 working days from 09-30 = 10-08, 10-09, 10-10 (调休), 10-12, 10-13 → due 10-13 17:30;
    # two working days left on the 调休 Saturday 10-10, nothing on Sunday 10-11
    assert await _kinds_at(runner, clock, "deadline_ladder", 2026, 10, 10, 9, 0) == ["remind_ladder_overdue",
                                                                                     "remind_ladder_due2"]
    assert await _kinds_at(runner, clock, "deadline_ladder", 2026, 10, 11, 9, 0) == ["remind_ladder_overdue"]
    due2 = (await reminders(bot.ctx, "remind_ladder_due2"))[0]
    assert "202609300002 还有2个工作日到期，办结时限 10月13日 17:30" in text(due2)


async def test_unrouted_urgent_ticket_reaches_the_office_at_once_and_on_the_holiday(sched, clock) -> None:
    # 信访 “重大、紧急信访事项，要及时向市政府办领导报告”; 平顶山 D类 “第一时间…不得以节假日为由拖延处理”.
    bot, _, runner = await sched(**PDS, scheduler={"quiet_hours": "21:00-08:00"})
    clock.set(local(2026, 10, 1, 22, 30))  # a holiday night, in quiet hours
    assert (await bot.post_ticket(_body("202610010001", "2026-10-01T22:30:00+08:00", category="D"))).status == 201
    assert (await bot.post_ticket(_body("202610010002", "2026-10-01T22:35:00+08:00", category="B"))).status == 201
    async with bot.ctx.sessions() as s:
        rows = list((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "announce"))).scalars())
    assert [r.dest_key for r in rows] == ["console:console:bgs"]  # not dispatched yet: the office
    assert rows[0].next_attempt_at <= clock.now()  # not held by quiet hours
    assert text(rows[0]).startswith("【紧急报告】工单 202610010001（D类）已登记，尚未派单")
    # the dispatch watch runs on the holiday for the D ticket only (16:00 cut-off of the next day)
    assert await _kinds_at(runner, clock, "dispatch_watch", 2026, 10, 2, 15, 45) == []
    assert await _kinds_at(runner, clock, "dispatch_watch", 2026, 10, 2, 16, 0) == ["remind_dispatch"]
    late = (await reminders(bot.ctx, "remind_dispatch"))[0]
    assert "202610010001" in text(late) and "202610010002" not in text(late)
    for day in range(3, 8):
        assert await _kinds_at(runner, clock, "dispatch_watch", 2026, 10, day, 16, 0) in ([], ["remind_dispatch"])
    assert all("202610010002" not in text(r) for r in await reminders(bot.ctx, "remind_dispatch"))
    # the working-day ticket: first working day 10-08, 16:00
    assert await _kinds_at(runner, clock, "dispatch_watch", 2026, 10, 8, 16, 0) == ["remind_dispatch"]
    assert "202610010002" in text((await reminders(bot.ctx, "remind_dispatch"))[-1])


async def test_dispatched_urgent_ticket_announced_to_the_unit_leaders_and_accept_watch_on_holiday(
        sched, clock) -> None:
    # 吉林 紧急类 “24小时响应…最迟不超过24小时办结”: category 紧急, not only the tag.
    bot, _, runner = await sched(procedure={"preset": "jilin"})
    clock.set(local(2026, 10, 3, 10, 0))
    assert (await bot.post_ticket(_body("202610030001", "2026-10-03T10:00:00+08:00", category="紧急",
                                        unit="YLK"))).status == 201
    async with bot.ctx.sessions() as s:
        rows = list((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "announce")
                                     .order_by(OutboxMessage.id))).scalars())
    assert sorted(r.dest_key for r in rows) == ["console:console:bgs", "console:console:ylk"]
    unit_row = next(r for r in rows if r.dest_key == "console:console:ylk")
    assert mentioned(unit_row) == ["李科长"] and "已派至养老服务科" in text(unit_row)
    # not accepted: 2 office hours on the running clock → 12:00 on the holiday
    assert await _kinds_at(runner, clock, "accept_watch", 2026, 10, 3, 11, 45) == []
    assert await _kinds_at(runner, clock, "accept_watch", 2026, 10, 3, 12, 0) == ["remind_accept_2h"]
    # one (natural) day → the leaders, 10-04 17:30
    assert await _kinds_at(runner, clock, "accept_watch", 2026, 10, 4, 17, 30) == ["remind_accept_1wd"]
    esc = (await reminders(bot.ctx, "remind_accept_1wd"))[0]
    assert "已超过1天仍未签收" in text(esc) and mentioned(esc) == ["李科长"]


async def test_first_contact_never_after_the_deadline(sched, clock) -> None:
    # 松江 “【紧急/次紧急工单】…即有即结（16时以后的工单可以在第二天完成答复办结）” and
    # “局办公室在收到市民服务热线转送事项之日起1个工作日内，先行联系来电市民”: received 09-30 16:30,
    # due 10-01 17:30; the 1-working-day contact (10-08) falls to the deadline.
    bot, _, runner = await sched()
    clock.set(local(2026, 9, 30, 16, 30))
    assert (await bot.post_ticket(_body("202609300003", "2026-09-30T16:30:00+08:00", tags=["紧急"],
                                        unit="YLK"))).status == 201
    t = await Chat(bot).ticket("202609300003")
    assert t.deadline == local(2026, 10, 1, 17, 30) and t.first_contact_due == local(2026, 10, 1, 17, 30)
    assert await _kinds_at(runner, clock, "first_contact", 2026, 10, 1, 15, 30) == ["remind_fc_soon"]
    assert await _kinds_at(runner, clock, "first_contact", 2026, 10, 1, 17, 30) == ["remind_fc_late"]
