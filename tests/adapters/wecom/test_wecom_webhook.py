"""``GET|POST /webhooks/wecom/{bot}``: handshake, verification, decoding, refusals, inbox, ack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.cards import ButtonPayload
from adapters.wecom.adapter import WeComAdapter, WeComBotConfig
from bot.messages import Action, ChatKind, IncomingMessage
from bot.metrics import Metrics
from tests.fakes.wecom_server import (
    aibot_click,
    aibot_event,
    aibot_text,
    app_click_xml,
    app_text_xml,
    build_callback,
    build_verify_url_query,
)

TOKEN = "QDG6eK"
AES = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
OTHER_AES = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP = "wwCORP"
VECTORS = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "wecom.json").read_text(encoding="utf-8"))["vectors"]


class Inbox:
    """Collects what the adapter commits; answers False for an event id seen before."""

    def __init__(self) -> None:
        self.messages: list[IncomingMessage] = []
        self._seen: set[str] = set()

    async def __call__(self, message: IncomingMessage) -> bool:
        self.messages.append(message)
        new = message.event_id not in self._seen
        self._seen.add(message.event_id)
        return new


def _cfg(**kw: Any) -> WeComBotConfig:
    base: dict[str, Any] = {"mode": "webhook", "name": "热线助手", "token": TOKEN, "aes_key": AES,
                            "corp_id": CORP}
    base.update(kw)
    return WeComBotConfig(**base)


def _rejected(metrics: Metrics, reason: str) -> float:
    return metrics.webhook_rejected.labels("wecom", reason)._value.get()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def client(aiohttp_client: Any, metrics: Metrics, inbox: Inbox) -> TestClient:
    adapter = WeComAdapter({"hotline": _cfg(), "small": _cfg(max_body_bytes=2048)}, metrics=metrics)
    app = web.Application()
    adapter.setup_routes(app)
    async with aiohttp.ClientSession() as http:
        await adapter.start(http, inbox)
        yield await aiohttp_client(app)
        await adapter.stop()


async def _post(client: TestClient, body_plain: str | bytes, *, bot: str = "hotline",
                receiveid: str = "", **kw: Any) -> aiohttp.ClientResponse:
    query, body = build_callback(TOKEN, kw.pop("aes", AES), receiveid, body_plain, **kw)
    return await client.post(f"/webhooks/wecom/{bot}?{query}", data=body)


# -- handshake ---------------------------------------------------------------------------------

@pytest.mark.parametrize("vector", [pytest.param(v, id=v["id"]) for v in VECTORS
                                    if v["kind"] == "wecom.verify_url"])
async def test_url_handshake_vectors(aiohttp_client: Any, vector: dict[str, Any]) -> None:
    i, e = vector["inputs"], vector["expected"]
    metrics = Metrics()
    adapter = WeComAdapter({"v": WeComBotConfig(mode="webhook", token=i["token"],
                                                aes_key=i["encoding_aes_key"], corp_id=i["receiveid"])},
                           metrics=metrics)
    app = web.Application()
    adapter.setup_routes(app)
    client = await aiohttp_client(app)
    await adapter.start(client.session, Inbox())
    resp = await client.get(f"/webhooks/wecom/v?{i['query_string']}")
    if e["signature_valid"]:
        assert resp.status == 200
        assert await resp.read() == e["response_body"].encode()  # bare: no quotes, BOM, newline
    else:
        assert resp.status == 401
        assert _rejected(metrics, "bad_signature") == 1
    await adapter.stop()


@pytest.mark.parametrize("vector", [pytest.param(v, id=v["id"]) for v in VECTORS
                                    if v["kind"] == "wecom.callback_post"])
async def test_callback_post_vectors_through_the_route(aiohttp_client: Any,
                                                       vector: dict[str, Any]) -> None:
    i, e = vector["inputs"], vector["expected"]
    inbox = Inbox()
    adapter = WeComAdapter({"v": WeComBotConfig(mode="webhook", token=i["token"],
                                                aes_key=i["encoding_aes_key"], corp_id=i["receiveid"])},
                           metrics=Metrics())
    app = web.Application()
    adapter.setup_routes(app)
    client = await aiohttp_client(app)
    await adapter.start(client.session, inbox)
    body = (f"<xml><ToUserName><![CDATA[{i['receiveid']}]]></ToUserName>"
            f"<Encrypt><![CDATA[{i['encrypt']}]]></Encrypt><AgentID><![CDATA[1]]></AgentID></xml>")
    query = f"msg_signature={e['msg_signature']}&timestamp={i['timestamp']}&nonce={i['nonce']}"
    resp = await client.post(f"/webhooks/wecom/v?{query}", data=body)
    if e["plaintext"].startswith("<xml>"):
        assert resp.status == 200
        assert await resp.read() == b""
        [msg] = inbox.messages
        assert msg.chat_kind is ChatKind.DIRECT
        assert msg.text in ("hello", "你好", "test")
        assert msg.event_id and msg.event_id == msg.message_id
    else:  # the sample's malformed JSON plaintext: verified but unparseable
        assert resp.status == 400
        assert inbox.messages == []
    await adapter.stop()


async def test_handshake_aibot_empty_receiveid(client: TestClient) -> None:
    query = build_verify_url_query(TOKEN, AES, "", "echo-123")
    resp = await client.get(f"/webhooks/wecom/hotline?{query}")
    assert resp.status == 200
    assert await resp.text() == "echo-123"


async def test_handshake_forged(client: TestClient, metrics: Metrics) -> None:
    query = build_verify_url_query("WRONG", AES, "", "echo-123")
    resp = await client.get(f"/webhooks/wecom/hotline?{query}")
    assert resp.status == 401
    assert _rejected(metrics, "bad_signature") == 1


# -- verified messages -------------------------------------------------------------------------

async def test_group_text_reaches_inbox_exactly(client: TestClient, inbox: Inbox) -> None:
    body = aibot_text("@热线助手\u2005签收 A123", userid="zhangsan", chatid="wrGROUP1", msgid="MSG1")
    resp = await _post(client, json.dumps(body, ensure_ascii=False))
    assert resp.status == 200
    assert await resp.read() == b""
    assert inbox.messages == [IncomingMessage(
        platform="wecom", bot="hotline", chat_id="wrGROUP1", chat_kind=ChatKind.GROUP,
        sender_id="zhangsan", text="签收 A123", mentions=(), mentioned_bot=True,
        quoted_message_id=None, action=None, event_id="MSG1", message_id="MSG1")]
    assert inbox.messages[0].raw == body


async def test_direct_text(client: TestClient, inbox: Inbox) -> None:
    resp = await _post(client, json.dumps(aibot_text("查询 A123", chatid=None, userid="u1", msgid="M2")))
    assert resp.status == 200
    [msg] = inbox.messages
    assert (msg.chat_id, msg.chat_kind, msg.sender_id, msg.text) == ("u1", ChatKind.DIRECT, "u1", "查询 A123")
    assert msg.mentioned_bot is False


async def test_mixed_message_keeps_text(client: TestClient, inbox: Inbox) -> None:
    body = aibot_text("x", msgid="M3")
    body["msgtype"] = "mixed"
    del body["text"]
    body["mixed"] = {"msg_item": [{"msgtype": "text", "text": {"content": "@热线助手 进展 A123 已联系"}},
                                  {"msgtype": "image", "image": {"url": "https://x/y"}}]}
    assert (await _post(client, json.dumps(body, ensure_ascii=False))).status == 200
    assert inbox.messages[0].text == "进展 A123 已联系"


async def test_duplicate_still_acks_200(client: TestClient, inbox: Inbox) -> None:
    plain = json.dumps(aibot_text("签收 A1", msgid="DUP"))
    first = await _post(client, plain)
    second = await _post(client, plain)  # WeCom's retry: same msgid, new nonce
    assert (first.status, second.status) == (200, 200)
    assert [m.event_id for m in inbox.messages] == ["DUP", "DUP"]


async def test_card_click_decoded(client: TestClient, inbox: Inbox) -> None:
    key = ButtonPayload.of(Action("同意", "同意", "12345/A123", "tok-1", "primary")).to_json()
    resp = await _post(client, json.dumps(aibot_click(key, "A123-x", msgid="CLICK1"), ensure_ascii=False))
    assert resp.status == 200
    [msg] = inbox.messages
    assert msg.action == {"cmd": "同意", "ticket": "12345/A123", "token": "tok-1"}
    assert (msg.sender_id, msg.chat_id, msg.event_id, msg.text) == ("lisi", "wrGROUP1", "CLICK1", "")


async def test_app_xml_text_and_click(client: TestClient, inbox: Inbox) -> None:
    resp = await _post(client, app_text_xml("@热线助手 待办", corp_id=CORP), receiveid=CORP,
                       envelope="xml")
    assert resp.status == 200
    key = ButtonPayload.of(Action("签收", "签收", "12345/B9", "t9")).to_json()
    resp = await _post(client, app_click_xml(key, "B9-1", "RC123", corp_id=CORP), receiveid=CORP,
                       envelope="xml")
    assert resp.status == 200
    text, click = inbox.messages
    assert (text.text, text.chat_kind, text.sender_id) == ("待办", ChatKind.DIRECT, "zhangsan")
    assert click.action == {"cmd": "签收", "ticket": "12345/B9", "token": "t9"}
    assert click.message_id == "rc:RC123"


@pytest.mark.parametrize("body", [
    aibot_event("enter_chat"),
    aibot_event("feedback_event"),
    aibot_click("not-our-key", "T"),
    {**aibot_text("x"), "msgtype": "voice", "voice": {"content": "语音转文字"}},
    {**aibot_text("x"), "msgtype": "image", "image": {}},  # an image without its download URL
])
async def test_unhandled_events_are_acked_not_stored(client: TestClient, inbox: Inbox,
                                                     body: dict[str, Any]) -> None:
    resp = await _post(client, json.dumps(body))
    assert resp.status == 200
    assert inbox.messages == []


# -- refusals ----------------------------------------------------------------------------------

async def test_forged_signature(client: TestClient, inbox: Inbox, metrics: Metrics) -> None:
    resp = await _post(client, json.dumps(aibot_text("x")), sign_token="forger")
    assert resp.status == 401
    assert (await resp.json())["error"] == "bad_signature"
    assert _rejected(metrics, "bad_signature") == 1
    assert inbox.messages == []


async def test_missing_signature(client: TestClient, inbox: Inbox, metrics: Metrics) -> None:
    _, body = build_callback(TOKEN, AES, "", json.dumps(aibot_text("x")))
    resp = await client.post("/webhooks/wecom/hotline?timestamp=1&nonce=2", data=body)
    assert resp.status == 401
    assert _rejected(metrics, "missing_signature") == 1
    assert inbox.messages == []


async def test_wrong_decryption_key(client: TestClient, inbox: Inbox, metrics: Metrics) -> None:
    resp = await _post(client, json.dumps(aibot_text("x")), aes=OTHER_AES)  # right token, wrong key
    assert resp.status == 400
    assert _rejected(metrics, "undecryptable") == 1
    assert inbox.messages == []


async def test_truncated_body(client: TestClient, inbox: Inbox, metrics: Metrics) -> None:
    query, body = build_callback(TOKEN, AES, "", json.dumps(aibot_text("x")))
    resp = await client.post(f"/webhooks/wecom/hotline?{query}", data=body[: len(body) // 2])
    assert resp.status == 400
    assert _rejected(metrics, "unparseable") == 1
    assert inbox.messages == []


async def test_truncated_ciphertext_resigned(client: TestClient, inbox: Inbox,
                                             metrics: Metrics) -> None:
    from tests.fakes.wecom_server import wecom_encrypt, wecom_signature
    enc = wecom_encrypt(AES, json.dumps(aibot_text("x")).encode(), "")[:-24]
    sig = wecom_signature(TOKEN, "1700000000", "n1", enc)
    resp = await client.post(f"/webhooks/wecom/hotline?msg_signature={sig}&timestamp=1700000000&nonce=n1",
                             data=json.dumps({"encrypt": enc}))
    assert resp.status == 400
    assert _rejected(metrics, "undecryptable") == 1
    assert inbox.messages == []


async def test_oversize_body(client: TestClient, inbox: Inbox, metrics: Metrics) -> None:
    resp = await _post(client, json.dumps(aibot_text("长" * 2000)), bot="small")
    assert resp.status == 413
    assert _rejected(metrics, "too_large") == 1
    assert inbox.messages == []


async def test_oversize_chunked_body_without_length(client: TestClient, metrics: Metrics) -> None:
    query, body = build_callback(TOKEN, AES, "", json.dumps(aibot_text("长" * 2000)))

    async def stream() -> Any:
        for i in range(0, len(body), 512):
            yield body[i:i + 512]

    resp = await client.post(f"/webhooks/wecom/small?{query}", data=stream())
    assert resp.status == 413
    assert _rejected(metrics, "too_large") == 1


async def test_wrong_receiveid(client: TestClient, inbox: Inbox, metrics: Metrics) -> None:
    resp = await _post(client, json.dumps(aibot_text("x")), receiveid="wwOTHERCORP")
    assert resp.status == 401
    assert _rejected(metrics, "bad_receiveid") == 1
    assert inbox.messages == []


async def test_verified_but_not_json(client: TestClient, inbox: Inbox, metrics: Metrics) -> None:
    resp = await _post(client, "{not json")
    assert resp.status == 400
    assert _rejected(metrics, "unparseable") == 1
    assert inbox.messages == []


async def test_xml_with_dtd_refused(client: TestClient, inbox: Inbox) -> None:
    evil = '<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><FromUserName>&a;</FromUserName></xml>'
    resp = await _post(client, evil, receiveid=CORP, envelope="xml")
    assert resp.status == 400
    assert inbox.messages == []


async def test_unknown_bot_404(client: TestClient, inbox: Inbox, metrics: Metrics) -> None:
    resp = await _post(client, json.dumps(aibot_text("x")), bot="nobody")
    assert resp.status == 404
    assert _rejected(metrics, "unknown_bot") == 1
    assert inbox.messages == []


async def test_503_before_start(aiohttp_client: Any) -> None:
    adapter = WeComAdapter({"hotline": _cfg()}, metrics=Metrics())
    app = web.Application()
    adapter.setup_routes(app)
    client = await aiohttp_client(app)
    query, body = build_callback(TOKEN, AES, "", json.dumps(aibot_text("x")))
    resp = await client.post(f"/webhooks/wecom/hotline?{query}", data=body)
    assert resp.status == 503


async def test_inbox_failure_is_500_so_wecom_retries(aiohttp_client: Any) -> None:
    async def broken(message: IncomingMessage) -> bool:
        raise RuntimeError("store down")

    adapter = WeComAdapter({"hotline": _cfg()}, metrics=Metrics())
    app = web.Application()
    adapter.setup_routes(app)
    client = await aiohttp_client(app)
    await adapter.start(client.session, broken)
    query, body = build_callback(TOKEN, AES, "", json.dumps(aibot_text("x")))
    resp = await client.post(f"/webhooks/wecom/hotline?{query}", data=body)
    assert resp.status == 500
    await adapter.stop()


async def test_old_timestamp_is_not_refused(client: TestClient, inbox: Inbox) -> None:
    # WeCom documents no timestamp window: signature + dedupe decide, not age.
    resp = await _post(client, json.dumps(aibot_text("x", msgid="OLD")), timestamp="1409659813")
    assert resp.status == 200
    assert [m.event_id for m in inbox.messages] == ["OLD"]
