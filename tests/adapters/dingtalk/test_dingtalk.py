"""DingTalk inbound: official vectors, the robot HTTP callback route, decoding, Stream mode.

HTTP callbacks are posted to our route with aiohttp's TestClient; Stream mode runs against the
fake gateway in tests/fakes/dingtalk_server.py over a real WebSocket.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from adapters.cards import ButtonPayload
from adapters.dingtalk.adapter import DingTalkAdapter, DingTalkBotConfig, StreamOptions
from adapters.dingtalk.crypto import (
    CallbackRefusal,
    callback_sign,
    hmac_sign,
    robot_webhook_sign,
    robot_webhook_url,
    verify_callback,
)
from adapters.dingtalk.decode import (
    make_out_track_id,
    parse_out_track_id,
)
from adapters.dingtalk.stream import TOPIC_CARD, TOPIC_ROBOT, system_ack
from adapters.http import backoff_delay
from bot.clock import FrozenClock
from bot.messages import ChatKind, IncomingMessage
from bot.metrics import Metrics
from tests.fakes.dingtalk_server import (
    FakeDingTalk,
    RecordingInbox,
    card_click,
    disconnect_frame,
    http_callback,
    ping_frame,
    robot_message,
    stream_frame,
)

VECTORS_FILE = Path(__file__).resolve().parents[2] / "vectors" / "dingtalk.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text("utf-8"))["vectors"]
T0_MS = 1690362102194  # the Stream example frame's time, also the callback-sign vector's timestamp
T0 = datetime.fromtimestamp(T0_MS / 1000, UTC)
SECRET = "app-secret"
FAST = StreamOptions(heartbeat=5.0, idle_timeout=10.0, backoff_base=0.01, backoff_cap=0.05)


def vectors(kind: str) -> list[dict[str, Any]]:
    """The vectors of one kind, so each becomes its own test case."""
    found = [v for v in VECTORS if v["kind"] == kind]
    assert found, f"no {kind} vectors"
    return found


def rejected(metrics: Metrics, reason: str) -> float:
    """How often a callback was refused for ``reason``."""
    return metrics.registry.get_sample_value(
        "hotline_webhook_rejected_total", {"platform": "dingtalk", "reason": reason}) or 0.0


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def inbox() -> RecordingInbox:
    return RecordingInbox()


@pytest.fixture
def make_client(aiohttp_client: Any, clock: FrozenClock, metrics: Metrics, inbox: RecordingInbox
                ) -> Callable[..., Any]:
    """Build an app with the adapter's routes; ``start=False`` leaves the adapter unstarted."""
    async def build(start: bool = True, **cfg: Any) -> tuple[TestClient, DingTalkAdapter]:
        config = DingTalkBotConfig(**{"mode": "http", "name": "热线机器人", "app_key": "dingappkey",
                                      "app_secret": SECRET, **cfg})
        adapter = DingTalkAdapter({"main": config}, clock=clock, metrics=metrics)
        app = web.Application()
        adapter.setup_routes(app)
        client = await aiohttp_client(app)
        if start:
            await adapter.start(client.session, inbox)
        return client, adapter
    return build


async def post_callback(client: TestClient, payload: dict[str, Any], *, secret: str = SECRET,
                        ts: int = T0_MS, bot: str = "main") -> aiohttp.ClientResponse:
    headers, body = http_callback(secret, payload, ts)
    return await client.post(f"/webhooks/dingtalk/{bot}", data=body, headers=headers)


# --- official vectors ------------------------------------------------------------------------

@pytest.mark.parametrize("vector", vectors("dingtalk.callback_sign"), ids=lambda v: v["id"])
def test_vector_callback_sign(vector: dict[str, Any]) -> None:
    inputs, expected = vector["inputs"], vector["expected"]
    assert callback_sign(inputs["app_secret"], inputs["timestamp"]) == expected["sign"]
    now = int(inputs["timestamp"])
    assert verify_callback(inputs["app_secret"], inputs["timestamp"], expected["sign"], now) is None


