"""Two instances sending to one robot keep its limit together: the window lives in the store."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.sender import Sender
from tests.bot.test_sender import ROBOT_PATH, _queue, _wecom_robot
from tests.fakes.wecom_server import FakeWeCom
from tests.system.world import base_url, outbox_rows, serve, shutdown


async def test_two_instances_together_keep_a_robots_limit(make_bot: Any) -> None:
    # The real limit is 20 a minute per robot; scaled to 10 per 0.5 s here and at the fake.
    limit, window, total = 10, 0.5, 60
    fake = FakeWeCom(robot_rate=(limit, window))
    server = await serve(fake.app)
    overrides = _wecom_robot(base_url(server), limit=limit, window=window)
    first = await make_bot(**overrides)
    second = await make_bot(**overrides)  # another process on the same store
    try:
        await _queue(first, ["YLK"], total)
        senders = [Sender(first.ctx, batch=7, shared_windows=True), Sender(second.ctx, batch=5, shared_windows=True)]
        started = time.monotonic()
        # Both instances send inside one window, for certain (one destination has one claimer at a
        # time, so left to the scheduler one instance may send it all): the first's pass takes 7
        # of the robot's 10, and the second's pass must then count them. With a window of its own
        # it would send its 5 at once, 12 in the window, and the fake would answer 45009.
        assert await senders[0].run_once() == 7
        assert await senders[1].run_once() == 5
        await asyncio.gather(*(s.drain() for s in senders))
        elapsed = time.monotonic() - started

        assert fake.requests.count(ROBOT_PATH) == total  # not one 45009 "too fast" answer
        assert sorted(m["text"]["content"] for m in fake.robot_messages) == [f"YLK 消息 {i:03d}" for i in range(total)]
        rows = await outbox_rows(first)
        assert {r.state for r in rows} == {"sent"} and len({r.claimed_by for r in rows}) == 2  # both sent
        assert elapsed >= (total - limit) / limit * window * 0.9
    finally:
        await shutdown(server, first, second)
