"""The working-day calendar: official Chinese holidays and 调休 plus the office's overrides.

Working days come from the ``chinesecalendar`` package (holidays and make-up working weekends).
The package only knows the years it was released for; for any other year the calendar falls
back to Monday–Friday, logs a warning once per year and never raises. A year the office gives in
full (``[calendar.years.<year>]``, its 放假 and 调休 dates) counts as covered: no warning. The
office's holidays and working days always win over both the package and the fallback.

Pure code: no I/O, no clock. Every date argument is a *local* date in the calendar's zone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants as _cc_constants

__all__ = ["PACKAGE_YEARS", "EveryDayCalendar", "WorkCalendar"]

log = logging.getLogger("hotline.calendar")

#: The first and last year the installed ``chinesecalendar`` has data for (inclusive).
PACKAGE_YEARS: tuple[int, int] = (
    min(_cc_constants.holidays).year,
    max(_cc_constants.holidays).year,
)

_ONE_DAY = timedelta(days=1)


def _as_date(value: date | str, what: str) -> date:
    """Coerce an override entry (a date or an ISO date string) to a plain ``date``."""
    if isinstance(value, datetime):
        raise TypeError(f"{what} must hold dates, not datetimes: {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{what}: {value!r} is not an ISO date (YYYY-MM-DD)") from None
    raise TypeError(f"{what} must hold dates, got {value!r}")


def _package_knows(year: int) -> bool:
    """Whether the installed ``chinesecalendar`` has official holiday data for ``year``."""
    return PACKAGE_YEARS[0] <= year <= PACKAGE_YEARS[1]


def _check_date(d: object) -> date:
    """Reject datetimes (their date depends on the zone) and non-dates."""
    if isinstance(d, datetime):
        raise TypeError("pass a local date, not a datetime (use WorkCalendar.local_date)")
    if not isinstance(d, date):
        raise TypeError(f"expected a date, got {d!r}")
    return d


MEMO_SIZE = 20_000
"""Answers a calendar remembers per question (working day? n-th working day after?): far more
than the dates tickets bring, and a bound whatever dates a request holds."""


class WorkCalendar:
    """Working days and office hours in one time zone.

    >>> cal = WorkCalendar()
    >>> cal.is_workday(date(2026, 10, 10))   # a 调休 working Saturday
    True
    >>> cal.add_workdays(date(2026, 9, 30), 1)   # across the National Day holiday
    datetime.date(2026, 10, 8)
    """

    def __init__(
        self,
        timezone: str = "Asia/Shanghai",
        office_day_end: time | str = time(17, 30),
        extra_holidays: Iterable[date | str] = (),
        extra_workdays: Iterable[date | str] = (),
        official_years: Iterable[int] = (),
    ) -> None:
        self.tz: ZoneInfo = ZoneInfo(timezone)
        if isinstance(office_day_end, str):
            office_day_end = time.fromisoformat(office_day_end)
        if office_day_end.tzinfo is not None:
            raise ValueError("office_day_end is a local wall-clock time; give it without a zone")
        self.office_day_end: time = office_day_end
        self.extra_holidays: frozenset[date] = frozenset(
            _as_date(d, "extra_holidays") for d in extra_holidays
        )
        self.extra_workdays: frozenset[date] = frozenset(
            _as_date(d, "extra_workdays") for d in extra_workdays
        )
        both = self.extra_holidays & self.extra_workdays
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"dates listed both as extra holiday and extra working day: {listed}")
        #: Years whose whole official schedule (放假 and 调休) the office gave in the config.
        self.official_years: frozenset[int] = frozenset(int(y) for y in official_years)
        self._cache: dict[date, bool] = {}
        self._added: dict[tuple[date, int], date] = {}
        self._warned_years: set[int] = set()

    def __repr__(self) -> str:
        return (
            f"WorkCalendar(timezone={self.tz.key!r}, office_day_end={self.office_day_end.isoformat()!r}, "
            f"extra_holidays={len(self.extra_holidays)}, extra_workdays={len(self.extra_workdays)})"
        )

    # -- coverage -------------------------------------------------------------------------------

    def is_covered(self, year: int) -> bool:
        """Whether the official holidays of ``year`` are known: ``chinesecalendar`` has them, or
        the config gives the whole year (``[calendar.years.<year>]``)."""
        return _package_knows(year) or year in self.official_years

    def uncovered_years(self, start: date, end: date) -> list[int]:
        """The years between ``start`` and ``end`` (inclusive, either order) the package lacks."""
        lo, hi = sorted((start.year, end.year))
        return [y for y in range(lo, hi + 1) if not self.is_covered(y)]

    def uncovered_days(self, start: date, days: int = 60) -> list[date]:
        """The dates of ``[start, start + days)`` whose year's official holidays are unknown
        (neither ``chinesecalendar`` nor ``[calendar.years.<year>]`` covers it), in order."""
        start = _check_date(start)
        return [d for d in (start + timedelta(days=i) for i in range(max(days, 0)))
                if not self.is_covered(d.year)]

    # -- working days ---------------------------------------------------------------------------

    def is_workday(self, d: date) -> bool:
        """Whether ``d`` is a working day.

        Order of authority: the office's ``extra_holidays`` / ``extra_workdays``, then
        ``chinesecalendar`` (with 调休 make-up working weekends), then Monday–Friday for a year
        the package does not know (logged once per year).
        """
        d = _check_date(d)
        cached = self._cache.get(d)
        if cached is not None:
            return cached
        if d in self.extra_holidays:
            answer = False
        elif d in self.extra_workdays:
            answer = True
        elif _package_knows(d.year):
            answer = bool(chinese_calendar.is_workday(d))
        else:
            if d.year not in self.official_years:  # a year given in full needs no warning
                self._warn_uncovered(d.year)
            answer = d.weekday() < 5
        if len(self._cache) >= MEMO_SIZE:
            self._cache.clear()
        self._cache[d] = answer
        return answer

    def _warn_uncovered(self, year: int) -> None:
        if year in self._warned_years:
            return
        self._warned_years.add(year)
        log.warning(
            "chinesecalendar has no official holidays for %d (it knows %d-%d): treating "
            "Monday-Friday as working days plus the configured extra_holidays/extra_workdays; "
            "add that year's official schedule as [calendar.years.<year>]",
            year,
            *PACKAGE_YEARS,
        )

    def next_workday(self, d: date, include_self: bool = False) -> date:
        """The first working day after ``d`` (or ``d`` itself if ``include_self`` and it works)."""
        d = _check_date(d)
        if include_self and self.is_workday(d):
            return d
        d += _ONE_DAY
        while not self.is_workday(d):
            d += _ONE_DAY
        return d

    def add_workdays(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d``; ``d`` itself is not counted (``n >= 1``)."""
        if n < 1:
            raise ValueError(f"add_workdays needs n >= 1, got {n}")
        key = (_check_date(d), n)
        found = self._added.get(key)
        if found is None:  # every ticket of a day asks the same questions: answer each once
            found = d
            for _ in range(n):
                found = self.next_workday(found)
            if len(self._added) >= MEMO_SIZE:
                self._added.clear()
            self._added[key] = found
        return found

    def subtract_workdays(self, d: date, n: int) -> date:
        """The ``n``-th working day before ``d``; ``d`` itself is not counted (``n >= 1``)."""
        if n < 1:
            raise ValueError(f"subtract_workdays needs n >= 1, got {n}")
        d = _check_date(d)
        for _ in range(n):
            d -= _ONE_DAY
            while not self.is_workday(d):
                d -= _ONE_DAY
        return d

    def workdays_between(self, start: date, end: date) -> int:
        """The number of working days in ``(start, end]``; negative (``-count((end, start])``)
        when ``end`` is before ``start``."""
        start, end = _check_date(start), _check_date(end)
        if end < start:
            return -self.workdays_between(end, start)
        count = 0
        d = start + _ONE_DAY
        while d <= end:
            count += self.is_workday(d)
            d += _ONE_DAY
        return count

    # -- time zone ------------------------------------------------------------------------------

    def office_day_end_at(self, d: date) -> datetime:
        """The end of the office day on local date ``d``, as an aware datetime in ``tz``."""
        return datetime.combine(_check_date(d), self.office_day_end, tzinfo=self.tz)

    def local(self, dt: datetime) -> datetime:
        """An aware datetime converted to the calendar's zone; a naive one is an error."""
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError(f"naive datetime {dt.isoformat()}: a UTC offset is required")
        return dt.astimezone(self.tz)

    def local_date(self, dt: datetime) -> date:
        """The local calendar date of an aware datetime."""
        return self.local(dt).date()


class EveryDayCalendar(WorkCalendar):
    """The calendar of a running clock (hours, natural days): every day is a working day, in the
    zone and with the office day of ``base``. The reminder rules written for working days give,
    over it, the rungs of a clock that holidays do not stop (平顶山 A类 “不得以节假日为由拖延办理”)."""

    def __init__(self, base: WorkCalendar) -> None:
        super().__init__(base.tz.key, base.office_day_end)

    def is_workday(self, d: date) -> bool:
        """Every day counts."""
        return True
