"""The outbox sender on shutdown: the send it holds is finished and recorded, not cut short."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.messages import OutgoingMessage
from bot.outbox import Target
from bot.sender import SENDER
from tests.fakes.wecom_server import FakeWeCom
from tests.system.world import BOT_NAME, WECOM_AES_KEY, base_url, org, outbox_rows, serve

ROBOT_PATH = ("POST", "/cgi-bin/webhook/send")


def _wecom_robot(url: str) -> dict[str, Any]:
    return org("wecom", {"mode": "webhook", "name": BOT_NAME, "token": "t", "aes_key": WECOM_AES_KEY,
                         "api_base": url}, chat_extra={"robot_key": "ROBOTKEY"})


async def _queue(bot: Any, unit: str, texts: list[str]) -> None:
    async with bot.ctx.sessions.begin() as s:
        for text in texts:
            bot.ctx.outbox.add(s, Target.to_unit(unit), OutgoingMessage(text))


async def test_a_send_in_flight_at_shutdown_completes_once_and_is_marked_sent(make_bot: Any) -> None:
    fake = FakeWeCom()
    server = await serve(fake.app)
    bot = await make_bot(with_background=True, **_wecom_robot(base_url(server)))
    try:
        fake.hold()
        await _queue(bot, "YLK", ["【通知】第一条"])
        bot.client.app[SENDER].wake()
        await fake.wait_for(lambda: fake.held == 1)  # the sender is inside the platform call

        closing = asyncio.create_task(bot.client.close())
        await asyncio.sleep(0.3)
        assert not closing.done()  # shutdown waits for the send it holds
        await _queue(bot, "BGS", ["【通知】关机后才到"])  # not begun: left for the next start
        fake.release()
        await asyncio.wait_for(closing, 10)

        assert [m["text"]["content"] for m in fake.robot_messages] == ["【通知】第一条"]
        assert fake.requests.count(ROBOT_PATH) == 1
        rows = {r.payload["text"]: r for r in await outbox_rows(bot)}
        first = rows["【通知】第一条"]
        assert first.state == "sent" and first.attempts == 1 and first.sent_at is not None
        assert rows["【通知】关机后才到"].state == "pending" and rows["【通知】关机后才到"].attempts == 0
    finally:
        fake.release()
        await bot.ctx.engine.dispose()
        await server.close()


async def test_stop_gives_up_on_a_send_past_the_drain_time(make_bot: Any) -> None:
    """A platform that never answers cannot hold the shutdown for ever: the row stays pending."""
    fake = FakeWeCom()
    server = await serve(fake.app)
    bot = await make_bot(with_background=True, **_wecom_robot(base_url(server)))
    try:
        sender = bot.client.app[SENDER]
        sender.drain_seconds = 0.2
        fake.hold()
        await _queue(bot, "YLK", ["【通知】无应答"])
        sender.wake()
        await fake.wait_for(lambda: fake.held == 1)

        await asyncio.wait_for(sender.stop(), 5)

        [row] = await outbox_rows(bot)
        assert row.state == "pending" and row.sent_at is None
        assert fake.robot_messages == []
    finally:
        fake.release()
        await bot.client.close()
        await server.close()
