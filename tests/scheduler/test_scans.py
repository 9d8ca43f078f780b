"""The scans with a moved clock: each reminder once, at the right moment, with the right words."""

from __future__ import annotations

from sqlalchemy import event, select

from scheduler import scans
from store.models import NotificationLedger
from tests.conftest import local
from tests.scheduler.conftest import buttons, mentioned, reminders, text


async def test_ladder_uses_internal_due_and_escalates(sched, clock) -> None:
    bot, desk, _ = await sched()
    # 松江 普通 12345 received Mon 11-23 09:30: internal_due 6wd = Tue 12-01 17:30, deadline Wed 12-02 17:30
    await desk.ticket("202611230001", at=local(2026, 11, 23, 9, 30))
    ctx = bot.ctx

    async def ladder_at(*when: int) -> list[str]:
        clock.set(local(*when))
        before = len(await reminders(ctx))
        await scans.deadline_ladder(ctx, clock.now())
        await scans.deadline_ladder(ctx, clock.now())  # twice: sends once
        return [r.kind for r in (await reminders(ctx))[before:]]

    assert await ladder_at(2026, 11, 26, 9, 0) == []  # Thu: Fri, Mon, Tue left
    assert await ladder_at(2026, 11, 27, 9, 0) == ["remind_ladder_due2"]
    assert await ladder_at(2026, 11, 27, 14, 0) == []
    assert await ladder_at(2026, 11, 30, 9, 0) == ["remind_ladder_due1"]
    assert await ladder_at(2026, 12, 1, 9, 0) == ["remind_ladder_today"]
    assert await ladder_at(2026, 12, 2, 9, 0) == ["remind_ladder_overdue"]
    assert await ladder_at(2026, 12, 2, 14, 0) == []  # once a day
    # Thu: overdue again, and more than one working day past Tue 17:30 → the office
    assert sorted(await ladder_at(2026, 12, 3, 9, 0)) == ["remind_escalation", "remind_ladder_overdue"]

    rows = await reminders(ctx)
    due2 = rows[0]
    assert text(due2).startswith("【办结提醒】工单 202611230001 还有2个工作日到期，内部办结时限 12月1日 17:30。")
    assert mentioned(due2) == ["张承办"] and buttons(due2) == ["进展"]
    assert due2.dest_key == "console:console:ylk"
    overdue = next(r for r in rows if r.kind == "remind_ladder_overdue")
    assert mentioned(overdue) == ["张承办", "李科长"]
    office = next(r for r in rows if r.kind == "remind_escalation")
    assert office.dest_key == "console:console:bgs"
    assert "202611230001（养老服务科，承办人 张承办）" in text(office) and "12月1日 17:30" in text(office)


async def test_accept_watch_two_office_hours_then_leader(sched, clock) -> None:
    bot, desk, _ = await sched()
    await desk.ticket("202611230002", at=local(2026, 11, 23, 10, 0), accept_by=None)
    ctx = bot.ctx
    clock.set(local(2026, 11, 23, 11, 59))
    assert await scans.accept_watch(ctx, clock.now()) == 0
    clock.set(local(2026, 11, 23, 12, 0))
    assert await scans.accept_watch(ctx, clock.now()) == 1
    assert await scans.accept_watch(ctx, clock.now()) == 0
    first = (await reminders(ctx))[-1]
    assert "已超过2个办公小时仍未签收" in text(first) and buttons(first) == ["签收"]
    clock.set(local(2026, 11, 24, 17, 29))
    assert await scans.accept_watch(ctx, clock.now()) == 0
    clock.set(local(2026, 11, 24, 17, 30))
    assert await scans.accept_watch(ctx, clock.now()) == 1
    second = (await reminders(ctx))[-1]
    assert second.kind == "remind_accept_1wd" and mentioned(second) == ["李科长"]
    assert "已超过1个工作日" in text(second)


