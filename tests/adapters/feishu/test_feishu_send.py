"""Sending through the fake Feishu: app API and custom bot, cards, tokens, splitting, errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError

from adapters.feishu.adapter import FeishuAdapter, FeishuBotConfig
from adapters.feishu.config import FRESHNESS_SECONDS, FeishuChatOptions
from adapters.feishu.crypto import robot_sign
from bot.clock import FrozenClock
from bot.messages import Action, Destination, IncomingMessage, Mention, OutgoingMessage
from bot.metrics import Metrics
from bot.send_errors import PermanentSendError, TransientSendError
from tests.fakes.feishu_server import FeishuFake, callback_request, card_action_event

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
CHAT = Destination(platform="feishu", bot="main", chat_id="oc_group")
DM = Destination(platform="feishu", bot="main", user_id="ou_zhang")
ROBOT = Destination(platform="feishu", bot="main", chat_id="oc_robot")
# The groups' own custom bots, as their chat bindings give them to the adapter.
ROBOT_CHATS = {("main", "oc_robot"): FeishuChatOptions(robot_token="hook1", robot_secret="robot-secret"),
               ("main", "oc_unsigned"): FeishuChatOptions(robot_token="hook2"),
               ("main", "oc_badsig"): FeishuChatOptions(robot_token="hook1", robot_secret="nope")}
ZHANG = Mention(name="张三", ids={"feishu": "ou_zhang", "wecom": "zhangsan"}, mobile="13800000000")
ACTIONS = (Action(label="同意", command="同意", ticket="12345/A123", token="t1", style="primary"),
           Action(label="驳回", command="驳回", ticket="12345/A123", token="t2", style="danger"))


class Env:
    def __init__(self, fake: FeishuFake, server: TestServer, http: aiohttp.ClientSession,
                 clock: FrozenClock) -> None:
        self.fake, self.server, self.http, self.clock = fake, server, http, clock
        self.adapter = self.make_adapter()

    def cfg(self, **overrides: Any) -> FeishuBotConfig:
        base = {"mode": "webhook", "name": "热线机器人", "app_id": "cli_test", "app_secret": "secret",
                "verification_token": "vtoken", "api_base": str(self.server.make_url(""))}
        return FeishuBotConfig(**(base | overrides))

    def make_adapter(self, **overrides: Any) -> FeishuAdapter:
        return FeishuAdapter({"main": self.cfg(**overrides)}, clock=self.clock, metrics=Metrics(), chats=ROBOT_CHATS)

    async def send(self, dest: Destination, message: OutgoingMessage) -> str:
        return (await self.adapter.send(self.http, dest, message)).message_id


def _fake(clock: FrozenClock, **kwargs: Any) -> FeishuFake:
    return FeishuFake(clock=clock, robots={"hook1": "robot-secret", "hook2": ""}, **kwargs)


@pytest.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    clock = FrozenClock(T0)
    kwargs = getattr(request, "param", {})
    fake = _fake(clock, **kwargs)
    server = TestServer(fake.app)
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Env(fake, server, http, clock)
    await server.close()


# -- app API ---------------------------------------------------------------------------------

async def test_text_to_group_with_mention(env: Env) -> None:
    message_id = await env.send(CHAT, OutgoingMessage(text="新工单 A123 请签收", mentions=(ZHANG,)))
    [sent] = env.fake.messages
    assert message_id == sent["message_id"] and message_id.startswith("om_")
    assert (sent["receive_id_type"], sent["receive_id"], sent["msg_type"]) == ("chat_id", "oc_group", "text")
    assert sent["content"] == {"text": '新工单 A123 请签收\n<at user_id="ou_zhang">张三</at>'}


async def test_mention_without_feishu_id_is_plain_text(env: Env) -> None:
    await env.send(CHAT, OutgoingMessage(text="请处理", mentions=(Mention(name="李四"),)))
    assert env.fake.messages[0]["content"] == {"text": "请处理\n@李四"}


async def test_direct_message_uses_open_id(env: Env) -> None:
    await env.send(DM, OutgoingMessage(text="工单详情"))
    sent = env.fake.messages[0]
    assert (sent["receive_id_type"], sent["receive_id"]) == ("open_id", "ou_zhang")


async def test_markdown_becomes_lark_md_card(env: Env) -> None:
    await env.send(CHAT, OutgoingMessage(text="**超期** 工单 A1", markdown=True, title="今日待办",
                                         mentions=(ZHANG,)))
    sent = env.fake.messages[0]
    assert sent["msg_type"] == "interactive"
    card = sent["content"]
    assert card["header"]["title"]["content"] == "今日待办"
    assert card["elements"][0] == {"tag": "div", "text": {"tag": "lark_md", "content": "**超期** 工单 A1"}}
    assert card["elements"][1]["text"]["content"] == "<at id=ou_zhang></at>"
    assert card["config"]["update_multi"] is True


async def test_card_with_buttons_round_trips_a_click(env: Env, aiohttp_client: Any) -> None:
    message_id = await env.send(CHAT, OutgoingMessage(text="答复待审核", title="工单 A123",
                                                      actions=ACTIONS))
    card = env.fake.messages[0]["content"]
    [action_block] = [e for e in card["elements"] if e["tag"] == "action"]
    buttons = action_block["actions"]
    assert [b["text"]["content"] for b in buttons] == ["同意", "驳回"]
    assert [b["type"] for b in buttons] == ["primary", "danger"]
    assert buttons[0]["value"] == {"v": 1, "cmd": "同意", "ticket": "12345/A123", "token": "t1"}
    assert len(json.dumps(buttons[0]["value"], separators=(",", ":"))) < 100
    # The value Feishu echoes back decodes to the action dict.
    adapter = env.make_adapter(encrypt_key="k")
    app = web.Application()
    adapter.setup_routes(app)
    client: TestClient = await aiohttp_client(app)
    got: list[IncomingMessage] = []

    async def inbox(msg: IncomingMessage) -> bool:
        got.append(msg)
        return True

    await adapter.start(client.session, inbox)
    click = card_action_event(buttons[1]["value"], message_id=message_id)
    body, headers = callback_request(click, encrypt_key="k", timestamp=str(int(env.clock.now().timestamp())))
    assert (await client.post("/webhooks/feishu/main", data=body, headers=headers)).status == 200
    assert got[0].action == {"cmd": "驳回", "ticket": "12345/A123", "token": "t2"}
    assert got[0].message_id == message_id
    await adapter.stop()


async def test_update_card_after_click(env: Env) -> None:
    message_id = await env.send(CHAT, OutgoingMessage(text="答复待审核", actions=ACTIONS))
    await env.adapter.update_card(env.http, CHAT, message_id,
                                  OutgoingMessage(text="已同意（张三 09:00）", title="工单 A123"))
    [patch] = env.fake.patches
    assert patch["message_id"] == message_id
    assert [e["tag"] for e in patch["card"]["elements"]] == ["div"]
    assert patch["card"]["elements"][0]["text"]["content"] == "已同意（张三 09:00）"


async def test_update_unknown_message_is_permanent(env: Env) -> None:
    with pytest.raises(PermanentSendError) as err:
        await env.adapter.update_card(env.http, CHAT, "om_missing", OutgoingMessage(text="x"))
    assert err.value.code == 230001


# -- tokens ----------------------------------------------------------------------------------

async def test_token_is_cached_and_refreshed_on_expiry(env: Env) -> None:
    await env.send(CHAT, OutgoingMessage(text="一"))
    await env.send(DM, OutgoingMessage(text="二"))
    assert env.fake.token_fetches == 1
    env.fake.expire_tokens()  # the platform forgets it early: token-invalid code, refresh once
    await env.send(CHAT, OutgoingMessage(text="三"))
    assert env.fake.token_fetches == 2
    assert [m["content"]["text"] for m in env.fake.messages] == ["一", "二", "三"]


async def test_token_refreshed_before_its_lifetime_ends(env: Env) -> None:
    await env.send(CHAT, OutgoingMessage(text="一"))
    env.clock.advance(timedelta(seconds=7200 - 300))  # inside the 10-minute margin
    await env.send(DM, OutgoingMessage(text="二"))
    assert env.fake.token_fetches == 2


@pytest.mark.parametrize("env", [{"token_lifetime": 0}], indirect=True)
async def test_token_still_invalid_after_refresh_is_transient(env: Env) -> None:
    with pytest.raises(TransientSendError) as err:
        await env.send(CHAT, OutgoingMessage(text="一"))
    assert err.value.code == 99991663
    assert env.fake.token_fetches == 2
    assert env.fake.messages == []


async def test_bad_app_secret_is_permanent(env: Env) -> None:
    env.adapter = env.make_adapter(app_secret="wrong")
    with pytest.raises(PermanentSendError) as err:
        await env.send(CHAT, OutgoingMessage(text="一"))
    assert err.value.code == 10014


# -- custom bot ------------------------------------------------------------------------------

async def test_robot_text_is_signed_in_body(env: Env) -> None:
    result = await env.adapter.send(env.http, ROBOT, OutgoingMessage(text="提醒", mentions=(ZHANG,)))
    assert result.message_id == ""
    [sent] = env.fake.robot_messages
    assert sent["msg_type"] == "text"
    assert sent["content"] == {"text": '提醒\n<at user_id="ou_zhang">张三</at>'}
    assert env.fake.messages == []  # not through the app API


async def test_robot_signature_uses_seconds_and_empty_message() -> None:
    ts = str(int(T0.timestamp()))
    assert len(ts) == 10
    assert robot_sign("robot-secret", ts) != robot_sign("robot-secret", ts + "000")


async def test_robot_card_falls_back_to_text_commands(env: Env) -> None:
    await env.adapter.send(env.http, ROBOT, OutgoingMessage(text="新工单 A123", actions=ACTIONS,
                                                            mentions=(ZHANG,)))
    [sent] = env.fake.robot_messages
    assert sent["msg_type"] == "text"
    text = sent["content"]["text"]
    assert "可回复：「同意 A123」；「驳回 A123」" in text
    assert text.endswith('<at user_id="ou_zhang">张三</at>')
    assert "@张三" not in text


async def test_robot_markdown_is_a_card_without_buttons(env: Env) -> None:
    unsigned = Destination(platform="feishu", bot="main", chat_id="oc_unsigned")
    await env.adapter.send(env.http, unsigned, OutgoingMessage(text="**日报**", markdown=True))
    [sent] = env.fake.robot_messages
    assert sent["msg_type"] == "interactive"
    assert all(e["tag"] != "action" for e in sent["content"]["elements"])


async def test_robot_timestamp_outside_one_hour_is_permanent(env: Env) -> None:
    adapter = FeishuAdapter({"main": env.cfg()}, clock=FrozenClock(T0 - timedelta(hours=2)), chats=ROBOT_CHATS)
    with pytest.raises(PermanentSendError) as err:
        await adapter.send(env.http, ROBOT, OutgoingMessage(text="x"))
    assert err.value.code == 19021


async def test_robot_wrong_secret_is_permanent(env: Env) -> None:
    dest = Destination(platform="feishu", bot="main", chat_id="oc_badsig")
    with pytest.raises(PermanentSendError) as err:
        await env.adapter.send(env.http, dest, OutgoingMessage(text="x"))
    assert err.value.code == 19021


@pytest.mark.parametrize("env", [{"robot_per_minute": 2}], indirect=True)
async def test_robot_rate_limit_is_transient(env: Env) -> None:
    for i in range(2):
        await env.adapter.send(env.http, ROBOT, OutgoingMessage(text=f"第{i}条"))
    with pytest.raises(TransientSendError) as err:
        await env.adapter.send(env.http, ROBOT, OutgoingMessage(text="第3条"))
    assert err.value.code == 11232
    env.clock.advance(seconds=61)
    await env.adapter.send(env.http, ROBOT, OutgoingMessage(text="第3条"))
    assert len(env.fake.robot_messages) == 3


# -- splitting -------------------------------------------------------------------------------

async def test_long_text_is_split_under_the_byte_limit(env: Env) -> None:
    line = "市民反映小区噪音扰民问题，请尽快处理并回复。" * 10  # 660 bytes
    text = "\n".join(f"{i:04d} {line}" for i in range(600))  # ~400 KB
    await env.send(CHAT, OutgoingMessage(text=text, mentions=(ZHANG,)))
    sent = env.fake.messages
    assert len(sent) == 3
    assert all(m["bytes"] <= 150 * 1024 for m in sent)
    parts = [m["content"]["text"] for m in sent]
    assert parts[-1].endswith('\n<at user_id="ou_zhang">张三</at>')
    parts[-1] = parts[-1].rsplit("\n", 1)[0]
    assert "\n".join(parts) == text


async def test_long_card_text_keeps_buttons_on_the_last_part(env: Env) -> None:
    text = "\n".join("诉求摘要" * 40 for _ in range(100))  # ~48 KB
    message_id = await env.send(CHAT, OutgoingMessage(text=text, title="工单 A123", actions=ACTIONS))
    sent = env.fake.messages
    assert len(sent) == 2 and all(m["bytes"] <= 30 * 1024 for m in sent)
    assert "header" in sent[0]["content"] and "header" not in sent[1]["content"]
    assert [e["tag"] for e in sent[1]["content"]["elements"]][-1] == "action"
    assert all(e["tag"] != "action" for e in sent[0]["content"]["elements"])
    assert message_id == sent[1]["message_id"]


async def test_robot_text_split_under_20k(env: Env) -> None:
    text = "\n".join("工单" * 50 + '"引号"\\' for _ in range(200))  # escapes count too
    await env.adapter.send(env.http, ROBOT, OutgoingMessage(text=text))
    sent = env.fake.robot_messages
    assert len(sent) >= 2 and all(m["bytes"] <= 20 * 1024 for m in sent)
    assert "\n".join(m["content"]["text"] for m in sent) == text


# -- error mapping ---------------------------------------------------------------------------

async def test_5xx_is_transient_then_recovers(env: Env) -> None:
    await env.send(CHAT, OutgoingMessage(text="预热"))
    env.fake.fail_next(1, status=503)
    with pytest.raises(TransientSendError) as err:
        await env.send(CHAT, OutgoingMessage(text="一"))
    assert err.value.code == 503
    await env.send(CHAT, OutgoingMessage(text="一"))
    assert [m["content"]["text"] for m in env.fake.messages] == ["预热", "一"]


async def test_5xx_on_token_endpoint_is_transient(env: Env) -> None:
    env.fake.fail_next(1, status=502)
    with pytest.raises(TransientSendError):
        await env.send(CHAT, OutgoingMessage(text="一"))


async def test_network_error_is_transient(env: Env) -> None:
    adapter = FeishuAdapter({"main": env.cfg(api_base="http://127.0.0.1:9")}, chats=ROBOT_CHATS)
    with pytest.raises(TransientSendError) as err:
        await adapter.send(env.http, CHAT, OutgoingMessage(text="一"))
    assert err.value.code == "network"


@pytest.mark.parametrize("env", [{"chat_qps": 2}], indirect=True)
async def test_group_rate_limit_is_transient(env: Env) -> None:
    await env.send(CHAT, OutgoingMessage(text="一"))
    await env.send(CHAT, OutgoingMessage(text="二"))
    with pytest.raises(TransientSendError) as err:
        await env.send(CHAT, OutgoingMessage(text="三"))
    assert err.value.code == 230020 and err.value.retry_after == 1.0
    await env.send(DM, OutgoingMessage(text="私聊不受该群限制"))


@pytest.mark.parametrize("env", [{"app_qps": 2}], indirect=True)
async def test_gateway_429_carries_retry_after(env: Env) -> None:
    await env.send(CHAT, OutgoingMessage(text="一"))
    await env.send(DM, OutgoingMessage(text="二"))
    with pytest.raises(TransientSendError) as err:
        await env.send(CHAT, OutgoingMessage(text="三"))
    assert err.value.code == 99991400 and err.value.retry_after == 1.0


@pytest.mark.parametrize("env", [{"chats": {"oc_group"}}], indirect=True)
async def test_bot_not_in_chat_is_permanent(env: Env) -> None:
    with pytest.raises(PermanentSendError) as err:
        await env.send(Destination(platform="feishu", bot="main", chat_id="oc_other"),
                       OutgoingMessage(text="一"))
    assert err.value.code == 230002


async def test_unknown_bot_and_empty_destination_are_permanent(env: Env) -> None:
    with pytest.raises(PermanentSendError):
        await env.adapter.send(env.http, Destination(platform="feishu", bot="other", chat_id="oc"),
                               OutgoingMessage(text="一"))
    with pytest.raises(PermanentSendError):
        await env.adapter.send(env.http, Destination(platform="feishu", bot="main"),
                               OutgoingMessage(text="一"))


async def test_app_send_without_credentials_is_permanent(env: Env) -> None:
    adapter = FeishuAdapter({"main": FeishuBotConfig(api_base=str(env.server.make_url("")))}, chats=ROBOT_CHATS)
    with pytest.raises(PermanentSendError):
        await adapter.send(env.http, CHAT, OutgoingMessage(text="一"))


# -- fake checks what Feishu checks ----------------------------------------------------------

async def test_fake_rejects_bad_bodies(env: Env) -> None:
    async with env.http.post(env.server.make_url("/open-apis/auth/v3/tenant_access_token/internal"),
                             json={"app_id": "cli_test", "app_secret": "secret"}) as resp:
        token = (await resp.json())["tenant_access_token"]
    url = env.server.make_url("/open-apis/im/v1/messages")
    auth = {"Authorization": f"Bearer {token}"}
    cases = [
        ({"receive_id_type": "chat_id"}, {"receive_id": "oc", "msg_type": "text"}, 99992402),
        ({"receive_id_type": "chat_id"}, {"receive_id": "oc", "msg_type": "bogus", "content": "{}"}, 230001),
        ({"receive_id_type": "chat_id"}, {"receive_id": "oc", "msg_type": "text", "content": "{}"}, 230001),
        ({"receive_id_type": "nope"}, {"receive_id": "oc", "msg_type": "text",
                                       "content": '{"text":"x"}'}, 99992402),
        ({"receive_id_type": "chat_id"}, {"receive_id": "oc", "msg_type": "text",
                                          "content": json.dumps({"text": "x" * 160_000})}, 230025),
    ]
    for params, body, code in cases:
        async with env.http.post(url, params=params, json=body, headers=auth) as resp:
            assert (await resp.json())["code"] == code, body
    async with env.http.post(url, params={"receive_id_type": "chat_id"}, json={}) as resp:
        assert (await resp.json())["code"] == 99991661


# -- limits and config -----------------------------------------------------------------------

async def test_rate_limit_per_destination(env: Env) -> None:
    adapter = FeishuAdapter({"main": FeishuBotConfig(robot_messages_per_minute=10,
                                                     chat_messages_per_second=2)}, chats=ROBOT_CHATS)
    assert adapter.rate_limit(ROBOT) == (10, 60.0)
    assert adapter.rate_limit(CHAT) == (2, 1.0)
    assert adapter.rate_limit(DM) == (5, 1.0)
    assert FeishuAdapter({"main": FeishuBotConfig()}, chats=ROBOT_CHATS).rate_limit(ROBOT) == (100, 60.0)


def test_config_defaults_and_validation() -> None:
    cfg = FeishuBotConfig()
    assert (cfg.mode, cfg.api_base, cfg.max_timestamp_skew) == ("longconn", "https://open.feishu.cn", FRESHNESS_SECONDS)
    assert FRESHNESS_SECONDS > 6 * 3600  # Feishu's own retries reach about 6 h
    assert FeishuBotConfig(api_base="http://x/").api_base == "http://x"
    with pytest.raises(ValidationError):
        FeishuBotConfig(app_key="typo")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        FeishuBotConfig(mode="webhook")  # no verification_token
    with pytest.raises(ValidationError):
        FeishuBotConfig(mode="stream")  # type: ignore[arg-type]
    assert FeishuAdapter({}, chats=ROBOT_CHATS).platform == "feishu"
