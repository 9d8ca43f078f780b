"""WeCom (企业微信) chat adapter: AI bot long connection or webhook in, robot/app/AI bot out.

Receiving (``docs/platforms/wecom.md``, receiving): ``mode = "longconn"`` holds the AI bot's WebSocket (one
instance per bot, by lease); ``GET|POST /webhooks/wecom/{bot}`` takes the AI bot's encrypted JSON
callbacks and the self-built app's XML callbacks (1:1 messages, clicks on app cards) whenever
``token`` and ``aes_key`` are set.

Sending (``docs/platforms/wecom.md``, sending), by destination:
- long connection subscribed → ``aibot_send_msg`` (markdown and button cards) to the chat or user;
  if WeCom refuses it (the chat never used the bot), the fallbacks below.
- ``robot_key`` set → the group robot webhook (消息推送); cards become their plain-text form.
- otherwise the self-built app: ``message/send`` to a user (cards with buttons) or
  ``appchat/send`` to an app-created group chat (no cards). A long-connection bot without a live
  connection (another instance holds it) answers TransientSendError for group chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp import web

from adapters.http import download
from adapters.webhooks import WebhookPipeline
from adapters.wecom.api import WeComApi
from adapters.wecom.bodies import (
    aibot_bodies,
    app_user_bodies,
    appchat_bodies,
    card_update_label,
    robot_bodies,
)
from adapters.wecom.cards import button_card, task_id_for
from adapters.wecom.config import WeComBotConfig, WeComChatOptions
from adapters.wecom.crypto import DecryptError, aes_key_from_encoding, decrypt_media, media_key
from adapters.wecom.decode import PayloadError, decode_aibot
from adapters.wecom.stream import CMD_EVENT_CALLBACK, CMD_SEND, CMD_UPDATE, WeComLongConnection
from adapters.wecom.webhook import WeComEndpoint
from bot.clock import Clock, SystemClock
from bot.edge import message_problem
from bot.messages import Destination, FileRef, OutgoingMessage
from bot.metrics import DEFAULT_METRICS, Metrics
from bot.ports import DownloadFailed, InboxWriter, Lease, SendResult
from bot.send_errors import PermanentSendError, TransientSendError

__all__ = ["WeComAdapter", "WeComBotConfig"]

log = logging.getLogger(__name__)

INBOX_RETRIES = (0.5, 1.0, 2.0)  # long connection: WeCom does not redeliver, so retry the write


class _FirstPartRefused(PermanentSendError):
    """The first part of a long-connection send was refused: nothing was delivered."""


class WeComAdapter:
    """The WeCom ChatAdapter (``platform = "wecom"``)."""

    platform = "wecom"

    def __init__(self, bots: dict[str, WeComBotConfig], *, clock: Clock | None = None,
                 metrics: Metrics | None = None, lease: Lease | None = None,
                 instance_id: str = "",
                 chats: Mapping[tuple[str, str], WeComChatOptions] | None = None) -> None:
        self._bots = dict(bots)
        self._chats = dict(chats or {})  # (bot, chat_id) → the group's own robot keys
        self._clock = clock or SystemClock()
        self._metrics = metrics or DEFAULT_METRICS
        self._lease = lease
        self._instance_id = instance_id or uuid.uuid4().hex
        self._inbox: InboxWriter | None = None
        self._apis = {name: WeComApi(cfg, clock=self._clock) for name, cfg in self._bots.items()}
        self._conns: dict[str, WeComLongConnection] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._webhook = WebhookPipeline(WeComEndpoint(self._bots), self._metrics, lambda: self._inbox)

    # -- lifecycle -----------------------------------------------------------------------------

    def setup_routes(self, app: web.Application) -> None:
        """Register ``GET|POST /webhooks/wecom/{bot}`` (503 until :meth:`start`)."""
        app.router.add_route("GET", "/webhooks/wecom/{bot}", self._webhook.handle)
        app.router.add_route("POST", "/webhooks/wecom/{bot}", self._webhook.handle)

    async def start(self, http: aiohttp.ClientSession, inbox: InboxWriter) -> None:
        """Accept webhooks and open the long connections of bots in ``longconn`` mode."""
        self._inbox = inbox
        for name, cfg in self._bots.items():
            if cfg.mode == "longconn" and not cfg.has_longconn:
                log.warning("wecom %s: mode longconn without bot_id/secret: send-only", name)
            if not cfg.has_longconn or name in self._tasks:
                continue
            conn = WeComLongConnection(name, cfg, self._callback_handler(name), lease=self._lease,
                                       holder=self._instance_id)
            self._conns[name] = conn
            self._tasks[name] = asyncio.create_task(conn.run(http), name=f"wecom-{name}")

    async def stop(self) -> None:
        """Close every long connection (releasing leases) and refuse webhooks again."""
        for conn in self._conns.values():
            await conn.stop()
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=10.0)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks.clear()
        self._conns.clear()
        self._inbox = None

    def connection(self, bot: str) -> WeComLongConnection | None:
        """The long connection of ``bot`` (None when it has none)."""
        return self._conns.get(bot)

    def token_cache(self, bot: str) -> Any:
        """The app access-token cache of ``bot`` (its ``fetch_count`` is useful in tests)."""
        return self._apis[bot].tokens

    async def download(self, http: aiohttp.ClientSession, bot: str, ref: FileRef, *,
                       max_bytes: int) -> tuple[bytes, str]:
        """A received image or file: the app's media (``media/get`` with the access token), or an
        AI bot's encrypted download URL, decrypted with the item's aeskey or the bot's key."""
        cfg = self._bots.get(bot)
        if cfg is None:
            raise DownloadFailed(f"unknown wecom bot {bot!r}")
        if ref.extra.get("via") == "media":
            return await self._apis[bot].get_media(http, ref.key, max_bytes)
        try:
            key = media_key(ref.extra["aeskey"]) if ref.extra.get("aeskey") else aes_key_from_encoding(cfg.aes_key)
        except (DecryptError, ValueError) as exc:
            raise DownloadFailed(f"no key for the AI bot media: {exc}") from exc
        # AES adds at most one 32-byte block of padding
        data, _ = await download(http, ref.key, max_bytes=max_bytes + 32, what="AI bot media",
                                 client_timeout=aiohttp.ClientTimeout(total=cfg.request_timeout))
        try:
            return decrypt_media(key, data), ""
        except DecryptError as exc:
            raise DownloadFailed(f"AI bot media: {exc}") from exc

    def _callback_handler(self, bot: str) -> Any:
        async def handle(frame: dict[str, Any]) -> None:
            await self._on_frame(bot, frame)
        return handle

    async def _on_frame(self, bot: str, frame: dict[str, Any]) -> None:
        cfg = self._bots[bot]
        body = frame.get("body")
        req_id = str((frame.get("headers") or {}).get("req_id", ""))
        if not isinstance(body, dict):
            log.warning("wecom %s: callback frame without a body dropped", bot)
            return
        try:
            message = decode_aibot(bot, cfg.name, body, frame_req_id=(
                req_id if frame.get("cmd") == CMD_EVENT_CALLBACK else None))
        except PayloadError as exc:
            log.warning("wecom %s: callback frame dropped: %s", bot, exc)
            return
        if message is None:
            log.debug("wecom %s: %s ignored", bot, body.get("msgtype"))
            return
        if problem := message_problem(message):  # could not be processed: dropped, not acknowledged
            log.warning("wecom %s: callback frame dropped: %s", bot, problem)
            return
        inbox = self._inbox
        if inbox is None:
            return
        for delay in (*INBOX_RETRIES, None):
            try:
                await inbox(message)
                return
            except Exception:
                if delay is None:
                    log.exception("wecom %s: inbox write failed, event %s lost", bot, message.event_id)
                    return
                log.warning("wecom %s: inbox write failed, retrying in %s s", bot, delay)
                await asyncio.sleep(delay)

    # -- sending -------------------------------------------------------------------------------

    def _cfg(self, dest: Destination) -> WeComBotConfig:
        cfg = self._bots.get(dest.bot)
        if dest.platform != self.platform or cfg is None:
            raise PermanentSendError(f"未知的企业微信机器人: {dest.platform}/{dest.bot}", code="unknown_bot")
        return cfg

    def _chat(self, dest: Destination) -> WeComChatOptions:
        """The group's own options (its send-only robot), from its chat binding."""
        return self._chats.get((dest.bot, dest.chat_id)) or WeComChatOptions()

    async def send(self, http: aiohttp.ClientSession, dest: Destination,
                   message: OutgoingMessage, *, key: str | None = None) -> SendResult:
        """Deliver ``message`` to ``dest`` (see the module docstring for the path chosen)."""
        cfg = self._cfg(dest)
        api = self._apis[dest.bot]
        robot_key = self._chat(dest).robot_key
        if not (dest.chat_id or dest.user_id or robot_key):
            raise PermanentSendError("目的地缺少 chat_id 或 user_id", code="no_target")
        direct = not dest.chat_id
        can_app = direct and cfg.has_app and bool(dest.user_id)
        conn = self._conns.get(dest.bot) if cfg.has_longconn else None
        if conn is not None and conn.ready and (dest.chat_id or dest.user_id):
            try:
                return await self._send_ws(conn, dest, message)
            except _FirstPartRefused:
                if not (robot_key or can_app):
                    raise
                log.info("wecom %s: AI bot cannot reach %s, using the fallback path", dest.bot,
                         dest.chat_id or dest.user_id)
        if robot_key:
            for body in robot_bodies(message):
                await api.call_robot(http, robot_key, body)
            return SendResult()
        if cfg.has_longconn and not can_app:
            raise TransientSendError("企业微信长连接未就绪", code="not_connected")
        if direct:
            return await self._send_app_user(http, api, cfg, dest, message)
        for body in appchat_bodies(message, dest.chat_id):
            await api.call_app(http, "/cgi-bin/appchat/send", body)
        return SendResult()

    async def _send_ws(self, conn: WeComLongConnection, dest: Destination,
                       message: OutgoingMessage) -> SendResult:
        bodies = aibot_bodies(message, dest.chat_id or dest.user_id,
                              task_id_for(message.card_key, dest))
        for i, body in enumerate(bodies):
            try:
                await conn.command(CMD_SEND, body)
            except PermanentSendError as exc:
                if i == 0:
                    raise _FirstPartRefused(str(exc), code=exc.code) from exc
                raise
        return SendResult()

    async def _send_app_user(self, http: aiohttp.ClientSession, api: WeComApi, cfg: WeComBotConfig,
                             dest: Destination, message: OutgoingMessage) -> SendResult:
        message_id = ""
        for body in app_user_bodies(message, cfg.agent_id, dest.user_id,
                                    task_id_for(message.card_key, dest)):
            data = await api.call_app(http, "/cgi-bin/message/send", body)
            if data.get("invaliduser"):
                raise PermanentSendError(f"无效的用户: {data['invaliduser']}", code="invaliduser")
            code = data.get("response_code")
            message_id = f"rc:{code}" if code else str(data.get("msgid", ""))
        return SendResult(message_id=message_id)

    def can_update(self, message_id: str) -> bool:
        """Whether a sent message can be updated later: an app card (``rc:<response_code>``); an AI
        bot's card only within 5 s of a click, so never from a later decision."""
        return message_id.startswith("rc:")

    async def update_card(self, http: aiohttp.ClientSession, dest: Destination, message_id: str,
                          message: OutgoingMessage) -> None:
        """Update a clicked card to show who did what.

        ``message_id`` is the click's ``IncomingMessage.message_id``: ``ws:<req_id>:<task_id>``
        (AI bot, long connection; within 5 s of the click; with a bare ``ws:<req_id>``,
        ``message.card_key`` must be the card's) or
        ``rc:<response_code>`` (app card; single use, 72 h; also what :meth:`send` returned).
        An AI bot click received by webhook can only be answered in the HTTP reply: unsupported.
        """
        cfg = self._cfg(dest)
        kind, _, ref = message_id.partition(":")
        if kind == "ws" and ref:
            conn = self._conns.get(dest.bot)
            if conn is None:
                raise PermanentSendError("该机器人没有长连接", code="no_longconn")
            req_id, _, task_id = ref.partition(":")
            if not task_id:
                if not message.card_key:
                    raise PermanentSendError("更新卡片需要 card_key", code="no_card_key")
                task_id = task_id_for(message.card_key, dest)
            card = button_card(message, task_id)
            await conn.command(CMD_UPDATE, {"response_type": "update_template_card",
                                            "template_card": card}, req_id=req_id)
            return
        if kind == "rc" and ref:
            body: dict[str, Any] = {"agentid": cfg.agent_id, "response_code": ref}
            if dest.user_id:
                body["userids"] = [dest.user_id]
            else:
                body["atall"] = 1
            if message.actions:
                body["template_card"] = button_card(message, task_id_for(message.card_key, dest))
            else:
                body["button"] = {"replace_name": card_update_label(message)}
            await self._apis[dest.bot].call_app(http, "/cgi-bin/message/update_template_card", body)
            return
        raise PermanentSendError(f"无法更新该卡片: {message_id!r}", code="unsupported")

    def rate_limit(self, dest: Destination) -> tuple[int, float]:
        """``(messages, per_seconds)`` allowed towards ``dest`` on the path :meth:`send` takes."""
        cfg = self._bots.get(dest.bot)
        if cfg is None:
            return 20, 60.0
        paths: list[tuple[int, float]] = []
        robot_key = self._chat(dest).robot_key
        if robot_key:
            paths.append((cfg.robot_rate_limit, cfg.robot_rate_window))
        if cfg.has_longconn:
            paths.append((cfg.aibot_rate_limit, cfg.aibot_rate_window))
        if not robot_key and (not cfg.has_longconn or not dest.chat_id):
            paths.append((cfg.app_rate_limit, cfg.app_rate_window))
        return min(paths, key=lambda p: p[0] / p[1])  # the strictest path it may take
