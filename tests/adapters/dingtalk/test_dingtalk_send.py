"""DingTalk outbound: both sending paths, cards, tokens, splitting and error mapping.

Every test sends with a real aiohttp ClientSession to the fake DingTalk (tests/fakes), which
checks signatures, tokens, bodies, sizes and rate limits as DingTalk does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

from adapters.base import PermanentSendError, TransientSendError
from adapters.cards import decode_click
from adapters.dingtalk.adapter import DingTalkAdapter, DingTalkBotConfig
from adapters.dingtalk.config import DingTalkChatOptions
from adapters.dingtalk.decode import decode_card_callback
from adapters.dingtalk.outbound import MSG_PARAM_LIMIT, ROBOT_BODY_LIMIT
from bot.clock import FrozenClock
from bot.messages import Action, ChatKind, Destination, Mention, OutgoingMessage
from tests.fakes.dingtalk_server import FakeDingTalk, card_click

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROBOT_TOKEN, ROBOT_SECRET = "robot-token-1", "SEC0123456789abcdef"
GROUP = Destination(platform="dingtalk", bot="main", chat_id="cidGroup1==")
DM = Destination(platform="dingtalk", bot="main", user_id="staff-7")
ROBOT = Destination(platform="dingtalk", bot="main", chat_id="cidRobot==")
# The groups' own custom robots, as their chat bindings give them to the adapter.
ROBOT_CHATS = {
    ("main", "cidRobot=="): DingTalkChatOptions(robot_token=ROBOT_TOKEN, robot_secret=ROBOT_SECRET),
    ("main", "cidBadSecret=="): DingTalkChatOptions(robot_token=ROBOT_TOKEN, robot_secret="SECwrong"),
    ("main", "cidUnknown=="): DingTalkChatOptions(robot_token="nope", robot_secret=ROBOT_SECRET),
}
ZHANG = Mention(name="张三", ids={"dingtalk": "staff-zhang"}, mobile="13800000001")
WANG = Mention(name="王五", mobile="13800000002")  # no DingTalk id: @ by mobile
BUTTONS = (Action("同意", "同意", "12345/A123", "tk1", "primary"),
           Action("驳回", "驳回", "12345/A123", "tk2", "danger"))


class Env:
    """The fake, a session, and a factory for adapters pointed at it."""

    def __init__(self, fake: FakeDingTalk, base: str, http: aiohttp.ClientSession, clock: FrozenClock):
        self.fake, self.base, self.http, self.clock = fake, base, http, clock

    def adapter(self, **cfg: Any) -> DingTalkAdapter:
        config = DingTalkBotConfig(**{"name": "热线机器人", "app_key": self.fake.app_key,
                                      "app_secret": self.fake.app_secret, "api_base": self.base,
                                      "oapi_base": self.base, "card_template_id": "tpl.schema", **cfg})
        return DingTalkAdapter({"main": config}, clock=self.clock, chats=ROBOT_CHATS)


@pytest.fixture
async def env(aiohttp_server: Any) -> AsyncIterator[Env]:
    clock = FrozenClock(T0)
    fake = FakeDingTalk(clock=clock, robots={ROBOT_TOKEN: ROBOT_SECRET})
    server = await aiohttp_server(fake.app)
    async with aiohttp.ClientSession() as http:
        yield Env(fake, str(server.make_url("")).rstrip("/"), http, clock)


# --- config ----------------------------------------------------------------------------------

def test_config_defaults_and_strictness() -> None:
    cfg = DingTalkBotConfig(app_key="dingk", app_secret="s")
    assert (cfg.mode, cfg.robot_code) == ("stream", "dingk")
    assert (cfg.api_base, cfg.oapi_base) == ("https://api.dingtalk.com", "https://oapi.dingtalk.com")
    assert DingTalkBotConfig(app_key="a", robot_code="r").robot_code == "r"
    with pytest.raises(ValidationError):
        DingTalkBotConfig(app_key="a", appsecret="typo")
    with pytest.raises(ValidationError):
        DingTalkBotConfig(mode="webhook")


def test_rate_limits_per_destination() -> None:
    adapter = DingTalkAdapter({"main": DingTalkBotConfig(robot_rate_limit=5, api_rate_limit=7)}, chats=ROBOT_CHATS)
    assert adapter.rate_limit(ROBOT) == (5, 60.0)
    assert adapter.rate_limit(GROUP) == (7, 1.0)
    assert DingTalkAdapter({}, chats=ROBOT_CHATS).rate_limit(ROBOT) == (20, 60.0)  # documented default


# --- OpenAPI path ----------------------------------------------------------------------------

async def test_group_text_via_openapi(env: Env) -> None:
    adapter = env.adapter()
    result = await adapter.send(env.http, GROUP, OutgoingMessage(text="新工单 A123", mentions=(ZHANG,)))
    (sent,) = env.fake.group_messages
    assert sent["chat_id"] == "cidGroup1==" and sent["msgKey"] == "sampleText"
    assert sent["param"] == {"content": "新工单 A123\n@张三"}
    assert result.message_id == sent["processQueryKey"]


async def test_group_markdown_via_openapi(env: Env) -> None:
    adapter = env.adapter()
    await adapter.send(env.http, GROUP, OutgoingMessage(text="## 今日待办\n- A123", markdown=True))
    (sent,) = env.fake.group_messages
    assert sent["msgKey"] == "sampleMarkdown"
    assert sent["param"] == {"title": "今日待办", "text": "## 今日待办\n- A123"}


async def test_direct_message_via_batch_send(env: Env) -> None:
    adapter = env.adapter()
    result = await adapter.send(env.http, DM, OutgoingMessage(text="请签收 A123"))
    (sent,) = env.fake.direct_messages
    assert (sent["user_id"], sent["param"]) == ("staff-7", {"content": "请签收 A123"})
    assert result.message_id == sent["processQueryKey"]


async def test_direct_message_refused_or_throttled_user(env: Env) -> None:
    adapter = env.adapter()
    env.fake.invalid_users.add("staff-7")
    with pytest.raises(PermanentSendError) as perm:
        await adapter.send(env.http, DM, OutgoingMessage(text="x"))
    assert perm.value.code == "invalidStaffId"
    env.fake.invalid_users.clear()
    env.fake.flow_controlled_users.add("staff-7")
    with pytest.raises(TransientSendError) as trans:
        await adapter.send(env.http, DM, OutgoingMessage(text="x"))
    assert trans.value.code == "flowControlled" and trans.value.retry_after == 60.0
    assert env.fake.direct_messages == []


# --- custom robot path -----------------------------------------------------------------------

async def test_robot_text_with_mentions(env: Env) -> None:
    adapter = env.adapter()
    result = await adapter.send(env.http, ROBOT, OutgoingMessage(text="请尽快签收", mentions=(ZHANG, WANG)))
    (sent,) = env.fake.robot_messages
    assert sent["access_token"] == ROBOT_TOKEN
    assert sent["body"] == {"msgtype": "text", "text": {"content": "请尽快签收\n@staff-zhang @13800000002"},
                            "at": {"atUserIds": ["staff-zhang"], "atMobiles": ["13800000002"],
                                   "isAtAll": False}}
    assert result.message_id == ""


async def test_robot_markdown(env: Env) -> None:
    adapter = env.adapter()
    await adapter.send(env.http, ROBOT, OutgoingMessage(text="**超期提醒**\nA123 今日到期", markdown=True,
                                                        title="超期提醒"))
    (sent,) = env.fake.robot_messages
    assert sent["body"] == {"msgtype": "markdown",
                            "markdown": {"title": "超期提醒", "text": "**超期提醒**\nA123 今日到期"}}


async def test_robot_falls_back_to_text_commands(env: Env) -> None:
    """A send-only robot cannot show buttons: the commands are written out instead (a bot with a
    card template sends its cards through the OpenAPI instead of the robot)."""
    adapter = env.adapter(card_template_id="")
    message = OutgoingMessage(text="A123 答复待审核", actions=BUTTONS)
    await adapter.send(env.http, ROBOT, message)
    (sent,) = env.fake.robot_messages
    assert sent["body"]["text"]["content"] == message.as_plain_text()
    assert "「同意 A123」" in sent["body"]["text"]["content"]
    assert env.fake.cards == {}


async def test_robot_signature_and_token_checked(env: Env) -> None:
    adapter = env.adapter()
    bad_secret = Destination(platform="dingtalk", bot="main", chat_id="cidBadSecret==")
    with pytest.raises(PermanentSendError) as sign:
        await adapter.send(env.http, bad_secret, OutgoingMessage(text="x"))
    assert sign.value.code == 310000
    unknown = Destination(platform="dingtalk", bot="main", chat_id="cidUnknown==")
    with pytest.raises(PermanentSendError) as token:
        await adapter.send(env.http, unknown, OutgoingMessage(text="x"))
    assert token.value.code == 300001
    assert env.fake.robot_messages == []


async def test_robot_rate_limit_is_transient(env: Env) -> None:
    env.fake.robot_per_minute = 2
    adapter = env.adapter()
    for _ in range(2):
        await adapter.send(env.http, ROBOT, OutgoingMessage(text="提醒"))
    with pytest.raises(TransientSendError) as exc:
        await adapter.send(env.http, ROBOT, OutgoingMessage(text="提醒"))
    assert exc.value.code == 130101 and exc.value.retry_after == 600.0
    env.clock.advance(minutes=11)  # DingTalk lifts the 10-minute block
    await adapter.send(env.http, ROBOT, OutgoingMessage(text="提醒"))
    assert len(env.fake.robot_messages) == 3


# --- cards -----------------------------------------------------------------------------------

async def test_card_with_buttons_and_click_round_trip(env: Env) -> None:
    adapter = env.adapter()
    message = OutgoingMessage(text="**A123** 答复待审核", title="审核 A123", actions=BUTTONS,
                              mentions=(ZHANG,))
    result = await adapter.send(env.http, GROUP, message)
    card = env.fake.cards[result.message_id]
    assert (card["space_type"], card["space_id"]) == ("IM_GROUP", "cidGroup1==")
    assert card["body"]["callbackType"] == "STREAM"
    assert card["body"]["imGroupOpenDeliverModel"]["atUserIds"] == {"staff-zhang": "张三"}
    params = card["params"]
    assert params["title"] == "审核 A123"
    assert params["content"] == "**A123** 答复待审核\n\n@张三"
    buttons = json.loads(params["buttons"])
    assert [(b["text"], b["color"]) for b in buttons] == [("同意", "blue"), ("驳回", "red")]
    assert decode_click(buttons[1]["value"]) == {"cmd": "驳回", "ticket": "12345/A123", "token": "tk2"}
    # The click DingTalk sends back for the second button decodes to the same action and chat.
    click = card_click(out_track_id=result.message_id, user_id="leader-1", value=buttons[1]["value"])
    msg = decode_card_callback("main", click, event_id="frame-1")
    assert msg is not None
    assert (msg.chat_kind, msg.chat_id, msg.sender_id) == (ChatKind.GROUP, "cidGroup1==", "leader-1")
    assert msg.action == {"cmd": "驳回", "ticket": "12345/A123", "token": "tk2"}
    assert env.fake.group_messages == []


async def test_card_to_a_person(env: Env) -> None:
    adapter = env.adapter()
    result = await adapter.send(env.http, DM, OutgoingMessage(text="请审核", actions=BUTTONS[:1]))
    card = env.fake.cards[result.message_id]
    assert (card["space_type"], card["space_id"]) == ("IM_ROBOT", "staff-7")
    click = card_click(out_track_id=result.message_id, user_id="staff-7",
                       value=json.loads(card["params"]["buttons"])[0]["value"])
    msg = decode_card_callback("main", click, event_id="f2")
    assert msg is not None and (msg.chat_kind, msg.chat_id) == (ChatKind.DIRECT, "staff-7")


async def test_update_card_after_click(env: Env) -> None:
    adapter = env.adapter()
    sent = await adapter.send(env.http, GROUP, OutgoingMessage(text="待审核", title="A123", actions=BUTTONS))
    await adapter.update_card(env.http, GROUP, sent.message_id,
                              OutgoingMessage(text="李四 已同意", title="A123"))
    params = env.fake.cards[sent.message_id]["params"]
    assert params["content"] == "李四 已同意" and json.loads(params["buttons"]) == []
    assert env.fake.card_updates[0]["cardUpdateOptions"] == {"updateCardDataByKey": True}
    with pytest.raises(PermanentSendError):
        await adapter.update_card(env.http, GROUP, "unknown-card", OutgoingMessage(text="x"))


@pytest.mark.parametrize("cfg", [{"card_template_id": ""}, {"mode": "http"}])
async def test_buttons_as_text_without_card_support(env: Env, cfg: dict[str, Any]) -> None:
    """No template, or HTTP mode (clicks could not come back): the commands go out as text."""
    adapter = env.adapter(**cfg)
    message = OutgoingMessage(text="A123 答复待审核", actions=BUTTONS)
    await adapter.send(env.http, GROUP, message)
    assert env.fake.cards == {}
    (sent,) = env.fake.group_messages
    assert sent["param"] == {"content": message.as_plain_text()}


# --- tokens ----------------------------------------------------------------------------------

async def test_token_cached_then_refreshed_when_refused(env: Env) -> None:
    adapter = env.adapter()
    for _ in range(2):
        await adapter.send(env.http, GROUP, OutgoingMessage(text="x"))
    assert env.fake.token_fetches == 1
    env.fake.expire_tokens()  # the platform forgets the token early
    await adapter.send(env.http, GROUP, OutgoingMessage(text="y"))
    assert env.fake.token_fetches == 2
    assert len(env.fake.group_messages) == 3


async def test_token_refreshed_before_expiry(env: Env) -> None:
    adapter = env.adapter()
    await adapter.send(env.http, GROUP, OutgoingMessage(text="x"))
    env.clock.advance(seconds=7200 - 299)  # inside the 5-minute refresh margin
    await adapter.send(env.http, GROUP, OutgoingMessage(text="y"))
    assert env.fake.token_fetches == 2
    assert [r for r in env.fake.requests if r[1].endswith("groupMessages/send")] == [
        ("POST", "/v1.0/robot/groupMessages/send")] * 2  # no refused attempt in between


async def test_token_refused_twice_is_transient(env: Env) -> None:
    env.fake.token_lifetime = 0  # every token is dead on arrival
    adapter = env.adapter()
    with pytest.raises(TransientSendError) as exc:
        await adapter.send(env.http, GROUP, OutgoingMessage(text="x"))
    assert exc.value.code == "InvalidAuthentication"
    assert env.fake.token_fetches == 2  # refreshed once, not more


async def test_bad_app_credentials_are_permanent(env: Env) -> None:
    adapter = env.adapter(app_secret="wrong")
    with pytest.raises(PermanentSendError) as exc:
        await adapter.send(env.http, GROUP, OutgoingMessage(text="x"))
    assert exc.value.code == "invalidClientIdOrSecret"


# --- splitting -------------------------------------------------------------------------------

LONG = "\n".join(f"第{i}行：诉求人反映小区路灯不亮，请核实处理。\"引号\"与\\反斜杠" for i in range(900))


async def test_long_text_split_for_openapi(env: Env) -> None:
    adapter = env.adapter()
    assert len(LONG.encode()) > 3 * MSG_PARAM_LIMIT
    await adapter.send(env.http, GROUP, OutgoingMessage(text=LONG))
    parts = [m["param"]["content"] for m in env.fake.group_messages]
    assert len(parts) >= 4
    assert "\n".join(parts) == LONG  # split at line boundaries, nothing lost
    assert all(len(json.dumps({"content": p}, ensure_ascii=False, separators=(",", ":")).encode())
               <= MSG_PARAM_LIMIT for p in parts)


async def test_long_text_split_for_robot(env: Env) -> None:
    adapter = env.adapter()
    await adapter.send(env.http, ROBOT, OutgoingMessage(text=LONG, mentions=(ZHANG,)))
    bodies = [m["body"] for m in env.fake.robot_messages]
    assert len(bodies) >= 3  # the fake refuses any body over 20 000 bytes (460101)
    assert all(len(json.dumps(b, ensure_ascii=False).encode()) <= ROBOT_BODY_LIMIT for b in bodies)
    assert ["at" in b for b in bodies] == [False] * (len(bodies) - 1) + [True]
    assert "\n".join(b["text"]["content"] for b in bodies) == LONG + "\n@staff-zhang"


# --- error mapping ---------------------------------------------------------------------------

@pytest.mark.parametrize("dest", [GROUP, ROBOT], ids=["openapi", "robot"])
async def test_server_errors_are_transient(env: Env, dest: Destination) -> None:
    adapter = env.adapter()
    await adapter.send(env.http, GROUP, OutgoingMessage(text="warm token"))
    env.fake.fail_next(1, status=503)
    with pytest.raises(TransientSendError):
        await adapter.send(env.http, dest, OutgoingMessage(text="x"))
    await adapter.send(env.http, dest, OutgoingMessage(text="x"))  # the retry goes through


async def test_qps_limit_is_transient(env: Env) -> None:
    env.fake.api_qps = 2
    adapter = env.adapter()
    for _ in range(2):
        await adapter.send(env.http, GROUP, OutgoingMessage(text="x"))
    with pytest.raises(TransientSendError) as exc:
        await adapter.send(env.http, GROUP, OutgoingMessage(text="x"))
    assert exc.value.code == "Forbidden.AccessDenied.QpsLimitForApi" and exc.value.retry_after == 1.0


async def test_network_error_is_transient(env: Env) -> None:
    adapter = env.adapter(api_base="http://127.0.0.1:9", oapi_base="http://127.0.0.1:9")
    for dest in (GROUP, ROBOT):
        with pytest.raises(TransientSendError) as exc:
            await adapter.send(env.http, dest, OutgoingMessage(text="x"))
        assert exc.value.code == "network"


@pytest.mark.parametrize(("cfg", "dest", "code"), [
    ({"robot_code": "not-our-robot"}, GROUP, "invalidParameter.robotCode.auth"),
    ({}, Destination(platform="dingtalk", bot="main", chat_id="oc_feishu"), "invalid.openConversationId"),
    ({}, Destination(platform="dingtalk", bot="other", chat_id="cidX"), "unknown_bot"),
    ({}, Destination(platform="dingtalk", bot="main"), "no_target"),
])
async def test_permanent_errors_carry_the_code(env: Env, cfg: dict[str, Any], dest: Destination,
                                               code: str) -> None:
    adapter = env.adapter(**cfg)
    with pytest.raises(PermanentSendError) as exc:
        await adapter.send(env.http, dest, OutgoingMessage(text="x"))
    assert exc.value.code == code