@pytest.mark.parametrize("vector", vectors("dingtalk.webhook_sign"), ids=lambda v: v["id"])
def test_vector_webhook_sign(vector: dict[str, Any]) -> None:
    inputs, expected = vector["inputs"], vector["expected"]
    assert hmac_sign(inputs["secret"], inputs["timestamp"]) == expected["sign_base64"]
    assert robot_webhook_sign(inputs["secret"], inputs["timestamp"]) == expected["sign_urlencoded"]
    assert robot_webhook_url("https://oapi.dingtalk.com", inputs["access_token"], inputs["secret"],
                             inputs["timestamp"]) == expected["url"]


def test_vector_stream_ping_ack() -> None:
    (vector,) = [v for v in vectors("dingtalk.stream_ack") if v["id"] == "dingtalk-stream-ping-ack"]
    assert system_ack(vector["inputs"]["frame"]) == vector["expected"]["ack"]


async def test_vector_callback_sign_accepted_by_route(make_client: Any, clock: FrozenClock,
                                                      inbox: RecordingInbox) -> None:
    (vector,) = vectors("dingtalk.callback_sign")
    client, _ = await make_client(app_secret=vector["inputs"]["app_secret"])
    headers = {"timestamp": vector["inputs"]["timestamp"], "sign": vector["expected"]["sign"]}
    resp = await client.post("/webhooks/dingtalk/main", headers=headers,
                             data=json.dumps(robot_message()).encode())
    assert resp.status == 200
    assert len(inbox.messages) == 1


# --- HTTP callback route ---------------------------------------------------------------------

async def test_verified_message_reaches_inbox(make_client: Any, inbox: RecordingInbox,
                                              metrics: Metrics) -> None:
    client, _ = await make_client()
    payload = robot_message(
        text=" 签收 A123 ", msg_id="msgX1",
        at_users=[{"dingtalkId": "$:LWCP_v1:$bot"}, {"dingtalkId": "$:LWCP_v1:$li", "staffId": "staff-li"}])
    resp = await post_callback(client, payload)
    assert resp.status == 200
    assert await resp.read() == b""
    assert inbox.messages == [IncomingMessage(
        platform="dingtalk", bot="main", chat_id="cidGroup1==", chat_kind=ChatKind.GROUP,
        sender_id="staff-1", text="签收 A123", mentions=("staff-li",), mentioned_bot=True,
        quoted_message_id=None, action=None, event_id="msgX1", message_id="msgX1")]
    assert inbox.messages[0].raw == payload


async def test_direct_message_and_own_name_stripped(make_client: Any, inbox: RecordingInbox) -> None:
    client, _ = await make_client()
    payload = robot_message(text="@热线机器人 查询 A123", group=False, msg_id="dm1", at_users=[],
                            in_at_list=False, conversation_id="cidSingle==")
    assert (await post_callback(client, payload)).status == 200
    (msg,) = inbox.messages
    assert (msg.chat_kind, msg.chat_id, msg.sender_id) == (ChatKind.DIRECT, "staff-1", "staff-1")
    assert msg.text == "查询 A123"
    assert msg.mentions == ()


async def test_quoted_message_and_rich_text(make_client: Any, inbox: RecordingInbox) -> None:
    client, _ = await make_client()
    quoted = robot_message(msg_id="q1")
    quoted["text"] = {"content": " 同意", "isReplyMsg": True,
                      "repliedMsg": {"msgId": "msgORIG", "msgType": "text"}}
    rich = robot_message(msg_id="r1", msgtype="richText",
                         content={"richText": [{"text": " 进展 A123 "}, {"type": "picture",
                                                                        "downloadCode": "x"}]})
    rich.pop("text")
    for i, payload in enumerate((quoted, rich)):  # each callback signed at its own moment
        assert (await post_callback(client, payload, ts=T0_MS + i)).status == 200
    assert inbox.messages[0].quoted_message_id == "msgORIG"
    assert inbox.messages[0].text == "同意"
    assert inbox.messages[1].text == "进展 A123"


async def test_duplicate_still_acknowledged(make_client: Any, inbox: RecordingInbox,
                                            metrics: Metrics) -> None:
    client, _ = await make_client()
    for _ in range(2):
        assert (await post_callback(client, robot_message(msg_id="dup"))).status == 200
    assert [m.event_id for m in inbox.messages] == ["dup", "dup"]
    assert inbox.seen == {"dup"}  # the inbox (not the adapter) counts the duplicate


