"""The platform registry proven: a fourth platform registered from ``tests/`` only, with no
product file naming it, gets its config validated, its webhook served and its sends delivered,
and a ticket goes dispatch → 签收 → 答复 → 同意 on it through the real app, inbox and sender."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.config import ConfigError
from bot.platforms import platform_names, register, unregister
from bot.sender import Sender
from tests.adapters.fourth.platform import NAME, PLATFORM
from tests.conftest import ticket_body
from tests.fakes.fourth_server import FakeFourth, callback, click_event, message_event
from tests.handlers.test_workflow import GOOD_REPLY
from tests.system.world import BOT, BOT_NAME, base_url, metric, serve, settle, shutdown

NUMBER = "202611230001"
SECRET = "fourth-secret"
TOKEN = "fourth-token"
CHATS = {"BGS": "f-bgs", "YLK": "f-ylk", "SHJZK": "f-shjzk"}
IDS = {"王办公": "u-wang", "李科长": "u-li", "张承办": "u-zhang"}


@pytest.fixture
def fourth() -> Iterator[None]:
    """The fourth platform, registered for one test."""
    register(PLATFORM)
    yield
    unregister(NAME)


def _org(api_base: str) -> dict[str, Any]:
    names = {"BGS": "局办公室", "YLK": "养老服务科", "SHJZK": "社会救助科"}
    units = [{"code": code, "name": names[code], "chats": [{"platform": NAME, "bot": BOT, "chat_id": chat}],
              **({"parent": "BGS"} if code != "BGS" else {})} for code, chat in CHATS.items()]
    roles = {"王办公": ("BGS", "office"), "李科长": ("YLK", "leader"), "张承办": ("YLK", "handler")}
    people = [{"name": name, "mobile": f"1380000000{i}", "ids": {NAME: IDS[name]},
               "roles": [{"unit": unit, "role": role}]} for i, (name, (unit, role)) in enumerate(roles.items(), 1)]
    bot = {"name": BOT_NAME, "secret": SECRET, "token": TOKEN, "api_base": api_base}
    return {"units": units, "people": people, "platforms": {"console": {"enabled": False}, NAME: {BOT: bot}}}


async def _say(bot: Any, event: dict[str, Any]) -> None:
    body, headers = callback(SECRET, event)
    r = await bot.client.post(f"/webhooks/{NAME}/{BOT}", data=body, headers=headers)
    assert r.status == 200, await r.text()


def test_unregistered_platform_is_refused_by_the_config(make_config: Any) -> None:
    assert NAME not in platform_names()
    with pytest.raises(ConfigError) as err:
        make_config(**_org("http://127.0.0.1:1"))
    assert f"platforms.{NAME}: 不认识的配置项" in str(err.value)
    assert "units[0].chats[0].platform: 应为以下之一：console、wecom、dingtalk、feishu" in str(err.value)


def test_registered_platform_model_validates_its_tables(fourth: None, make_config: Any) -> None:
    config = _org("http://127.0.0.1:1")
    del config["platforms"][NAME][BOT]["token"]
    with pytest.raises(ConfigError) as err:
        make_config(**config)
    assert str(err.value) == f"platforms.{NAME}.{BOT}.token: 缺少此项"


async def test_ticket_story_on_a_registered_fourth_platform(fourth: None, make_bot: Any, clock: Any) -> None:
    fake = FakeFourth(TOKEN)
    server = await serve(fake.app)
    bots: list[Any] = []
    try:
        bot = await make_bot(**_org(base_url(server)))
        bots.append(bot)
        sender = Sender(bot.ctx)
        ylk = CHATS["YLK"]

        r = await bot.post_ticket(ticket_body(NUMBER, unit="YLK"))
        assert r.status == 201, await r.text()
        await sender.drain()
        [assignment] = fake.messages
        assert assignment["chat"] == ylk
        assert [b["label"] for b in assignment["buttons"]] == ["签收"]

        body, headers = callback("wrong-secret", message_event("e0", ylk, IDS["张承办"], f"@{BOT_NAME} 签收 0001"))
        refused = await bot.client.post(f"/webhooks/{NAME}/{BOT}", data=body, headers=headers)
        assert refused.status == 401
        assert await metric(bot, "hotline_webhook_rejected_total", platform=NAME, reason="bad_signature") == 1

        await _say(bot, message_event("e1", ylk, IDS["张承办"], f"@{BOT_NAME} 签收 0001"))
        await settle(bot, sender, 1)
        assert any("张承办 已签收" in t for t in fake.texts(ylk))

        await _say(bot, message_event("e2", ylk, IDS["张承办"], f"@{BOT_NAME} 答复 0001 {GOOD_REPLY}"))
        await settle(bot, sender, 2)
        review = next(m for m in fake.messages if any(b["label"] == "同意" for b in m["buttons"]))
        agree = next(b for b in review["buttons"] if b["label"] == "同意")

        sent_before = len(fake.messages)
        await _say(bot, click_event("e3", ylk, IDS["李科长"], agree))
        await settle(bot, sender, 3)
        notices = [m["text"] for m in fake.messages[sent_before:]]
        assert sum(f"工单 {NUMBER} 已审核通过并答复来电人。" in n for n in notices) == 1
        assert {m["chat"] for m in fake.messages} <= {ylk, CHATS["BGS"]}
    finally:
        await shutdown(server, *bots)
