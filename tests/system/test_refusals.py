"""Forged, stale, replayed, undecryptable and truncated callbacks on each platform's webhook
route: refused with the platform's status, leaving no inbox row — only a log line and
``hotline_webhook_rejected_total`` — while a replay is acknowledged and processed once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.feishu.crypto import encrypt, event_signature
from bot.wiring import INBOX
from store.models import InboxEvent
from tests.conftest import ticket_body
from tests.fakes.dingtalk_server import http_callback, robot_message
from tests.fakes.feishu_server import callback_request, mention, message_event
from tests.fakes.wecom_server import aibot_text, build_callback
from tests.system.world import (
    BOT,
    BOT_NAME,
    CHATS,
    IDS,
    WECOM_AES_KEY,
    WECOM_OTHER_AES_KEY,
    inbox_count,
    metric,
    org,
    outbox_rows,
)

WECOM_TOKEN = "wecom-callback-token"
DING_SECRET = "ding-app-secret"
FEISHU_KEY = "feishu-encrypt-key"
REJECTED = "hotline_webhook_rejected_total"


def _accept_text(platform: str, event_id: str) -> Any:
    """A verified-looking 签收 message of 张承办 in the YLK group, as each platform sends it."""
    chat, who = CHATS[platform]["YLK"], IDS[platform]["张承办"]
    if platform == "wecom":
        return json.dumps(aibot_text(f"@{BOT_NAME} 签收 0001", userid=who, chatid=chat, msgid=event_id),
                          ensure_ascii=False)
    if platform == "dingtalk":
        return robot_message(text=" 签收 0001", msg_id=event_id, conversation_id=chat,
                             sender_staff_id=who)
    return message_event("@_user_1 签收 0001", chat_id=chat, sender=who, event_id=event_id,
                         mentions=[mention("@_user_1", "ou_bot", BOT_NAME)])


class Poster:
    """Builds and posts callbacks to ``/webhooks/<platform>/<bot>``, honest or spoiled."""

    def __init__(self, platform: str, bot: Any) -> None:
        self.platform = platform
        self.bot = bot
        self.now = int(bot.clock.now().timestamp())

    async def post(self, event_id: str, spoil: str = "") -> int:
        """Post the 签收 message; ``spoil`` names what is wrong with it. Returns the status."""
        payload = _accept_text(self.platform, event_id)
        path = f"/webhooks/{self.platform}/{BOT}"
        headers: dict[str, str]
        query = ""
        if self.platform == "wecom":
            key = WECOM_OTHER_AES_KEY if spoil == "wrong_key" else WECOM_AES_KEY
            query, body = build_callback(WECOM_TOKEN, key, "", payload, timestamp=str(self.now),
                                         sign_token="forged" if spoil == "forged" else None)
            headers = {"Content-Type": "application/json"}
            if spoil == "truncated":
                body = body[: len(body) // 2]
        elif self.platform == "dingtalk":
            ts = (self.now - 2 * 3600 if spoil == "stale" else self.now) * 1000
            headers, body = http_callback("forged" if spoil == "forged" else DING_SECRET, payload, ts, restamp=True)
            if spoil == "truncated":
                body = body[: len(body) // 2]
            if spoil == "wrong_key":  # an encrypted body no configured key opens
                body = json.dumps({"encrypt": encrypt("another key", json.dumps(payload))}).encode()
        else:
            ts = str(self.now - 3600 if spoil == "stale" else self.now)
            key = "another key" if spoil == "forged" else FEISHU_KEY
            body, headers = callback_request(payload, encrypt_key=key, timestamp=ts)
            if spoil in ("wrong_key", "truncated"):
                if spoil == "wrong_key":  # encrypted with another key, signed with ours
                    body = json.dumps({"encrypt": encrypt("another key", json.dumps(payload))}).encode()
                else:  # cut in transit, then signed as received: the JSON cannot be parsed
                    body = body[: len(body) // 2]
                headers["X-Lark-Signature"] = event_signature(ts, headers["X-Lark-Request-Nonce"],
                                                              FEISHU_KEY, body)
        r = await self.bot.client.post(path + (f"?{query}" if query else ""), data=body, headers=headers)
        return r.status


def _config(platform: str) -> dict[str, Any]:
    if platform == "wecom":
        bot = {"mode": "webhook", "name": BOT_NAME, "token": WECOM_TOKEN, "aes_key": WECOM_AES_KEY}
    elif platform == "dingtalk":
        bot = {"mode": "http", "name": BOT_NAME, "app_key": "dingappkey", "app_secret": DING_SECRET}
    else:
        bot = {"mode": "webhook", "name": BOT_NAME, "verification_token": "vtoken",
               "encrypt_key": FEISHU_KEY, "max_timestamp_skew": 300.0}
    return org(platform, bot)


# (platform, spoil, expected status, metric reason)
CASES = [
    ("wecom", "forged", 401, "bad_signature"),
    ("wecom", "wrong_key", 400, "undecryptable"),
    ("wecom", "truncated", 400, "unparseable"),
    ("dingtalk", "forged", 401, "bad_signature"),
    ("dingtalk", "stale", 401, "stale_timestamp"),
    ("dingtalk", "wrong_key", 400, "undecryptable"),
    ("dingtalk", "truncated", 400, "bad_json"),
    ("feishu", "forged", 401, "bad_signature"),
    ("feishu", "stale", 401, "stale_timestamp"),
    ("feishu", "wrong_key", 400, "decrypt"),
    ("feishu", "truncated", 400, "bad_body"),
]


@pytest.mark.parametrize(("platform", "spoil", "status", "reason"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
async def test_refused_callback_leaves_no_trace(make_bot: Any, platform: str, spoil: str, status: int,
                                                reason: str, caplog: pytest.LogCaptureFixture) -> None:
    bot = await make_bot(**_config(platform))
    assert (await bot.post_ticket(ticket_body(unit="YLK"))).status == 201
    labels = {"platform": platform, "reason": reason}
    before = await metric(bot, REJECTED, **labels)

    assert await Poster(platform, bot).post("ev-spoiled", spoil) == status

    assert await inbox_count(bot) == 0
    assert await metric(bot, REJECTED, **labels) == before + 1
    assert any(r.levelname == "WARNING" and "refused" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("platform", ["wecom", "dingtalk", "feishu"])
async def test_replayed_event_is_acknowledged_and_processed_once(make_bot: Any, platform: str) -> None:
    bot = await make_bot(**_config(platform))
    assert (await bot.post_ticket(ticket_body(unit="YLK"))).status == 201
    poster = Poster(platform, bot)
    inbox = bot.client.app[INBOX]

    assert await poster.post("ev-once") == 200
    await inbox.drain()
    assert await poster.post("ev-once") == 200  # the platform's retry
    await inbox.drain()

    assert await inbox_count(bot) == 1
    async with bot.ctx.sessions() as s:
        row = (await s.get(InboxEvent, 1))
    assert row is not None and row.attempts == 1 and row.processed_at is not None
    answers = [r.payload["text"] for r in await outbox_rows(bot, kind="answer")]
    assert len(answers) == 1 and "张承办 已签收" in answers[0]
    assert await metric(bot, "hotline_inbox_events_total", platform=platform, outcome="duplicate") == 1
