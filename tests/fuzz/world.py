"""The fuzz suite's bot: every inbound route served at once (WeCom, DingTalk and Feishu webhooks,
the SMS push route, the intake and read API, the console and the citizen page), and a signer
that turns any body into a validly signed request for each route, so hostile bodies reach the
code behind authentication as well as the code in front of it."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from adapters.feishu.crypto import encrypt, event_signature
from tests.conftest import API_TOKEN, INTAKE_SECRET, base_config
from tests.fakes.dingtalk_server import callback_headers
from tests.fakes.wecom_server import build_callback
from tests.system.world import BOT, BOT_NAME, WECOM_AES_KEY
from tests.web.console.conftest import console_people

WECOM_TOKEN = "wecom-callback-token"
DING_SECRET = "ding-app-secret"
FEISHU_KEY = "feishu-encrypt-key"
FEISHU_TOKEN = "vtoken"
SMS_TOKEN = "sms-callback-secret"
# Everything the suite's bot must never answer or log.
TRACEBACK_MARKERS = ("Traceback (most recent call last)",)


def fuzz_overrides() -> dict[str, Any]:
    """Config overrides: all three chat platforms in webhook mode, the console, the log SMS provider."""
    return {
        "platforms": {
            "console": {"enabled": True, "require_login": True},
            "wecom": {BOT: {"mode": "webhook", "name": BOT_NAME, "token": WECOM_TOKEN,
                            "aes_key": WECOM_AES_KEY}},
            "dingtalk": {BOT: {"mode": "http", "name": BOT_NAME, "app_key": "dingappkey",
                               "app_secret": DING_SECRET}},
            "feishu": {BOT: {"mode": "webhook", "name": BOT_NAME, "verification_token": FEISHU_TOKEN,
                             "encrypt_key": FEISHU_KEY}},
        },
        "people": console_people(),
        "sms": {"provider": "log", "callback_token": SMS_TOKEN},
    }


def fuzz_config(store_url: str) -> dict[str, Any]:
    """The whole config document of the fuzz bot (also written to a file by bench/fuzz.py)."""
    return base_config(store_url, **fuzz_overrides())


@dataclass
class Shot:
    """One request: method, path (with query), headers and raw body."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def intake_headers(body: bytes, now: int, ts: str | None = None) -> dict[str, str]:
    """Valid intake signature headers for ``body`` at ``now`` (or at the raw timestamp ``ts``)."""
    stamp = str(now) if ts is None else ts
    sig = hmac.new(INTAKE_SECRET.encode(), stamp.encode(errors="surrogatepass") + b"." + body,
                   hashlib.sha256).hexdigest()
    return {"X-Hotline-Timestamp": stamp, "X-Hotline-Signature": sig, "Content-Type": "application/json"}


def signed(route: str, body: bytes, now: int) -> Shot:
    """``body`` as a validly signed request to ``route`` (one of :data:`ROUTES`)."""
    if route == "intake":
        return Shot("POST", "/api/v1/tickets", intake_headers(body, now), body)
    if route == "event":
        return Shot("POST", "/api/v1/tickets/12345/202611230001/events", intake_headers(body, now), body)
    if route == "wecom":
        plaintext = body
        query, enc = build_callback(WECOM_TOKEN, WECOM_AES_KEY, "", plaintext, timestamp=str(now))
        return Shot("POST", f"/webhooks/wecom/{BOT}?{query}", {"Content-Type": "application/json"}, enc)
    if route == "wecom_xml":
        query, enc = build_callback(WECOM_TOKEN, WECOM_AES_KEY, "", body, envelope="xml", timestamp=str(now))
        return Shot("POST", f"/webhooks/wecom/{BOT}?{query}", {"Content-Type": "text/xml"}, enc)
    if route == "dingtalk":
        return Shot("POST", f"/webhooks/dingtalk/{BOT}", callback_headers(DING_SECRET, now * 1000), body)
    if route == "feishu":
        try:
            enc = json.dumps({"encrypt": encrypt(FEISHU_KEY, body.decode())}).encode()
        except UnicodeDecodeError:  # not UTF-8: sent as the (signed) envelope itself
            enc = body
        ts, nonce = str(now), "13579"
        return Shot("POST", f"/webhooks/feishu/{BOT}",
                    {"X-Lark-Request-Timestamp": ts, "X-Lark-Request-Nonce": nonce,
                     "X-Lark-Signature": event_signature(ts, nonce, FEISHU_KEY, enc),
                     "Content-Type": "application/json"}, enc)
    if route == "sms":
        return Shot("POST", f"/webhooks/sms/log?token={SMS_TOKEN}", {"Content-Type": "application/json"}, body)
    if route == "read":
        return Shot("GET", "/api/v1/tickets", {"Authorization": f"Bearer {API_TOKEN}"})
    raise ValueError(route)


# Routes a body can be sent to, signed.
BODY_ROUTES = ("intake", "event", "wecom", "wecom_xml", "dingtalk", "feishu", "sms")


class LogTrap(logging.Handler):
    """Collects every formatted record (with its traceback) while installed on the root logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(logging.Formatter("%(levelname)s %(name)s %(message)s").format(record))
        except Exception as exc:
            self.lines.append(f"UNFORMATTABLE {record.name} {exc!r}")

    def tracebacks(self) -> list[str]:
        """The records that carry a traceback."""
        return [line for line in self.lines if any(m in line for m in TRACEBACK_MARKERS)]