async def test_unhandled_message_type_is_ignored(make_client: Any, inbox: RecordingInbox) -> None:
    client, _ = await make_client()
    audio = robot_message(msgtype="audio", content={"duration": "4000", "downloadCode": "abc",
                                                    "recognition": "语音"})
    audio.pop("text")  # pictures and files are attachments now (tests/adapters/test_downloads.py)
    assert (await post_callback(client, audio)).status == 200
    assert inbox.messages == []


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda h: h.update(sign="UjQh+Ye5ziP1HBmVtWUzU3mcCkwWoo33UIWd6D43nEg="), "bad_signature"),
    (lambda h: h.update(sign=h["sign"].rstrip("=")), "bad_signature"),
    (lambda h: h.pop("sign"), "missing_signature"),
    (lambda h: h.pop("timestamp"), "missing_signature"),
    (lambda h: h.update(timestamp="abc"), "bad_timestamp"),
    (lambda h: h.update(timestamp=str(T0_MS + 1)), "bad_signature"),  # sign covers the timestamp
])
async def test_forged_headers_refused(make_client: Any, inbox: RecordingInbox, metrics: Metrics,
                                      mutate: Callable[[dict[str, str]], Any], reason: str) -> None:
    client, _ = await make_client()
    headers, body = http_callback(SECRET, robot_message(), T0_MS)
    mutate(headers)
    resp = await client.post("/webhooks/dingtalk/main", data=body, headers=headers)
    assert resp.status == 401
    assert rejected(metrics, reason) == 1.0
    assert inbox.messages == []


async def test_wrong_app_secret_refused(make_client: Any, inbox: RecordingInbox, metrics: Metrics) -> None:
    client, _ = await make_client()
    resp = await post_callback(client, robot_message(), secret="someone-else")
    assert resp.status == 401
    assert rejected(metrics, CallbackRefusal.BAD_SIGNATURE) == 1.0
    assert inbox.messages == []


@pytest.mark.parametrize(("offset_ms", "status"), [
    (3_600_000, 200), (-3_600_000, 200), (3_600_001, 401), (-3_600_001, 401), (86_400_000, 401)])
async def test_timestamp_window(make_client: Any, inbox: RecordingInbox, metrics: Metrics,
                                clock: FrozenClock, offset_ms: int, status: int) -> None:
    client, _ = await make_client()
    clock.advance(milliseconds=offset_ms)  # now - timestamp == offset
    resp = await post_callback(client, robot_message())
    assert resp.status == status
    assert len(inbox.messages) == (1 if status == 200 else 0)
    assert rejected(metrics, "stale_timestamp") == (0.0 if status == 200 else 1.0)


async def test_encrypted_body_refused(make_client: Any, inbox: RecordingInbox, metrics: Metrics) -> None:
    """No body key is configured for robot callbacks, so an encrypted envelope cannot be read."""
    client, _ = await make_client()
    resp = await post_callback(client, {"encrypt": "1ojQf0NSvw2WPvW7LijxS8UvISr8pdDP+rXpPbcLGOmIBNbW"})
    assert resp.status == 400
    assert rejected(metrics, "undecryptable") == 1.0
    assert inbox.messages == []