async def test_dispatch_watch_after_16h_once_a_day(sched, clock) -> None:
    bot, desk, _ = await sched()
    await desk.ticket("202611230003", at=local(2026, 11, 23, 9, 0), unit=None)
    ctx = bot.ctx
    clock.set(local(2026, 11, 23, 15, 45))
    assert await scans.dispatch_watch(ctx, clock.now()) == 0
    clock.set(local(2026, 11, 23, 16, 0))
    assert await scans.dispatch_watch(ctx, clock.now()) == 1
    clock.set(local(2026, 11, 23, 16, 15))
    assert await scans.dispatch_watch(ctx, clock.now()) == 0
    clock.set(local(2026, 11, 24, 8, 0))
    assert await scans.dispatch_watch(ctx, clock.now()) == 1  # 事不过夜: and the next morning again
    rows = await reminders(ctx, "remind_dispatch")
    assert len(rows) == 2 and rows[0].dest_key == "console:console:bgs"
    assert "202611230003（登记 11月23日 09:00）" in text(rows[0])


async def test_first_contact_soon_then_late_each_once(sched, clock) -> None:
    bot, desk, _ = await sched()
    await desk.ticket("202611230004", at=local(2026, 11, 23, 9, 30))  # first contact due Tue 17:30
    ctx = bot.ctx
    clock.set(local(2026, 11, 24, 15, 29))
    assert await scans.first_contact(ctx, clock.now()) == 0
    clock.set(local(2026, 11, 24, 15, 30))
    assert await scans.first_contact(ctx, clock.now()) == 1
    clock.set(local(2026, 11, 24, 17, 30))
    assert await scans.first_contact(ctx, clock.now()) == 1
    clock.set(local(2026, 11, 24, 17, 45))
    assert await scans.first_contact(ctx, clock.now()) == 0
    soon, late = await reminders(ctx)
    assert "须在 11月24日 17:30 前先行联系来电人" in text(soon) and mentioned(soon) == ["张承办"]
    assert late.kind == "remind_fc_late" and "已超过先行联系时限 11月24日 17:30" in text(late)
    # once contact is recorded nothing more is said, even in a later round of scans
    await desk.do("202611230004", local(2026, 11, 24, 18, 0), "first_contact", desk.person("张承办"), "联系", "已电话联系")
    assert await scans.first_contact(ctx, clock.now()) == 0


async def test_quiet_hours_hold_reminders_except_urgent(sched, clock) -> None:
    bot, desk, _ = await sched()
    await desk.ticket("202611230005", at=local(2026, 11, 23, 9, 30))
    await desk.ticket("202611230006", at=local(2026, 11, 23, 9, 31), tags=["紧急"])
    ctx = bot.ctx
    clock.set(local(2026, 11, 24, 22, 0))  # both past their first-contact time (Tue 17:30)
    assert await scans.first_contact(ctx, clock.now()) == 2
    rows = {r.ticket_id: r for r in await reminders(ctx)}
    normal, urgent = rows[1], rows[2]
    assert normal.next_attempt_at == local(2026, 11, 25, 8, 0)
    assert urgent.next_attempt_at == local(2026, 11, 24, 22, 0)


async def test_quiet_hours_follow_the_rules_announce(sched, clock) -> None:
    """松江: 次紧急 is announced at registration, so its reminders go out at night; a D-class
    ticket, exempt under the old fixed list (平顶山's category), is held like any other."""
    bot, desk, _ = await sched()
    await desk.ticket("202611230015", at=local(2026, 11, 23, 9, 30), tags=["次紧急"])
    await desk.ticket("202611230016", at=local(2026, 11, 23, 9, 31), category="D")
    clock.set(local(2026, 11, 24, 22, 0))  # both past their first-contact time
    assert await scans.first_contact(bot.ctx, clock.now()) == 2
    rows = {r.ticket_id: r for r in await reminders(bot.ctx)}
    assert rows[1].next_attempt_at == local(2026, 11, 24, 22, 0)
    assert rows[2].next_attempt_at == local(2026, 11, 25, 8, 0)


