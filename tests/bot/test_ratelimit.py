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


def test_windows_with_nothing_left_are_dropped_and_busy_ones_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.ratelimit import Buckets

    clock = [100.0]
    monkeypatch.setattr(ratelimit, "_now", lambda: clock[0])
    buckets = Buckets()
    for i in range(50):  # fifty citizens texted once
        assert buckets.get(f"sms:1380000{i:04d}", 1, 60.0).take() == 0
    clock[0] += 30
    busy = buckets.get("chat:ylk", 1, 60.0)
    assert busy.take() == 0
    blocked = buckets.get("chat:bgs", 5, 60.0)
    blocked.penalize(600)
    buckets.sweep()
    assert len(buckets) == 52  # every window still counts a message or blocks
    clock[0] += 31  # the citizens' windows are over, the chat's is not
    buckets.sweep()
    assert len(buckets) == 2
    assert buckets.get("chat:ylk", 1, 60.0) is busy and busy.take() > 0  # still counting
    assert buckets.get("chat:bgs", 5, 60.0) is blocked and blocked.take() > 0


def test_the_sweep_runs_by_itself_every_so_many_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.ratelimit import Buckets

    clock = [0.0]
    monkeypatch.setattr(ratelimit, "_now", lambda: clock[0])
    buckets = Buckets()
    buckets.sweep_every = 10
    for i in range(9):
        buckets.get(f"k{i}", 1, 1.0).take()
    clock[0] += 5
    assert len(buckets) == 9
    buckets.get("k-new", 1, 1.0)  # the tenth use sweeps first
    assert len(buckets) == 1


async def test_keyed_locks_exclude_per_key_and_forget_keys_nobody_holds() -> None:
    import asyncio

    from bot.tasks import KeyedLocks

    locks = KeyedLocks()
    order: list[str] = []

    async def use(key: str, name: str, pause: float) -> None:
        async with locks.hold(key):
            order.append(f"{name}+")
            await asyncio.sleep(pause)
            order.append(f"{name}-")

    first = asyncio.create_task(use("a", "a1", 0.02))
    await asyncio.sleep(0)
    second = asyncio.create_task(use("a", "a2", 0))  # waits for a1
    other = asyncio.create_task(use("b", "b1", 0))  # another key: runs at once
    await asyncio.sleep(0.005)
    assert len(locks) == 1 and order == ["a1+", "b1+", "b1-"]  # b done and forgotten; a held, a2 waiting
    await asyncio.gather(first, second, other)
    assert order == ["a1+", "b1+", "b1-", "a1-", "a2+", "a2-"]
    assert len(locks) == 0
