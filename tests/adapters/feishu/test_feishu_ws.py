"""The Feishu long connection against the fake: receive, inbox-before-ack, reconnect, stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.feishu.adapter import FeishuAdapter, FeishuBotConfig
from bot.messages import ChatKind, IncomingMessage
from bot.metrics import Metrics
from tests.fakes.feishu_server import FeishuFake, card_action_event, mention, message_event


class SlowInbox:
    """Records, for every write, how many acks the platform had seen when the write finished."""

    def __init__(self, fake: FeishuFake, fail: bool = False) -> None:
        self.fake = fake
        self.fail = fail
        self.messages: list[IncomingMessage] = []
        self.acks_seen: list[int] = []

    async def __call__(self, message: IncomingMessage) -> bool:
        await asyncio.sleep(0.02)  # a commit takes a while; the ack must wait for it
        if self.fail:
            raise RuntimeError("store down")
        self.messages.append(message)
        self.acks_seen.append(len(self.fake.acks))
        return True


class Env:
    def __init__(self, fake: FeishuFake, server: TestServer, http: aiohttp.ClientSession) -> None:
        self.fake, self.server, self.http = fake, server, http
        self.adapter: FeishuAdapter | None = None

    async def start(self, inbox: Any = None, **overrides: Any) -> FeishuAdapter:
        cfg = FeishuBotConfig(**({"mode": "longconn", "name": "热线机器人", "app_id": "cli_test",
                                  "app_secret": "secret", "api_base": str(self.server.make_url(""))}
                                 | overrides))
        self.adapter = FeishuAdapter({"main": cfg}, metrics=Metrics())
        self.adapter.reconnect_backoff_base = 0.01
        await self.adapter.start(self.http, inbox or SlowInbox(self.fake))
        return self.adapter


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    fake = FeishuFake(client_config={"ReconnectCount": -1, "ReconnectInterval": 1,
                                     "ReconnectNonce": 0, "PingInterval": 120})
    server = TestServer(fake.app)
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        e = Env(fake, server, http)
        yield e
        if e.adapter is not None:
            await e.adapter.stop()
    await server.close()


async def test_event_is_stored_before_the_ack(env: Env) -> None:
    inbox = SlowInbox(env.fake)
    await env.start(inbox)
    await env.fake.wait_connections(1)
    env_ = message_event("@_user_1 签收 A123", event_id="ws1", message_id="om_ws",
                         mentions=[mention("@_user_1", "ou_bot", "热线机器人")])
    ack = await env.fake.push(env_)
    assert ack.code == 200 and ack.data is None
    assert "biz_rt" in ack.headers
    assert inbox.acks_seen == [0]  # written while no ack had been sent
    assert inbox.messages == [IncomingMessage(
        platform="feishu", bot="main", chat_id="oc_group", chat_kind=ChatKind.GROUP,
        sender_id="ou_sender", text="签收 A123", mentioned_bot=True, event_id="ws1",
        message_id="om_ws")]


async def test_bot_open_id_learned_and_ping_sent(env: Env) -> None:
    adapter = await env.start()
    await env.fake.wait_connections(1)
    assert adapter.bot_open_id("main") == "ou_bot"
    conn = adapter.connection("main")
    assert conn is not None and conn.connects == 1
    # The first ping goes out on connect; the fake's pong carries the client config.
    for _ in range(100):
        if env.fake.pings:
            break
        await asyncio.sleep(0.01)
    assert env.fake.pings >= 1


async def test_card_click_over_long_connection_answers_toast(env: Env) -> None:
    inbox = SlowInbox(env.fake)
    await env.start(inbox)
    await env.fake.wait_connections(1)
    click = card_action_event({"v": 1, "cmd": "签收", "ticket": "12345/A9", "token": "tk"})
    ack = await env.fake.push(click, kind="card")
    assert ack.code == 200
    assert ack.data["toast"]["type"] == "info"
    assert inbox.messages[0].action == {"cmd": "签收", "ticket": "12345/A9", "token": "tk"}


async def test_payload_split_in_parts_is_reassembled(env: Env) -> None:
    inbox = SlowInbox(env.fake)
    await env.start(inbox)
    await env.fake.wait_connections(1)
    ack = await env.fake.push(message_event("答复 A1 " + "已办结" * 200), parts=3)
    assert ack.code == 200
    assert inbox.messages[0].text.startswith("答复 A1 已办结")


async def test_inbox_failure_acks_500_so_feishu_re_pushes(env: Env) -> None:
    await env.start(SlowInbox(env.fake, fail=True))
    await env.fake.wait_connections(1)
    ack = await env.fake.push(message_event("签收 A1"))
    assert ack.code == 500


async def test_ignored_event_is_acked_without_inbox(env: Env) -> None:
    inbox = SlowInbox(env.fake)
    await env.start(inbox)
    await env.fake.wait_connections(1)
    ack = await env.fake.push({"schema": "2.0", "header": {"event_id": "x",
                                                          "event_type": "im.message.recalled_v1"},
                               "event": {}})
    assert ack.code == 200
    assert inbox.messages == []


async def test_reconnects_after_the_server_drops_the_connection(env: Env) -> None:
    inbox = SlowInbox(env.fake)
    await env.start(inbox)
    await env.fake.wait_connections(1)
    await env.fake.drop_connections()
    await env.fake.wait_connections(2)
    ack = await env.fake.push(message_event("签收 A2", event_id="after"))
    assert ack.code == 200
    assert [m.event_id for m in inbox.messages] == ["after"]
    assert len(env.fake.tickets) == 0  # every connection used a fresh ticket


async def test_stop_closes_the_connection(env: Env) -> None:
    adapter = await env.start()
    await env.fake.wait_connections(1)
    await adapter.stop()
    env.adapter = None
    for _ in range(100):
        if not env.fake._ws:
            break
        await asyncio.sleep(0.01)
    assert env.fake._ws == []
    assert adapter.connection("main") is None


async def test_bad_credentials_stop_reconnecting(env: Env) -> None:
    adapter = await env.start(app_secret="wrong")
    task = adapter._tasks["main"]
    await asyncio.wait_for(task, 5)  # the loop gives up by itself
    assert env.fake.ws_connects == 0


async def test_webhook_mode_bot_opens_no_connection(env: Env) -> None:
    adapter = await env.start(mode="webhook", verification_token="v")
    assert adapter.connection("main") is None
    assert env.fake.ws_connects == 0
