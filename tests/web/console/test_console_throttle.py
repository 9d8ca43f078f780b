"""The login throttle's windows, by person and by client address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import FrozenClock
from web.console.throttle import PER_ADDRESS, PER_PERSON, WINDOW, LoginThrottle


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
