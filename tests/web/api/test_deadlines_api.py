"""Deadlines end to end: what the intake answer and the read API show (docs/design.md, deadlines), hand-computed
on the official 2026 calendar (National Day 10-01..10-07, Mid-Autumn 09-25..09-27, 调休 Sun 09-20
and Sat 10-10 are working days)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ticket_body

KEYS = ("rule", "deadline", "internal_due", "first_contact_due")

CASES: list[tuple[str, dict[str, Any], tuple[str | None, ...]]] = [
    # Wed 09-30, the day before National Day: working days after it are 10-08, 10-09, Sat 10-10 (调休),
    # 10-12, 10-13, 10-14, 10-15 → 7wd on Thu 10-15; 6wd on 10-14; first contact 1wd on 10-08.
    ("before-national-day", {"received_at": "2026-09-30T10:00:00+08:00"},
     ("songjiang-普通", "2026-10-15T17:30:00+08:00", "2026-10-14T17:30:00+08:00", "2026-10-08T17:30:00+08:00")),
    # Sat 09-19: the 调休 Sunday 09-20 is the first working day, then 09-21..09-24, (holiday 09-25..27),
    # 09-28, 09-29 → 7wd on Tue 09-29.
    ("saturday-before-tiaoxiu-sunday", {"received_at": "2026-09-19T10:00:00+08:00"},
     ("songjiang-普通", "2026-09-29T17:30:00+08:00", "2026-09-28T17:30:00+08:00", "2026-09-20T17:30:00+08:00")),
    # On the 调休 Sunday itself, under 紧急 (same-day@16:00): due that day.
    ("tiaoxiu-sunday-urgent", {"received_at": "2026-09-20T10:00:00+08:00", "tags": ["紧急"]},
     ("songjiang-紧急", "2026-09-20T17:30:00+08:00", None, "2026-09-20T17:30:00+08:00")),
    # 紧急 at 15:59 → today 17:30; at 16:00 → the next natural day 17:30. The first contact
    # (1 working day) never falls after the ticket's own deadline (issue 15 §1).
    ("urgent-1559", {"received_at": "2026-11-23T15:59:00+08:00", "tags": ["紧急"]},
     ("songjiang-紧急", "2026-11-23T17:30:00+08:00", None, "2026-11-23T17:30:00+08:00")),
    ("urgent-1600", {"received_at": "2026-11-23T16:00:00+08:00", "tags": ["紧急"]},
     ("songjiang-紧急", "2026-11-24T17:30:00+08:00", None, "2026-11-24T17:30:00+08:00")),
    ("urgent-friday-1600", {"received_at": "2026-11-27T16:00:00+08:00", "tags": ["次紧急"]},
     ("songjiang-紧急", "2026-11-28T17:30:00+08:00", None, "2026-11-28T17:30:00+08:00")),
    # An ordinary Saturday, 11-21: Mon 11-23 is day 1, Tue 12-01 day 7.
    ("saturday", {"received_at": "2026-11-21T10:00:00+08:00"},
     ("songjiang-普通", "2026-12-01T17:30:00+08:00", "2026-11-30T17:30:00+08:00", "2026-11-23T17:30:00+08:00")),
    # A time in another offset is the same instant: Sat 02:30 UTC is Sat 10:30 in Shanghai.
    ("utc-offset", {"received_at": "2026-11-21T02:30:00+00:00"},
     ("songjiang-普通", "2026-12-01T17:30:00+08:00", "2026-11-30T17:30:00+08:00", "2026-11-23T17:30:00+08:00")),
    # 随申拍: 3 natural days, weekends included: Thu 11-26 → Sun 11-29.
    ("suishenpai", {"received_at": "2026-11-26T10:00:00+08:00", "channel": "随申拍"},
     ("songjiang-随申拍", "2026-11-29T17:30:00+08:00", None, "2026-11-27T17:30:00+08:00")),
    # The hotline's own deadline wins over the rule; the unit's internal due (6wd, 12-01) is never
    # later than the deadline, so it is capped at it.
    ("hotline-deadline", {"received_at": "2026-11-23T09:00:00+08:00", "deadline": "2026-11-25T12:00:00+08:00"},
     ("songjiang-普通", "2026-11-25T12:00:00+08:00", "2026-11-25T12:00:00+08:00", "2026-11-24T17:30:00+08:00")),
]


async def _both_views(bot: Any, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    r = await bot.post_ticket(body)
    assert r.status == 201, await r.text()
    posted = await r.json()
    read = await (await bot.get(f"/api/v1/tickets/{body['source']}/{body['number']}")).json()
    return posted, read


@pytest.mark.parametrize(("name", "fields", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_deadline_in_the_ticket_view(make_bot, name: str, fields: dict[str, Any],
                                           expected: tuple[str | None, ...]) -> None:
    bot = await make_bot()
    posted, read = await _both_views(bot, ticket_body(number=f"D-{name}", **fields))
    for view in (posted, read):
        assert tuple(view[k] for k in KEYS) == expected, name


@pytest.mark.parametrize(("extra_holidays", "expected"), [
    # Mon 2026-12-28; chinesecalendar 1.11 does not know 2027, so Mon–Fri counts: 12-29, 12-30, 12-31,
    # Fri 01-01, Mon 01-04, 01-05, 01-06 → 7wd on Wed 2027-01-06; 6wd on 01-05.
    ([], ("2027-01-06T17:30:00+08:00", "2027-01-05T17:30:00+08:00")),
    # With New Year's Day listed: 12-29, 12-30, 12-31, 01-04, 01-05, 01-06, 01-07.
    (["2027-01-01"], ("2027-01-07T17:30:00+08:00", "2027-01-06T17:30:00+08:00")),
])
async def test_deadline_in_2027(make_bot, extra_holidays: list[str], expected: tuple[str, str]) -> None:
    import chinese_calendar

    from bot.calendar import WorkCalendar

    if WorkCalendar("Asia/Shanghai").is_covered(2027):
        pytest.skip(f"chinesecalendar {chinese_calendar.__version__} knows 2027; the fallback is not used")
    bot = await make_bot(calendar={"extra_holidays": extra_holidays})
    posted, read = await _both_views(bot, ticket_body(number="Y2027", received_at="2026-12-28T10:00:00+08:00"))
    for view in (posted, read):
        assert (view["deadline"], view["internal_due"]) == expected
        assert view["first_contact_due"] == "2026-12-29T17:30:00+08:00"


async def test_extra_workday_counts(make_bot) -> None:
    # The office declares Sat 2026-11-28 a working day: from Thu 11-26, 3wd (咨询) is 11-27, 11-28, 11-30.
    bot = await make_bot(calendar={"extra_workdays": ["2026-11-28"]})
    posted, _ = await _both_views(bot, ticket_body(number="XW", received_at="2026-11-26T10:00:00+08:00",
                                                   tags=["咨询"]))
    assert posted["deadline"] == "2026-11-30T17:30:00+08:00"
