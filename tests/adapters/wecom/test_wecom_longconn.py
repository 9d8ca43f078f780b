"""The AI bot long connection against the fake: subscribe, receive, click + update, send,
reconnect, heartbeat, kick, lease, stop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from adapters.wecom.adapter import WeComAdapter, WeComBotConfig
from adapters.wecom.config import WeComChatOptions
from bot.messages import Action, ChatKind, Destination, IncomingMessage, OutgoingMessage
from bot.metrics import Metrics
from bot.send_errors import PermanentSendError, TransientSendError
from tests.fakes.wecom_server import FakeWeCom, aibot_click, aibot_event, aibot_text

GROUP = Destination("wecom", "hotline", chat_id="wrGROUP1")
DM = Destination("wecom", "hotline", user_id="zhangsan")
ACTIONS = (Action("签收", "签收", "12345/A123", "tok-a", "primary"),)
# The group's own 消息推送 robot, as its chat binding gives it to the adapter.
ROBOT_CHATS = {("hotline", "wrROBOT1"): WeComChatOptions(robot_key="ROBOTKEY")}


class Inbox:
    """Collects messages; can be told to hold writes until released."""

    def __init__(self) -> None:
        self.messages: list[IncomingMessage] = []
        self.changed = asyncio.Condition()
        self.gate: asyncio.Event | None = None

    async def __call__(self, message: IncomingMessage) -> bool:
        if self.gate is not None:
            await self.gate.wait()
        self.messages.append(message)
        async with self.changed:
            self.changed.notify_all()
        return True

    async def wait_count(self, n: int, seconds: float = 5.0) -> None:
        async def _wait() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: len(self.messages) >= n)
        await asyncio.wait_for(_wait(), seconds)


class FakeLease:
    """An in-memory Lease that records every call."""

    def __init__(self) -> None:
        self.holders: dict[str, str] = {}
        self.attempts = 0
        self.released: list[tuple[str, str]] = []
        self.changed = asyncio.Condition()

    async def acquire(self, name: str, holder: str, ttl: float) -> bool:
        self.attempts += 1
        ok = self.holders.setdefault(name, holder) == holder
        async with self.changed:
            self.changed.notify_all()
        return ok

    async def release(self, name: str, holder: str) -> None:
        if self.holders.get(name) == holder:
            del self.holders[name]
        self.released.append((name, holder))

    async def wait_attempts(self, n: int) -> None:
        async def _wait() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: self.attempts >= n)
        await asyncio.wait_for(_wait(), 5.0)


@pytest.fixture
def fake() -> FakeWeCom:
    return FakeWeCom()




def _cfg(server: TestServer, **kw: Any) -> WeComBotConfig:
    base = str(server.make_url("")).rstrip("/")
    cfg: dict[str, Any] = {"name": "热线助手", "bot_id": "BOTID", "secret": "BOTSECRET",
                           "ws_url": f"{base}/ws", "api_base": base, "reconnect_min": 0.01,
                           "reconnect_max": 0.05, "heartbeat_interval": 5.0}
    cfg.update(kw)
    return WeComBotConfig(**cfg)


@pytest.fixture
async def running(server: TestServer, http: Any) -> Any:
    inbox = Inbox()
    adapter = WeComAdapter({"hotline": _cfg(server)}, metrics=Metrics(), instance_id="i1", chats=ROBOT_CHATS)
    await adapter.start(http, inbox)
    conn = adapter.connection("hotline")
    assert conn is not None and await conn.wait_ready(5.0)
    yield adapter, inbox
    await adapter.stop()


async def test_receive_group_text(running: Any, fake: FakeWeCom) -> None:
    _, inbox = running
    assert fake.subscriptions == 1
    await fake.push(aibot_text("@热线助手 签收 A123", msgid="W1"))
    await inbox.wait_count(1)
    [msg] = inbox.messages
    assert (msg.chat_id, msg.chat_kind, msg.sender_id, msg.text, msg.event_id, msg.mentioned_bot) == (
        "wrGROUP1", ChatKind.GROUP, "zhangsan", "签收 A123", "W1", True)
    assert fake.aibot_updates == [] and fake.aibot_messages == []  # WeCom has no per-frame ACK


async def test_ignored_events_do_not_reach_inbox(running: Any, fake: FakeWeCom) -> None:
    _, inbox = running
    await fake.push(aibot_event("enter_chat"))
    await fake.push(aibot_text("查询", chatid=None, msgid="W2"))
    await inbox.wait_count(1)
    assert [m.event_id for m in inbox.messages] == ["W2"]


async def test_send_markdown_and_card_then_click_and_update(running: Any, fake: FakeWeCom,
                                                            http: Any) -> None:
    adapter, inbox = running
    assert adapter.rate_limit(GROUP) == (30, 60.0)
    await adapter.send(http, GROUP, OutgoingMessage("新工单 A123", title="新工单 A123",
                                                    actions=ACTIONS, card_key="12345/A123"))
    await adapter.send(http, GROUP, OutgoingMessage("今日待办 3 件"))
    card_msg, text_msg = fake.aibot_messages
    assert text_msg == {"chatid": "wrGROUP1", "msgtype": "markdown",
                        "markdown": {"content": "今日待办 3 件"}}
    card = card_msg["template_card"]
    key = card["button_list"][0]["key"]

    req_id = await fake.push(aibot_click(key, card["task_id"], msgid="C1"))
    await inbox.wait_count(1)
    [click] = inbox.messages
    assert click.action == {"cmd": "签收", "ticket": "12345/A123", "token": "tok-a"}
    assert click.message_id == f"ws:{req_id}:{card['task_id']}"

    await adapter.update_card(http, GROUP, click.message_id,
                              OutgoingMessage("李四 已签收", title="已签收", card_key="12345/A123"))
    [update] = fake.aibot_updates
    assert update["req_id"] == req_id
    assert update["template_card"]["task_id"] == card["task_id"]
    assert update["template_card"]["button_list"][0]["text"] == "已签收"
    with pytest.raises(PermanentSendError) as err:  # the click's req_id is single-use
        await adapter.update_card(http, GROUP, click.message_id,
                                  OutgoingMessage("x", card_key="12345/A123"))
    assert err.value.code == 846605


async def test_long_markdown_split(running: Any, fake: FakeWeCom, http: Any) -> None:
    adapter, _ = running
    text = "\n".join(f"{i}. 工单即将超期，请尽快处理" for i in range(400))
    await adapter.send(http, DM, OutgoingMessage(text))
    parts = [m["markdown"]["content"] for m in fake.aibot_messages]
    assert len(parts) > 1 and all(len(p.encode()) <= 4096 for p in parts)
    assert {m["chatid"] for m in fake.aibot_messages} == {"zhangsan"}


async def test_slow_inbox_does_not_block_command_acks(running: Any, fake: FakeWeCom,
                                                      http: Any) -> None:
    adapter, inbox = running
    inbox.gate = asyncio.Event()
    await fake.push(aibot_text("签收 A1", msgid="S1"))
    await adapter.send(http, GROUP, OutgoingMessage("仍可发送"))  # acked while the write waits
    assert inbox.messages == []
    inbox.gate.set()
    await inbox.wait_count(1)


async def test_reconnects_after_drop(running: Any, fake: FakeWeCom) -> None:
    adapter, inbox = running
    await fake.drop()
    await fake.wait_for(lambda: fake.subscriptions == 2 and fake.connected())
    conn = adapter.connection("hotline")
    assert await conn.wait_ready(5.0)
    await fake.push(aibot_text("签收 A2", msgid="R1"))
    await inbox.wait_count(1)
    assert conn.connects == 2


async def test_kick_stops_reconnecting(running: Any, fake: FakeWeCom, http: Any) -> None:
    adapter, _ = running
    conn = adapter.connection("hotline")
    await fake.kick()
    await asyncio.wait_for(conn.finished.wait(), 5.0)
    assert conn.kicked and fake.subscriptions == 1 and not fake.connected()
    with pytest.raises(TransientSendError):
        await adapter.send(http, GROUP, OutgoingMessage("x"))


async def test_missed_heartbeats_reconnect(server: TestServer, fake: FakeWeCom, http: Any) -> None:
    fake.answer_pings = False
    adapter = WeComAdapter({"hotline": _cfg(server, heartbeat_interval=0.02)}, metrics=Metrics(), chats=ROBOT_CHATS)
    await adapter.start(http, Inbox())
    await fake.wait_for(lambda: fake.subscriptions >= 2)
    assert fake.pings >= 2
    await adapter.stop()


async def test_wrong_secret_keeps_retrying_with_backoff(server: TestServer, fake: FakeWeCom,
                                                        http: Any) -> None:
    adapter = WeComAdapter({"hotline": _cfg(server, secret="WRONG")}, metrics=Metrics(), chats=ROBOT_CHATS)
    await adapter.start(http, Inbox())
    conn = adapter.connection("hotline")
    assert not await conn.wait_ready(0.2)
    assert fake.subscriptions == 0
    await adapter.stop()
    assert conn.finished.is_set()


async def test_lease_standby_then_takeover(server: TestServer, fake: FakeWeCom, http: Any) -> None:
    lease = FakeLease()
    lease.holders["wecom:hotline"] = "other-instance"
    adapter = WeComAdapter({"hotline": _cfg(server, lease_ttl=0.06)}, metrics=Metrics(),
                           lease=lease, instance_id="me", chats=ROBOT_CHATS)
    await adapter.start(http, Inbox())
    await lease.wait_attempts(3)
    assert fake.subscriptions == 0  # standby: another instance holds the connection
    await lease.release("wecom:hotline", "other-instance")
    conn = adapter.connection("hotline")
    assert await conn.wait_ready(5.0)
    assert lease.holders["wecom:hotline"] == "me"
    await adapter.stop()
    assert ("wecom:hotline", "me") in lease.released and "wecom:hotline" not in lease.holders
    assert not fake.connected()


async def test_lease_lost_closes_connection(server: TestServer, fake: FakeWeCom, http: Any) -> None:
    lease = FakeLease()
    adapter = WeComAdapter({"hotline": _cfg(server, lease_ttl=0.06)}, metrics=Metrics(),
                           lease=lease, instance_id="me", chats=ROBOT_CHATS)
    await adapter.start(http, Inbox())
    assert await adapter.connection("hotline").wait_ready(5.0)
    lease.holders["wecom:hotline"] = "thief"
    await fake.wait_for(lambda: not fake.connected())
    assert fake.subscriptions == 1
    await adapter.stop()


async def test_not_connected_group_send_is_transient_dm_uses_app(server: TestServer,
                                                                 fake: FakeWeCom, http: Any) -> None:
    lease = FakeLease()
    lease.holders["wecom:hotline"] = "other"
    cfg = _cfg(server, corp_id="wwCORP", agent_id=1000002, app_secret="APPSECRET")
    adapter = WeComAdapter({"hotline": cfg}, metrics=Metrics(), lease=lease, chats=ROBOT_CHATS)
    await adapter.start(http, Inbox())
    with pytest.raises(TransientSendError):
        await adapter.send(http, GROUP, OutgoingMessage("x"))
    await adapter.send(http, DM, OutgoingMessage("私信"))
    assert [m["text"]["content"] for m in fake.app_messages] == ["私信"]
    assert adapter.rate_limit(DM) == (30, 60.0)
    await adapter.stop()


async def test_stop_closes_and_refuses_webhooks(running: Any, fake: FakeWeCom) -> None:
    adapter, _ = running
    conn = adapter.connection("hotline")
    await adapter.stop()
    assert conn.finished.is_set() and not conn.ready
    await fake.wait_for(lambda: not fake.connected())
    assert adapter.connection("hotline") is None


async def test_card_prefers_the_long_connection_over_the_robot(running: Any, fake: FakeWeCom,
                                                               http: Any) -> None:
    adapter, _ = running
    dest = Destination("wecom", "hotline", chat_id="wrROBOT1")
    assert adapter.rate_limit(dest) == (20, 60.0)  # the strictest path it may take
    await adapter.send(http, dest, OutgoingMessage("新工单", actions=ACTIONS, card_key="K"))
    assert [m["msgtype"] for m in fake.aibot_messages] == ["template_card"]
    assert fake.robot_messages == []


async def test_refused_push_falls_back_to_robot_and_app(server: TestServer, fake: FakeWeCom,
                                                        http: Any) -> None:
    fake.aibot_chats = {"wrOTHER"}  # neither the group nor the user has used the bot yet
    cfg = _cfg(server, corp_id="wwCORP", agent_id=1000002, app_secret="APPSECRET")
    adapter = WeComAdapter({"hotline": cfg}, metrics=Metrics(), chats=ROBOT_CHATS)
    await adapter.start(http, Inbox())
    assert await adapter.connection("hotline").wait_ready(5.0)
    await adapter.send(http, Destination("wecom", "hotline", chat_id="wrROBOT1"),
                       OutgoingMessage("新工单", actions=ACTIONS))
    assert fake.robot_messages[0]["text"]["content"] == "新工单\n可回复：「签收 A123」"
    await adapter.send(http, DM, OutgoingMessage("私信"))
    assert [m["text"]["content"] for m in fake.app_messages] == ["私信"]
    with pytest.raises(PermanentSendError):  # a group with neither fallback
        await adapter.send(http, GROUP, OutgoingMessage("x"))
    assert fake.aibot_messages == []
    await adapter.stop()
