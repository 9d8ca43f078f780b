"""DingTalk (钉钉) adapter: Stream / HTTP robot callbacks in, robot messages and cards out.

Receiving (``docs/platforms/dingtalk.md``, receiving): an 企业内部应用 robot, in ``stream`` mode over an outbound
WebSocket (:mod:`adapters.dingtalk.stream`) or in ``http`` mode on ``POST /webhooks/dingtalk/{bot}``
(headers ``timestamp``/``sign``, :mod:`adapters.dingtalk.crypto`). Every verified event is written
to the inbox before it is acknowledged.

Sending (``docs/platforms/dingtalk.md``, sending): through the group's custom robot when its chat binding has a ``robot_token``
(signed with ``robot_secret``), otherwise through the app's OpenAPI (``groupMessages/send`` for a
group, ``oToMessages/batchSend`` for a person); buttons become an interactive card
(``createAndDeliver``) when the bot has a card template and receives over Stream, and text
commands everywhere else.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.dingtalk.api import DingTalkApi
from adapters.dingtalk.cards import create_and_deliver_body, update_body
from adapters.dingtalk.config import DingTalkBotConfig, DingTalkChatOptions
from adapters.dingtalk.crypto import verify_callback
from adapters.dingtalk.decode import (
    DecodeError,
    decode_card_callback,
    decode_robot_message,
    make_out_track_id,
    parse_out_track_id,
)
from adapters.dingtalk.outbound import api_messages, robot_bodies
from adapters.dingtalk.replay import ReplayMemory, SignatureReplays, StoredSignatures, body_matches_timestamp
from adapters.dingtalk.stream import (
    TOPIC_CARD,
    TOPIC_ROBOT,
    StreamClient,
    StreamOptions,
    callback_ack,
    event_ack,
    make_ack,
)
from adapters.webhooks import Decoded, WebhookPipeline, WebhookRefused, WebhookRequest
from bot import safe_json
from bot.clock import Clock, SystemClock
from bot.edge import message_problem
from bot.messages import ChatKind, Destination, FileRef, OutgoingMessage
from bot.metrics import DEFAULT_METRICS, Metrics
from bot.ports import DownloadFailed, InboxWriter, Lease, SendResult
from bot.send_errors import PermanentSendError, TransientSendError
from store.db import is_store_down

__all__ = ["DingTalkAdapter", "DingTalkBotConfig", "StreamOptions"]

log = logging.getLogger(__name__)

PLATFORM = "dingtalk"
MAX_BODY = 256 * 1024
"""Largest callback body read; robot messages are a few KB."""


class DingTalkAdapter:
    """The DingTalk :class:`~bot.ports.ChatAdapter` for any number of robots.

    ``lease`` and ``instance_id`` are accepted for symmetry with the other adapters and unused:
    DingTalk pushes each Stream message to one random live connection, so every instance may
    hold its own (``docs/platforms/dingtalk.md``, Stream mode).
    """

    platform = PLATFORM

    def __init__(self, bots: Mapping[str, DingTalkBotConfig], *, clock: Clock | None = None,
                 metrics: Metrics | None = None, lease: Lease | None = None,
                 instance_id: str = "",
                 chats: Mapping[tuple[str, str], DingTalkChatOptions] | None = None,
                 stream_options: StreamOptions | None = None,
                 sessions: async_sessionmaker[AsyncSession] | None = None) -> None:
        self._bots = dict(bots)
        self._chats = dict(chats or {})  # (bot, chat_id) → the group's own robot keys
        self._clock = clock or SystemClock()
        self._metrics = metrics or DEFAULT_METRICS
        self._lease = lease
        self._instance_id = instance_id
        self._stream_options = stream_options or StreamOptions()
        # Signed header pairs seen: in the store, shared by every instance (in the process without one).
        self._replays: ReplayMemory = (StoredSignatures(sessions, self._now_ms) if sessions is not None
                                       else SignatureReplays())
        self._apis = {name: DingTalkApi(name, cfg, clock=self._clock) for name, cfg in self._bots.items()}
        self._inbox: InboxWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.streams: dict[str, StreamClient] = {}

    # --- lifecycle ---------------------------------------------------------------------------

    def setup_routes(self, app: web.Application) -> None:
        """Register ``POST /webhooks/dingtalk/{bot}`` (robot HTTP mode)."""
        endpoint = DingTalkEndpoint(self._bots, self._now_ms, self._replays)
        app.router.add_post("/webhooks/dingtalk/{bot}",
                            WebhookPipeline(endpoint, self._metrics, lambda: self._inbox).handle)

    async def start(self, http: aiohttp.ClientSession, inbox: InboxWriter) -> None:
        """Accept callbacks from now on and open a Stream connection for every ``stream`` bot."""
        self._inbox = inbox
        for name, cfg in self._bots.items():
            if cfg.mode != "stream" or name in self.streams:
                continue
            client = StreamClient(name, cfg, http, functools.partial(self._on_frame, name),
                                  self._stream_options)
            self.streams[name] = client
            self._tasks.append(asyncio.create_task(client.run(), name=f"dingtalk-stream-{name}"))

    async def stop(self) -> None:
        """Close the Stream connections; callbacks answer 503 again."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.streams.clear()
        self._inbox = None

    # --- receiving ---------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    async def _on_frame(self, bot: str, frame: dict[str, Any]) -> dict[str, Any] | None:
        """A CALLBACK or EVENT frame from the Stream: decode, write the inbox, return the ACK."""
        headers = frame.get("headers") or {}
        message_id = str(headers.get("messageId", ""))
        topic = headers.get("topic")
        if frame.get("type") == "EVENT":
            log.debug("dingtalk %s: ignored event %s", bot, headers.get("eventType"))
            return event_ack(message_id)
        if frame.get("type") != "CALLBACK" or topic not in (TOPIC_ROBOT, TOPIC_CARD):
            return make_ack(message_id, json.dumps({"response": None}), code=404, message="not found")
        inbox = self._inbox
        if inbox is None:
            return None
        try:
            data = safe_json.loads(frame.get("data") or "")
            if not isinstance(data, dict):
                raise DecodeError("data is not an object")
            if topic == TOPIC_ROBOT:
                message = decode_robot_message(bot, self._bots[bot].name, data)
            else:
                message = decode_card_callback(bot, data, event_id=message_id)
            if message is not None and (problem := message_problem(message)):
                raise DecodeError(problem)  # refused now rather than failing after the ack
        except (ValueError, KeyError, TypeError) as exc:
            self._metrics.webhook_rejected.labels(PLATFORM, "bad_payload").inc()
            log.warning("dingtalk %s: stream frame %s refused: %s", bot, message_id, exc)
            return make_ack(message_id, json.dumps({"response": None}), code=400, message="bad request")
        if message is None:
            log.debug("dingtalk %s: ignored stream frame %s", bot, message_id)
        else:
            await inbox(message)  # the inbox counts accepted / duplicate events itself
        return callback_ack(message_id, None if topic == TOPIC_ROBOT else {})

    # --- sending -----------------------------------------------------------------------------

    async def download(self, http: aiohttp.ClientSession, bot: str, ref: FileRef, *,
                       max_bytes: int) -> tuple[bytes, str]:
        """A received picture or file, through the robot file download API with the app's token."""
        api = self._apis.get(bot)
        if api is None:
            raise DownloadFailed(f"unknown dingtalk bot {bot!r}")
        return await api.download_file(http, ref.key, max_bytes)

    def _api(self, bot: str) -> DingTalkApi:
        api = self._apis.get(bot)
        if api is None:
            raise PermanentSendError(f"unknown dingtalk bot {bot!r}", code="unknown_bot")
        return api

    def rate_limit(self, dest: Destination) -> tuple[int, float]:
        """(messages, per seconds) the shared sender allows towards ``dest``."""
        cfg = self._bots.get(dest.bot) or DingTalkBotConfig()
        if self._chat(dest).robot_token:
            return cfg.robot_rate_limit, cfg.robot_rate_window
        return cfg.api_rate_limit, cfg.api_rate_window

    def _chat(self, dest: Destination) -> DingTalkChatOptions:
        """The group's own options (its send-only robot), from its chat binding."""
        return self._chats.get((dest.bot, dest.chat_id)) or DingTalkChatOptions()

    async def send(self, http: aiohttp.ClientSession, dest: Destination,
                   message: OutgoingMessage, *, key: str | None = None) -> SendResult:
        """Deliver one message to a group (robot webhook or OpenAPI) or a person (OpenAPI)."""
        api = self._api(dest.bot)
        cfg = api.config
        if message.actions and cfg.card_template_id and cfg.mode == "stream" and (
                dest.chat_id or dest.user_id):
            return await self._send_card(http, api, dest, message)
        robot = self._chat(dest)
        if robot.robot_token:
            for body in robot_bodies(message):
                await api.robot_send(http, robot.robot_token, robot.robot_secret, self._now_ms(), body)
            return SendResult()
        if dest.chat_id:
            path, target = "/v1.0/robot/groupMessages/send", {"openConversationId": dest.chat_id}
        elif dest.user_id:
            path, target = "/v1.0/robot/oToMessages/batchSend", {"userIds": [dest.user_id]}
        else:
            raise PermanentSendError("destination names no chat, user or robot", code="no_target")
        message_id = ""
        for msg_key, msg_param in api_messages(message):
            data = await api.api(http, "POST", path, {"robotCode": cfg.robot_code, **target,
                                                      "msgKey": msg_key, "msgParam": msg_param})
            if dest.user_id in (data.get("invalidStaffIdList") or []):
                raise PermanentSendError(f"user {dest.user_id} cannot receive", code="invalidStaffId")
            if dest.user_id in (data.get("flowControlledStaffIdList") or []):
                raise TransientSendError(f"user {dest.user_id} flow-controlled", code="flowControlled",
                                         retry_after=60.0)
            message_id = str(data.get("processQueryKey") or message_id)
        return SendResult(message_id)

    async def _send_card(self, http: aiohttp.ClientSession, api: DingTalkApi, dest: Destination,
                         message: OutgoingMessage) -> SendResult:
        kind, target = (ChatKind.GROUP, dest.chat_id) if dest.chat_id else (ChatKind.DIRECT, dest.user_id)
        out_track_id = make_out_track_id(kind, target)
        body = create_and_deliver_body(template_id=api.config.card_template_id,
                                       out_track_id=out_track_id, robot_code=api.config.robot_code,
                                       chat_kind=kind, target=target, message=message)
        data = await api.api(http, "POST", "/v1.0/card/instances/createAndDeliver", body)
        result = data.get("result") if isinstance(data.get("result"), dict) else {}
        failed = [r for r in result.get("deliverResults") or [] if not r.get("success", True)]
        if data.get("success") is False or failed:
            reason = failed[0].get("errorMsg") if failed else data.get("message")
            raise PermanentSendError(f"card not delivered: {reason}", code="deliver_failed")
        return SendResult(str(result.get("outTrackId") or out_track_id))

    def can_update(self, message_id: str) -> bool:
        """Whether a sent message can be updated later: an interactive card (its outTrackId)."""
        return parse_out_track_id(message_id) is not None

    async def update_card(self, http: aiohttp.ClientSession, dest: Destination, message_id: str,
                          message: OutgoingMessage) -> None:
        """Rewrite a sent card (``message_id`` = its outTrackId), e.g. to show who approved."""
        api = self._api(dest.bot)
        data = await api.api(http, "PUT", "/v1.0/card/instances", update_body(message_id, message))
        if data.get("success") is False:
            raise PermanentSendError(f"card {message_id} not updated: {data.get('message')}",
                                     code="update_failed")


