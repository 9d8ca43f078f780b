"""What the sender asks the store when there is nothing it may send: one query per poll (due rows
and their holders), without the claims' lock; a row whose time comes is sent at the next poll, and
a dead instance's claims are still taken over at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from bot.sender import Sender
from store.models import OutboxMessage
from tests.bot.test_sender import _feishu_app, _queue, two_instances
from tests.fakes.feishu_server import FeishuFake
from tests.statements import statements_of_this_task
from tests.system.world import base_url, outbox_rows, serve, shutdown


async def test_an_idle_poll_is_one_query_and_a_row_goes_when_its_time_comes(make_bot: Any, clock: Any) -> None:
    fake = FeishuFake()
    server = await serve(fake.app)
    bot = await make_bot(**_feishu_app(base_url(server)))
    try:
        sender = Sender(bot.ctx)
        with statements_of_this_task(bot.ctx.engine) as seen:
            assert await sender.run_once() == 0  # an empty outbox
        assert len(seen) == 1 and "pg_advisory" not in seen[0]

        await _queue(bot, ["YLK"], 1)
        async with bot.ctx.sessions.begin() as s:  # a retry later: pending, not yet due
            await s.execute(update(OutboxMessage).values(next_attempt_at=clock.now() + timedelta(minutes=5)))
        with statements_of_this_task(bot.ctx.engine) as seen:
            assert await sender.run_once() == 0
        assert len(seen) == 1

        clock.advance(minutes=5)
        assert await sender.run_once() == 1
        assert [m["content"]["text"] for m in fake.messages] == ["YLK 消息 000"]
        assert [r.state for r in await outbox_rows(bot)] == ["sent"]
    finally:
        await shutdown(server, bot)


async def test_a_dead_instances_claims_alone_still_taken_over_at_once(make_bot: Any) -> None:
    """Every due row claimed, by an instance that died: the poll does not stop at its first query."""
    fake, server, first, second = await two_instances(make_bot)
    try:
        await _queue(first, ["YLK"], 2)
        a, b = Sender(first.ctx), Sender(second.ctx)
        assert len(await a._claim()) == 2
        with statements_of_this_task(second.ctx.engine) as seen:
            assert await b.run_once() == 0  # a is alive (its inbox holds its mark): its claims are left to it
        assert not [q for q in seen if "pg_advisory" in q]  # nothing b may claim: no claims' lock
        await a.presence.release()  # a's process dies
        assert await b.run_once() == 2  # at once: the clock never moves
        assert [m["content"]["text"] for m in fake.messages] == ["YLK 消息 000", "YLK 消息 001"]
        assert {r.claimed_by for r in await outbox_rows(first)} == {b.claimer}
    finally:
        await shutdown(server, first, second)
