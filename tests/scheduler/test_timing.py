"""The pure time rules and the job schedule (APScheduler triggers, never sleeping)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from bot.calendar import WorkCalendar
from bot.config import parse_config
from bot.deadlines import TicketFacts
from bot.presets import build_rulebook
from bot.quiet_hours import quiet_until
from scheduler import jobs, timing
from scheduler.quiet import QuietHours, is_exempt
from tests.conftest import base_config, local

CAL = WorkCalendar()


def test_dispatch_due_is_16h_same_day_or_next_working_day() -> None:
    assert timing.dispatch_due(CAL, local(2026, 11, 23, 9, 0)) == local(2026, 11, 23, 16, 0)
    # registered after the cut-off on Friday → Monday 16:00
    assert timing.dispatch_due(CAL, local(2026, 11, 27, 16, 30)) == local(2026, 11, 30, 16, 0)
    # registered on National Day → the first working day after the holiday, Thu 10-08
    assert timing.dispatch_due(CAL, local(2026, 10, 3, 10, 0)) == local(2026, 10, 8, 16, 0)


def test_office_hours_skip_nights_weekends_and_holidays() -> None:
    start, end = time(8, 30), time(17, 30)
    assert timing.add_office_hours(CAL, local(2026, 11, 23, 10, 0), 2, start, end) == local(2026, 11, 23, 12, 0)
    # 16:45 Friday: 45 minutes on Friday, 75 on Monday from 08:30
    assert timing.add_office_hours(CAL, local(2026, 11, 27, 16, 45), 2, start, end) == local(2026, 11, 30, 9, 45)
    # dispatched at night on Wed 09-30: the holiday runs to 10-07, so 08:30 + 2h on Thu 10-08
    assert timing.add_office_hours(CAL, local(2026, 9, 30, 22, 0), 2, start, end) == local(2026, 10, 8, 10, 30)


def test_response_due_is_end_of_next_working_day() -> None:
    assert timing.response_due(CAL, local(2026, 11, 23, 10, 0)) == local(2026, 11, 24, 17, 30)
    assert timing.response_due(CAL, local(2026, 9, 30, 10, 0)) == local(2026, 10, 8, 17, 30)
    # Friday 10-09 → the 调休 working Saturday 10-10
    assert timing.response_due(CAL, local(2026, 10, 9, 10, 0)) == local(2026, 10, 10, 17, 30)


def test_ladder_stages_count_working_days() -> None:
    due = local(2026, 12, 2, 17, 30)  # Wed
    assert timing.ladder_stage(CAL, due, local(2026, 11, 26, 9, 0)) is None  # Thu: 3 wd left
    assert timing.ladder_stage(CAL, due, local(2026, 11, 27, 9, 0)) is None  # Fri: Mon, Tue, Wed left
    assert timing.ladder_stage(CAL, due, local(2026, 11, 30, 9, 0)) == "due2"
    assert timing.ladder_stage(CAL, due, local(2026, 12, 1, 9, 0)) == "due1"
    assert timing.ladder_stage(CAL, due, local(2026, 12, 2, 9, 0)) == "today"
    assert timing.ladder_stage(CAL, due, local(2026, 12, 2, 17, 30)) == "overdue"
    assert timing.escalate_at(CAL, due) == local(2026, 12, 3, 17, 30)


def test_quiet_hours_window() -> None:
    q = (time(21, 0), time(8, 0))
    assert quiet_until(local(2026, 11, 23, 22, 15), q, CAL.tz) == local(2026, 11, 24, 8, 0)
    assert quiet_until(local(2026, 11, 24, 7, 59), q, CAL.tz) == local(2026, 11, 24, 8, 0)
    assert quiet_until(local(2026, 11, 24, 8, 0), q, CAL.tz) is None
    assert quiet_until(local(2026, 11, 24, 20, 59), q, CAL.tz) is None
    quiet = QuietHours(CAL, "21:00-08:00")
    assert quiet.not_before(local(2026, 11, 23, 23, 0)) == local(2026, 11, 24, 8, 0)
    assert QuietHours(CAL, "").not_before(local(2026, 11, 23, 23, 0)) is None


def test_quiet_hours_exemption_is_the_rules_announce() -> None:
    """The exemption is whatever the preset announces at registration, not a fixed list."""
    songjiang, pingdingshan = build_rulebook("songjiang"), build_rulebook("pingdingshan")
    assert is_exempt(songjiang, [TicketFacts(tags=frozenset({"紧急"}))])
    assert is_exempt(songjiang, [TicketFacts(tags=frozenset({"次紧急"}))])  # 松江 紧急/次紧急/疫情
    assert not is_exempt(songjiang, [TicketFacts(category="D")])  # D类 is 平顶山's, not 松江's
    assert is_exempt(pingdingshan, [TicketFacts(category="A")])  # “不得以节假日为由拖延办理”
    assert not is_exempt(pingdingshan, [TicketFacts(category="B"), TicketFacts(tags=frozenset({"涉稳"}))])
    assert is_exempt(pingdingshan, [TicketFacts(category="B"), TicketFacts(category="D")])  # any one of a list


def test_months() -> None:
    assert timing.previous_month("2027-01") == "2026-12"
    assert timing.previous_month("2026-11", 2) == "2026-09"
    assert timing.month_bounds(CAL, "2026-12") == (local(2026, 12, 1), local(2027, 1, 1))
    assert timing.is_first_workday_of_month(CAL, date(2026, 10, 8))  # after the National Day holiday
    assert not timing.is_first_workday_of_month(CAL, date(2026, 10, 9))


def _jobs(**sched: object) -> dict[str, jobs.ScheduledJob]:
    doc = base_config("sqlite+aiosqlite:///:memory:", scheduler={"enabled": True, **sched},
                      calendar={"extra_holidays": ["2027-01-01"]})
    return {j.name: j for j in jobs.configured_jobs(parse_config(doc))}


def test_working_day_jobs_skip_national_day_and_run_on_tiaoxiu_saturday() -> None:
    js = _jobs()
    digest = jobs.fire_times(js["unit_digest"], CAL, local(2026, 9, 28), local(2026, 10, 12, 23, 59))
    assert [f.date() for f in digest] == [date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30),
                                         date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10),
                                         date(2026, 10, 12)]
    assert all(f == local(f.year, f.month, f.day, 9, 0) for f in digest)
    ladder = jobs.fire_times(js["extension_window"], CAL, local(2026, 10, 10), local(2026, 10, 11, 23, 59))
    assert ladder == [local(2026, 10, 10, 9, 0)]
    # the deadline ladder fires every day: its scan leaves working-day tickets alone on days off
    ladder = jobs.fire_times(js["deadline_ladder"], CAL, local(2026, 10, 10), local(2026, 10, 11, 23, 59))
    assert len(ladder) == 4
    duty = jobs.fire_times(js["sensitive_duty"], CAL, local(2026, 10, 1), local(2026, 10, 7, 23, 59))
    assert len(duty) == 7  # every calendar day, holidays included
    monthly = jobs.fire_times(js["monthly_report"], CAL, local(2026, 10, 1), local(2026, 10, 31, 23, 59))
    assert monthly == [local(2026, 10, 8, 9, 0)]


def test_year_change_schedule() -> None:
    js = _jobs()
    cal = WorkCalendar(extra_holidays=["2027-01-01"])
    digest = jobs.fire_times(js["unit_digest"], cal, local(2026, 12, 31), local(2027, 1, 4, 23, 59))
    assert [f.date() for f in digest] == [date(2026, 12, 31), date(2027, 1, 4)]
    monthly = jobs.fire_times(js["monthly_report"], cal, local(2026, 12, 31), local(2027, 1, 31, 23, 59))
    assert monthly == [local(2027, 1, 4, 9, 0)]
    weekly = jobs.fire_times(js["weekly_analysis"], cal, local(2026, 12, 28), local(2027, 1, 11, 23, 59))
    assert weekly == [local(2026, 12, 28, 9, 0), local(2027, 1, 4, 9, 0), local(2027, 1, 11, 9, 0)]


def test_config_switches_jobs_off_and_overrides_cron() -> None:
    js = _jobs(jobs={"unit_digest": {"enabled": False}, "deadline_ladder": {"cron": "30 8 * * *"}})
    assert "unit_digest" not in js
    assert jobs.fire_times(js["deadline_ladder"], CAL, local(2026, 11, 23), local(2026, 11, 23, 23, 59)) == [
        local(2026, 11, 23, 8, 30)]


def test_unknown_job_is_named() -> None:
    import pytest

    with pytest.raises(ValueError, match="nightly"):
        _jobs(jobs={"nightly": {"enabled": True}})


# ---- the rules as instants (what the scans filter on in SQL) must agree with the rules ----------

NOWS = [
    local(2026, 11, 24, 9, 0),  # an ordinary Tuesday, 09:00 ladder run
    local(2026, 11, 27, 19, 40),  # Friday evening
    local(2026, 10, 3, 9, 0),  # National Day holiday
    local(2026, 10, 10, 14, 0),  # 调休 working Saturday
    local(2026, 12, 31, 16, 30),  # the year change ahead
]


def _instants(now: datetime, days: int = 12, step: timedelta = timedelta(minutes=37)) -> list[datetime]:
    """Times around ``now`` every ``step`` (an odd step, so every hour of the day is hit)."""
    t, out = now - timedelta(days=days), []
    while t <= now + timedelta(days=days):
        out.append(t)
        t += step
    return out


def _around(bound: datetime | None) -> list[datetime]:
    return [] if bound is None else [bound - timedelta(microseconds=1), bound, bound + timedelta(microseconds=1)]


def test_dispatch_and_accept_bounds_agree_with_the_rules() -> None:
    start, end = time(8, 30), time(17, 30)
    for now in NOWS:
        late = timing.dispatch_late_until(CAL, now)
        one_day, two_hours = timing.accept_late_until(CAL, now, start, end)
        for t in _instants(now) + _around(late) + _around(one_day) + _around(two_hours):
            assert (timing.dispatch_due(CAL, t) <= now) == (late is not None and t <= late), (now, t)
            assert (timing.response_due(CAL, t) <= now) == (one_day is not None and t <= one_day), (now, t)
            assert ((timing.add_office_hours(CAL, t, 2, start, end) <= now)
                    == (two_hours is not None and t <= two_hours)), (now, t)


def test_ladder_bounds_agree_with_the_ladder() -> None:
    for now in NOWS:
        bounds = timing.ladder_bounds(CAL, now)
        edges = [b for _, b in bounds.stages] + ([bounds.escalate] if bounds.escalate else [])
        for due in _instants(now) + [t for b in edges for t in _around(b)]:
            by_bounds = next((stage for stage, upto in bounds.stages if due <= upto), None)
            assert by_bounds == timing.ladder_stage(CAL, due, now), (now, due)
            escalated = timing.ladder_stage(CAL, due, now) == "overdue" and now >= timing.escalate_at(CAL, due)
            assert escalated == (bounds.escalate is not None and due <= bounds.escalate), (now, due)


def test_ladder_bounds_by_hand() -> None:
    # Tue 11-24 09:00: overdue up to now; today until Tue 24:00; due1 = Wed; due2 = Thu
    b = timing.ladder_bounds(CAL, local(2026, 11, 24, 9, 0))
    us = timedelta(microseconds=1)
    assert b.stages == (("overdue", local(2026, 11, 24, 9, 0)), ("today", local(2026, 11, 25) - us),
                        ("due1", local(2026, 11, 26) - us), ("due2", local(2026, 11, 27) - us))
    assert b.escalate == local(2026, 11, 23, 9, 0)  # a due Mon 09:00 escalates Tue 09:00
    # Fri 11-27: due1 runs over the weekend to Mon; due2 is Tue
    b = timing.ladder_bounds(CAL, local(2026, 11, 27, 9, 0))
    assert [s for s, _ in b.stages] == ["overdue", "today", "due1", "due2"]
    assert b.stages[2][1] == local(2026, 12, 1) - us and b.stages[3][1] == local(2026, 12, 2) - us


def test_extension_day_bounds_agree_with_the_rule() -> None:
    for now in NOWS:
        today = CAL.local_date(now)
        for wd in (1, 2, 3):
            window = timing.request_day_bounds(CAL, now, wd)
            lo_hi = [t for b in (window or ()) for t in _around(b)]
            for deadline in _instants(now, days=20, step=timedelta(minutes=173)) + lo_hi:
                rule_says = CAL.subtract_workdays(CAL.local_date(deadline), wd) == today
                assert rule_says == (window is not None and window[0] < deadline <= window[1]), (now, wd, deadline)
    assert timing.request_day_bounds(CAL, local(2026, 10, 3, 9, 0), 2) is None  # a holiday is nobody's last day