async def test_truncated_body_refused(make_client: Any, inbox: RecordingInbox, metrics: Metrics) -> None:
    client, _ = await make_client()
    headers, body = http_callback(SECRET, robot_message(), T0_MS)
    resp = await client.post("/webhooks/dingtalk/main", data=body[: len(body) // 2], headers=headers)
    assert resp.status == 400
    assert rejected(metrics, "bad_json") == 1.0
    assert inbox.messages == []


@pytest.mark.parametrize("drop", ["msgId", "conversationId", "conversationType", "text"])
async def test_payload_missing_fields_refused(make_client: Any, inbox: RecordingInbox,
                                              metrics: Metrics, drop: str) -> None:
    client, _ = await make_client()
    payload = robot_message()
    payload.pop(drop)
    resp = await post_callback(client, payload)
    assert resp.status == 400
    assert rejected(metrics, "bad_payload") == 1.0
    assert inbox.messages == []


async def test_oversize_body_refused(make_client: Any, inbox: RecordingInbox, metrics: Metrics) -> None:
    client, _ = await make_client()
    big = robot_message(text="长" * 100_000)
    resp = await post_callback(client, big)
    assert resp.status == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap applies while reading
        for _ in range(40):
            yield b" " * 8192
    headers, _ = http_callback(SECRET, big, T0_MS)
    resp = await client.post("/webhooks/dingtalk/main", data=chunks(), headers=headers)
    assert resp.status == 413
    assert rejected(metrics, "too_large") == 2.0
    assert inbox.messages == []


async def test_unknown_bot_and_not_started(make_client: Any, inbox: RecordingInbox,
                                           metrics: Metrics) -> None:
    client, adapter = await make_client(start=False)
    assert (await post_callback(client, robot_message())).status == 503
    await adapter.start(client.session, inbox)
    assert (await post_callback(client, robot_message(), bot="other")).status == 404
    assert (rejected(metrics, "not_ready"), rejected(metrics, "unknown_bot")) == (1.0, 1.0)
    assert inbox.messages == []
    await adapter.stop()
    assert (await post_callback(client, robot_message())).status == 503


# --- pure helpers ----------------------------------------------------------------------------

@given(cmd=st.text(min_size=1), ticket=st.text(), token=st.text())
def test_action_value_round_trip(cmd: str, ticket: str, token: str) -> None:
    value = ButtonPayload(cmd, ticket, token).to_json()
    assert json.loads(value) == {"v": 1, "cmd": cmd, "ticket": ticket, "token": token}
    assert ButtonPayload.action_from(value) == {"cmd": cmd, "ticket": ticket, "token": token}


@pytest.mark.parametrize("value", ["", "not json", "[]", '{"v":2,"cmd":"同意","ticket":"","token":""}',
                                   '{"v":1,"cmd":"","ticket":"a","token":"b"}', '{"v":1,"cmd":"x"}'])
def test_foreign_action_values_rejected(value: str) -> None:
    assert ButtonPayload.action_from(value) is None


@given(target=st.text(min_size=1), group=st.booleans())
def test_out_track_id_round_trip(target: str, group: bool) -> None:
    kind = ChatKind.GROUP if group else ChatKind.DIRECT
    out = make_out_track_id(kind, target)
    assert parse_out_track_id(out) == (kind, target)
    assert make_out_track_id(kind, target) != out


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    options = StreamOptions(backoff_base=1.0, backoff_cap=30.0)
    assert backoff_delay(0, options.backoff_base, options.backoff_cap, rng=lambda: 0.0) == 0.5
    assert backoff_delay(0, options.backoff_base, options.backoff_cap, rng=lambda: 1.0) == 1.0
    assert backoff_delay(3, options.backoff_base, options.backoff_cap, rng=lambda: 1.0) == 8.0
    assert backoff_delay(50, options.backoff_base, options.backoff_cap, rng=lambda: 1.0) == 30.0


# --- Stream mode -----------------------------------------------------------------------------

@pytest.fixture
async def stream(aiohttp_server: Any, clock: FrozenClock, metrics: Metrics, inbox: RecordingInbox
                 ) -> AsyncIterator[tuple[FakeDingTalk, DingTalkAdapter]]:
    """A started stream-mode adapter connected to the fake gateway."""
    fake = FakeDingTalk(clock=clock, app_secret=SECRET)
    server = await aiohttp_server(fake.app)
    base = str(server.make_url("")).rstrip("/")
    config = DingTalkBotConfig(name="热线机器人", app_key=fake.app_key, app_secret=SECRET,
                               api_base=base, oapi_base=base)
    adapter = DingTalkAdapter({"main": config}, clock=clock, metrics=metrics, stream_options=FAST)
    async with aiohttp.ClientSession() as http:
        await adapter.start(http, inbox)
        await fake.wait_for(lambda: fake.connections == 1)
        yield fake, adapter
        await adapter.stop()


async def test_vectors_over_stream(stream: tuple[FakeDingTalk, DingTalkAdapter],
                                   inbox: RecordingInbox) -> None:
    fake, _ = stream
    for vector in vectors("dingtalk.stream_ack"):
        frame = vector["inputs"]["frame"]
        mid = frame["headers"]["messageId"]
        await fake.push(frame)
        await fake.wait_for(lambda mid=mid: fake.ack_for(mid) is not None)
        assert fake.ack_for(mid) == vector["expected"]["ack"]
    (msg,) = inbox.messages
    parsed = next(v for v in VECTORS if v["id"] == "dingtalk-stream-robot-ack")["expected"]["parsed"]
    assert msg.chat_kind is ChatKind.GROUP and parsed["conversationType"] == "2"
    assert msg.mentioned_bot is parsed["isInAtList"]
    assert msg.sender_id == parsed["senderStaffId"]
    assert msg.event_id == msg.message_id == parsed["msgId"]
    assert msg.text == parsed["text"].strip()
    assert msg.mentions == ()  # the only @ was the bot itself
    assert msg.chat_id == "cidAsXSBLnA=="


async def test_inbox_write_completes_before_ack(stream: tuple[FakeDingTalk, DingTalkAdapter],
                                                inbox: RecordingInbox) -> None:
    fake, _ = stream
    inbox.gate = asyncio.Event()
    await fake.push(stream_frame(TOPIC_ROBOT, robot_message(msg_id="m-gated"), message_id="f1"))
    await fake.push(ping_frame(message_id="p-behind"))  # queued behind the held write
    await asyncio.sleep(0.05)  # give a wrong implementation the chance to ACK early
    assert fake.acks == [] and inbox.messages == []
    inbox.gate.set()
    await fake.wait_for(lambda: fake.ack_for("p-behind") is not None)
    assert [m.event_id for m in inbox.messages] == ["m-gated"]
    assert [a["headers"]["messageId"] for a in fake.acks] == ["f1", "p-behind"]
    assert fake.acks[0]["data"] == '{"response": null}'


async def test_duplicate_and_failed_writes(stream: tuple[FakeDingTalk, DingTalkAdapter],
                                           inbox: RecordingInbox) -> None:
    fake, _ = stream
    for mid in ("a1", "a2"):
        await fake.push(stream_frame(TOPIC_ROBOT, robot_message(msg_id="same"), message_id=mid))
    await fake.wait_for(lambda: fake.ack_for("a2") is not None)
    assert fake.ack_for("a2")["code"] == 200  # duplicate: still acknowledged
    inbox.fail = RuntimeError("store down")
    await fake.push(stream_frame(TOPIC_ROBOT, robot_message(msg_id="lost"), message_id="b1"))
    await fake.push(ping_frame(message_id="p2"))  # handled after b1: frames are sequential
    await fake.wait_for(lambda: fake.ack_for("p2") is not None)
    assert fake.ack_for("b1") is None  # no ACK for an event that was not stored
    inbox.fail = None
    await fake.push(stream_frame(TOPIC_ROBOT, robot_message(msg_id="next"), message_id="b2"))
    await fake.wait_for(lambda: fake.ack_for("b2") is not None)
    assert [m.event_id for m in inbox.messages] == ["same", "same", "next"]
    assert fake.connections == 1  # the failed write did not break the connection


async def test_card_click_over_stream(stream: tuple[FakeDingTalk, DingTalkAdapter],
                                      inbox: RecordingInbox) -> None:
    fake, _ = stream
    out = make_out_track_id(ChatKind.GROUP, "cidGroup1==")
    value = ButtonPayload("同意", "12345/A123", "tok9").to_json()
    await fake.push(stream_frame(TOPIC_CARD, card_click(out_track_id=out, user_id="leader-1", value=value),
                                 message_id="c1"))
    await fake.wait_for(lambda: fake.ack_for("c1") is not None)
    assert json.loads(fake.ack_for("c1")["data"]) == {"response": {}}
    assert inbox.messages == [IncomingMessage(
        platform="dingtalk", bot="main", chat_id="cidGroup1==", chat_kind=ChatKind.GROUP,
        sender_id="leader-1", mentioned_bot=True, event_id="c1", message_id=out,
        action={"cmd": "同意", "ticket": "12345/A123", "token": "tok9"})]


async def test_foreign_card_click_and_events_acknowledged(
        stream: tuple[FakeDingTalk, DingTalkAdapter], inbox: RecordingInbox, metrics: Metrics) -> None:
    fake, _ = stream
    await fake.push(stream_frame(TOPIC_CARD, card_click(out_track_id="other", user_id="u",
                                                        value={"act": "x"}), message_id="c2"))
    await fake.push(stream_frame("*", {"userId": ["u1"]}, message_id="e1", frame_type="EVENT"))
    await fake.push({"specVersion": "1.0", "type": "CALLBACK", "data": "{not json",
                     "headers": {"topic": TOPIC_ROBOT, "messageId": "bad1"}})
    await fake.wait_for(lambda: fake.ack_for("bad1") is not None)
    assert fake.ack_for("c2")["code"] == 200
    assert json.loads(fake.ack_for("e1")["data"])["status"] == "SUCCESS"
    assert fake.ack_for("bad1")["code"] == 400
    assert rejected(metrics, "bad_payload") == 1.0
    assert inbox.messages == []


async def test_reconnects_with_new_ticket_after_drop(stream: tuple[FakeDingTalk, DingTalkAdapter],
                                                     inbox: RecordingInbox) -> None:
    fake, adapter = stream
    await fake.drop()
    await fake.wait_for(lambda: fake.connections == 2)
    await fake.push(stream_frame(TOPIC_ROBOT, robot_message(msg_id="after"), message_id="r1"))
    await fake.wait_for(lambda: fake.ack_for("r1") is not None)
    assert fake.stream_opens == 2 and adapter.streams["main"].connections == 2
    assert [m.event_id for m in inbox.messages] == ["after"]


async def test_disconnect_frame_moves_connection(stream: tuple[FakeDingTalk, DingTalkAdapter]) -> None:
    fake, _ = stream
    await fake.push(disconnect_frame())
    await fake.wait_for(lambda: fake.connections == 2)
    assert fake.acks == []  # a disconnect is not acknowledged
    assert fake.stream_opens == 2


async def test_gateway_refusal_retried_and_stop_closes(clock: FrozenClock, inbox: RecordingInbox) -> None:
    fake = FakeDingTalk(clock=clock, app_secret=SECRET)
    fake.fail_next(2, status=502)
    server = TestServer(fake.app)
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    config = DingTalkBotConfig(app_key=fake.app_key, app_secret=SECRET, api_base=base)
    adapter = DingTalkAdapter({"main": config}, clock=clock, stream_options=FAST)
    async with aiohttp.ClientSession() as http:
        await adapter.start(http, inbox)
        await fake.wait_for(lambda: fake.connections == 1)
        await adapter.stop()
        await fake.wait_for(lambda: not fake.live)  # stop() closed the connection
    await server.close()
    opens = [r for r in fake.requests if r == ("POST", "/v1.0/gateway/connections/open")]
    assert len(opens) == 3 and fake.stream_opens == 1  # two 502s, then a ticket
    assert adapter.streams == {}


# --- the body bound to its signed timestamp (issue 14) -----------------------------------------

async def test_a_captured_header_pair_cannot_carry_another_body(make_client: Any, inbox: RecordingInbox,
                                                               metrics: Metrics) -> None:
    # DingTalk signs only the timestamp: the same (timestamp, sign) with a new body is a forgery.
    client, _ = await make_client()
    headers, body = http_callback(SECRET, robot_message(msg_id="first"), T0_MS)
    assert (await client.post("/webhooks/dingtalk/main", data=body, headers=headers)).status == 200
    assert (await client.post("/webhooks/dingtalk/main", data=body, headers=headers)).status == 200  # a retry
    forged = json.dumps(robot_message(msg_id="forged", text=" 同意 A123")).encode()
    resp = await client.post("/webhooks/dingtalk/main", data=forged, headers=headers)
    assert resp.status == 401 and (await resp.json())["error"] == "replayed_signature"
    assert [m.event_id for m in inbox.messages] == ["first", "first"]


@pytest.mark.parametrize("fields", [{"createAt": T0_MS - 2 * 3_600_000},
                                    {"createAt": T0_MS + 2 * 3_600_000},
                                    {"sessionWebhookExpiredTime": T0_MS - 1}])
async def test_body_times_must_fit_the_signed_timestamp(make_client: Any, inbox: RecordingInbox,
                                                        fields: dict[str, int]) -> None:
    client, _ = await make_client()
    payload = {**robot_message(msg_id="old"), **fields}
    headers, body = http_callback(SECRET, payload, T0_MS)
    resp = await client.post("/webhooks/dingtalk/main", data=body, headers=headers)
    assert resp.status == 401 and (await resp.json())["error"] == "stale_timestamp"
    assert inbox.messages == []
