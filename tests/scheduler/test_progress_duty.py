"""Progress that reaches the office: each 进展 of a ticket whose rule says so is posted to the office
chat (masked, with the ticket page), and the rule's progress cadence is reminded, chased and
escalated like a deadline (利川 疑难 3wd, 松江 daily, 吉林 紧急)."""

from __future__ import annotations

from scheduler import progress
from tests.conftest import local, ticket_body
from tests.handlers.chat import Chat
from tests.scheduler.conftest import buttons, mentioned, reminders, text

PUBLIC = {"server": {"public_url": "https://bot.example.cn"}, "platforms": {"console": {"enabled": True}}}


async def _accepted(sched, clock, preset: str, **body):
    bot, _, _ = await sched(procedure={"preset": preset}, **PUBLIC)
    chat = Chat(bot)
    r = await bot.post_ticket(ticket_body(unit="YLK", **body))
    assert r.status == 201, await r.text()
    await chat.say("张承办", "签收 0001")
    return bot, chat


def _office(rows):
    return [r for r in rows if r.kind == "progress_office"]


async def test_lichuan_hard_case_progress_reaches_the_office_every_3_working_days(sched, clock) -> None:
    # 利川: “对确实无法在3天内办结的疑难事项，需将办理进展情况告知局办公室、局信访股”
    bot, chat = await _accepted(sched, clock, "lichuan")
    rows = await chat.say("张承办", "进展 0001 已联系社区，张三（13812341234）同意明日上门核实")
    [office] = _office(rows)
    assert office.dest_key == "console:console:bgs"
    body = office.payload["text"]
    assert "【进展报送】" in body and "202611230001" in body and "已联系社区" in body
    assert "来电人：张* 138****1234" in body
    assert "张*（138****1234）同意明日上门" in body and "13812341234" not in body and "张三" not in body
    assert "https://bot.example.cn/console/tickets/12345/202611230001" in body
    ctx = bot.ctx
    # the 进展 at Mon 11-23 10:00 → the next one is due 3 working days later, Thu 11-26 17:30
    clock.set(local(2026, 11, 25, 9, 0))
    assert await progress.progress_duty(ctx, clock.now()) == 0
    clock.set(local(2026, 11, 26, 9, 0))
    assert await progress.progress_duty(ctx, clock.now()) == 1
    assert await progress.progress_duty(ctx, clock.now()) == 0  # once per due
    [due] = await reminders(ctx, "remind_prog_due")
    assert "须于 11月26日 17:30 前向办公室报送办理进展" in text(due)
    assert mentioned(due) == ["张承办"] and buttons(due) == ["进展"]
    clock.set(local(2026, 11, 27, 9, 0))  # late: the 承办人 and the leaders
    assert await progress.progress_duty(ctx, clock.now()) == 1
    [late] = await reminders(ctx, "remind_prog_late")
    assert mentioned(late) == ["张承办", "李科长"] and "尚未报送" in text(late)
    assert not await reminders(ctx, "remind_prog_office")
    clock.set(local(2026, 11, 30, 9, 0))  # one working day late (Fri 17:30 passed): the office
    assert await progress.progress_duty(ctx, clock.now()) == 1
    [esc] = await reminders(ctx, "remind_prog_office")
    assert esc.dest_key == "console:console:bgs"
    assert "工单 202611230001（养老服务科，承办人 张承办）应于 11月26日 17:30 前报送的进展逾期未报" in text(esc)
    # a new 进展 restarts the cadence: due Thu 12-03, nothing owed on Mon afternoon
    await chat.say("张承办", "进展 0001 已上门核实")
    clock.set(local(2026, 11, 30, 14, 0))
    assert await progress.progress_duty(ctx, clock.now()) == 0
    clock.set(local(2026, 12, 3, 9, 0))
    assert await progress.progress_duty(ctx, clock.now()) == 1


async def test_songjiang_sensitive_progress_daily_to_the_office(sched, clock) -> None:
    # 松江: “市民反映问题涉稳、涉扬言、涉众时，承办责任科室在接收工单之日直到工单办结为止，每日需向办公室报送”
    bot, chat = await _accepted(sched, clock, "songjiang", tags=["涉稳"])
    assert _office(await chat.say("张承办", "进展 0001 已安抚情绪"))
    await bot.post_ticket(ticket_body(number="202611230002", unit="YLK",
                                      citizen={"name": "李四", "phone": "13900001111"}))
    await chat.say("张承办", "签收 0002")
    assert not _office(await chat.say("张承办", "进展 0002 已联系"))  # an ordinary ticket stays in the unit
    ctx = bot.ctx
    clock.set(local(2026, 11, 24, 9, 0))  # Monday was reported
    assert await progress.progress_duty(ctx, clock.now()) == 0
    clock.set(local(2026, 11, 25, 9, 0))  # nothing on Tuesday: the office hears of it once
    assert await progress.progress_duty(ctx, clock.now()) == 1
    assert await progress.progress_duty(ctx, clock.now()) == 0
    [esc] = await reminders(ctx, "remind_prog_office")
    assert "【报送督办】工单 202611230001" in text(esc) and "11月24日" in text(esc)


async def test_jilin_urgent_progress_goes_straight_to_the_office(sched, clock) -> None:
    # 吉林: “应第一时间到现场调查核实，并立即做出应急处置，同时将处置情况直报市长电话室”
    _, chat = await _accepted(sched, clock, "jilin", category="紧急")
    assert "已到现场" in _office(await chat.say("张承办", "进展 0001 已到现场处置"))[0].payload["text"]
    await chat.bot.post_ticket(ticket_body(number="202611230002", unit="YLK",
                                           citizen={"name": "李四", "phone": "13900001111"}))
    await chat.say("张承办", "签收 0002")
    assert not _office(await chat.say("张承办", "进展 0002 已联系"))  # 一般类: no
