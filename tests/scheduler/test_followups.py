"""The 回访 watch (松江 “办公室对反馈不满意和未回复工单进行核查”): answered tickets still without a
verdict after ``verdict_wait_wd`` working days are listed for the office (chat digest and the
dashboard filter 「待回访核查」), and the 回访 SMS goes once per round where the rule asks it."""

from __future__ import annotations

from sqlalchemy import select

from store.models import SmsMessage
from tests.conftest import local
from tests.scheduler.conftest import Desk, reminders, text

# Mon 2026-11-23 09:30. Three working days back from Monday are Fri 20, Thu 19, Wed 18: a ticket
# answered on Wed 18 (any hour up to the office day's end, 17:30) has waited Thu, Fri and Mon.
NOW = local(2026, 11, 23, 9, 30)
CITIZEN = {"name": "张三", "phone": "13812341234"}


async def answered_tickets(desk: Desk) -> None:
    async def make(number: str, answered, **fields) -> None:
        await desk.ticket(number, at=local(2026, 11, 10, 9, 0), content=f"诉求 {number}", **fields.pop("intake", {}))
        await desk.set_fields(number, state=fields.pop("state", "answered"), answered_at=answered, **fields)

    await make("A1", local(2026, 11, 16, 10, 0), intake={"citizen": CITIZEN})  # waited 5 wd, has a phone
    await make("A3", local(2026, 11, 18, 17, 0))  # waited exactly 3 wd, no phone
    await make("A2", local(2026, 11, 19, 15, 0), intake={"citizen": CITIZEN})  # only 2 wd: not yet
    await make("A4", local(2026, 11, 16, 10, 0), state="archived", feedback="满意")  # has its verdict
    await make("A5", local(2026, 11, 16, 10, 0), state="archived")  # closed by the hotline: no longer waits


async def test_verdict_watch_lists_the_waiting_tickets_and_sends_the_followup_sms_once(sched, clock) -> None:
    bot, desk, runner = await sched(procedure={"verdict_wait_wd": 3})
    await answered_tickets(desk)
    clock.set(NOW)
    assert await runner.run_job("verdict_watch") == 1
    assert await runner.run_job("verdict_watch") is None  # once a day
    [row] = await reminders(bot.ctx, "report_verdicts")
    assert row.dest_key == "console:console:bgs"
    lines = text(row).splitlines()
    assert lines[0].startswith("【待回访核查】已答复超过 3 个工作日仍无满意度评价的工单 2 件")
    assert lines[1] == "1. A1 养老服务科 答复于 11月16日 10:00（已发回访短信）"
    assert lines[2] == "2. A3 养老服务科 答复于 11月18日 17:00"
    assert len(lines) == 3
    async with bot.ctx.sessions() as s:
        sms = list((await s.execute(select(SmsMessage).where(SmsMessage.kind == "feedback"))).scalars())
    assert [(m.phone, m.params) for m in sms] == [("13812341234", {"number": "A1"})]

    clock.set(local(2026, 11, 24, 9, 30))  # next working day: A2 has waited too now; no second SMS for A1
    assert await runner.run_job("verdict_watch") == 1
    later = text((await reminders(bot.ctx, "report_verdicts"))[-1]).splitlines()
    assert [line.split()[1] for line in later[1:]] == ["A1", "A3", "A2"]
    assert "已发回访短信" not in later[1] and "已发回访短信" in later[3]
    async with bot.ctx.sessions() as s:
        sent = sorted(m.params["number"] for m in (await s.execute(
            select(SmsMessage).where(SmsMessage.kind == "feedback"))).scalars())
    assert sent == ["A1", "A2"]


async def test_no_followup_sms_where_the_rule_asks_none(sched, clock) -> None:
    overrides = {"procedure": {"verdict_wait_wd": 3, "rules": [{"name": "不回访", "feedback": "none", "deadline": "5wd"}]}}
    bot, desk, runner = await sched(**overrides)
    await answered_tickets(desk)
    clock.set(NOW)
    assert await runner.run_job("verdict_watch") == 1
    body = text((await reminders(bot.ctx, "report_verdicts"))[0])
    assert "A1" in body and "已发回访短信" not in body  # still listed for the office's check
    async with bot.ctx.sessions() as s:
        assert not list((await s.execute(select(SmsMessage).where(SmsMessage.kind == "feedback"))).scalars())