class DingTalkEndpoint:
    """The robot HTTP mode's side of the webhook pipeline (:mod:`adapters.webhooks`): the
    ``timestamp``/``sign`` headers, then the JSON message."""

    platform = PLATFORM

    def __init__(self, bots: Mapping[str, DingTalkBotConfig], now_ms: Callable[[], int],
                 replays: ReplayMemory) -> None:
        self._bots = bots
        self._now_ms = now_ms
        self._replays = replays

    def knows(self, bot: str) -> bool:
        """Every configured bot takes callbacks."""
        return bot in self._bots

    def max_body(self, bot: str) -> int:
        """:data:`MAX_BODY` for every bot."""
        return MAX_BODY

    async def verify(self, request: WebhookRequest) -> dict[str, Any]:
        """The signed JSON object of the callback; its header pair is checked against the pairs
        seen before only once the signature and the body's times hold (so only DingTalk's own
        callbacks are recorded)."""
        cfg = self._bots[request.bot]
        refusal = verify_callback(cfg.app_secret, request.headers.get("timestamp"),
                                  request.headers.get("sign"), self._now_ms())
        if refusal is not None:
            raise WebhookRefused(401, refusal.value)
        try:
            payload = safe_json.loads(request.body)
        except safe_json.BadJson:
            raise WebhookRefused(400, "bad_json") from None
        if not isinstance(payload, dict):
            raise WebhookRefused(400, "bad_json")
        timestamp, sign = request.headers["timestamp"], request.headers["sign"]
        if not body_matches_timestamp(payload, int(timestamp)):
            raise WebhookRefused(401, "stale_timestamp")
        if "encrypt" in payload and "msgtype" not in payload:
            # An encrypted envelope: no body key is configured for robot callbacks.
            raise WebhookRefused(400, "undecryptable")
        try:
            first = await self._replays.first_or_same(request.bot, timestamp, sign, request.body, int(timestamp))
        except Exception as exc:
            if is_store_down(exc):  # the platform retries later
                raise WebhookRefused(503, "store_unavailable") from None
            raise
        if not first:
            raise WebhookRefused(401, "replayed_signature")
        return payload

    def decode(self, bot: str, payload: dict[str, Any]) -> Decoded:
        """The robot message for the inbox; nothing for a message type the bot ignores."""
        try:
            message = decode_robot_message(bot, self._bots[bot].name, payload)
        except DecodeError as exc:
            log.warning("dingtalk %s: bad callback payload: %s", bot, exc)
            raise WebhookRefused(400, "bad_payload") from None
        if message is None:
            log.debug("dingtalk %s: ignored %s callback", bot, payload.get("msgtype"))
        return Decoded(message)
