"""``GET|POST /webhooks/wecom/{bot}``: URL handshake and encrypted callbacks (``docs/platforms/wecom.md``, webhook mode).

Order of checks, all before any plaintext is parsed: query signature params present (401), body
size (413), envelope parse (400), msg_signature in constant time (401), AES decrypt (400),
receiveid (401). WeCom documents no timestamp window (nonces are unique for 2 h): replays are
answered by inbox dedupe, not by age. The shared pipeline (:mod:`adapters.webhooks`) commits a
verified event to the inbox before the empty 200 that acknowledges it.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

from aiohttp import web

from adapters.webhooks import Decoded, WebhookRefused, WebhookRequest
from adapters.wecom.config import WeComBotConfig
from adapters.wecom.crypto import DecryptError, WeComCrypto
from adapters.wecom.decode import PayloadError, decode_plaintext
from bot import safe_json

log = logging.getLogger(__name__)

_XML_ENCRYPT = re.compile(rb"<Encrypt>\s*(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))\s*</Encrypt>", re.S)


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
    """The ``Encrypt`` of an XML envelope or the ``encrypt`` of a JSON one; else 400 ``unparseable``."""
    head = body.lstrip()[:1]
    if head == b"{":
        try:
            data = safe_json.loads(body)
        except safe_json.BadJson as exc:
            raise WebhookRefused(400, "unparseable") from exc
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
                raise WebhookRefused(400, "unparseable") from exc
            if value:
                return value
    raise WebhookRefused(400, "unparseable")


class WeComEndpoint:
    """WeCom's side of the webhook pipeline (:mod:`adapters.webhooks`)."""

    platform = "wecom"

    def __init__(self, bots: dict[str, WeComBotConfig]) -> None:
        self._bots = bots
        self._crypto = {name: WeComCrypto(cfg.token, cfg.aes_key)
                        for name, cfg in bots.items() if cfg.has_callback}

    def knows(self, bot: str) -> bool:
        """Bots with ``token`` and ``aes_key`` take callbacks."""
        return bot in self._crypto

    def max_body(self, bot: str) -> int:
        """The bot's ``max_body_bytes``."""
        return self._bots[bot].max_body_bytes

    def verify(self, request: WebhookRequest) -> tuple[str, bytes]:
        """``("handshake", echostr plaintext)`` for the GET, ``("event", plaintext)`` for a POST."""
        cfg, crypto = self._bots[request.bot], self._crypto[request.bot]
        query = parse_query(request.query_string)
        signature, timestamp, nonce = (query.get(k, "") for k in ("msg_signature", "timestamp", "nonce"))
        if not (signature and timestamp and nonce):
            raise WebhookRefused(401, "missing_signature")
        if request.method == "GET":
            echostr = query.get("echostr", "")
            if not echostr:
                raise WebhookRefused(400, "unparseable")
            return "handshake", self._open(cfg, crypto, signature, timestamp, nonce, echostr)
        encrypt = extract_encrypt(request.body)
        return "event", self._open(cfg, crypto, signature, timestamp, nonce, encrypt)

    def decode(self, bot: str, payload: tuple[str, bytes]) -> Decoded:
        """The handshake's echo, or the event for the inbox (nothing for an ignored one)."""
        kind, plain = payload
        if kind == "handshake":
            return Decoded(answer=web.Response(body=plain, content_type="text/plain"))
        try:
            message = decode_plaintext(bot, self._bots[bot].name, plain)
        except PayloadError as exc:
            raise WebhookRefused(400, "unparseable") from exc
        if message is None:
            log.debug("wecom webhook %s: event ignored", bot)
        return Decoded(message)

    @staticmethod
    def _open(cfg: WeComBotConfig, crypto: WeComCrypto, signature: str, timestamp: str, nonce: str,
              encrypt: str) -> bytes:
        if not crypto.signature_ok(signature, timestamp, nonce, encrypt):
            raise WebhookRefused(401, "bad_signature")
        try:
            plain, receiveid = crypto.decrypt(encrypt)
        except DecryptError as exc:
            raise WebhookRefused(400, "undecryptable") from exc
        # AI bots (enterprise-internal) use ""; self-built app callbacks use the corp id.
        if receiveid not in ("", cfg.corp_id):
            raise WebhookRefused(401, "bad_receiveid")
        return plain