async def test_quiet_hours_exempt_pingdingshan_a_class(sched, clock) -> None:
    """平顶山 A类 “不得以节假日为由拖延办理” is announced, so its overdue reminder is not held."""
    bot, desk, _ = await sched(procedure={"preset": "pingdingshan"})
    await desk.ticket("202611230017", at=local(2026, 11, 23, 9, 30), category="A")  # 24h: Tue 09:30
    await desk.ticket("202611230018", at=local(2026, 11, 23, 9, 31), category="B")  # 5wd: Mon 11-30
    clock.set(local(2026, 11, 24, 22, 0))
    assert await scans.deadline_ladder(bot.ctx, clock.now()) == 1
    [row] = await reminders(bot.ctx)
    assert row.kind == "remind_ladder_overdue" and row.next_attempt_at == local(2026, 11, 24, 22, 0)


async def test_quiet_hours_off(sched, clock) -> None:
    bot, desk, _ = await sched(scheduler={"enabled": False, "quiet_hours": ""})
    await desk.ticket("202611230007", at=local(2026, 11, 23, 9, 30))
    clock.set(local(2026, 11, 24, 23, 0))
    assert await scans.first_contact(bot.ctx, clock.now()) == 1
    assert (await reminders(bot.ctx))[0].next_attempt_at == local(2026, 11, 24, 23, 0)


async def test_sensitive_duty_and_chase(sched, clock) -> None:
    bot, desk, _ = await sched()
    await desk.ticket("202611230008", at=local(2026, 11, 23, 9, 30), tags=["扬言"])
    await desk.ticket("202611230009", at=local(2026, 11, 23, 9, 31), tags=["涉众"], accept_by="刘承办")
    await desk.ticket("202611230010", at=local(2026, 11, 23, 9, 32))  # ordinary: no duty
    ctx = bot.ctx
    clock.set(local(2026, 11, 24, 9, 0))
    assert await scans.sensitive_duty(ctx, clock.now()) == 2
    assert await scans.sensitive_duty(ctx, clock.now()) == 0
    duty = await reminders(ctx, "remind_sens_duty")
    assert "【扬言】工单 202611230008 须每日向办公室报送处置情况" in text(duty[0])
    assert buttons(duty[0]) == ["进展"] and mentioned(duty[0]) == ["张承办"]
    await desk.do("202611230008", local(2026, 11, 24, 15, 0), "progress", desk.person("张承办"), "进展", "已上门走访")
    clock.set(local(2026, 11, 24, 17, 0))
    assert await scans.sensitive_chase(ctx, clock.now()) == 1
    chase = await reminders(ctx, "remind_sens_chase")
    assert "202611230009" in text(chase[0]) and mentioned(chase[0]) == ["刘承办", "李科长"]


async def test_unit_digest_sorted_overdue_first_each_handler_once(sched, clock) -> None:
    bot, desk, _ = await sched()
    await desk.ticket("D-LATER", at=local(2026, 11, 23, 9, 30))  # 7wd: 12-02 17:30
    await desk.ticket("D-SOON", at=local(2026, 11, 23, 9, 31), tags=["咨询"], accept_by="刘承办")  # 3wd: 11-26
    await desk.ticket("D-LATE", at=local(2026, 11, 20, 9, 0), tags=["紧急"])  # same-day@16:00 → 17:30 that day (docs/design.md): overdue
    await desk.ticket("D-OTHER", at=local(2026, 11, 23, 9, 33), unit="SHJZK", accept_by="陈承办")
    ctx = bot.ctx
    clock.set(local(2026, 11, 24, 9, 0))
    assert await scans.unit_digest(ctx, clock.now()) == 2
    assert await scans.unit_digest(ctx, clock.now()) == 0
    rows = {r.dest_key: r for r in await reminders(ctx, "remind_digest")}
    ylk = rows["console:console:ylk"]
    assert text(ylk).splitlines() == [
        "【每日待办】养老服务科 在办工单 3 件，其中超期 1 件（按时限排序）：",
        "1. 【紧急】D-LATE 办理中 张承办 时限 11月20日 17:30 【超期】",
        "2. D-SOON 办理中 刘承办 时限 11月26日 17:30",
        "3. D-LATER 办理中 张承办 时限 12月2日 17:30",
    ]
    assert mentioned(ylk) == ["张承办", "刘承办"]
    assert mentioned(rows["console:console:shjzk"]) == ["陈承办"]


