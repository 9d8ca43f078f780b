"""WorkCalendar: official 2026 holidays and 调休, overrides, uncovered years, time zone helpers.

Expected dates are read off the 2026 official schedule (国务院办公厅 2026 节假日安排 as shipped in
chinesecalendar 1.11.0), never computed by the code under test.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.calendar import MEMO_SIZE, WorkCalendar

CAL = WorkCalendar()
SHANGHAI = timedelta(hours=8)


def _calendar_warnings(caplog: pytest.LogCaptureFixture, year: int) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "hotline.calendar" and r.levelno == logging.WARNING and str(year) in r.getMessage()
    ]


# -- the 2026 schedule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [date(2026, 10, d) for d in range(1, 8)] + [date(2026, 9, 25), date(2026, 1, 1), date(2026, 2, 23)],
)
def test_2026_holidays_are_days_off(day: date) -> None:
    assert CAL.is_workday(day) is False


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 4),  # Sunday, 元旦 调休
        date(2026, 2, 14),  # Saturday, 春节 调休
        date(2026, 2, 28),  # Saturday, 春节 调休
        date(2026, 5, 9),  # Saturday, 劳动节 调休
        date(2026, 9, 20),  # Sunday, 国庆 调休
        date(2026, 10, 10),  # Saturday, 国庆 调休
    ],
)
def test_2026_make_up_weekends_are_working_days(day: date) -> None:
    assert day.weekday() >= 5
    assert CAL.is_workday(day) is True


def test_ordinary_weekend_and_weekday() -> None:
    assert CAL.is_workday(date(2026, 3, 7)) is False  # Saturday
    assert CAL.is_workday(date(2026, 3, 8)) is False  # Sunday
    assert CAL.is_workday(date(2026, 3, 9)) is True  # Monday
    assert CAL.is_workday(date(2026, 10, 8)) is True  # first day back after 国庆


def test_add_workdays_across_national_day() -> None:
    assert CAL.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert CAL.add_workdays(date(2026, 9, 30), 2) == date(2026, 10, 9)
    assert CAL.add_workdays(date(2026, 9, 30), 3) == date(2026, 10, 10)  # the working Saturday
    assert CAL.add_workdays(date(2026, 9, 30), 4) == date(2026, 10, 12)


def test_add_workdays_from_a_day_off_does_not_count_it() -> None:
    assert CAL.add_workdays(date(2026, 3, 7), 1) == date(2026, 3, 9)  # Saturday -> Monday
    assert CAL.add_workdays(date(2026, 9, 19), 1) == date(2026, 9, 20)  # Saturday -> working Sunday


def test_add_workdays_rejects_n_below_one() -> None:
    with pytest.raises(ValueError, match="n >= 1"):
        CAL.add_workdays(date(2026, 3, 9), 0)


def test_next_workday() -> None:
    assert CAL.next_workday(date(2026, 3, 9)) == date(2026, 3, 10)
    assert CAL.next_workday(date(2026, 3, 9), include_self=True) == date(2026, 3, 9)
    assert CAL.next_workday(date(2026, 10, 1), include_self=True) == date(2026, 10, 8)
    assert CAL.next_workday(date(2026, 10, 9)) == date(2026, 10, 10)


def test_subtract_workdays() -> None:
    assert CAL.subtract_workdays(date(2026, 10, 12), 1) == date(2026, 10, 10)
    assert CAL.subtract_workdays(date(2026, 10, 12), 2) == date(2026, 10, 9)
    assert CAL.subtract_workdays(date(2026, 10, 9), 2) == date(2026, 9, 30)


def test_workdays_between() -> None:
    assert CAL.workdays_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert CAL.workdays_between(date(2026, 10, 10), date(2026, 9, 30)) == -3
    assert CAL.workdays_between(date(2026, 3, 9), date(2026, 3, 9)) == 0
    assert CAL.workdays_between(date(2026, 3, 6), date(2026, 3, 9)) == 1  # Sat, Sun off; Mon counts


def test_datetime_is_not_a_date() -> None:
    with pytest.raises(TypeError, match="local_date"):
        CAL.is_workday(datetime(2026, 3, 9, tzinfo=UTC))


# -- coverage and the fallback -------------------------------------------------------------------


def test_coverage() -> None:
    assert CAL.is_covered(2026) is True
    assert CAL.is_covered(2004) is True
    assert CAL.is_covered(2027) is False
    assert CAL.is_covered(2003) is False
    assert CAL.uncovered_years(date(2026, 12, 1), date(2028, 1, 1)) == [2027, 2028]
    assert CAL.uncovered_years(date(2028, 1, 1), date(2026, 12, 1)) == [2027, 2028]
    assert CAL.uncovered_years(date(2025, 1, 1), date(2026, 12, 31)) == []


def test_uncovered_year_falls_back_to_monday_friday_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    cal = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger="hotline.calendar"):
        assert cal.is_workday(date(2027, 1, 1)) is True  # a Friday; no data, so it works
        assert cal.is_workday(date(2027, 1, 2)) is False  # Saturday
        assert cal.is_workday(date(2027, 10, 1)) is True  # Friday
        assert cal.add_workdays(date(2027, 1, 1), 5) == date(2027, 1, 8)
    assert len(_calendar_warnings(caplog, 2027)) == 1
    with caplog.at_level(logging.WARNING, logger="hotline.calendar"):
        cal.is_workday(date(2028, 2, 1))
    assert len(_calendar_warnings(caplog, 2028)) == 1


def test_covered_year_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hotline.calendar"):
        WorkCalendar().add_workdays(date(2026, 1, 1), 100)
    assert [r for r in caplog.records if r.name == "hotline.calendar"] == []


# -- overrides -----------------------------------------------------------------------------------


def test_overrides_beat_the_package_and_the_fallback() -> None:
    cal = WorkCalendar(
        extra_holidays=[date(2026, 10, 9), date(2027, 1, 1)],
        extra_workdays=[date(2026, 10, 3), date(2027, 1, 2)],
    )
    assert cal.is_workday(date(2026, 10, 9)) is False  # package: working Friday
    assert cal.is_workday(date(2026, 10, 3)) is True  # package: 国庆 Saturday
    assert cal.is_workday(date(2027, 1, 1)) is False  # fallback: Friday
    assert cal.is_workday(date(2027, 1, 2)) is True  # fallback: Saturday
    assert cal.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 3)


def test_overrides_accept_iso_strings() -> None:
    cal = WorkCalendar(extra_holidays=["2026-03-09"], extra_workdays=["2026-03-07"])
    assert cal.is_workday(date(2026, 3, 9)) is False
    assert cal.is_workday(date(2026, 3, 7)) is True


def test_a_date_cannot_be_both_holiday_and_workday() -> None:
    with pytest.raises(ValueError, match="2026-03-09"):
        WorkCalendar(extra_holidays=[date(2026, 3, 9)], extra_workdays=[date(2026, 3, 9)])


def test_bad_override_is_named() -> None:
    with pytest.raises(ValueError, match="extra_holidays"):
        WorkCalendar(extra_holidays=["2026-13-01"])


# -- time zone -----------------------------------------------------------------------------------


def test_office_day_end_at_is_aware_and_local() -> None:
    end = CAL.office_day_end_at(date(2026, 3, 9))
    assert end.utcoffset() == SHANGHAI
    assert end.isoformat() == "2026-03-09T17:30:00+08:00"
    assert end == datetime(2026, 3, 9, 9, 30, tzinfo=UTC)


def test_office_day_end_is_configurable() -> None:
    cal = WorkCalendar(office_day_end="18:00")
    assert cal.office_day_end == time(18, 0)
    assert cal.office_day_end_at(date(2026, 3, 9)).isoformat() == "2026-03-09T18:00:00+08:00"


def test_local_and_local_date() -> None:
    evening_utc = datetime(2026, 3, 9, 17, 0, tzinfo=UTC)  # 01:00 on the 10th in Shanghai
    assert CAL.local(evening_utc).isoformat() == "2026-03-10T01:00:00+08:00"
    assert CAL.local_date(evening_utc) == date(2026, 3, 10)
    tokyo_one_am = datetime(2026, 3, 10, 1, 0, tzinfo=timezone(timedelta(hours=9)))  # 00:00 in Shanghai
    assert CAL.local_date(tokyo_one_am) == date(2026, 3, 10)
    with pytest.raises(ValueError, match="naive"):
        CAL.local(datetime(2026, 3, 9, 12, 0))


def test_other_time_zone() -> None:
    cal = WorkCalendar(timezone="Asia/Urumqi", office_day_end=time(19, 30))
    assert cal.office_day_end_at(date(2026, 3, 9)).isoformat() == "2026-03-09T19:30:00+06:00"
    assert cal.local_date(datetime(2026, 3, 9, 18, 30, tzinfo=UTC)) == date(2026, 3, 10)


# -- properties ----------------------------------------------------------------------------------

any_day = st.dates(min_value=date(2004, 1, 1), max_value=date(2028, 12, 31))


@given(d=any_day, others=st.lists(any_day, max_size=5))
def test_extra_holiday_always_beats_the_package(d: date, others: list[date]) -> None:
    cal = WorkCalendar(extra_holidays=[d, *others])
    assert cal.is_workday(d) is False


@given(d=any_day, others=st.lists(any_day, max_size=5))
def test_extra_workday_always_beats_the_package(d: date, others: list[date]) -> None:
    cal = WorkCalendar(extra_workdays=[d, *others])
    assert cal.is_workday(d) is True


@given(d=any_day, probe=any_day, holiday=st.booleans())
def test_an_override_changes_only_its_own_day(d: date, probe: date, holiday: bool) -> None:
    cal = WorkCalendar(extra_holidays=[d]) if holiday else WorkCalendar(extra_workdays=[d])
    if probe != d:
        assert cal.is_workday(probe) == CAL.is_workday(probe)


@given(d=any_day, n=st.integers(min_value=1, max_value=40))
def test_add_workdays_is_consistent_with_workdays_between(d: date, n: int) -> None:
    end = CAL.add_workdays(d, n)
    assert end > d
    assert CAL.is_workday(end)
    assert CAL.workdays_between(d, end) == n
    assert CAL.workdays_between(end, d) == -n
    back = CAL.subtract_workdays(end, n)  # the last working day on or before d
    assert back <= d
    assert CAL.is_workday(back)
    assert CAL.workdays_between(back, d) == 0


def test_a_flood_of_distinct_dates_keeps_the_memos_at_their_bound() -> None:
    # Dates come from requests (a ticket's received time, a deadline); the answers remembered
    # for them stay bounded however many distinct dates arrive, and stay right after a reset.
    cal = WorkCalendar()
    start = date(2001, 1, 1)
    for i in range(MEMO_SIZE + 5_000):
        cal.add_workdays(start + timedelta(days=i), 1)
    assert len(cal._cache) <= MEMO_SIZE and len(cal._added) <= MEMO_SIZE
    assert cal.is_workday(date(2026, 10, 10)) and not cal.is_workday(date(2026, 10, 1))
