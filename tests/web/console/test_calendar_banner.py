"""When the next 60 days reach a year the official holiday calendar does not cover, the bot logs
one warning at start and the console shows a banner; the office's own holidays for that year, or
a date far enough from the year's end, make both go away. Time comes from the frozen clock."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from bot.calendar import PACKAGE_YEARS
from tests.conftest import local
from tests.web.console.conftest import console_overrides

LAST = PACKAGE_YEARS[1]  # the last year chinesecalendar knows
GAP = date(LAST + 1, 1, 1).isoformat()


def _notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "hotline.app" and r.levelno == logging.WARNING and "节假日安排" in r.getMessage()]


async def test_late_in_the_last_covered_year_warns_once_and_shows_a_banner(
        make_bot, make_user, clock, caplog: pytest.LogCaptureFixture) -> None:
    clock.set(local(LAST, 12, 1, 10, 0))  # Jan 1 of the next year is 31 days away
    caplog.set_level(logging.WARNING, logger="hotline.app")
    bot = await make_bot(**console_overrides())
    notices = _notices(caplog)
    assert len(notices) == 1 and GAP in notices[0] and f"[calendar.years.{LAST + 1}]" in notices[0]
    office = make_user(bot)
    assert (await office.login("王办公")).status == 302
    page = await office.page("/console")
    assert 'id="calendar-gap"' in page and GAP in page and f"[calendar.years.{LAST + 1}]" in page


async def test_no_banner_when_the_next_60_days_are_covered(make_bot, make_user, clock,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    clock.set(local(LAST, 10, 15, 10, 0))  # 60 days end on Dec 13
    caplog.set_level(logging.WARNING, logger="hotline.app")
    bot = await make_bot(**console_overrides())
    assert _notices(caplog) == []
    office = make_user(bot)
    assert (await office.login("王办公")).status == 302
    assert 'id="calendar-gap"' not in await office.page("/console")


async def test_no_banner_once_the_office_gives_the_whole_year(make_bot, make_user, clock,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    clock.set(local(LAST, 12, 1, 10, 0))
    caplog.set_level(logging.WARNING, logger="hotline.app")
    bot = await make_bot(calendar={"years": {LAST + 1: {"holidays": [date(LAST + 1, 1, 1)]}}}, **console_overrides())
    assert _notices(caplog) == []
    user = make_user(bot)
    assert (await user.login("张承办")).status == 302
    assert 'id="calendar-gap"' not in await user.page("/console")
