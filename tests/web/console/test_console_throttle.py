"""The login throttle's windows, by person and by client address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import FrozenClock
from web.console.throttle import MAX_KEYS, MAX_NAME, PER_ADDRESS, PER_PERSON, WINDOW, LoginThrottle


def test_one_address_trying_many_names_is_refused() -> None:
    throttle = LoginThrottle(FrozenClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC)))
    for i in range(PER_ADDRESS):
        assert not throttle.blocked(f"人{i}", "10.0.0.9")
        throttle.failed(f"人{i}", "10.0.0.9")
    assert throttle.blocked("还没试过的人", "10.0.0.9")
    assert not throttle.blocked("还没试过的人", "10.0.0.10")


def test_failures_leave_the_window_one_by_one() -> None:
    clock = FrozenClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    throttle = LoginThrottle(clock)
    throttle.failed("张承办", "a")
    clock.advance(minutes=5)
    for _ in range(PER_PERSON - 1):
        throttle.failed("张承办", "b")
    assert throttle.blocked("张承办", "c")
    clock.advance(WINDOW - timedelta(minutes=5))  # the first failure is now out of the window
    assert not throttle.blocked("张承办", "c")
    throttle.failed("张承办", "c")
    assert throttle.blocked("张承办", "c")


def test_made_up_names_cannot_grow_the_table_without_end() -> None:
    # Issue 14, root cause 11: every attacker-chosen name (up to 1 MiB) was kept for ever.
    clock = FrozenClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    throttle = LoginThrottle(clock)
    for i in range(MAX_KEYS + 500):
        throttle.failed(f"{i}-" + "名" * 1000, f"10.0.{i // 250}.{i % 250}")
    assert len(throttle) <= MAX_KEYS
    assert all(len(key) <= MAX_NAME + 2 for key in throttle._failures)
    clock.advance(WINDOW + timedelta(seconds=1))
    throttle.failed("最后一个", "10.9.9.9")
    throttle.failed("再一个", "10.9.9.8")
    assert len(throttle) < MAX_KEYS  # expired keys are swept once the cap is reached again


def test_a_long_name_is_counted_by_its_first_characters() -> None:
    throttle = LoginThrottle(FrozenClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC)))
    for i in range(PER_PERSON):
        throttle.failed("张" * MAX_NAME + str(i), f"10.0.0.{i}")
    assert throttle.blocked("张" * MAX_NAME + "另一个后缀", "10.1.1.1")
