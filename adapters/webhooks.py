"""One pipeline for every inbound platform webhook: find the bot, cap the body, verify, decode,
write the inbox, ack.

A platform supplies a :class:`WebhookEndpoint`: which bots it serves and their body cap, a
``verify`` that checks the request's signature and opens its envelope, and a ``decode`` that turns
the payload into an :class:`~bot.messages.IncomingMessage` (or nothing, for an ignored event) and
the answer the platform expects. Both raise :class:`WebhookRefused`; the pipeline answers every
refusal alike — the JSON error body, a WARNING log line ``<platform> webhook for bot … refused``
and ``hotline_webhook_rejected_total{platform, reason}`` — and acknowledges an event only after
the inbox has committed it.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from adapters.http import BodyTooLarge, read_capped
from bot.edge import message_problem
from bot.inbox import InvalidEvent
from bot.messages import IncomingMessage
from bot.metrics import Metrics
from bot.ports import InboxWriter
from store.db import is_store_down

log = logging.getLogger(__name__)

# The ``message`` of a refusal's JSON body, by reason (any other reason: 回调被拒绝).
MESSAGES: dict[str, str] = {
    "unknown_bot": "未知的机器人",
    "not_ready": "服务尚未就绪",
    "too_large": "请求体过大",
    "missing_signature": "缺少签名",
    "bad_signature": "签名校验失败",
    "bad_timestamp": "时间戳格式错误",
    "stale_timestamp": "时间戳已过期",
    "bad_token": "Verification Token 不匹配",
    "bad_receiveid": "接收方ID不匹配",
    "bad_body": "请求体无法解析",
    "bad_json": "请求体无法解析",
    "unparseable": "请求体无法解析",
    "bad_event": "事件结构无法解析",
    "bad_payload": "事件结构无法解析",
    "decrypt": "解密失败",
    "undecryptable": "消息无法解密",
    "inbox_failed": "暂时无法处理，请重试",
    "invalid_event": "事件内容无法保存",
    "store_unavailable": "存储暂不可用，请稍后重试",
}


class WebhookRefused(Exception):
    """A refused callback: the HTTP status answered, the metric's ``reason`` and the body's
    ``message`` (by default the reason's entry in :data:`MESSAGES`)."""

    def __init__(self, status: int, reason: str, message: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """What ``verify`` sees of a request: the bot of the URL, method, headers, raw query, body."""

    bot: str
    method: str
    headers: Mapping[str, str]
    query_string: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Decoded:
    """A verified callback: the event for the inbox (None when there is nothing to handle) and
    the platform's acknowledgement (an empty 200 when None)."""

    message: IncomingMessage | None = None
    answer: web.StreamResponse | None = None


class WebhookEndpoint(Protocol):
    """A platform's side of the pipeline."""

    platform: str

    def knows(self, bot: str) -> bool:
        """Whether ``bot`` takes callbacks (else 404 ``unknown_bot``)."""
        ...

    def max_body(self, bot: str) -> int:
        """The largest body accepted for ``bot`` (else 413 ``too_large``)."""
        ...

    def verify(self, request: WebhookRequest) -> Any | Awaitable[Any]:
        """Check the signature and open the envelope: the verified payload (or an awaitable of it,
        when the check asks the store), or WebhookRefused."""
        ...

    def decode(self, bot: str, payload: Any) -> Decoded:
        """The verified payload as an event and an answer, or WebhookRefused."""
        ...


def refusal_body(reason: str, message: str | None = None) -> dict[str, Any]:
    """The JSON error body of ``docs/api.md`` for a refused callback."""
    return {"error": reason, "message": message or MESSAGES.get(reason, "回调被拒绝"), "fields": {}}


def refuse(exc: WebhookRefused, platform: str, bot: str, request: web.Request,
           metrics: Metrics) -> web.Response:
    """Answer a refusal the one way: count it, log it, send the JSON error body."""
    metrics.webhook_rejected.labels(platform, exc.reason).inc()
    log.warning("%s webhook for bot %r refused: %s (HTTP %d, %s %s)", platform, bot, exc.reason,
                exc.status, request.method, request.remote)
    return web.json_response(refusal_body(exc.reason, exc.message), status=exc.status)


class WebhookPipeline:
    """The route handler of one platform: ``inbox()`` gives the writer once the adapter started."""

    def __init__(self, endpoint: WebhookEndpoint, metrics: Metrics,
                 inbox: Callable[[], InboxWriter | None]) -> None:
        self._endpoint = endpoint
        self._metrics = metrics
        self._inbox = inbox

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one callback (or a platform's URL handshake)."""
        bot = request.match_info.get("bot", "")
        try:
            return await self._receive(bot, request)
        except WebhookRefused as exc:
            return refuse(exc, self._endpoint.platform, bot, request, self._metrics)

    async def _receive(self, bot: str, request: web.Request) -> web.StreamResponse:
        endpoint = self._endpoint
        if not endpoint.knows(bot):
            raise WebhookRefused(404, "unknown_bot")
        inbox = self._inbox()
        if inbox is None:
            raise WebhookRefused(503, "not_ready")
        try:
            body = await read_capped(request, endpoint.max_body(bot))
        except BodyTooLarge:
            raise WebhookRefused(413, "too_large") from None
        payload = endpoint.verify(WebhookRequest(bot, request.method, request.headers,
                                                 request.query_string, body))
        if inspect.isawaitable(payload):
            payload = await payload
        decoded = endpoint.decode(bot, payload)
        if decoded.message is not None and (problem := message_problem(decoded.message)):
            log.info("%s webhook for bot %r: event refused before the inbox: %s", endpoint.platform, bot, problem)
            raise WebhookRefused(400, "bad_event")
        if decoded.message is not None:
            try:
                new = await inbox(decoded.message)  # the inbox counts accepted / duplicate events
            except InvalidEvent:
                raise WebhookRefused(400, "invalid_event") from None
            except Exception as exc:
                if is_store_down(exc):  # not committed: the platform retries later
                    raise WebhookRefused(503, "store_unavailable") from None
                log.exception("%s webhook for bot %r: inbox write failed", endpoint.platform, bot)
                raise WebhookRefused(500, "inbox_failed") from None
            log.debug("%s webhook for bot %r: event %s %s", endpoint.platform, bot,
                      decoded.message.event_id, "new" if new else "duplicate")
        return decoded.answer or web.Response(status=200)
