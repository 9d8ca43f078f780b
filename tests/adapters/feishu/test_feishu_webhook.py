"""The Feishu webhook route: handshake, verification, decoding, inbox-before-ack, refusals."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.feishu.adapter import FeishuAdapter, FeishuBotConfig
from bot.clock import FrozenClock
from bot.messages import ChatKind, IncomingMessage
from bot.metrics import Metrics
from tests.fakes.feishu_server import (
    FeishuFake,
    callback_request,
    card_action_event,
    mention,
    message_event,
    url_verification,
)

KEY = "test key"
TOKEN = "vtoken"
ROUTE = "/webhooks/feishu/main"


class Inbox:
    """Collects what the adapter writes; answers ``result`` (False = duplicate)."""

    def __init__(self, result: bool = True, fail: bool = False) -> None:
        self.messages: list[IncomingMessage] = []
        self.result = result
        self.fail = fail

    async def __call__(self, message: IncomingMessage) -> bool:
        if self.fail:
            raise RuntimeError("store down")
        self.messages.append(message)
        return self.result


class Harness:
    def __init__(self, client: TestClient, adapter: FeishuAdapter, inbox: Inbox,
                 metrics: Metrics) -> None:
        self.client, self.adapter, self.inbox, self.metrics = client, adapter, inbox, metrics

    async def post(self, body: bytes, headers: dict[str, str] | None = None,
                   bot: str = "main") -> aiohttp.ClientResponse:
        return await self.client.post(f"/webhooks/feishu/{bot}", data=body, headers=headers or {})

    def rejected(self, reason: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "hotline_webhook_rejected_total", {"platform": "feishu", "reason": reason})
        return value or 0.0


Make = Callable[..., Awaitable[Harness]]


@pytest.fixture
def make(aiohttp_client: Any) -> Make:
    async def factory(cfg: FeishuBotConfig | None = None, *, inbox: Inbox | None = None,
                      start: bool = True, clock: FrozenClock | None = None) -> Harness:
        cfg = cfg or FeishuBotConfig(mode="webhook", name="热线机器人", verification_token=TOKEN,
                                     encrypt_key=KEY)
        metrics = Metrics()
        # The fake's callbacks are stamped 1700000000 unless told otherwise: "now" is then.
        clock = clock or FrozenClock(datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC))
        adapter = FeishuAdapter({"main": cfg}, clock=clock, metrics=metrics)
        app = web.Application()
        adapter.setup_routes(app)
        client = await aiohttp_client(app)
        inbox = inbox or Inbox()
        if start:
            await adapter.start(client.session, inbox)
        return Harness(client, adapter, inbox, metrics)
    return factory


def _vector(vid: str) -> dict[str, Any]:
    path = Path(__file__).resolve().parents[2] / "vectors" / "feishu.json"
    return next(v for v in json.loads(path.read_text("utf-8"))["vectors"] if v["id"] == vid)


# -- URL verification ------------------------------------------------------------------------

async def test_encrypted_handshake_vector_answers_plain_challenge(make: Make) -> None:
    v = _vector("feishu-encrypted-url-verification-generated")
    h = await make(FeishuBotConfig(mode="webhook", encrypt_key=v["inputs"]["encrypt_key"],
                                   verification_token=v["inputs"]["verification_token"]))
    resp = await h.post(v["inputs"]["body"].encode())  # the handshake comes unsigned
    assert resp.status == 200
    assert await resp.text() == v["expected"]["response_body"]
    assert resp.content_type == "application/json"
    assert h.inbox.messages == []


async def test_signed_handshake_vector_is_accepted_too(make: Make) -> None:
    v = _vector("feishu-signature-encrypted-body-generated")
    h = await make(FeishuBotConfig(mode="webhook", encrypt_key="test key", verification_token="xxxxxx"))
    i = v["inputs"]
    resp = await h.post(i["body"].encode(), {"X-Lark-Request-Timestamp": i["timestamp"],
                                             "X-Lark-Request-Nonce": i["nonce"],
                                             "X-Lark-Signature": v["expected"]["signature"]})
    assert resp.status == 200
    assert await resp.json() == {"challenge": "ajls384kdjx98XX"}


async def test_gosdk_vector_schema2_handshake(make: Make) -> None:
    v = _vector("feishu-gosdk-decrypt-event")
    h = await make(FeishuBotConfig(mode="webhook", encrypt_key="1212121212", verification_token="v"))
    resp = await h.post(json.dumps({"encrypt": v["inputs"]["encrypt"]}).encode())
    assert resp.status == 200
    assert await resp.json() == {"challenge": "1212"}


async def test_plain_handshake_checks_the_token(make: Make) -> None:
    h = await make(FeishuBotConfig(mode="webhook", verification_token=TOKEN))
    ok = await h.post(json.dumps(url_verification("c1", TOKEN)).encode())
    assert ok.status == 200 and await ok.json() == {"challenge": "c1"}
    bad = await h.post(json.dumps(url_verification("c1", "forged")).encode())
    assert bad.status == 401
    assert h.rejected("bad_token") == 1


async def test_encrypted_handshake_with_wrong_token_is_refused(make: Make) -> None:
    h = await make()
    body, _ = callback_request(url_verification("c", "forged"), encrypt_key=KEY, sign=False)
    assert (await h.post(body)).status == 401


# -- verified events -------------------------------------------------------------------------

async def test_verified_message_reaches_inbox_exactly(make: Make) -> None:
    h = await make()
    env = message_event("@_user_1 签收 A123 @_user_2 请跟进", event_id="ev1", message_id="om_1",
                        mentions=[mention("@_user_1", "ou_bot", "热线机器人"),
                                  mention("@_user_2", "ou_zhang", "张三")])
    body, headers = callback_request(env, encrypt_key=KEY)
    resp = await h.post(body, headers)
    assert resp.status == 200
    assert await resp.json() == {"msg": "success"}
    assert h.inbox.messages == [IncomingMessage(
        platform="feishu", bot="main", chat_id="oc_group", chat_kind=ChatKind.GROUP,
        sender_id="ou_sender", text="签收 A123 @张三 请跟进", mentions=("ou_zhang",),
        mentioned_bot=True, quoted_message_id=None, action=None, event_id="ev1",
        message_id="om_1")]


async def test_plaintext_event_verified_by_token(make: Make) -> None:
    h = await make(FeishuBotConfig(mode="webhook", verification_token=TOKEN, name="热线机器人"))
    ok = await h.post(*callback_request(message_event("帮助", event_id="e1")))
    assert ok.status == 200
    assert [m.text for m in h.inbox.messages] == ["帮助"]
    forged = await h.post(*callback_request(message_event("帮助", token="guess")))
    assert forged.status == 401
    assert h.rejected("bad_token") == 1
    assert len(h.inbox.messages) == 1


async def test_direct_message_and_quote(make: Make) -> None:
    h = await make()
    env = message_event("答复 A123 已处理", chat_type="p2p", chat_id="oc_p2p", parent_id="om_parent")
    resp = await h.post(*callback_request(env, encrypt_key=KEY))
    assert resp.status == 200
    msg = h.inbox.messages[0]
    assert (msg.chat_kind, msg.chat_id, msg.quoted_message_id) == (ChatKind.DIRECT, "oc_p2p", "om_parent")
    assert msg.mentioned_bot is False


async def test_post_message_text_is_flattened(make: Make) -> None:
    h = await make()
    content = {"title": "", "content": [[{"tag": "at", "user_id": "@_user_1", "user_name": "热线机器人"},
                                          {"tag": "text", "text": " 进展 A123"}],
                                         [{"tag": "text", "text": "已联系来电人"}]]}
    env = message_event("", message_type="post", content=content,
                        mentions=[mention("@_user_1", "ou_bot", "热线机器人")])
    assert (await h.post(*callback_request(env, encrypt_key=KEY))).status == 200
    assert h.inbox.messages[0].text == "进展 A123\n已联系来电人"
    assert h.inbox.messages[0].mentioned_bot


async def test_duplicate_event_still_acks_200(make: Make) -> None:
    h = await make(inbox=Inbox(result=False))
    resp = await h.post(*callback_request(message_event("签收 A1", event_id="same"), encrypt_key=KEY))
    assert resp.status == 200
    assert len(h.inbox.messages) == 1


async def test_card_click_is_decoded(make: Make) -> None:
    h = await make()
    value = {"v": 1, "cmd": "同意", "ticket": "12345/A123", "token": "tok"}
    env = card_action_event(value, operator="ou_leader", message_id="om_card", event_id="click1")
    resp = await h.post(*callback_request(env, encrypt_key=KEY))
    assert resp.status == 200
    assert (await resp.json())["toast"]["type"] == "info"
    msg = h.inbox.messages[0]
    assert msg.action == {"cmd": "同意", "ticket": "12345/A123", "token": "tok"}
    assert (msg.sender_id, msg.message_id, msg.event_id, msg.chat_id) == (
        "ou_leader", "om_card", "click1", "oc_group")


@pytest.mark.parametrize("envelope", [
    card_action_event({"act": "foreign"}),
    message_event("", message_type="audio", content={"file_key": "file_v3_audio", "duration": 2000}),
    {"schema": "2.0", "header": {"event_id": "j", "event_type": "im.chat.member.user.added_v1",
                                 "token": TOKEN}, "event": {}},
    {"uuid": "u1", "token": TOKEN, "event": {"type": "message"}},
], ids=["foreign-button", "audio", "member-added", "schema1"])
async def test_unhandled_events_are_acked_and_ignored(make: Make, envelope: dict[str, Any]) -> None:
    h = await make()
    resp = await h.post(*callback_request(envelope, encrypt_key=KEY))
    assert resp.status == 200
    assert h.inbox.messages == []


async def test_inbox_failure_is_not_acked(make: Make) -> None:
    h = await make(inbox=Inbox(fail=True))
    resp = await h.post(*callback_request(message_event("签收 A1"), encrypt_key=KEY))
    assert resp.status == 500


async def test_bot_open_id_learned_at_start_strips_renamed_bot(aiohttp_client: Any) -> None:
    fake = FeishuFake(bot_open_id="ou_real_bot")
    server = TestServer(fake.app)
    await server.start_server()
    try:
        cfg = FeishuBotConfig(mode="webhook", name="旧名字", verification_token=TOKEN, encrypt_key=KEY,
                              app_id="cli_test", app_secret="secret",
                              api_base=str(server.make_url("")))
        adapter = FeishuAdapter({"main": cfg}, metrics=Metrics(),
                                clock=FrozenClock(datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)))
        app = web.Application()
        adapter.setup_routes(app)
        client = await aiohttp_client(app)
        inbox = Inbox()
        await adapter.start(client.session, inbox)
        assert adapter.bot_open_id("main") == "ou_real_bot"
        env = message_event("@_user_1 待办", mentions=[mention("@_user_1", "ou_real_bot", "新名字")])
        body, headers = callback_request(env, encrypt_key=KEY)
        assert (await client.post(ROUTE, data=body, headers=headers)).status == 200
        assert (inbox.messages[0].text, inbox.messages[0].mentioned_bot) == ("待办", True)
        await adapter.stop()
    finally:
        await server.close()


# -- refusals --------------------------------------------------------------------------------

async def _assert_refused(h: Harness, body: bytes, headers: dict[str, str], status: int,
                          reason: str) -> None:
    resp = await h.post(body, headers)
    assert resp.status == status, await resp.text()
    assert (await resp.json())["error"] == reason
    assert h.rejected(reason) == 1
    assert h.inbox.messages == []


async def test_forged_signature_is_refused(make: Make) -> None:
    h = await make()
    body, headers = callback_request(message_event("签收 A1"), encrypt_key=KEY)
    headers["X-Lark-Signature"] = "0" * 64
    await _assert_refused(h, body, headers, 401, "bad_signature")


async def test_signature_from_another_key_is_refused(make: Make) -> None:
    h = await make()
    body, headers = callback_request(message_event("签收 A1"), encrypt_key="platform key")
    await _assert_refused(h, body, headers, 401, "bad_signature")


async def test_unsigned_event_is_refused(make: Make) -> None:
    h = await make()
    body, headers = callback_request(message_event("签收 A1"), encrypt_key=KEY, sign=False)
    await _assert_refused(h, body, headers, 401, "missing_signature")


async def test_tampered_timestamp_breaks_signature(make: Make) -> None:
    h = await make()
    body, headers = callback_request(message_event("签收 A1"), encrypt_key=KEY)
    headers["X-Lark-Request-Timestamp"] = "1700000001"
    await _assert_refused(h, body, headers, 401, "bad_signature")


async def test_wrong_decryption_key_is_400(make: Make) -> None:
    # Signed correctly (with our key) but encrypted under another key: verified, undecryptable.
    h = await make()
    from adapters.feishu.crypto import encrypt, event_signature
    body = json.dumps({"encrypt": encrypt("other key", '{"a": 1}', iv=bytes(16))}).encode()
    headers = {"X-Lark-Request-Timestamp": "1700000000", "X-Lark-Request-Nonce": "n",
               "X-Lark-Signature": event_signature("1700000000", "n", KEY, body)}
    await _assert_refused(h, body, headers, 400, "decrypt")


async def test_truncated_signed_body_is_refused(make: Make) -> None:
    h = await make()
    body, headers = callback_request(message_event("签收 A1"), encrypt_key=KEY)
    await _assert_refused(h, body[:-20], headers, 401, "bad_signature")


async def test_truncated_plain_body_is_400(make: Make) -> None:
    h = await make(FeishuBotConfig(mode="webhook", verification_token=TOKEN))
    body, headers = callback_request(message_event("签收 A1"))
    await _assert_refused(h, body[:-20], headers, 400, "bad_body")


async def test_signed_but_not_encrypted_body_is_400(make: Make) -> None:
    h = await make()
    from adapters.feishu.crypto import event_signature
    body = json.dumps(message_event("签收 A1")).encode()
    headers = {"X-Lark-Request-Timestamp": "1700000000", "X-Lark-Request-Nonce": "n",
               "X-Lark-Signature": event_signature("1700000000", "n", KEY, body)}
    await _assert_refused(h, body, headers, 400, "bad_body")


async def test_verified_but_malformed_event_is_400(make: Make) -> None:
    h = await make()
    env = message_event("签收 A1")
    del env["event"]["sender"]
    await _assert_refused(h, *callback_request(env, encrypt_key=KEY), 400, "bad_event")


async def test_oversize_body_is_refused_before_reading(make: Make) -> None:
    h = await make()
    big = io.BytesIO(b"{" + b" " * (1024 * 1024 + 1) + b"}")
    resp = await h.client.post(ROUTE, data=big)
    assert resp.status == 413
    assert resp.request_info.headers.get("Content-Length") == str(1024 * 1024 + 3)
    assert (await resp.json())["error"] == "too_large"
    assert h.rejected("too_large") == 1
    assert h.inbox.messages == []


async def test_oversize_chunked_body_is_refused(make: Make) -> None:
    h = await make()

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    resp = await h.client.post(ROUTE, data=chunks())
    assert resp.status == 413
    assert h.rejected("too_large") == 1


async def test_stale_timestamp_refused_when_window_configured(make: Make) -> None:
    clock = FrozenClock(datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC))  # 1700000000
    cfg = FeishuBotConfig(mode="webhook", verification_token=TOKEN, encrypt_key=KEY,
                          max_timestamp_skew=300)
    h = await make(cfg, clock=clock)
    fresh = callback_request(message_event("签收 A1"), encrypt_key=KEY, timestamp="1700000100")
    assert (await h.post(*fresh)).status == 200
    stale = callback_request(message_event("签收 A2"), encrypt_key=KEY, timestamp="1699990000")
    resp = await h.post(*stale)
    assert resp.status == 401
    assert h.rejected("stale_timestamp") == 1
    assert len(h.inbox.messages) == 1


async def test_default_window_keeps_retries_and_refuses_replays(make: Make) -> None:
    # Feishu retries a failed push for up to ~6 h: that retry is taken, a day-old callback
    # (validly signed, replayed with a new event id) is refused as stale.
    h = await make()
    now = 1700000000
    retry = callback_request(message_event("签收 A1", event_id="e-retry"), encrypt_key=KEY,
                             timestamp=str(now - 6 * 3600 - 60))
    replay = callback_request(message_event("签收 A1", event_id="e-new-id"), encrypt_key=KEY,
                              timestamp=str(now - 24 * 3600))
    assert (await h.post(*retry)).status == 200
    assert (await h.post(*replay)).status == 401
    assert [m.event_id for m in h.inbox.messages] == ["e-retry"]
    assert h.rejected("stale_timestamp") == 1


async def test_window_zero_turns_the_check_off(make: Make) -> None:
    cfg = FeishuBotConfig(mode="webhook", verification_token=TOKEN, encrypt_key=KEY, max_timestamp_skew=0)
    h = await make(cfg)
    resp = await h.post(*callback_request(message_event("签收 A1"), encrypt_key=KEY, timestamp="1"))
    assert resp.status == 200


async def test_unknown_bot_404_and_not_started_503(make: Make) -> None:
    h = await make(start=False)
    body, headers = callback_request(message_event("签收 A1"), encrypt_key=KEY)
    assert (await h.post(body, headers, bot="nobody")).status == 404
    assert (await h.post(body, headers)).status == 503
    assert h.inbox.messages == []
