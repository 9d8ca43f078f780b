"""A test-only fourth chat platform, registered from ``tests/`` alone: a signed JSON webhook in (through the shared pipeline),
a bearer-token send API out (``tests/fakes/fourth_server.py``), buttons as JSON values.

It exists to prove the platform registry: nothing in the product names it.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from adapters.webhooks import Decoded, WebhookPipeline, WebhookRefused, WebhookRequest
from bot.messages import ChatKind, Destination, IncomingMessage, OutgoingMessage
from bot.metrics import Metrics
from bot.platforms import PlatformDeps, PlatformSpec
from bot.ports import InboxWriter, SendResult
from bot.send_errors import PermanentSendError, TransientSendError
from tests.fakes.fourth_server import signature

NAME = "fourth"
MAX_BODY = 64 * 1024


class FourthBotConfig(BaseModel):
    """``[platforms.fourth.<bot>]``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="机器人在群里的名字")
    secret: str = Field(min_length=1, description="回调签名密钥")
    token: str = Field(min_length=1, description="发送接口的令牌")
    api_base: str = Field(description="发送接口地址")


class FourthAdapter:
    """The fourth platform's ChatAdapter."""

    platform = NAME

    def __init__(self, bots: dict[str, FourthBotConfig], metrics: Metrics) -> None:
        self._bots = bots
        self._metrics = metrics
        self._inbox: InboxWriter | None = None

    def setup_routes(self, app: web.Application) -> None:
        """``POST /webhooks/fourth/{bot}``, through the shared webhook pipeline."""
        pipeline = WebhookPipeline(self, self._metrics, lambda: self._inbox)
        app.router.add_post(f"/webhooks/{NAME}/{{bot}}", pipeline.handle)

    async def start(self, http: aiohttp.ClientSession, inbox: InboxWriter) -> None:
        """Nothing to connect: callbacks only."""
        self._inbox = inbox

    async def stop(self) -> None:
        """Nothing to close."""

    def knows(self, bot: str) -> bool:
        """Every configured bot takes callbacks."""
        return bot in self._bots

    def max_body(self, bot: str) -> int:
        """:data:`MAX_BODY`."""
        return MAX_BODY

    def verify(self, request: WebhookRequest) -> dict[str, Any]:
        """The JSON event, once its ``X-Fourth-Signature`` matches."""
        given = request.headers.get("X-Fourth-Signature", "")
        if not hmac.compare_digest(given, signature(self._bots[request.bot].secret, request.body)):
            raise WebhookRefused(401, "bad_signature")
        return json.loads(request.body)

    def decode(self, bot: str, event: dict[str, Any]) -> Decoded:
        """The event as the platform-neutral message; the empty 200 acks it."""
        return Decoded(decode(bot, self._bots[bot], event))

    async def send(self, http: aiohttp.ClientSession, dest: Destination, message: OutgoingMessage,
                   *, key: str | None = None) -> SendResult:
        """``POST {api_base}/send`` with the text and one button per action."""
        cfg = self._bots[dest.bot]
        body = {"chat": dest.chat_id or dest.user_id, "text": message.text,
                "buttons": [{"label": a.label, "value": {"cmd": a.command, "ticket": a.ticket, "token": a.token}}
                            for a in message.actions]}
        try:
            async with http.post(f"{cfg.api_base}/send", json=body,
                                 headers={"Authorization": f"Bearer {cfg.token}"}) as r:
                answer = await r.json()
        except aiohttp.ClientError as exc:
            raise TransientSendError(str(exc)) from exc
        if r.status != 200:
            raise PermanentSendError(str(answer.get("error")), code=r.status)
        return SendResult(message_id=answer["id"])


def decode(bot: str, cfg: FourthBotConfig, event: dict[str, Any]) -> IncomingMessage:
    """One webhook event as the platform-neutral message."""
    text = str(event.get("text", ""))
    mentioned = text.startswith(f"@{cfg.name}")
    return IncomingMessage(
        platform=NAME, bot=bot, chat_id=event["chat"], chat_kind=ChatKind.GROUP,
        sender_id=event["sender"], text=text.removeprefix(f"@{cfg.name}").strip(),
        mentioned_bot=mentioned or event["type"] == "click",
        action=event.get("value") if event["type"] == "click" else None, event_id=event["id"])


def _build(bots: dict[str, FourthBotConfig], deps: PlatformDeps) -> FourthAdapter:
    return FourthAdapter(bots, deps.metrics)


PLATFORM = PlatformSpec(name=NAME, config_model=FourthBotConfig, factory=_build,
                        docs="第四个平台（仅测试用）")