async def test_extension_window_lichuan(sched, clock) -> None:
    bot, desk, _ = await sched(procedure={"preset": "lichuan"})
    # 利川 疑难: 7wd from Mon 11-23 → Wed 12-02 17:30; extension asked ≥ 2 working days before → Mon 11-30
    await desk.ticket("202611230011", at=local(2026, 11, 23, 9, 30), category="疑难")
    ctx = bot.ctx
    clock.set(local(2026, 11, 27, 9, 0))
    assert await scans.extension_window(ctx, clock.now()) == 0
    clock.set(local(2026, 11, 30, 9, 0))
    assert await scans.extension_window(ctx, clock.now()) == 1
    assert await scans.extension_window(ctx, clock.now()) == 0
    row = (await reminders(ctx))[0]
    assert "今天（11月30日 17:30 前）是最后期限" in text(row) and "办结时限 12月2日 17:30" in text(row)
    clock.set(local(2026, 12, 1, 9, 0))
    assert await scans.extension_window(ctx, clock.now()) == 0


async def test_extension_window_silent_without_notice_rule(sched, clock) -> None:
    bot, desk, _ = await sched()
    await desk.ticket("202611230012", at=local(2026, 11, 23, 9, 30))
    clock.set(local(2026, 11, 30, 9, 0))
    assert await scans.extension_window(bot.ctx, clock.now()) == 0


async def _lead_with_assist(desk, number: str, at) -> None:
    """A 松江 普通 ticket dispatched at ``at`` to YLK with SHJZK assisting, signed by the lead."""
    await desk.ticket(number, at=at, unit=None)
    await desk.do(number, at, "dispatch", "YLK", None, None, ["SHJZK"])
    await desk.do(number, at, "accept", desk.person("张承办"), f"签收 {number}")


async def test_an_assisting_unit_not_signed_is_reminded_once_a_day(sched, clock) -> None:
    bot, desk, _ = await sched()
    await _lead_with_assist(desk, "202611230020", local(2026, 11, 23, 9, 30))
    ctx = bot.ctx

    async def accept_at(*when: int) -> list[str]:
        clock.set(local(*when))
        before = len(await reminders(ctx))
        await scans.accept_watch(ctx, clock.now())
        return [r.kind for r in (await reminders(ctx))[before:]]

    assert await accept_at(2026, 11, 23, 11, 29) == []
    assert await accept_at(2026, 11, 23, 11, 30) == ["remind_assist_accept"]  # 2 office hours
    assert await accept_at(2026, 11, 23, 16, 0) == []  # once a day
    assert await accept_at(2026, 11, 24, 8, 0) == ["remind_assist_accept"]
    assert await accept_at(2026, 11, 25, 8, 0) == ["remind_assist_accept"]
    first, second, third = await reminders(ctx, "remind_assist_accept")
    assert first.dest_key == "console:console:shjzk" and buttons(first) == ["签收"]
    assert text(first) == ("【配合签收提醒】工单 202611230020 于 11月23日 09:30 请社会救助科配合养老服务科办理，"
                           "贵单位尚未签收，请回复「签收 202611230020」。")
    assert mentioned(first) == mentioned(second) == []
    assert mentioned(third) == ["赵科长"]  # past one working day: its leaders
    await desk.do("202611230020", local(2026, 11, 25, 9, 0), "accept", desk.person("陈承办"), "签收")
    assert await accept_at(2026, 11, 26, 8, 0) == []
    assert [r.kind for r in await reminders(ctx)] == ["remind_assist_accept"] * 3  # the lead signed: nothing else


