"""Hostile webhook callbacks (issue 14, root causes 3, 6, 8, 9 and 10): validly signed bodies
the decoders cannot take are refused with the platform's "bad request" before the inbox, so no
acknowledged event can fail later and leave its sender without an answer; headers that are not
UTF-8 are refused as unauthenticated."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from bot.wiring import INBOX
from store.models import InboxEvent
from tests.fuzz.cases import DEEP, HUGE_INT, wecom_xml_bodies
from tests.fuzz.raw import send
from tests.fuzz.world import Shot, fuzz_overrides, signed
from tests.system.world import BOT, inbox_count


async def _post(bot: Any, route: str, body: bytes) -> int:
    return await send(bot.client.host, bot.client.port, signed(route, body, int(bot.clock.now().timestamp())))


def _wecom(**changes: Any) -> bytes:
    body = {"msgid": "m-ok", "aibotid": "AIBOTID", "chattype": "group", "chatid": "wrYLK",
            "from": {"userid": "zhangcb"}, "msgtype": "text", "text": {"content": "@热线助手 帮助"}}
    return json.dumps({**body, **changes}).encode()


def _ding(**changes: Any) -> bytes:
    body = {"msgtype": "text", "text": {"content": " 帮助"}, "msgId": "d-ok", "conversationType": "2",
            "conversationId": "cidYLK==", "senderStaffId": "staff-zhang", "chatbotUserId": "$:bot",
            "robotCode": "dingappkey", "isInAtList": True}
    return json.dumps({**body, **changes}).encode()


def _feishu(text: str = "帮助", **message: Any) -> bytes:
    msg = {"message_id": "om-ok", "chat_id": "oc_ylk", "chat_type": "group", "message_type": "text",
           "content": json.dumps({"text": text}), **message}
    return json.dumps({"schema": "2.0", "header": {"event_id": "e-ok", "event_type": "im.message.receive_v1",
                                                   "token": "vtoken", "app_id": "cli_test", "create_time": "1"},
                       "event": {"sender": {"sender_id": {"open_id": "ou_zhang"}, "sender_type": "user"},
                                 "message": msg}}).encode()


HOSTILE = [
    ("wecom", DEEP), ("wecom", b'{"msgid": ' + HUGE_INT + b"}"), ("dingtalk", b'{"a":' + DEEP + b"}"),
    ("feishu", DEEP), ("sms", DEEP),                                         # root cause 3
    ("wecom", _wecom(**{"from": []})),                                        # root cause 6
    ("wecom", _wecom(chatid=["wrYLK"])), ("dingtalk", _ding(conversationId=["x"])),  # root cause 9
    ("dingtalk", _ding(msgId="m" * 201)), ("dingtalk", _ding(text={"content": " 帮\u0000助"})),
    ("feishu", _feishu(chat_id=["oc_ylk"])), ("feishu", _feishu("帮助\u0000")),
    ("feishu", _feishu(message_id=10 ** 30)),
    ("wecom", _wecom(text={"content": "LONE"}).replace(b"LONE", b"\\ud800")),
]


@pytest.mark.parametrize(("route", "body"), HOSTILE, ids=[f"{r}-{i}" for i, (r, _) in enumerate(HOSTILE)])
async def test_signed_hostile_body_is_400_and_not_stored(make_bot: Any, route: str, body: bytes) -> None:
    bot = await make_bot(**fuzz_overrides())
    assert await _post(bot, route, body) == 400
    assert await inbox_count(bot) == 0


# Root cause 6: a text, mixed or event part that is not an object raised AttributeError (500).
# Such a message has nothing the bot handles: acknowledged as ignored, nothing stored.
IGNORED = [_wecom(text="x"), _wecom(msgtype="mixed", mixed=[]), _wecom(msgtype="mixed", mixed={"msg_item": 5}),
           _wecom(msgtype="event", event="x"), _wecom(msgtype="event", event={"eventtype": ["x"]})]


@pytest.mark.parametrize("body", IGNORED, ids=["text", "mixed-list", "mixed-items", "event-str", "event-list"])
async def test_wecom_parts_of_the_wrong_shape_are_ignored(make_bot: Any, body: bytes) -> None:
    bot = await make_bot(**fuzz_overrides())
    assert await _post(bot, "wecom", body) == 200
    assert await inbox_count(bot) == 0


@pytest.mark.parametrize("xml", wecom_xml_bodies()[:3], ids=["utf16-bomb", "utf8-dtd", "gbk-declared"])
async def test_wecom_xml_with_dtd_or_foreign_encoding_is_400(make_bot: Any, xml: bytes) -> None:
    # Root cause 10: a UTF-16 document hid its DTD from a byte search and was stored.
    bot = await make_bot(**fuzz_overrides())
    assert await _post(bot, "wecom_xml", xml) == 400
    assert await inbox_count(bot) == 0


async def test_accepted_events_are_all_processed_without_error(make_bot: Any) -> None:
    # The other side of root cause 9: what is acknowledged can always be processed.
    bot = await make_bot(**fuzz_overrides())
    for route, body in (("wecom", _wecom()), ("dingtalk", _ding()), ("feishu", _feishu())):
        assert await _post(bot, route, body) == 200, route
    await bot.client.app[INBOX].drain()
    async with bot.ctx.sessions() as s:
        rows = (await s.execute(select(InboxEvent))).scalars().all()
    assert len(rows) == 3 and all(r.processed_at is not None and r.error is None for r in rows)


@pytest.mark.parametrize("platform", ["feishu", "dingtalk"])
async def test_non_utf8_signature_headers_are_401(make_bot: Any, platform: str) -> None:
    # Root cause 8: lone surrogates from undecodable header bytes broke .encode() before auth.
    bot = await make_bot(**fuzz_overrides())
    junk = "\udcff\udcfe"
    if platform == "feishu":
        headers = {"X-Lark-Request-Timestamp": junk, "X-Lark-Request-Nonce": junk, "X-Lark-Signature": junk}
    else:
        headers = {"timestamp": str(int(bot.clock.now().timestamp()) * 1000), "sign": junk}
    shot = Shot("POST", f"/webhooks/{platform}/{BOT}", headers, b"{}")
    assert await send(bot.client.host, bot.client.port, shot) == 401
