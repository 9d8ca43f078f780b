"""``GET|POST /webhooks/wecom/{bot}``: URL handshake and encrypted callbacks (``docs/platforms/wecom.md``, webhook mode).

Order of checks, all before any plaintext is parsed: query signature params present (401), body
size (413), envelope parse (400), msg_signature in constant time (401), AES decrypt (400),
receiveid (401). WeCom documents no timestamp window (nonces are unique for 2 h): replays are
answered by inbox dedupe, not by age. A verified event is committed to the inbox before the
empty 200 that acknowledges it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from adapters.base import InboxWriter
from adapters.wecom.config import WeComBotConfig
from adapters.wecom.crypto import DecryptError, WeComCrypto
from adapters.wecom.decode import PayloadError, decode_plaintext
from bot.metrics import Metrics

log = logging.getLogger(__name__)

_XML_ENCRYPT = re.compile(rb"<Encrypt>\s*(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))\s*</Encrypt>", re.S)
_MESSAGES = {
    "unknown_bot": "未知的机器人",
    "not_ready": "服务尚未就绪",
    "missing_signature": "缺少签名参数",
    "bad_signature": "签名校验失败",
    "bad_receiveid": "接收方ID不匹配",
    "too_large": "请求体过大",
    "unparseable": "请求体无法解析",
    "undecryptable": "消息无法解密",
    "inbox_failed": "暂时无法处理，请重试",
}


class Rejected(Exception):
    """A refused callback: HTTP status and metric reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_query(query_string: str) -> dict[str, str]:
    """Percent-decode the query WITHOUT turning '+' into ' ' (base64 keeps its '+')."""
    out: dict[str, str] = {}
    for pair in query_string.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        out.setdefault(unquote(name), unquote(value))
    return out


def extract_encrypt(body: bytes) -> str:
    """The ``Encrypt`` of an XML envelope or the ``encrypt`` of a JSON one; raises Rejected 400."""
    head = body.lstrip()[:1]
    if head == b"{":
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Rejected(400, "unparseable") from exc
        value = data.get("encrypt") if isinstance(data, dict) else None
        if isinstance(value, str) and value:
            return value
    elif head == b"<":
        match = _XML_ENCRYPT.search(body)
        if match:
            raw = match.group(1) if match.group(1) is not None else match.group(2)
            try:
                value = raw.decode("ascii").strip()
            except UnicodeDecodeError as exc:
                raise Rejected(400, "unparseable") from exc
            if value:
                return value
    raise Rejected(400, "unparseable")


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The body, refusing (413) anything longer than ``limit`` before or while reading it."""
    if request.content_length is not None and request.content_length > limit:
        raise Rejected(413, "too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise Rejected(413, "too_large")
        chunks.append(chunk)
    return b"".join(chunks)


class WeComWebhook:
    """The route handler; ``inbox()`` gives the writer once the adapter has started."""

    def __init__(self, bots: dict[str, WeComBotConfig], metrics: Metrics,
                 inbox: Callable[[], InboxWriter | None]) -> None:
        self._bots = bots
        self._metrics = metrics
        self._inbox = inbox
        self._crypto = {name: WeComCrypto(cfg.token, cfg.aes_key)
                        for name, cfg in bots.items() if cfg.has_callback}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one GET handshake or POST callback."""
        bot = request.match_info.get("bot", "")
        try:
            return await self._handle(bot, request)
        except Rejected as exc:
            if exc.status in (400, 401, 404, 413):
                self._metrics.webhook_rejected.labels("wecom", exc.reason).inc()
                log.warning("wecom webhook %s refused: %s %s (%s %s)", bot, exc.status, exc.reason,
                            request.method, request.remote)
            return web.json_response(error_body(exc.reason), status=exc.status)

    async def _handle(self, bot: str, request: web.Request) -> web.StreamResponse:
        cfg = self._bots.get(bot)
        crypto = self._crypto.get(bot)
        if cfg is None or crypto is None:
            raise Rejected(404, "unknown_bot")
        inbox = self._inbox()
        if inbox is None:
            raise Rejected(503, "not_ready")
        query = parse_query(request.query_string)
        signature, timestamp, nonce = (query.get(k, "") for k in ("msg_signature", "timestamp", "nonce"))
        if not (signature and timestamp and nonce):
            raise Rejected(401, "missing_signature")
        if request.method == "GET":
            echostr = query.get("echostr", "")
            if not echostr:
                raise Rejected(400, "unparseable")
            plain = self._open(cfg, crypto, signature, timestamp, nonce, echostr)
            return web.Response(body=plain, content_type="text/plain")
        body = await read_limited(request, cfg.max_body_bytes)
        encrypt = extract_encrypt(body)
        plain = self._open(cfg, crypto, signature, timestamp, nonce, encrypt)
        try:
            message = decode_plaintext(bot, cfg.name, plain)
        except PayloadError as exc:
            raise Rejected(400, "unparseable") from exc
        if message is None:
            log.debug("wecom webhook %s: event ignored", bot)
            return web.Response(status=200)
        try:
            new = await inbox(message)
        except Exception:
            log.exception("wecom webhook %s: inbox write failed", bot)
            raise Rejected(500, "inbox_failed") from None
        log.debug("wecom webhook %s: event %s %s", bot, message.event_id, "new" if new else "duplicate")
        return web.Response(status=200)

    @staticmethod
    def _open(cfg: WeComBotConfig, crypto: WeComCrypto, signature: str, timestamp: str, nonce: str,
              encrypt: str) -> bytes:
        if not crypto.signature_ok(signature, timestamp, nonce, encrypt):
            raise Rejected(401, "bad_signature")
        try:
            plain, receiveid = crypto.decrypt(encrypt)
        except DecryptError as exc:
            raise Rejected(400, "undecryptable") from exc
        # AI bots (enterprise-internal) use ""; self-built app callbacks use the corp id.
        if receiveid not in ("", cfg.corp_id):
            raise Rejected(401, "bad_receiveid")
        return plain


def error_body(reason: str) -> dict[str, Any]:
    """The JSON error body of ``docs/api.md``."""
    return {"error": reason, "message": _MESSAGES.get(reason, reason), "fields": {}}
