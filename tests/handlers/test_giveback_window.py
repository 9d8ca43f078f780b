"""退单 (issue 15 §3): the office's own return of a registered ticket, and the give-back deadline
from the preset rule (``giveback_within``), counted from receipt, shown in the answers and reminded
to the office before it passes. Across the 2026 National Day week and the 调休 Saturday 10-10.

- 利川 “不属于我局受理的事项，需在当天予以退回” (``same-day@17:30``);
- 松江 “明显不属于我局职权范围内的，由办公室及时联系有关部门说明理由，从原渠道退回…退单流程应于1个工作日内
  完成” (``1wd``).
"""

from __future__ import annotations

from scheduler.runner import SchedulerRunner
from tests.conftest import local, ticket_body
from tests.handlers.chat import Chat, only_answer
from tests.scheduler.conftest import mentioned, reminders, text

LICHUAN = {"procedure": {"preset": "lichuan"}}


async def test_office_returns_a_registered_ticket_within_one_working_day(make_bot, clock) -> None:
    # 松江: received Wed 09-30 10:00; one working day after it is Thu 10-08 (National Day between).
    bot = await make_bot()
    chat = Chat(bot)
    clock.set(local(2026, 9, 30, 11, 0))
    body = ticket_body("202609300001", received_at="2026-09-30T10:00:00+08:00")
    assert (await bot.post_ticket(body)).status == 201
    rows = await chat.say("王办公", "退单 202609300001 不属于本局职责，建议转住建局", chat="bgs")
    assert only_answer(rows) == "工单 202609300001 已由办公室退单，请于 10月8日 17:30 前在热线系统中从原渠道退回。"
    t = await chat.ticket("202609300001")
    assert t.state == "returned" and t.giveback_due == local(2026, 10, 8, 17, 30)
    audit = await chat.audit("202609300001")
    assert audit[-1].action == "office_giveback" and audit[-1].detail["reason"] == "不属于本局职责，建议转住建局"


async def test_office_cannot_return_a_dispatched_ticket_itself(make_bot, clock) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    assert (await bot.post_ticket(ticket_body("202611230001", unit="YLK"))).status == 201
    answer = only_answer(await chat.say("王办公", "退单 202611230001 不属于本局职责", chat="bgs"))
    assert answer.startswith("只有本单位承办人员可以申请退单")
    assert (await chat.ticket("202611230001")).state == "dispatched"
    # and without a reason, the answer shows how to write it
    assert (await bot.post_ticket(ticket_body("202611230002"))).status == 201
    answer = only_answer(await chat.say("王办公", "退单 202611230002", chat="bgs"))
    assert answer == "请写明退单理由，例如：退单 202611230001 不属于本局职责，建议转住建局。"
    assert (await chat.ticket("202611230002")).state == "registered"


async def test_lichuan_same_day_window_is_shown_and_reminded(make_bot, clock) -> None:
    # 利川 “需在当天予以退回”: received Fri 10-09 18:00, after the office day → the next day, which is
    # the 调休 working Saturday 10-10, 17:30.
    bot = await make_bot(**LICHUAN)
    chat = Chat(bot)
    clock.set(local(2026, 10, 9, 18, 0))
    body = ticket_body("202610090001", received_at="2026-10-09T18:00:00+08:00", unit="YLK")
    assert (await bot.post_ticket(body)).status == 201
    clock.set(local(2026, 10, 10, 9, 0))
    await chat.say("张承办", "签收 202610090001")
    answer = only_answer(await chat.say("张承办", "退单 202610090001 不属于人社局职责"))
    assert answer == "工单 202610090001 的退单申请已提交，等待审核（退单须于 10月10日 17:30 前完成）。"
    runner = SchedulerRunner(bot.ctx)
    clock.set(local(2026, 10, 10, 15, 15))
    assert await runner.run_job("giveback_watch") == 0
    clock.set(local(2026, 10, 10, 15, 30))
    assert await runner.run_job("giveback_watch") == 1
    soon = await reminders(bot.ctx, "remind_gb_soon")
    assert sorted(r.dest_key for r in soon) == ["console:console:bgs", "console:console:ylk"]
    assert "须于 10月10日 17:30 前完成" in text(soon[0]) and mentioned(soon[0]) == ["李科长"]
    clock.set(local(2026, 10, 10, 17, 30))
    assert await runner.run_job("giveback_watch") == 1
    clock.set(local(2026, 10, 10, 17, 45))
    assert await runner.run_job("giveback_watch") == 0  # once
    assert "已超过 10月10日 17:30" in text((await reminders(bot.ctx, "remind_gb_late"))[0])
    # the leader approves: the office is told the same deadline, counted from receipt
    rows = await chat.say("李科长", "同意 202610090001")
    assert only_answer(rows) == "已批准工单 202610090001 退单，已通知办公室于 10月10日 17:30 前在热线系统退回。"
    office = next(r for r in rows if r.kind == "giveback_office")
    assert "请于 10月10日 17:30 前在热线系统中退回" in office.payload["text"]
