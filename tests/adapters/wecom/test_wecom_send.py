"""Outbound WeCom: robot webhook and app API against the fake, error mapping, tokens, splitting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from pydantic import ValidationError

from adapters.cards import ButtonPayload
from adapters.wecom.adapter import WeComAdapter, WeComBotConfig
from adapters.wecom.config import WeComChatOptions
from bot.clock import FrozenClock
from bot.messages import Action, Destination, Mention, OutgoingMessage
from bot.metrics import Metrics
from bot.send_errors import PermanentSendError, TransientSendError
from tests.fakes.wecom_server import FakeWeCom

CORP, SECRET, AGENT = "wwCORP", "APPSECRET", 1000002
ACTIONS = (Action("签收", "签收", "12345/A123", "tok-a", "primary"),
           Action("退回", "退单", "12345/A123", "tok-b", "danger"))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2025, 3, 3, 1, 0, tzinfo=UTC))


@pytest.fixture
def fake(clock: FrozenClock) -> FakeWeCom:
    return FakeWeCom(clock=clock, robot_rate=(20, 60.0))




# The groups' own 消息推送 robots, as their chat bindings give them to the adapter.
ROBOT_CHATS = {("hotline", "wrGROUP1"): WeComChatOptions(robot_key="ROBOTKEY"),
               ("hotline", "g"): WeComChatOptions(robot_key="WRONG")}


def _adapter(server: TestServer, clock: FrozenClock, **kw: Any) -> WeComAdapter:
    cfg: dict[str, Any] = {"mode": "webhook", "name": "热线助手", "token": "T", "corp_id": CORP,
                           "aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
                           "agent_id": AGENT, "app_secret": SECRET,
                           "api_base": str(server.make_url("")).rstrip("/")}
    cfg.update(kw)
    return WeComAdapter({"hotline": WeComBotConfig(**cfg)}, clock=clock, metrics=Metrics(), chats=ROBOT_CHATS)


ROBOT = Destination("wecom", "hotline", chat_id="wrGROUP1")
USER = Destination("wecom", "hotline", user_id="zhangsan")
APPCHAT = Destination("wecom", "hotline", chat_id="appchat1")


# -- group robot webhook -----------------------------------------------------------------------

async def test_robot_text_with_mentions(server: TestServer, clock: FrozenClock, fake: FakeWeCom,
                                        http: Any) -> None:
    msg = OutgoingMessage("新工单 A123，请签收", mentions=(
        Mention("张三", {"wecom": "zhangsan"}), Mention("李四", mobile="13800000000"), Mention("王五")))
    result = await _adapter(server, clock).send(http, ROBOT, msg)
    assert result.message_id == ""
    [sent] = fake.robot_messages
    assert sent["msgtype"] == "text"
    assert sent["text"]["mentioned_list"] == ["zhangsan"]
    assert sent["text"]["mentioned_mobile_list"] == ["13800000000"]
    assert sent["text"]["content"] == "新工单 A123，请签收\n@王五"


async def test_robot_markdown_mentions_inline(server: TestServer, clock: FrozenClock,
                                              fake: FakeWeCom, http: Any) -> None:
    msg = OutgoingMessage("**超期提醒** A123", markdown=True,
                          mentions=(Mention("张三", {"wecom": "zhangsan"}),))
    await _adapter(server, clock).send(http, ROBOT, msg)
    [sent] = fake.robot_messages
    assert sent == {"key": "ROBOTKEY", "msgtype": "markdown",
                    "markdown": {"content": "**超期提醒** A123\n<@zhangsan>"}}


async def test_robot_card_falls_back_to_plain_text(server: TestServer, clock: FrozenClock,
                                                   fake: FakeWeCom, http: Any) -> None:
    msg = OutgoingMessage("新工单 A123", actions=ACTIONS, mentions=(Mention("张三", {"wecom": "zs"}),))
    await _adapter(server, clock).send(http, ROBOT, msg)
    [sent] = fake.robot_messages
    assert sent["msgtype"] == "text"
    assert sent["text"]["content"] == "新工单 A123\n可回复：「签收 A123」；「退单 A123」"
    assert sent["text"]["mentioned_list"] == ["zs"]


async def test_robot_long_text_is_split_under_2048_bytes(server: TestServer, clock: FrozenClock,
                                                         fake: FakeWeCom, http: Any) -> None:
    text = "\n".join(f"第{i}行：诉求内容较长需要拆分发送" for i in range(200))
    await _adapter(server, clock).send(http, ROBOT, OutgoingMessage(text))
    parts = [m["text"]["content"] for m in fake.robot_messages]
    assert len(parts) > 1
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert "\n".join(parts) == text


async def test_robot_markdown_split_under_4096(server: TestServer, clock: FrozenClock,
                                               fake: FakeWeCom, http: Any) -> None:
    text = "\n".join(f"- 工单 {i:04d} 即将超期" for i in range(600))
    await _adapter(server, clock).send(http, ROBOT, OutgoingMessage(text, markdown=True))
    parts = [m["markdown"]["content"] for m in fake.robot_messages]
    assert len(parts) >= 3
    assert all(3000 < len(p.encode()) <= 4096 for p in parts[:-1])


async def test_robot_rate_limit_is_transient(server: TestServer, clock: FrozenClock,
                                             fake: FakeWeCom, http: Any) -> None:
    adapter = _adapter(server, clock)
    assert adapter.rate_limit(ROBOT) == (20, 60.0)
    for i in range(20):
        await adapter.send(http, ROBOT, OutgoingMessage(f"m{i}"))
    with pytest.raises(TransientSendError) as err:
        await adapter.send(http, ROBOT, OutgoingMessage("too many"))
    assert err.value.code == 45009
    assert err.value.retry_after == 60.0
    clock.advance(seconds=61)
    await adapter.send(http, ROBOT, OutgoingMessage("again"))
    assert len(fake.robot_messages) == 21


async def test_robot_bad_key_is_permanent(server: TestServer, clock: FrozenClock, http: Any) -> None:
    dest = Destination("wecom", "hotline", chat_id="g")
    with pytest.raises(PermanentSendError) as err:
        await _adapter(server, clock).send(http, dest, OutgoingMessage("x"))
    assert err.value.code == 93000


async def test_5xx_is_transient_then_succeeds(server: TestServer, clock: FrozenClock,
                                              fake: FakeWeCom, http: Any) -> None:
    adapter = _adapter(server, clock)
    fake.fail_next(2, status=503)
    for _ in range(2):
        with pytest.raises(TransientSendError) as err:
            await adapter.send(http, ROBOT, OutgoingMessage("x"))
        assert err.value.code == 503
    await adapter.send(http, ROBOT, OutgoingMessage("x"))
    assert len(fake.robot_messages) == 1


async def test_network_error_is_transient(clock: FrozenClock, http: Any) -> None:
    cfg = WeComBotConfig(api_base="http://127.0.0.1:9", request_timeout=2)
    adapter = WeComAdapter({"hotline": cfg}, clock=clock, chats=ROBOT_CHATS)
    with pytest.raises(TransientSendError):
        await adapter.send(http, ROBOT, OutgoingMessage("x"))


# -- app API -----------------------------------------------------------------------------------

async def test_app_text_to_user(server: TestServer, clock: FrozenClock, fake: FakeWeCom,
                                http: Any) -> None:
    adapter = _adapter(server, clock)
    result = await adapter.send(http, USER, OutgoingMessage("您有 2 件待办"))
    [sent] = fake.app_messages
    assert sent["touser"] == "zhangsan" and sent["agentid"] == AGENT
    assert sent["text"] == {"content": "您有 2 件待办"}
    assert result.message_id
    assert adapter.rate_limit(USER) == (30, 60.0)


async def test_app_card_with_buttons(server: TestServer, clock: FrozenClock, fake: FakeWeCom,
                                     http: Any) -> None:
    msg = OutgoingMessage("张三申请延期至3月10日", title="延期审批 A123", actions=ACTIONS,
                          card_key="12345/A123#ext1")
    result = await _adapter(server, clock).send(http, USER, msg)
    [sent] = fake.app_messages
    card = sent["template_card"]
    assert card["card_type"] == "button_interaction"
    assert card["main_title"]["title"] == "延期审批 A123"
    assert card["sub_title_text"] == "张三申请延期至3月10日"
    assert [b["text"] for b in card["button_list"]] == ["签收", "退回"]
    assert [b["style"] for b in card["button_list"]] == [1, 3]
    assert ButtonPayload.action_from(card["button_list"][1]["key"]) == {
        "cmd": "退单", "ticket": "12345/A123", "token": "tok-b"}
    assert card["task_id"].startswith("12345_A123_ext1-")
    assert result.message_id.startswith("rc:")


async def test_app_card_long_text_goes_first(server: TestServer, clock: FrozenClock,
                                             fake: FakeWeCom, http: Any) -> None:
    msg = OutgoingMessage("诉求：" + "内容" * 200, actions=ACTIONS[:1])
    await _adapter(server, clock).send(http, USER, msg)
    text, card = fake.app_messages
    assert text["msgtype"] == "text" and "内容" in text["text"]["content"]
    assert card["msgtype"] == "template_card"
    assert card["template_card"]["sub_title_text"] == "请点击下方按钮处理"


async def test_app_long_text_split_not_truncated(server: TestServer, clock: FrozenClock,
                                                 fake: FakeWeCom, http: Any) -> None:
    text = "\n".join("答复内容：已联系来电人并现场核实处理情况" for _ in range(120))
    await _adapter(server, clock).send(http, USER, OutgoingMessage(text))
    assert len(fake.app_messages) > 1
    assert not any(m.get("truncated") for m in fake.app_messages)
    assert "\n".join(m["text"]["content"] for m in fake.app_messages) == text


async def test_appchat_gets_plain_text(server: TestServer, clock: FrozenClock, fake: FakeWeCom,
                                       http: Any) -> None:
    await _adapter(server, clock).send(http, APPCHAT, OutgoingMessage("新工单", actions=ACTIONS[:1]))
    [sent] = fake.appchat_messages
    assert sent["chatid"] == "appchat1"
    assert sent["text"]["content"] == "新工单\n可回复：「签收 A123」"


async def test_appchat_unknown_chat_is_permanent(server: TestServer, clock: FrozenClock,
                                                 http: Any) -> None:
    with pytest.raises(PermanentSendError) as err:
        await _adapter(server, clock).send(http, Destination("wecom", "hotline", chat_id="nochat"),
                                           OutgoingMessage("x"))
    assert err.value.code == 86003


async def test_token_is_cached_and_refreshed_on_expiry(server: TestServer, clock: FrozenClock,
                                                       fake: FakeWeCom, http: Any) -> None:
    adapter = _adapter(server, clock)
    await adapter.send(http, USER, OutgoingMessage("1"))
    await adapter.send(http, USER, OutgoingMessage("2"))
    assert fake.token_fetches == 1
    fake.expire_tokens()  # the platform says 42001 before our clock thinks so
    await adapter.send(http, USER, OutgoingMessage("3"))
    assert fake.token_fetches == 2
    assert adapter.token_cache("hotline").fetch_count == 2
    assert [m["text"]["content"] for m in fake.app_messages] == ["1", "2", "3"]
    clock.advance(seconds=7200 - 200)  # inside the refresh margin: fetched before use
    await adapter.send(http, USER, OutgoingMessage("4"))
    assert fake.token_fetches == 3


async def test_token_refused_twice_is_transient(server: TestServer, clock: FrozenClock,
                                                fake: FakeWeCom, http: Any) -> None:
    fake.token_ttl = 0  # every token the fake issues is already expired
    with pytest.raises(TransientSendError) as err:
        await _adapter(server, clock).send(http, USER, OutgoingMessage("x"))
    assert err.value.code == 42001
    assert fake.token_fetches == 2  # fetched, refused, refreshed once, refused again


async def test_wrong_app_secret_is_permanent(server: TestServer, clock: FrozenClock,
                                             http: Any) -> None:
    with pytest.raises(PermanentSendError) as err:
        await _adapter(server, clock, app_secret="nope").send(http, USER, OutgoingMessage("x"))
    assert err.value.code == 40001


async def test_wrong_agent_is_permanent(server: TestServer, clock: FrozenClock, http: Any) -> None:
    with pytest.raises(PermanentSendError) as err:
        await _adapter(server, clock, agent_id=7).send(http, USER, OutgoingMessage("x"))
    assert err.value.code == 40056


async def test_app_5xx_on_gettoken_is_transient(server: TestServer, clock: FrozenClock,
                                                fake: FakeWeCom, http: Any) -> None:
    fake.fail_next(1, status=500)
    with pytest.raises(TransientSendError):
        await _adapter(server, clock).send(http, USER, OutgoingMessage("x"))


async def test_member_rate_is_exposed(server: TestServer, clock: FrozenClock, fake: FakeWeCom,
                                      http: Any) -> None:
    # Beyond 30/min WeCom drops silently: the adapter tells the shared sender the limit.
    adapter = _adapter(server, clock, app_rate_limit=3)
    assert adapter.rate_limit(USER) == (3, 60.0)
    for i in range(31):
        await adapter.send(http, USER, OutgoingMessage(f"m{i}"))
    assert len(fake.app_messages) == 30 and len(fake.dropped) == 1


async def test_update_app_card(server: TestServer, clock: FrozenClock, fake: FakeWeCom,
                               http: Any) -> None:
    adapter = _adapter(server, clock)
    sent = await adapter.send(http, USER, OutgoingMessage("延期申请", actions=ACTIONS, card_key="K1"))
    # a decision typed later may update this card; a plain message id or an AI bot's card not
    assert adapter.can_update(sent.message_id) and not adapter.can_update("12345")
    assert not adapter.can_update("ws:req-1:task-1")
    await adapter.update_card(http, USER, sent.message_id, OutgoingMessage("王局 已同意", title="已同意"))
    [update] = fake.card_updates
    assert update["button"] == {"replace_name": "已同意"}
    assert update["userids"] == ["zhangsan"] and update["agentid"] == AGENT
    with pytest.raises(PermanentSendError):  # a response_code is single-use
        await adapter.update_card(http, USER, sent.message_id, OutgoingMessage("again"))
    with pytest.raises(PermanentSendError):
        await adapter.update_card(http, USER, "12345", OutgoingMessage("x"))


async def test_update_from_click_response_code(server: TestServer, clock: FrozenClock,
                                               fake: FakeWeCom, http: Any) -> None:
    code = fake.issue_response_code()
    msg = OutgoingMessage("已签收，请处理", actions=ACTIONS[1:], card_key="K2")
    await _adapter(server, clock).update_card(http, USER, f"rc:{code}", msg)
    [update] = fake.card_updates
    assert update["template_card"]["button_list"][0]["text"] == "退回"


async def test_unknown_destination_bot_is_permanent(server: TestServer, clock: FrozenClock,
                                                    http: Any) -> None:
    with pytest.raises(PermanentSendError):
        await _adapter(server, clock).send(http, Destination("wecom", "nobot", user_id="u"),
                                           OutgoingMessage("x"))
    with pytest.raises(PermanentSendError):
        await _adapter(server, clock).send(http, Destination("wecom", "hotline"), OutgoingMessage("x"))


# -- config ------------------------------------------------------------------------------------

def test_config_defaults() -> None:
    cfg = WeComBotConfig()
    assert cfg.mode == "longconn"
    assert cfg.api_base == "https://qyapi.weixin.qq.com"
    assert cfg.ws_url == "wss://openws.work.weixin.qq.com"
    assert (cfg.robot_rate_limit, cfg.robot_rate_window) == (20, 60.0)


@pytest.mark.parametrize("bad", [
    {"typo_key": 1},
    {"mode": "stream"},
    {"mode": "webhook"},
    {"token": "t"},
    {"token": "t", "aes_key": "short"},
    {"bot_id": "b"},
    {"app_secret": "s"},
    {"api_base": "https://qyapi.weixin.qq.com/cgi-bin"},
    {"agent_id": "abc"},
])
def test_config_rejects(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        WeComBotConfig(**bad)
