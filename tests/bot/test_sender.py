"""The outbox sender against fake platforms: the rate limit kept without one "too fast" answer,
several senders (and processes) sharing a store never sending a row twice, and one access-token
refresh shared by concurrent senders."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.messages import OutgoingMessage
from bot.outbox import Target
from bot.ratelimit import StoreWindows
from bot.sender import Sender
from store.leases import presence_of
from tests.fakes.feishu_server import FeishuFake
from tests.fakes.wecom_server import FakeWeCom
from tests.system.world import (
    BOT_NAME,
    WECOM_AES_KEY,
    base_url,
    org,
    outbox_rows,
    serve,
    shutdown,
)

ROBOT_PATH = ("POST", "/cgi-bin/webhook/send")


def _wecom_robot(url: str, *, limit: int, window: float) -> dict[str, Any]:
    """A WeCom bot whose groups are reached through their 消息推送 robot (``robot_key``)."""
    return org("wecom", {"mode": "webhook", "name": BOT_NAME, "token": "t", "aes_key": WECOM_AES_KEY,
                         "api_base": url, "robot_rate_limit": limit, "robot_rate_window": window},
               chat_extra={"robot_key": "ROBOTKEY"})


def _feishu_app(url: str) -> dict[str, Any]:
    """A Feishu app bot whose groups are reached through the app API, with no practical limit."""
    return org("feishu", {"mode": "webhook", "name": BOT_NAME, "app_id": "cli_test", "app_secret": "secret",
                          "verification_token": "vtoken", "api_base": url, "chat_messages_per_second": 1000})


async def _queue(bot: Any, units: list[str], n: int) -> None:
    """Queue ``n`` numbered messages for each unit's group, in one transaction."""
    async with bot.ctx.sessions.begin() as s:
        for i in range(n):
            for unit in units:
                bot.ctx.outbox.add(s, Target.to_unit(unit), OutgoingMessage(f"{unit} 消息 {i:03d}"))


async def test_rate_limit_kept_at_close_to_the_allowed_pace(make_bot: Any) -> None:
    # The real limit is 20 a minute per robot; scaled to 20 a second here and at the fake.
    limit, window, total = 20, 1.0, 200
    # The fake counts its window from each request's arrival; the sender lets message k+N start a
    # window after message k *finished*, so no delay on the way can make it look "too fast".
    fake = FakeWeCom(robot_rate=(limit, window))
    server = await serve(fake.app)
    bot = await make_bot(**_wecom_robot(base_url(server), limit=limit, window=window))
    try:
        await _queue(bot, ["YLK"], total)
        started = time.monotonic()
        await Sender(bot.ctx).drain()
        elapsed = time.monotonic() - started

        assert len(fake.robot_messages) == total
        assert fake.requests.count(ROBOT_PATH) == total  # not one 45009 "too fast" answer
        assert [m["text"]["content"] for m in fake.robot_messages] == [
            f"YLK 消息 {i:03d}" for i in range(total)]
        # The first window takes `limit` at once; each later window one more `limit`.
        minimum = (total - limit) / limit * window
        assert elapsed >= minimum * 0.9
        assert elapsed < minimum * 3  # generous: close to the pace, not minutes behind it
        assert {r.state for r in await outbox_rows(bot)} == {"sent"}
    finally:
        await shutdown(server, bot)


async def test_senders_sharing_a_store_never_send_a_row_twice(make_bot: Any) -> None:
    fake = FakeWeCom(robot_rate=(10_000, 1.0))
    server = await serve(fake.app)
    overrides = _wecom_robot(base_url(server), limit=10_000, window=1.0)
    first = await make_bot(**overrides)
    second = await make_bot(**overrides)  # another process on the same store
    try:
        units, per_unit = ["BGS", "YLK", "SHJZK"], 40
        await _queue(first, units, per_unit)
        senders = [Sender(first.ctx, batch=1), Sender(first.ctx, batch=5), Sender(second.ctx, batch=6)]
        # Sharing made certain, not left to the scheduler: the platform holds every send while the
        # first sender's one row (BGS) is in flight and another sender claims the two groups left
        # (a group's rows go in order, one claimer at a time); then all drain together.
        fake.hold()
        drains = [asyncio.create_task(senders[0].drain())]
        await fake.wait_for(lambda: fake.held >= 1)
        drains += [asyncio.create_task(s.drain()) for s in senders[1:]]
        await fake.wait_for(lambda: fake.held >= 3)
        fake.release()
        await asyncio.gather(*drains)

        texts = [m["text"]["content"] for m in fake.robot_messages]
        assert fake.requests.count(ROBOT_PATH) == len(units) * per_unit
        assert sorted(texts) == sorted(f"{u} 消息 {i:03d}" for u in units for i in range(per_unit))
        rows = await outbox_rows(first)
        assert len(rows) == len(units) * per_unit and {r.state for r in rows} == {"sent"}
        assert all(r.attempts == 1 for r in rows)
        assert len({r.claimed_by for r in rows}) > 1  # the work was really shared
        assert rows[0].claimed_by == senders[0].claimer
    finally:
        await shutdown(server, first, second)


