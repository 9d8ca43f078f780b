"""Pure time rules of the reminders: when a dispatch, an acceptance or a deadline is late.

No I/O, no clock: every function takes ``now`` or the times it compares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.calendar import WorkCalendar

# 利川 三(二): “工单和诉求原则上在登记后当天派发承办单位进行办理”; 四(一): “确保文不过时、事不过夜”.
# The issue sets the office's cut-off for the same-day dispatch at 16:00.
DISPATCH_CUTOFF = time(16, 0)


def dispatch_due(cal: WorkCalendar, registered_at: datetime) -> datetime:
    """When a ticket registered at ``registered_at`` should be dispatched at the latest: 16:00 the
    same day, or 16:00 of the next working day when registered later or on a day off."""
    local = cal.local(registered_at)
    day = local.date()
    if not cal.is_workday(day) or local.time() >= DISPATCH_CUTOFF:
        day = cal.next_workday(day)
    return datetime.combine(day, DISPATCH_CUTOFF, tzinfo=cal.tz)


def add_office_hours(cal: WorkCalendar, start: datetime, hours: float, day_start: time,
                     day_end: time) -> datetime:
    """``start`` plus ``hours`` counted only inside office hours of working days.

    >>> cal = WorkCalendar()
    >>> from zoneinfo import ZoneInfo
    >>> sh = ZoneInfo("Asia/Shanghai")
    >>> add_office_hours(cal, datetime(2026, 11, 27, 16, 45, tzinfo=sh), 2, time(8, 30), time(17, 30))
    datetime.datetime(2026, 11, 30, 9, 45, tzinfo=zoneinfo.ZoneInfo(key='Asia/Shanghai'))
    """
    remaining = timedelta(hours=hours)
    cursor = cal.local(start)
    day = cursor.date()
    for _ in range(400):  # a year of days off would be a broken calendar, not a loop to hang on
        if cal.is_workday(day):
            opens = datetime.combine(day, day_start, tzinfo=cal.tz)
            closes = datetime.combine(day, day_end, tzinfo=cal.tz)
            begin = max(cursor, opens)
            if begin < closes:
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
        day += timedelta(days=1)
        cursor = datetime.combine(day, day_start, tzinfo=cal.tz)
    raise ValueError("no office hours within a year")


def response_due(cal: WorkCalendar, dispatched_at: datetime) -> datetime:
    """The end of “1 working day” after a dispatch: the office-day end of the first working day
    after the dispatch day (the day of dispatch is not counted, as for every ``Nwd`` period,
    ``docs/design.md``, deadlines). Used by the accept watch's escalation and by the report's 及时响应率."""
    return cal.office_day_end_at(cal.add_workdays(cal.local_date(dispatched_at), 1))


def ladder_stage(cal: WorkCalendar, due: datetime, now: datetime) -> str | None:
    """Where a ticket stands on the deadline ladder: ``due2`` (2 working days left), ``due1``
    (due by the end of the next working day), ``today``, ``overdue``, or None (nothing to say)."""
    if now >= due:
        return "overdue"
    today, due_day = cal.local_date(now), cal.local_date(due)
    if due_day == today:
        return "today"
    left = cal.workdays_between(today, due_day)
    if left <= 1:
        return "due1"
    if left == 2:
        return "due2"
    return None


def assist_report_due(cal: WorkCalendar, due: datetime) -> datetime:
    """When an assisting unit's report is due: one working day before the lead's own deadline
    ``due`` (its ``internal_due`` where set), at the same clock time, so the lead has a day to
    write the answer."""
    local = cal.local(due)
    return datetime.combine(cal.subtract_workdays(local.date(), 1), local.time().replace(tzinfo=None),
                            tzinfo=cal.tz)


def escalate_at(cal: WorkCalendar, due: datetime) -> datetime:
    """One working day past ``due``: the same clock time on the next working day."""
    local = cal.local(due)
    return datetime.combine(cal.add_workdays(local.date(), 1), local.time().replace(tzinfo=None),
                            tzinfo=cal.tz)


# ---- the same rules as instants: "late iff the column is at or before T" ---------------------
#
# A scan must not evaluate a rule per ticket in Python (100,000 tickets). Every rule above is
# monotone in the ticket's time (a later dispatch is never late earlier), so "late at ``now``" is
# "the ticket's time is at or before one instant T", and T is found once per scan by bisecting the
# rule itself: the SQL filter can never disagree with the Python rule it stands for.

_US = timedelta(microseconds=1)
SEARCH_BACK = timedelta(days=400)  # every rule here turns within a year (the calendar raises past it)
SEARCH_AHEAD = timedelta(days=60)  # a few working days ahead never span more (nor reach a year not yet published)


def last_true(pred: Callable[[datetime], bool], lo: datetime, hi: datetime) -> datetime | None:
    """The latest instant ``t`` in ``[lo, hi]`` (to the microsecond, the store's precision) with
    ``pred(t)``, for a ``pred`` that is true up to some instant and false after it; None when even
    ``lo`` is false, ``hi`` when ``hi`` is true.

    >>> from datetime import UTC
    >>> t0 = datetime(2026, 11, 23, tzinfo=UTC)
    >>> last_true(lambda t: t < t0, t0 - timedelta(days=1), t0 + timedelta(days=1)) == t0 - _US
    True
    """
    if not pred(lo):
        return None
    if pred(hi):
        return hi
    while hi - lo > _US:  # pred(lo) and not pred(hi)
        mid = lo + (hi - lo) // 2
        if pred(mid):
            lo = mid
        else:
            hi = mid
    return lo


def dispatch_late_until(cal: WorkCalendar, now: datetime) -> datetime | None:
    """Registered at or before this instant → past the dispatch cut-off at ``now``."""
    return last_true(lambda t: dispatch_due(cal, t) <= now, now - SEARCH_BACK, now)


def accept_late_until(cal: WorkCalendar, now: datetime, day_start: time, day_end: time
                      ) -> tuple[datetime | None, datetime | None]:
    """(dispatched at or before → 1 working day without 签收, … → 2 office hours without 签收)."""
    one_day = last_true(lambda t: response_due(cal, t) <= now, now - SEARCH_BACK, now)
    two_hours = last_true(lambda t: add_office_hours(cal, t, 2, day_start, day_end) <= now, now - SEARCH_BACK, now)
    return one_day, two_hours


LADDER_STAGES = ("overdue", "today", "due1", "due2")


@dataclass(frozen=True, slots=True)
class LadderBounds:
    """The deadline ladder at one ``now`` as instants: a due at or before ``stages[i][1]`` (and
    after the previous bound) is at stage ``stages[i][0]``; ``escalate`` bounds the dues one working
    day overdue (None: none)."""

    stages: tuple[tuple[str, datetime], ...]
    escalate: datetime | None


def ladder_bounds(cal: WorkCalendar, now: datetime) -> LadderBounds:
    """``ladder_stage`` and ``escalate_at`` at ``now`` turned into instants."""
    lo, hi = now - SEARCH_BACK, now + SEARCH_AHEAD
    out: list[tuple[str, datetime]] = []
    for i, stage in enumerate(LADDER_STAGES):
        reached = frozenset(LADDER_STAGES[:i + 1])

        def at_most(due: datetime, reached: frozenset[str] = reached) -> bool:
            return ladder_stage(cal, due, now) in reached

        bound = last_true(at_most, lo, hi)
        if bound is not None and (not out or bound > out[-1][1]):  # a stage no due reaches is left out
            out.append((stage, bound))
    escalate = last_true(lambda due: escalate_at(cal, due) <= now, lo, now)
    return LadderBounds(tuple(out), escalate)


def assist_report_late_until(cal: WorkCalendar, now: datetime) -> datetime | None:
    """Lead dues at or before this instant → an assisting unit's report is late at ``now``."""
    return last_true(lambda due: assist_report_due(cal, due) <= now, now - SEARCH_BACK, now + SEARCH_AHEAD)


def request_day_bounds(cal: WorkCalendar, now: datetime, notice_wd: int) -> tuple[datetime, datetime] | None:
    """Deadlines ``d`` in ``(lo, hi]`` have their last extension day (``notice_wd`` working days
    before, 利川) today; None when no deadline does."""
    today = cal.local_date(now)
    lo, hi = now - SEARCH_AHEAD, now + SEARCH_AHEAD
    before = last_true(lambda d: cal.subtract_workdays(cal.local_date(d), notice_wd) < today, lo, hi)
    upto = last_true(lambda d: cal.subtract_workdays(cal.local_date(d), notice_wd) <= today, lo, hi)
    if before is None or upto is None or upto <= before:
        return None
    return before, upto


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def month_bounds(cal: WorkCalendar, month: str) -> tuple[datetime, datetime]:
    """``"2026-11"`` → (first instant of the month, first instant of the next), local zone."""
    year, mon = (int(x) for x in month.split("-"))
    if not (1 <= mon <= 12):
        raise ValueError(f"month must look like 2026-11, got {month!r}")
    start = datetime(year, mon, 1, tzinfo=cal.tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=cal.tz)
    return start, end


def previous_month(month: str, back: int = 1) -> str:
    """``previous_month("2027-01")`` → ``"2026-12"``."""
    year, mon = (int(x) for x in month.split("-"))
    index = year * 12 + (mon - 1) - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def is_first_workday_of_month(cal: WorkCalendar, day: date) -> bool:
    """Whether ``day`` is the first working day of its month."""
    if not cal.is_workday(day):
        return False
    d = day.replace(day=1)
    while d < day:
        if cal.is_workday(d):
            return False
        d += timedelta(days=1)
    return True
