"""The in-process rate window: a refusal and its wait come from one reading of the clock."""

from __future__ import annotations

import pytest

from bot import ratelimit
from bot.ratelimit import RateWindow


def test_a_full_window_refuses_with_the_wait_and_counts_nothing() -> None:
    window = RateWindow(2, 1.0)
    assert window.take(10.0) == 0 and window.take(10.1) == 0
    window.finish(10.2)
    wait = window.take(10.5)
    # message 3 may start one window (plus the margin) after message 1 finished
    assert wait == pytest.approx(10.0 + 1.0 + window.margin - 10.5)
    assert len(window.stamps) == 2


def test_a_refusal_is_not_undone_by_a_later_reading_of_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # Regression: the sender asked take() (refused) and then wait_time() on a clock that had moved
    # past the window's edge in between; 0 came back and the message went uncounted (one 45009 in
    # ~200 sends at the fake). The refusal now carries its own wait.
    readings = iter([0.0, 0.0, 0.5, 5.0])
    monkeypatch.setattr(ratelimit, "_now", lambda: next(readings))
    window = RateWindow(1, 1.0)
    assert window.take() == 0
    window.finish()
    assert window.take() > 0  # read at 0.5: full
    assert len(window.stamps) == 1  # and nothing was counted, whatever the clock says next
