"""Job runs over a moved clock: holidays, 调休, the year change, a restart, two instances."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bot.app import create_app
from bot.context import CTX
from scheduler import scans
from scheduler.runner import SCHEDULER, SchedulerRunner
from tests.conftest import PG_URL, local
from tests.scheduler.conftest import reminders, text

WORKDAY_JOBS = ("unit_digest", "extension_window", "supervision_watch")
# run every day for tickets whose clock never sleeps; a working-day ticket hears nothing on a day off
CLOCK_JOBS = ("deadline_ladder", "dispatch_watch", "accept_watch", "giveback_watch")


async def _run_all(runner: SchedulerRunner, clock, *when: int) -> dict[str, int | None]:
    """What the scheduler does at ``when``: every job whose cron trigger fires at that minute runs
    (a job not due then is reported as not run)."""
    now = local(*when)
    clock.set(now)
    out: dict[str, int | None] = {}
    for name, job in runner.jobs.items():
        fires = job.trigger.get_next_fire_time(None, now) == now
        out[name] = await runner.run_job(name) if fires else None
    return out


async def test_national_day_week(sched, clock) -> None:
    bot, desk, runner = await sched()
    await desk.ticket("202609290001", at=local(2026, 9, 29, 10, 0), tags=["涉稳"])
    for day in range(1, 8):  # 10-01 … 10-07: all holidays
        ran = await _run_all(runner, clock, 2026, 10, day, 9, 0)
        assert all(ran[j] is None for j in WORKDAY_JOBS), (day, ran)
        assert all(not ran[j] for j in CLOCK_JOBS), (day, ran)
        assert ran["sensitive_duty"] == 1
        ran = await _run_all(runner, clock, 2026, 10, day, 17, 0)
        assert ran["sensitive_chase"] == 1
    duty = await reminders(bot.ctx, "remind_sens_duty")
    assert len(duty) == 7 and len(await reminders(bot.ctx, "remind_sens_chase")) == 7
    assert not await reminders(bot.ctx, "remind_digest")
    # the first working day after the holiday: the digest and the monthly report for September
    ran = await _run_all(runner, clock, 2026, 10, 8, 9, 0)
    assert ran["unit_digest"] == 1 and ran["monthly_report"] == 1
    monthly = await reminders(bot.ctx, "report_monthly")
    assert text(monthly[0]).startswith("【月度通报】2026年9月热线办理情况：受理 1 件")


async def test_tiaoxiu_working_saturday(sched, clock) -> None:
    bot, desk, runner = await sched()
    # 松江 咨询 3wd from Fri 10-09: Sat 10-10 (调休), Mon 10-12, Tue 10-13 → due Tue 17:30
    await desk.ticket("202610090001", at=local(2026, 10, 9, 10, 0), tags=["咨询"])
    ran = await _run_all(runner, clock, 2026, 10, 10, 9, 0)
    assert ran["unit_digest"] == 1 and ran["deadline_ladder"] == 1
    ladder = await reminders(bot.ctx, "remind_ladder_due2")
    assert "还有2个工作日到期，办结时限 10月13日 17:30" in text(ladder[0])
    ran = await _run_all(runner, clock, 2026, 10, 11, 9, 0)  # Sunday
    assert ran["unit_digest"] is None and ran["deadline_ladder"] == 0
    ran = await _run_all(runner, clock, 2026, 10, 12, 9, 0)
    assert ran["deadline_ladder"] == 1
    assert len(await reminders(bot.ctx, "remind_ladder_due1")) == 1


async def test_year_change(sched, clock) -> None:
    bot, desk, runner = await sched(calendar={"extra_holidays": ["2027-01-01"]})
    await desk.ticket("202612300001", at=local(2026, 12, 30, 10, 0))
    await desk.ticket("202612310001", at=local(2026, 12, 31, 10, 0), tags=["涉众"])
    ran = await _run_all(runner, clock, 2027, 1, 1, 9, 0)  # extra holiday in a year the package lacks
    assert ran["unit_digest"] is None and ran["monthly_report"] is None and ran["sensitive_duty"] == 1
    ran = await _run_all(runner, clock, 2027, 1, 4, 9, 0)
    assert ran["unit_digest"] == 1 and ran["monthly_report"] == 1 and ran["weekly_analysis"] == 1
    monthly = text((await reminders(bot.ctx, "report_monthly"))[0])
    assert monthly.startswith("【月度通报】2026年12月热线办理情况：受理 2 件")
    weekly = text((await reminders(bot.ctx, "report_weekly"))[0])
    assert weekly.startswith("【周分析】12月28日—1月3日：受理 2 件")
    assert "热点标签：涉众 1" in weekly
    # ledger slots across the year change: the week is 2026-W53, the month 2026-12
    from sqlalchemy import select

    from store.models import NotificationLedger as L
    async with bot.ctx.sessions() as s:
        slots = set((await s.execute(select(L.kind, L.slot).where(L.subject == "office"))).all())
    assert slots == {("weekly", "2026-W53"), ("monthly", "2026-12"), ("period_week", "2026-W53"),
                     ("period_month", "2026-12"), ("period_quarter", "2026-Q4"), ("period_year", "2026")}


async def test_restart_after_three_days_does_not_flood(sched, clock) -> None:
    bot, desk, runner = await sched()
    await desk.ticket("202611230001", at=local(2026, 11, 23, 9, 30), tags=["涉稳"])
    await desk.ticket("202611230002", at=local(2026, 11, 23, 9, 40))
    ran = await _run_all(runner, clock, 2026, 11, 26, 9, 0)  # Thu: last run before the stop
    assert ran["unit_digest"] == 1
    before = Counter(r.kind for r in await reminders(bot.ctx))
    # down from Thu 09:00 until Sun 10:00; a fresh runner starts (a new process)
    clock.set(local(2026, 11, 29, 10, 0))
    caught = await SchedulerRunner(bot.ctx).catch_up()
    # today's useful fires only (the clock jobs run on Sunday for tickets whose clock never sleeps)
    assert set(caught) == {"sensitive_duty", "first_contact", "progress_duty", "delay_sms", "model_retrain",
                           *CLOCK_JOBS}
    after = Counter(r.kind for r in await reminders(bot.ctx))
    new = after - before
    # no Fri digest, no Fri/Sat ladder, no flood: the 涉稳 ticket's missed report of Saturday alone
    assert new == Counter({"remind_sens_duty": 1, "remind_prog_office": 1}), new
    # catching up again at once does nothing more
    assert await SchedulerRunner(bot.ctx).catch_up() == []
    # Monday 09:00: one digest per unit with tickets
    clock.set(local(2026, 11, 30, 9, 0))
    assert await runner.run_job("unit_digest") == 1
    assert Counter(r.kind for r in await reminders(bot.ctx))["remind_digest"] == 2  # Thu + Mon


async def test_catch_up_on_monday_morning_sends_one_digest(sched, clock) -> None:
    bot, desk, runner = await sched()
    await desk.ticket("202611230001", at=local(2026, 11, 23, 9, 30))
    await _run_all(runner, clock, 2026, 11, 27, 9, 0)  # Fri
    clock.set(local(2026, 11, 30, 11, 0))  # down all weekend, started Monday 11:00 after the 09:00 fire
    caught = await SchedulerRunner(bot.ctx).catch_up()
    assert "unit_digest" in caught and "deadline_ladder" in caught and "weekly_analysis" in caught
    assert len(await reminders(bot.ctx, "remind_digest")) == 2  # Fri and Mon, not Sat/Sun too


async def test_job_run_recorded_once_per_fire(sched, clock) -> None:
    _bot, _desk, runner = await sched()
    clock.set(local(2026, 11, 24, 9, 0))
    assert await runner.run_job("unit_digest") == 0
    assert await runner.run_job("unit_digest") is None  # same fire minute: already ran


async def test_two_instances_send_each_reminder_once(make_config, clock, desk_for) -> None:
    config = make_config()
    apps = [create_app(config, clock=clock, with_background=False) for _ in range(2)]
    from aiohttp.test_utils import TestClient, TestServer

    clients = [TestClient(TestServer(app)) for app in apps]
    for c in clients:
        await c.start_server()
    try:
        ctx_a, ctx_b = (c.app[CTX] for c in clients)
        desk = desk_for(ctx_a)
        for i in range(30):
            await desk.ticket(f"20261123{i:04d}", at=local(2026, 11, 23, 9, 30), tags=["涉稳"] if i % 2 else [])
        clock.set(local(2026, 12, 2, 9, 0))
        for scan in (scans.deadline_ladder, scans.sensitive_duty, scans.unit_digest, scans.first_contact):
            counts = await asyncio.gather(*(scan(ctx, clock.now()) for ctx in (ctx_a, ctx_b, ctx_a, ctx_b)))
            assert sum(counts) == max(counts), (scan.__name__, counts)
        rows = await reminders(ctx_a)
        keys = Counter((r.kind, r.ticket_id, r.dest_key) for r in rows)
        assert keys and max(keys.values()) == 1
        assert Counter(r.kind for r in rows) == Counter(
            {"remind_ladder_overdue": 30, "remind_fc_late": 30, "remind_sens_duty": 15, "remind_digest": 1})
        # and the job runners: each fire runs on one instance only
        runners = [SchedulerRunner(ctx) for ctx in (ctx_a, ctx_b)]
        results = await asyncio.gather(*(r.run_job("sensitive_chase") for r in runners))
        assert results.count(None) == 1 and 15 in results
    finally:
        for c in clients:
            await c.close()


@pytest.mark.pg
@pytest.mark.skipif(not PG_URL, reason="needs HOTLINE_TEST_PG_URL")
async def test_advisory_lock_excludes_second_holder(make_config, store_url) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    from scheduler.locks import job_lock
    from store.db import create_engine

    e1, e2 = create_engine(store_url), create_engine(store_url)
    try:
        async with job_lock(e1, "unit_digest") as first:
            async with job_lock(e2, "unit_digest") as second:
                assert first and not second
        async with job_lock(e2, "unit_digest") as again:
            assert again
    finally:
        await e1.dispose()
        await e2.dispose()


async def test_scheduler_starts_and_stops_with_the_app(make_bot, clock) -> None:
    bot = await make_bot(with_background=True, scheduler={"enabled": True,
                                                           "jobs": {"monthly_report": {"enabled": False}}})
    runner = bot.client.app[SCHEDULER]
    assert runner.scheduler is not None and runner.scheduler.running
    ids = {j.id for j in runner.scheduler.get_jobs()}
    assert "monthly_report" not in ids and {"unit_digest", "sensitive_duty", "first_contact"} <= ids
    job = runner.scheduler.get_job("unit_digest")
    assert job.coalesce and job.max_instances == 1 and job.misfire_grace_time == 600
    assert str(job.trigger.timezone) == "Asia/Shanghai"


async def test_weekly_and_monthly_reports_name_the_hot_topics(sched, clock) -> None:
    # 平顶山 周分析 “梳理热点、难点问题及网络单位办理情况”: tickets about one matter make a topic,
    # named by its words, in the weekly analysis and the monthly report; a lone ticket makes none.
    bot, desk, runner = await sched()
    matter = "幸福小区{}号楼门口路灯损坏，晚上一片漆黑，老人出行不便，请尽快维修路灯。"
    for i, day in enumerate((23, 24, 24, 25)):
        await desk.ticket(f"2026112{i}0001", at=local(2026, 11, day, 10, 0), content=matter.format(i + 1))
    await desk.ticket("202611260001", at=local(2026, 11, 26, 10, 0), content="咨询今年城乡居民医保缴费截止时间。")
    ran = await _run_all(runner, clock, 2026, 11, 30, 9, 0)  # Monday
    assert ran["weekly_analysis"] == 1
    weekly = text((await reminders(bot.ctx, "report_weekly"))[0])
    hot = weekly.split("热点问题：", 1)[1]
    assert "热点 1：" in hot and "路灯" in hot and "4 件" in hot and "医保" not in hot
    ran = await _run_all(runner, clock, 2026, 12, 1, 9, 0)  # first working day of December
    assert ran["monthly_report"] == 1
    monthly = text((await reminders(bot.ctx, "report_monthly"))[0])
    assert "热点问题：" in monthly and "路灯" in monthly.split("热点问题：", 1)[1]