async def test_an_assisting_unit_not_reported_before_the_leads_due_and_the_lead_told(sched, clock) -> None:
    bot, desk, _ = await sched()
    # internal_due Tue 12-01 17:30: the assist's report is due a working day before, Mon 11-30 17:30
    await _lead_with_assist(desk, "202611230021", local(2026, 11, 23, 9, 30))
    await desk.ticket("202611230022", at=local(2026, 11, 23, 9, 31))  # no assists: never in these reminders
    await desk.do("202611230021", local(2026, 11, 23, 10, 0), "accept", desk.person("陈承办"), "签收")
    ctx = bot.ctx
    assist_kinds = ("remind_assist_report", "remind_assist_lead")

    async def ladder_at(*when: int) -> list[str]:
        clock.set(local(*when))
        before = len(await reminders(ctx))
        await scans.deadline_ladder(ctx, clock.now())
        return [r.kind for r in (await reminders(ctx))[before:] if r.kind in assist_kinds]

    assert await ladder_at(2026, 11, 30, 9, 0) == []
    assert await ladder_at(2026, 11, 30, 14, 0) == []
    assert await ladder_at(2026, 12, 1, 9, 0) == ["remind_assist_report", "remind_assist_lead"]
    assert await ladder_at(2026, 12, 1, 14, 0) == []  # once a day
    assert await ladder_at(2026, 12, 2, 9, 0) == ["remind_assist_report", "remind_assist_lead"]
    assist, lead = (await reminders(ctx, "remind_assist_report"))[0], (await reminders(ctx, "remind_assist_lead"))[0]
    assert assist.dest_key == "console:console:shjzk" and mentioned(assist) == ["陈承办", "赵科长"]
    assert text(assist) == ("【配合报送提醒】工单 202611230021 的牵头单位养老服务科须于 12月1日 17:30 前办结，"
                            "贵单位尚未报送配合情况，请立即回复「进展 202611230021 配合情况」。")
    assert buttons(assist) == ["进展"]
    assert lead.dest_key == "console:console:ylk" and mentioned(lead) == ["张承办"]
    assert "配合单位社会救助科尚未报送配合情况" in text(lead) and "不等配合" in text(lead)
    await desk.do("202611230021", local(2026, 12, 2, 10, 0), "progress", desk.person("陈承办"), "进展",
                  "已核实低保情况")
    assert await ladder_at(2026, 12, 3, 9, 0) == []


async def test_repeat_scans_cost_one_query_each_and_slots_are_utc_stamps(sched, clock) -> None:
    bot, desk, _ = await sched()
    for i in range(3):  # 松江 普通 from Mon 11-23 09:3x: internal_due Tue 12-01 17:30 (09:30 UTC)
        await desk.ticket(f"20261123010{i}", at=local(2026, 11, 23, 9, 30))
    ctx = bot.ctx
    clock.set(local(2026, 11, 27, 9, 0))
    every = (scans.dispatch_watch, scans.accept_watch, scans.first_contact, scans.deadline_ladder,
             scans.extension_window, scans.sensitive_duty, scans.sensitive_chase, scans.unit_digest)
    assert [await scan(ctx, clock.now()) for scan in every] == [0, 0, 3, 3, 0, 0, 0, 1]  # first contact is late too
    async with ctx.sessions() as s:
        slots = (await s.execute(select(NotificationLedger.slot).where(NotificationLedger.kind == "ladder_due2"))).scalars()
        assert set(slots) == {"due2:20261201T0930"}

    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        # the /healthz background probe's "SELECT 1" (store/health.py) runs beside the scans
        if statement.strip() != "SELECT 1" and not statement.startswith(
                ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            statements.append(statement.split(None, 1)[0])

    event.listen(ctx.engine.sync_engine, "before_cursor_execute", record)
    try:
        assert [await scan(ctx, clock.now()) for scan in every] == [0] * len(every)
    finally:
        event.remove(ctx.engine.sync_engine, "before_cursor_execute", record)
    # nothing owed: one SELECT per scan; none for the extension window (no 利川 notice rule in 松江),
    # two for the digest (today's digests in the ledger, then the units still without one)
    assert statements == ["SELECT"] * 8, statements
