"""Feishu (飞书) adapter: webhook and long-connection receive, app API and custom-bot send.

Receive (``docs/platforms/feishu.md``, receiving): ``POST /webhooks/feishu/{bot}`` verifies exactly as Feishu
specifies — with an Encrypt Key, ``X-Lark-Signature`` over the raw body (constant-time) before
decryption, the URL-verification handshake being the only unsigned request accepted (its token
checked); without one, the Verification Token in the body — then decodes, writes the inbox, and
only then answers 200. The long connection (:mod:`adapters.feishu.ws`) feeds the same decoder.

Send (``docs/platforms/feishu.md``, sending): app messages to a chat (``chat_id``) or a person (``open_id``) with a tenant token,
buttons as an interactive card; a group's custom bot (``robot_token`` = the hook id,
``robot_secret`` = its signing secret) gets text or a markdown card, buttons as text commands.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp import web

from adapters.feishu.api import (
    CARD_MAX_BODY,
    ROBOT_MAX_BODY,
    TEXT_MAX_BODY,
    FeishuApi,
    app_body_limit,
    app_message_body,
    dumps,
)
from adapters.feishu.cards import RenderError, build_card, render
from adapters.feishu.config import FeishuBotConfig, FeishuChatOptions
from adapters.feishu.crypto import FeishuCryptoError, decrypt, verify_event_signature
from adapters.feishu.decode import BotIdentity, EventDecodeError, decode_event
from adapters.feishu.ws import FeishuLongConnection
from adapters.webhooks import Decoded, WebhookPipeline, WebhookRefused, WebhookRequest
from bot import safe_json
from bot.clock import Clock, SystemClock
from bot.edge import message_problem
from bot.messages import Destination, FileRef, IncomingMessage, OutgoingMessage
from bot.metrics import DEFAULT_METRICS, Metrics
from bot.ports import DownloadFailed, InboxWriter, Lease, SendResult
from bot.send_errors import PermanentSendError, SendError

__all__ = ["FeishuAdapter", "FeishuBotConfig"]

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
CLICK_ANSWER: dict[str, Any] = {"toast": {"type": "info", "content": "已收到，处理中"}}

class FeishuAdapter:
    """The Feishu ChatAdapter for every ``[platforms.feishu.<bot>]``."""

    platform = "feishu"

    def __init__(self, bots: dict[str, FeishuBotConfig], *, clock: Clock | None = None,
                 metrics: Metrics | None = None, lease: Lease | None = None,
                 instance_id: str = "",
                 chats: Mapping[tuple[str, str], FeishuChatOptions] | None = None) -> None:
        self._bots = dict(bots)
        self._chats = dict(chats or {})  # (bot, chat_id) → the group's own robot keys
        self._clock = clock or SystemClock()
        self._metrics = metrics or DEFAULT_METRICS
        self._lease = lease  # unused: Feishu allows up to 50 connections per app (docs/platforms/feishu.md)
        self._instance_id = instance_id
        self._apis = {name: FeishuApi(cfg, clock=self._clock) for name, cfg in self._bots.items()}
        self._open_ids: dict[str, str] = {}
        self._inbox: InboxWriter | None = None
        self._conns: dict[str, FeishuLongConnection] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.reconnect_backoff_base = 1.0

    # -- lifecycle -------------------------------------------------------------------------

    def setup_routes(self, app: web.Application) -> None:
        """Register ``POST /webhooks/feishu/{bot}``."""
        pipeline = WebhookPipeline(self, self._metrics, lambda: self._inbox)
        app.router.add_post("/webhooks/feishu/{bot}", pipeline.handle)

    async def start(self, http: aiohttp.ClientSession, inbox: InboxWriter) -> None:
        """Accept webhooks from now on, learn each bot's open_id, open the long connections."""
        self._inbox = inbox
        await asyncio.gather(*(self._learn_open_id(http, name) for name, cfg in self._bots.items()
                               if cfg.has_app))
        for name, cfg in self._bots.items():
            if cfg.mode != "longconn":
                continue
            if not cfg.has_app:
                log.warning("feishu[%s] longconn mode without app_id/app_secret: not connecting", name)
                continue
            conn = FeishuLongConnection(name, cfg, self._ws_handler(name),
                                        backoff_base=self.reconnect_backoff_base)
            self._conns[name] = conn
            self._tasks[name] = asyncio.create_task(conn.run(http), name=f"feishu-ws-{name}")

    async def stop(self) -> None:
        """Close the long connections and stop their tasks."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(c.close() for c in self._conns.values()), return_exceptions=True)
        self._tasks.clear()
        self._conns.clear()

    def bot_open_id(self, bot: str) -> str:
        """The open_id learned for ``bot`` at start ("" if unknown)."""
        return self._open_ids.get(bot, "")

    async def _learn_open_id(self, http: aiohttp.ClientSession, bot: str) -> None:
        try:
            open_id = await asyncio.wait_for(self._apis[bot].bot_open_id(http), timeout=10)
        except (TimeoutError, SendError) as exc:
            log.warning("feishu[%s] bot open_id unknown (%s); matching @mentions by name", bot, exc)
            return
        if open_id:
            self._open_ids[bot] = open_id

    def _identity(self, bot: str) -> BotIdentity:
        return BotIdentity(bot=bot, name=self._bots[bot].name, open_id=self._open_ids.get(bot, ""))

    # -- webhook ---------------------------------------------------------------------------

    # The webhook pipeline's endpoint (adapters.webhooks): this adapter verifies and decodes.

    def knows(self, bot: str) -> bool:
        """Every configured bot takes callbacks."""
        return bot in self._bots

    def max_body(self, bot: str) -> int:
        """:data:`MAX_BODY` for every bot."""
        return MAX_BODY

    def verify(self, request: WebhookRequest) -> dict[str, Any]:
        """The verified, decrypted envelope of one callback."""
        return self._open(self._bots[request.bot], request.headers, request.body)

    def decode(self, bot: str, envelope: dict[str, Any]) -> Decoded:
        """The URL-verification answer, or the event for the inbox and Feishu's ack."""
        if envelope.get("type") == "url_verification":
            challenge = envelope.get("challenge")
            if not isinstance(challenge, str):
                raise WebhookRefused(400, "bad_event")
            log.info("feishu[%s] url verification answered", bot)
            return Decoded(answer=web.json_response({"challenge": challenge}))
        try:
            msg = decode_event(envelope, self._identity(bot))
        except EventDecodeError as exc:
            log.warning("feishu[%s] %s", bot, exc)
            raise WebhookRefused(400, "bad_event") from None
        if msg is None:
            log.debug("feishu[%s] ignored event %s", bot, envelope.get("header", {}).get("event_type"))
            return Decoded(answer=web.json_response({"msg": "success"}))
        return Decoded(msg, web.json_response(CLICK_ANSWER if msg.action else {"msg": "success"}))

    def _open(self, cfg: FeishuBotConfig, headers: Any, body: bytes) -> dict[str, Any]:
        """Verify and decrypt; the plaintext envelope, or WebhookRefused."""
        if not cfg.encrypt_key:
            envelope = _json_object(body, 400, "bad_body")
            self._check_token(cfg, envelope)
            return envelope
        signature = headers.get("X-Lark-Signature")
        timestamp = headers.get("X-Lark-Request-Timestamp")
        nonce = headers.get("X-Lark-Request-Nonce")
        signed = (signature is not None and timestamp is not None and nonce is not None
                  and verify_event_signature(timestamp, nonce, cfg.encrypt_key, body, signature))
        if signed:
            self._check_age(cfg, timestamp)
            envelope = self._decrypt(cfg, body, 400)
            self._check_token(cfg, envelope)
            return envelope
        # Only the URL-verification handshake comes unsigned (doc 步骤三: 不包括请求网址校验).
        refusal = "bad_signature" if signature is not None else "missing_signature"
        try:
            envelope = self._decrypt(cfg, body, 401)
        except WebhookRefused:
            raise WebhookRefused(401, refusal) from None
        if envelope.get("type") != "url_verification":
            raise WebhookRefused(401, refusal)
        self._check_token(cfg, envelope)
        return envelope

    @staticmethod
    def _decrypt(cfg: FeishuBotConfig, body: bytes, status: int) -> dict[str, Any]:
        outer = _json_object(body, status, "bad_body")
        encrypted = outer.get("encrypt")
        if not isinstance(encrypted, str):
            raise WebhookRefused(status, "bad_body")
        try:
            plaintext = decrypt(cfg.encrypt_key, encrypted)
        except FeishuCryptoError:
            raise WebhookRefused(status, "decrypt") from None
        return _json_object(plaintext.encode(), status, "bad_body")

    def _check_age(self, cfg: FeishuBotConfig, timestamp: str) -> None:
        if not cfg.max_timestamp_skew:
            return
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise WebhookRefused(401, "bad_timestamp")
        age = abs(self._clock.now().timestamp() - int(timestamp))
        if age > cfg.max_timestamp_skew:
            raise WebhookRefused(401, "stale_timestamp")

    @staticmethod
    def _check_token(cfg: FeishuBotConfig, envelope: dict[str, Any]) -> None:
        if not cfg.verification_token:
            if not cfg.encrypt_key:
                raise WebhookRefused(401, "bad_token")  # nothing to verify with
            return
        header = envelope.get("header")
        token = header.get("token") if isinstance(header, dict) else envelope.get("token")
        if not isinstance(token, str) or not hmac.compare_digest(
                token.encode(), cfg.verification_token.encode()):
            raise WebhookRefused(401, "bad_token")

    async def _store(self, msg: IncomingMessage) -> bool:
        assert self._inbox is not None
        return await self._inbox(msg)  # the inbox counts accepted / duplicate events itself

    # -- long connection -------------------------------------------------------------------

    def _ws_handler(self, bot: str) -> Any:
        async def handle(payload: bytes) -> dict[str, Any] | None:
            try:
                envelope = safe_json.loads(payload)
                if not isinstance(envelope, dict):
                    raise ValueError("not an object")
                msg = decode_event(envelope, self._identity(bot))
                if msg is not None and (problem := message_problem(msg)):
                    raise EventDecodeError(problem)
            except (ValueError, EventDecodeError) as exc:
                self._metrics.webhook_rejected.labels("feishu", "bad_event").inc()
                log.warning("feishu[%s] long-connection event dropped: %r", bot, exc)
                return None
            if msg is None:
                log.debug("feishu[%s] ignored event %s", bot, envelope.get("header", {}).get("event_type"))
                return None
            await self._store(msg)  # raises → the frame is acked with code 500 → re-pushed
            return CLICK_ANSWER if msg.action else None
        return handle

    def connection(self, bot: str) -> FeishuLongConnection | None:
        """The long connection of ``bot`` while started (for health checks and tests)."""
        return self._conns.get(bot)

    # -- sending ---------------------------------------------------------------------------

    def _api(self, bot: str) -> FeishuApi:
        api = self._apis.get(bot)
        if api is None:
            raise PermanentSendError(f"未配置的飞书机器人: {bot}", code="unknown_bot")
        return api

    async def download(self, http: aiohttp.ClientSession, bot: str, ref: FileRef, *,
                       max_bytes: int) -> tuple[bytes, str]:
        """A message's image or file, through the message resource API with the bot's token."""
        api = self._apis.get(bot)
        if api is None or "message_id" not in ref.extra:
            raise DownloadFailed(f"cannot download from feishu bot {bot}")
        return await api.download_resource(http, ref.extra["message_id"], ref.key, ref.kind, max_bytes)

    def _chat(self, dest: Destination) -> FeishuChatOptions:
        """The group's own options (its send-only robot), from its chat binding."""
        return self._chats.get((dest.bot, dest.chat_id)) or FeishuChatOptions()

    async def send(self, http: aiohttp.ClientSession, dest: Destination,
                   message: OutgoingMessage, *, key: str | None = None) -> SendResult:
        """Deliver ``message``; the id of the last part sent (a card's id), "" from a custom bot."""
        api = self._api(dest.bot)
        robot = self._chat(dest)
        try:
            if robot.robot_token:
                return await self._send_robot(http, api, robot, message)
            if dest.chat_id:
                return await self._send_app(http, api, "chat_id", dest.chat_id, message, key)
            if dest.user_id:
                return await self._send_app(http, api, "open_id", dest.user_id, message, key)
        except RenderError as exc:
            raise PermanentSendError(f"消息过长无法发送: {exc}", code="too_long") from exc
        raise PermanentSendError("目的地缺少 chat_id / user_id / robot_token", code="no_target")

    async def _send_app(self, http: aiohttp.ClientSession, api: FeishuApi, id_type: str,
                        receive_id: str, message: OutgoingMessage, key: str | None) -> SendResult:
        def fits(msg_type: str, content: dict[str, Any]) -> bool:
            body = dumps(app_message_body(receive_id, msg_type, content)).encode()
            return len(body) <= app_body_limit(msg_type)

        is_card = bool(message.actions) or message.markdown
        first = (CARD_MAX_BODY if is_card else TEXT_MAX_BODY) - 1024
        message_id = ""
        for part, (msg_type, content) in enumerate(render(message, cards=True, fits=fits, first_limit=first)):
            # Feishu drops a repeat of a uuid for an hour: a retry after a lost answer sends nothing new
            uuid = f"{key}-{part}" if key else None
            message_id = await api.send_message(http, id_type, receive_id, msg_type, content, uuid=uuid)
        return SendResult(message_id)

    async def _send_robot(self, http: aiohttp.ClientSession, api: FeishuApi, robot: FeishuChatOptions,
                          message: OutgoingMessage) -> SendResult:
        def fits(msg_type: str, content: dict[str, Any]) -> bool:
            body = dumps(api.robot_body(msg_type, content, robot.robot_secret)).encode()
            return len(body) <= ROBOT_MAX_BODY

        parts = render(message, cards=False, fits=fits, first_limit=ROBOT_MAX_BODY - 1024)
        for msg_type, content in parts:
            await api.send_robot(http, robot.robot_token, robot.robot_secret, msg_type, content)
        return SendResult("")

    def can_update(self, message_id: str) -> bool:
        """Whether a sent message can be updated later: an app bot's message (a custom bot's
        messages have no id)."""
        return bool(message_id)

    async def update_card(self, http: aiohttp.ClientSession, dest: Destination, message_id: str,
                          message: OutgoingMessage) -> None:
        """Replace a sent card (PATCH /im/v1/messages/{id}), e.g. to show who approved."""
        api = self._api(dest.bot)
        card = build_card(title=message.title, text=message.text, markdown=message.markdown,
                          mentions=message.mentions, actions=message.actions)
        if len(dumps({"content": dumps(card)}).encode()) > CARD_MAX_BODY:
            raise PermanentSendError("卡片过长无法更新", code="too_long")
        await api.patch_card(http, message_id, card)

    def rate_limit(self, dest: Destination) -> tuple[int, float]:
        """(messages, per seconds) allowed to ``dest``: custom bot per minute, app per second."""
        cfg = self._bots.get(dest.bot) or FeishuBotConfig()
        if self._chat(dest).robot_token:
            return cfg.robot_messages_per_minute, 60.0
        if dest.chat_id:
            return cfg.chat_messages_per_second, 1.0
        return cfg.user_messages_per_second, 1.0


def _json_object(raw: bytes, status: int, reason: str) -> dict[str, Any]:
    try:
        value = safe_json.loads(raw)
    except safe_json.BadJson:
        raise WebhookRefused(status, reason) from None
    if not isinstance(value, dict):
        raise WebhookRefused(status, reason)
    return value