async def test_expired_token_refreshed_once_for_concurrent_senders(make_bot: Any, clock: Any) -> None:
    fake = FeishuFake(clock=clock, chat_qps=1000)
    server = await serve(fake.app)
    bot = await make_bot(**_feishu_app(base_url(server)))
    try:
        units = ["BGS", "YLK", "SHJZK"]
        await _queue(bot, units, 1)
        await Sender(bot.ctx).drain()
        fetched = fake.token_fetches
        assert fetched == 1 and len(fake.messages) == 3  # one token for the start and the sends

        fake.expire_tokens()
        await _queue(bot, units, 4)
        await asyncio.gather(Sender(bot.ctx, batch=3).drain(), Sender(bot.ctx, batch=4).drain())

        assert fake.token_fetches == fetched + 1
        assert len(fake.messages) == 3 + 12
        assert sorted(m["content"]["text"] for m in fake.messages[3:]) == sorted(
            f"{u} 消息 {i:03d}" for u in units for i in range(4))
        assert {r.state for r in await outbox_rows(bot)} == {"sent"}
    finally:
        await shutdown(server, bot)


async def test_a_retry_after_a_lost_answer_is_not_a_second_message(make_bot: Any, clock: Any) -> None:
    """Feishu carried the message out but its answer was lost: the retry carries the same uuid,
    so the group sees the message once, and the row records Feishu's one message id."""
    fake = FeishuFake(clock=clock, chat_qps=1000)
    server = await serve(fake.app)
    bot = await make_bot(**_feishu_app(base_url(server)))
    try:
        await _queue(bot, ["YLK"], 1)
        sender = Sender(bot.ctx)
        await sender.drain()  # fetch the token first, so the lost answer is the message's
        await _queue(bot, ["SHJZK"], 1)
        fake.lose_next_answers(1)
        await sender.drain()
        [row] = await outbox_rows(bot, dest_key=(await outbox_rows(bot))[-1].dest_key)
        assert row.state == "pending" and row.attempts == 1  # failed as far as the sender knows
        clock.advance(minutes=10)  # past the retry backoff
        await sender.drain()
        shjzk = [m for m in fake.messages if m["content"]["text"] == "SHJZK 消息 000"]
        assert len(shjzk) == 1  # carried out twice by the sender, shown once
        [row] = await outbox_rows(bot, dest_key=row.dest_key)
        assert row.state == "sent" and row.attempts == 2 and row.provider_message_id == shjzk[0]["message_id"]
    finally:
        await shutdown(server, bot)


async def two_instances(make_bot: Any) -> tuple[FeishuFake, Any, Any, Any]:
    """A Feishu fake, its server, and two bots on one store (two processes of one deployment)."""
    fake = FeishuFake()
    server = await serve(fake.app)
    overrides = _feishu_app(base_url(server))
    return fake, server, await make_bot(**overrides), await make_bot(**overrides)


async def test_a_dead_instances_claims_are_taken_over_at_once_a_live_ones_never(make_bot: Any) -> None:
    fake, server, first, second = await two_instances(make_bot)
    try:
        await _queue(first, ["YLK", "SHJZK"], 3)
        a, b = Sender(first.ctx), Sender(second.ctx)
        claimed = await a._claim()  # a claims every row, then goes silent (stalled, not dead)
        assert len(claimed) == 6
        assert await b.run_once() == 0  # a live instance's claims are left to it, whatever its pace
        await a.presence.release()  # a's process dies (its inbox held its mark of life)
        await b.drain()  # no lease to wait out: the clock never moves
        assert sorted(m["content"]["text"] for m in fake.messages) == sorted(
            f"{u} 消息 {i:03d}" for u in ("YLK", "SHJZK") for i in range(3))
        rows = await outbox_rows(first)
        assert {r.state for r in rows} == {"sent"} and {r.claimed_by for r in rows} == {b.claimer}
    finally:
        await shutdown(server, first, second)


async def test_a_dead_instances_send_in_flight_holds_a_window_one_window_only(make_bot: Any) -> None:
    first, second = await make_bot(), await make_bot()  # two processes on one store
    wall = [1_000_000.0]
    a, b = (StoreWindows(bot.ctx.sessions, wall=lambda: wall[0],
                         presence=presence_of(bot.ctx.engine, bot.ctx.instance_id)) for bot in (first, second))
    assert (await a.take("robot", 1, 1.0))[0] == 0  # a starts a send...
    wall[0] += 5
    assert (await b.take("robot", 1, 1.0))[0] > 0  # ...still in flight: it holds the window
    await a.presence.release()  # a dies before the answer
    wait, _ = await b.take("robot", 1, 1.0)
    assert 0 < wait < 1.1  # counted as ended when the death was seen, not FLIGHT_SECONDS after its start
    wall[0] += wait
    assert (await b.take("robot", 1, 1.0))[0] == 0
