"""Durations, rules, rule books and deadline results (docs/design.md, deadlines).

Every expected time is hand-computed from the 2026 official calendar:
March 2026 has no holidays (Mon 9th, Tue 10th, …); 国庆 2026 is Oct 1–7 off, with Sun Sep 20 and
Sat Oct 10 as make-up working days.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.calendar import WorkCalendar
from bot.deadlines import (
    DeadlineResult,
    Duration,
    Rule,
    RuleBook,
    TicketFacts,
    apply_duration,
    evaluate,
    extension_request_by,
    parse_duration,
    parse_progress,
)

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0, ss: int = 0) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=TZ)


def due(cal: WorkCalendar, received: datetime, text: str, roll: bool = False) -> datetime:
    return apply_duration(cal, received, parse_duration(text), roll=roll)


# -- parse_duration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7wd", Duration("wd", 7)),
        ("3d", Duration("d", 3)),
        ("24h", Duration("h", 24)),
        (" 10WD ", Duration("wd", 10)),
        ("same-day@16:00", Duration("same-day", 0, time(16, 0))),
        ("same-day@9:05", Duration("same-day", 0, time(9, 5))),
    ],
)
def test_parse_duration(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["7wd", "3d", "24h", "same-day@16:00"])
def test_duration_text_round_trips(text: str) -> None:
    assert str(parse_duration(text)) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected '7wd'"),
        ("7", "expected '7wd'"),
        ("wd", "expected '7wd'"),
        ("7 wd", "expected '7wd'"),
        ("7w", "expected '7wd'"),
        ("-1d", "expected '7wd'"),
        ("1.5d", "expected '7wd'"),
        ("７wd", "expected '7wd'"),  # full-width digit
        ("0wd", "between 1 and 999"),
        ("1000d", "between 1 and 999"),
        ("same-day", "write the cutoff time"),
        ("same-day@", "write the cutoff time"),
        ("same-day@24:00", "00:00 to 23:59"),
        ("same-day@16:60", "00:00 to 23:59"),
        ("daily", "expected '7wd'"),
    ],
)
def test_parse_duration_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        parse_duration(text)
    assert repr(text) in str(err.value)


def test_duration_invariants() -> None:
    with pytest.raises(ValueError):
        Duration("same-day", 0)
    with pytest.raises(ValueError):
        Duration("wd", 0)
    with pytest.raises(ValueError):
        Duration("h", 3, time(16, 0))


def test_parse_progress() -> None:
    assert parse_progress("daily") == "daily"
    assert parse_progress("3wd") == Duration("wd", 3)
    with pytest.raises(ValueError, match="'daily'"):
        parse_progress("weekly")


# -- apply_duration ------------------------------------------------------------------------------


def test_wd_does_not_count_the_day_of_receipt() -> None:
    assert due(CAL, at(2026, 3, 10, 8, 0), "1wd") == at(2026, 3, 11, 17, 30)
    assert due(CAL, at(2026, 3, 10, 23, 59), "1wd") == at(2026, 3, 11, 17, 30)
    assert due(CAL, at(2026, 3, 13), "1wd") == at(2026, 3, 16, 17, 30)  # Friday -> Monday


def test_received_the_day_before_national_day() -> None:
    received = at(2026, 9, 30, 11, 0)
    assert due(CAL, received, "1wd") == at(2026, 10, 8, 17, 30)
    assert due(CAL, received, "3wd") == at(2026, 10, 10, 17, 30)  # working Saturday
    assert due(CAL, received, "7wd") == at(2026, 10, 15, 17, 30)
    assert due(CAL, received, "3d") == at(2026, 10, 3, 17, 30)
    assert due(CAL, received, "3d", roll=True) == at(2026, 10, 8, 17, 30)
    assert due(CAL, received, "24h") == at(2026, 10, 1, 11, 0)


def test_received_on_a_make_up_working_saturday() -> None:
    received = at(2026, 10, 10, 9, 0)
    assert due(CAL, received, "1wd") == at(2026, 10, 12, 17, 30)
    assert due(CAL, received, "3wd") == at(2026, 10, 14, 17, 30)
    # and the working Saturday counts for a ticket received the day before
    assert due(CAL, at(2026, 10, 9, 9, 0), "1wd") == at(2026, 10, 10, 17, 30)


def test_received_on_a_saturday() -> None:
    received = at(2026, 3, 7, 11, 0)
    assert due(CAL, received, "1wd") == at(2026, 3, 9, 17, 30)
    assert due(CAL, received, "5wd") == at(2026, 3, 13, 17, 30)
    assert due(CAL, received, "1d") == at(2026, 3, 8, 17, 30)
    assert due(CAL, received, "1d", roll=True) == at(2026, 3, 9, 17, 30)
    # Saturday 2026-09-19 is followed by the working Sunday 2026-09-20
    assert due(CAL, at(2026, 9, 19), "1wd") == at(2026, 9, 20, 17, 30)


def test_natural_days_and_roll() -> None:
    received = at(2026, 3, 12)  # Thursday
    assert due(CAL, received, "3d") == at(2026, 3, 15, 17, 30)  # Sunday
    assert due(CAL, received, "3d", roll=True) == at(2026, 3, 16, 17, 30)  # Monday
    assert due(CAL, received, "4d", roll=True) == at(2026, 3, 16, 17, 30)  # already a working day
    # 30 days from Sep 1 is Oct 1 (国庆): rolled to the first day back, Oct 8
    assert due(CAL, at(2026, 9, 1), "30d") == at(2026, 10, 1, 17, 30)
    assert due(CAL, at(2026, 9, 1), "30d", roll=True) == at(2026, 10, 8, 17, 30)
    # 60 days from Mar 10 is Sat May 9, a 劳动节 make-up working day: no roll
    assert due(CAL, at(2026, 3, 10), "60d", roll=True) == at(2026, 5, 9, 17, 30)


def test_roll_does_not_change_working_day_or_hour_periods() -> None:
    received = at(2026, 3, 12)
    assert due(CAL, received, "2wd", roll=True) == due(CAL, received, "2wd")
    assert due(CAL, at(2026, 3, 13, 12), "24h", roll=True) == at(2026, 3, 14, 12, 0)  # a Saturday


def test_hours_are_exact() -> None:
    assert due(CAL, at(2026, 10, 1, 9, 15, 30), "24h") == at(2026, 10, 2, 9, 15, 30)
    assert due(CAL, datetime(2026, 3, 10, 20, 0, tzinfo=UTC), "6h") == at(2026, 3, 11, 10, 0)


def test_same_day_cutoff() -> None:
    same_day = parse_duration("same-day@16:00")
    assert apply_duration(CAL, at(2026, 3, 10, 15, 59), same_day) == at(2026, 3, 10, 17, 30)
    assert apply_duration(CAL, at(2026, 3, 10, 15, 59, 59), same_day) == at(2026, 3, 10, 17, 30)
    assert apply_duration(CAL, at(2026, 3, 10, 16, 0), same_day) == at(2026, 3, 11, 17, 30)
    assert apply_duration(CAL, at(2026, 3, 10, 23, 0), same_day) == at(2026, 3, 11, 17, 30)
    assert apply_duration(CAL, at(2026, 3, 10, 0, 0), same_day) == at(2026, 3, 10, 17, 30)
    # the next *natural* day: Friday 16:30 is due Saturday
    assert apply_duration(CAL, at(2026, 3, 13, 16, 30), same_day) == at(2026, 3, 14, 17, 30)
    # the cutoff is local time: 07:59Z and 08:00Z are 15:59 and 16:00 in Shanghai
    assert apply_duration(CAL, datetime(2026, 3, 10, 7, 59, tzinfo=UTC), same_day) == at(2026, 3, 10, 17, 30)
    assert apply_duration(CAL, datetime(2026, 3, 10, 8, 0, tzinfo=UTC), same_day) == at(2026, 3, 11, 17, 30)


def test_local_day_of_receipt_is_used() -> None:
    received = datetime(2026, 3, 9, 17, 0, tzinfo=UTC)  # Tuesday 01:00 in Shanghai
    assert due(CAL, received, "1wd") == at(2026, 3, 11, 17, 30)


def test_results_are_in_the_calendar_zone() -> None:
    result = due(CAL, datetime(2026, 3, 10, 2, 0, tzinfo=UTC), "24h")
    assert result.tzinfo == TZ
    assert result.isoformat() == "2026-03-11T10:00:00+08:00"


def test_naive_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        apply_duration(CAL, datetime(2026, 3, 10, 10, 0), parse_duration("1wd"))


def test_deadline_in_2027_without_and_with_extra_holidays(caplog: pytest.LogCaptureFixture) -> None:
    received = at(2026, 12, 30, 10, 0)  # Wednesday
    plain = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger="hotline.calendar"):
        # Dec 31, then 2027 by Monday–Friday: Jan 1 (Fri), 4, 5, 6, 7, 8
        assert due(plain, received, "7wd") == at(2027, 1, 8, 17, 30)
        assert due(plain, received, "7wd") == at(2027, 1, 8, 17, 30)
        assert due(plain, received, "6wd") == at(2027, 1, 7, 17, 30)
    warnings = [r for r in caplog.records if r.name == "hotline.calendar" and "2027" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING

    office = WorkCalendar(extra_holidays=[date(2027, 1, 1)])
    # Dec 31, then Jan 4, 5, 6, 7, 8, 11
    assert due(office, received, "7wd") == at(2027, 1, 11, 17, 30)
    assert due(office, at(2026, 12, 29), "3d", roll=True) == at(2027, 1, 4, 17, 30)


# -- rules ---------------------------------------------------------------------------------------


def test_rule_rejects_bad_durations_naming_the_field() -> None:
    for name in ("deadline", "internal_due", "first_contact", "giveback_within", "progress"):
        with pytest.raises(ValidationError) as err:
            Rule(name="r", **{name: "7 days"})
        errors = err.value.errors()
        assert errors[0]["loc"] == (name,)
        assert "'7 days'" in errors[0]["msg"]


def test_rule_rejects_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ValidationError) as err:
        Rule(name="r", dealine="7wd")
    assert err.value.errors()[0]["loc"] == ("dealine",)
    with pytest.raises(ValidationError):
        Rule(name="r", tags=[])
    with pytest.raises(ValidationError):
        Rule(name="r", feedback="sometimes")
    with pytest.raises(ValidationError):
        Rule(name="r", max_extensions=-1)
    with pytest.raises(ValidationError):
        Rule(name="")


def test_rule_accepts_progress_daily() -> None:
    assert Rule(name="r", progress="daily").progress == "daily"
    assert Rule(name="r", progress="3wd").progress == "3wd"


def test_rule_matches() -> None:
    rule = Rule(name="r", source="12345", category=["A", "D"], tags=["扬言", "涉稳"])
    assert rule.matches(TicketFacts(category="A", tags=frozenset({"扬言"})))
    assert rule.matches(TicketFacts(category="D", tags=frozenset({"涉稳", "市级催办"})))
    assert not rule.matches(TicketFacts(category="B", tags=frozenset({"扬言"})))
    assert not rule.matches(TicketFacts(category="A"))
    assert not rule.matches(TicketFacts(source="962200", category="A", tags=frozenset({"扬言"})))
    assert not rule.matches(TicketFacts(category=None, tags=frozenset({"扬言"})))
    assert Rule(name="any").matches(TicketFacts())
    assert Rule(name="c", channel="随申拍").matches(TicketFacts(channel="随申拍"))
    assert not Rule(name="c", channel="随申拍").matches(TicketFacts(channel="电话"))


def test_ticket_facts_accepts_any_iterable_of_tags() -> None:
    assert TicketFacts(tags=["扬言", "扬言"]).tags == frozenset({"扬言"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TicketFacts(tags="扬言")  # type: ignore[arg-type]


# -- rule books ----------------------------------------------------------------------------------

BOOK = RuleBook(
    [
        Rule(name="urgent", tags="紧急", deadline="same-day@16:00"),
        Rule(name="ordinary", source="12345", deadline="7wd", internal_due="6wd"),
        Rule(name="contact", overlay=True, source="12345", first_contact="1wd", deadline="1wd"),
        Rule(name="daily", overlay=True, tags=["扬言"], progress="daily", receipt_sms=True),
        Rule(name="late-overlay", overlay=True, progress="3wd", roll=True),
    ]
)


def test_first_non_overlay_match_wins() -> None:
    assert BOOK.match(TicketFacts(tags=frozenset({"紧急"}))).name == "urgent"
    assert BOOK.match(TicketFacts()).name == "ordinary"


def test_overlays_fill_only_unset_fields_first_overlay_first() -> None:
    rule = BOOK.match(TicketFacts(tags=frozenset({"扬言"})))
    assert rule.name == "ordinary"
    assert rule.deadline == "7wd"  # the winner's own, not the overlay's 1wd
    assert rule.first_contact == "1wd"
    assert rule.progress == "daily"  # "daily" comes before "late-overlay"
    assert rule.receipt_sms is True
    assert rule.roll is True
    assert rule.overlay is False
    assert rule.source == "12345"


def test_overlays_that_do_not_match_are_ignored() -> None:
    rule = BOOK.match(TicketFacts(source="962200"))
    assert rule.name == "default"
    assert rule.deadline is None
    assert rule.first_contact is None
    assert rule.progress == "3wd"  # late-overlay matches everything


def test_fallback_rule_is_named_default_and_has_no_deadline() -> None:
    result = RuleBook([]).compute(CAL, at(2026, 3, 10), TicketFacts())
    assert result.rule == "default"
    assert (result.deadline, result.internal_due, result.first_contact_due, result.progress) == (
        None,
        None,
        None,
        None,
    )
    assert result.max_extensions == 1


def test_rule_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="'x'"):
        RuleBook([Rule(name="x"), Rule(name="x", deadline="1wd")])


def test_compute() -> None:
    result = BOOK.compute(CAL, at(2026, 3, 10, 10, 0), TicketFacts(tags=frozenset({"扬言"})))
    assert result == DeadlineResult(
        rule="ordinary",
        deadline=at(2026, 3, 19, 17, 30),
        internal_due=at(2026, 3, 18, 17, 30),
        first_contact_due=at(2026, 3, 11, 17, 30),
        progress="daily",
        max_extensions=1,
        policy=result.policy,
    )
    assert result.policy.receipt_sms is True


def test_hotline_deadline_overrides_the_rule() -> None:
    received = at(2026, 3, 10, 10, 0)
    later = datetime(2026, 3, 31, 9, 30, tzinfo=UTC)
    result = BOOK.compute(CAL, received, TicketFacts(), hotline_deadline=later)
    assert result.deadline == at(2026, 3, 31, 17, 30)
    assert result.deadline.tzinfo == TZ
    assert result.internal_due == at(2026, 3, 18, 17, 30)  # still the rule's 6wd
    assert result.first_contact_due == at(2026, 3, 11, 17, 30)


def test_internal_due_is_never_later_than_the_hotline_deadline() -> None:
    received = at(2026, 3, 10, 10, 0)
    sooner = at(2026, 3, 12, 12, 0)
    result = BOOK.compute(CAL, received, TicketFacts(), hotline_deadline=sooner)
    assert result.deadline == sooner
    assert result.internal_due == sooner


def test_internal_due_is_never_later_than_the_rule_deadline() -> None:
    rule = Rule(name="odd", deadline="2wd", internal_due="5wd")
    result = evaluate(CAL, rule, at(2026, 3, 10))
    assert result.deadline == result.internal_due == at(2026, 3, 12, 17, 30)


def test_rule_roll_applies_to_its_natural_day_durations() -> None:
    rule = Rule(name="xf", deadline="3d", first_contact="1d", roll=True)
    result = evaluate(CAL, rule, at(2026, 3, 12))  # Thursday
    assert result.deadline == at(2026, 3, 16, 17, 30)  # Sunday -> Monday
    assert result.first_contact_due == at(2026, 3, 13, 17, 30)


def test_to_json() -> None:
    result = BOOK.compute(CAL, datetime(2026, 3, 10, 2, 0, tzinfo=UTC), TicketFacts())
    assert result.to_json(CAL) == {
        "rule": "ordinary",
        "deadline": "2026-03-19T17:30:00+08:00",
        "internal_due": "2026-03-18T17:30:00+08:00",
        "first_contact_due": "2026-03-11T17:30:00+08:00",
        "progress": "3wd",
    }
    empty = RuleBook([]).compute(CAL, at(2026, 3, 10), TicketFacts())
    assert empty.to_json(CAL) == {
        "rule": "default",
        "deadline": None,
        "internal_due": None,
        "first_contact_due": None,
        "progress": None,
    }


def test_to_json_uses_the_calendar_zone_for_a_utc_hotline_deadline() -> None:
    result = RuleBook([]).compute(
        CAL, at(2026, 3, 10), TicketFacts(), hotline_deadline=datetime(2026, 3, 20, 16, 0, tzinfo=UTC)
    )
    assert result.to_json(CAL)["deadline"] == "2026-03-21T00:00:00+08:00"


def test_extension_request_by() -> None:
    rule = Rule(name="r", deadline="7wd", extension_notice_wd=2)
    # deadline Thu 2026-03-19: ask by Tue 03-17 so that Wed and Thu remain
    assert extension_request_by(CAL, at(2026, 3, 19, 17, 30), rule) == at(2026, 3, 17, 17, 30)
    # deadline Mon 2026-10-12: the working Saturday 10-10 and Friday 10-09 remain
    assert extension_request_by(CAL, at(2026, 10, 12, 17, 30), rule) == at(2026, 10, 9, 17, 30)
    assert extension_request_by(CAL, at(2026, 3, 19, 17, 30), Rule(name="n")) is None


# -- properties ----------------------------------------------------------------------------------

received_times = st.datetimes(
    min_value=datetime(2004, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(TZ)
)
utc_times = st.datetimes(
    min_value=datetime(2004, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
kinds = st.sampled_from(["wd", "d", "h"])
ns = st.integers(min_value=1, max_value=60)
extra_days = st.lists(st.dates(min_value=date(2004, 1, 1), max_value=date(2029, 6, 30)), max_size=20)


@given(received=st.one_of(received_times, utc_times), n=ns, holidays=extra_days)
def test_wd_deadline_lands_on_a_working_day_at_office_day_end(
    received: datetime, n: int, holidays: list[date]
) -> None:
    cal = WorkCalendar(extra_holidays=holidays)
    result = apply_duration(cal, received, Duration("wd", n))
    assert result.tzinfo == TZ
    assert result.time() == time(17, 30)
    assert cal.is_workday(result.date())
    assert result.date() not in holidays
    assert result.date() > cal.local_date(received)
    assert cal.workdays_between(cal.local_date(received), result.date()) == n


@given(received=received_times, n=ns)
def test_rolled_natural_day_deadline_lands_on_a_working_day(received: datetime, n: int) -> None:
    result = apply_duration(CAL, received, Duration("d", n), roll=True)
    assert CAL.is_workday(result.date())
    assert result.date() >= received.date() + timedelta(days=n)
    assert result.time() == time(17, 30)


@given(received=received_times, kind=kinds, a=ns, b=ns, roll=st.booleans())
def test_more_days_never_give_an_earlier_deadline(
    received: datetime, kind: str, a: int, b: int, roll: bool
) -> None:
    lo, hi = sorted((a, b))
    first = apply_duration(CAL, received, Duration(kind, lo), roll=roll)  # type: ignore[arg-type]
    second = apply_duration(CAL, received, Duration(kind, hi), roll=roll)  # type: ignore[arg-type]
    assert first <= second
    if lo < hi and kind != "d":
        assert first < second


@given(
    a=received_times,
    b=received_times,
    text=st.sampled_from(["1wd", "7wd", "3d", "24h", "same-day@16:00"]),
    roll=st.booleans(),
)
def test_a_later_receipt_never_gives_an_earlier_deadline(
    a: datetime, b: datetime, text: str, roll: bool
) -> None:
    early, late = sorted((a, b))
    dur = parse_duration(text)
    assert apply_duration(CAL, early, dur, roll=roll) <= apply_duration(CAL, late, dur, roll=roll)


@given(received=received_times, kind=kinds, n=ns, roll=st.booleans())
def test_deadline_is_after_receipt(received: datetime, kind: str, n: int, roll: bool) -> None:
    assert apply_duration(CAL, received, Duration(kind, n), roll=roll) > received  # type: ignore[arg-type]


def test_extension_chain_is_ordered_and_unique() -> None:
    assert Rule(name="r", extension_chain=["office", "hotline"]).extension_chain == ("office", "hotline")
    for bad in (["hotline", "leader"], ["leader", "leader"], [], ["mayor"]):
        with pytest.raises(ValidationError):
            Rule(name="r", extension_chain=bad)
