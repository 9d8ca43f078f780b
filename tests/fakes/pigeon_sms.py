"""A test-only SMS provider ("pigeon") and the fake server it talks to.

It exists only in ``tests/``: it proves a provider is one module plus one registration, with no
product file edited. Its wire format is its own: a JSON send signed with HMAC-SHA256 over
``to|text|ref``, an answer ``{"ok": …, "id": …, "error": …}``, and pushes that are JSON arrays of
``{"event": "delivered" | "failed" | "reply", …}`` answered with a plain ``OK``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import Field
from yarl import URL

from adapters.sms.base import SmsProvider, SmsRequest, push_items
from adapters.sms.sections import SectionModel
from adapters.sms.templates import HttpAnswer, SendLimiter
from bot.clock import Clock, SystemClock
from bot.send_errors import PermanentSendError, TransientSendError
from bot.sms_port import SmsReceipt, SmsReply, SmsSendResult, SmsTemplateError, normalize_cn_mobile
from bot.sms_providers import SmsConfig, SmsProviderEntry

NAME = "pigeon"


def signature(key: str, to: str, text: str, ref: str) -> str:
    """The pigeon signature of one send."""
    return hmac.new(key.encode(), f"{to}|{text}|{ref}".encode(), hashlib.sha256).hexdigest()


class PigeonConfig(SectionModel):
    """``[sms.pigeon]``: where the pigeon server listens and the shared key."""

    url: str = Field("", description="发送地址")
    key: str = Field(default="", repr=False, description="签名密钥")
    per_number_daily: int = Field(default=0, ge=0, description="同一号码每天最多发的条数；0 为不限")


class PigeonSmsProvider(SmsProvider):
    """Free text ``【工单号】单位：内容`` posted as signed JSON."""

    name = NAME
    carries_text = True

    def __init__(self, config: PigeonConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.url = URL(config.url)
        self.limiter = SendLimiter(per_number_daily=config.per_number_daily, clock=clock or SystemClock())

    def render(self, kind: str, params: dict[str, str]) -> str:
        """The text the citizen reads."""
        for name in ("number", "text") if kind == "answer" else ("number",):
            if not params.get(name):
                raise SmsTemplateError(f"短信变量 {name} 为空", variable=name)
        return f"{kind}｜工单{params['number']}｜{params.get('unit', '')}｜{params.get('text', '')}"

    def validate(self, kind: str, params: dict[str, str]) -> None:
        """Every kind needs the ticket number; the answer also needs its text."""
        self.render(kind, params)

    def build_request(self, phone: str, kind: str, params: dict[str, str], out_id: str) -> SmsRequest:
        """The signed JSON send."""
        to = normalize_cn_mobile(phone)
        text = self.render(kind, params)
        body = {"to": to, "text": text, "ref": out_id, "sig": signature(self.config.key, to, text, out_id)}
        return SmsRequest(phone=to, url=self.url, headers={"Content-Type": "application/json"},
                          body=json.dumps(body, ensure_ascii=False).encode(), text=text)

    def parse_result(self, answer: HttpAnswer, request: SmsRequest) -> SmsSendResult:
        """``ok`` → the pigeon id; ``busy`` → retry; anything else refused."""
        data = json.loads(answer.body)
        if data.get("ok"):
            return SmsSendResult(provider_id=str(data["id"]), text=request.text)
        if data.get("error") == "busy":
            raise TransientSendError("pigeon busy", code="busy", retry_after=1.0)
        raise PermanentSendError(f"pigeon: {data.get('error')}", code=str(data.get("error")))

    def parse_callback(self, body: bytes, content_type: str) -> list[SmsReceipt | SmsReply]:
        """Receipts (``delivered`` / ``failed``) and replies."""
        out: list[SmsReceipt | SmsReply] = []
        for item in push_items(body, "phone"):
            phone, event = str(item["phone"]), item.get("event")
            if event == "reply":
                out.append(SmsReply(phone=phone, text=str(item["text"])))
            elif event in ("delivered", "failed"):
                out.append(SmsReceipt(provider_id=str(item["id"]), phone=phone, delivered=event == "delivered",
                                      code="OK" if event == "delivered" else "LOST"))
            else:
                raise ValueError(f"unknown pigeon event: {event!r}")
        return out

    def callback_answer(self, ok: bool) -> tuple[int, str, bytes]:
        """A plain ``OK`` (or ``RETRY`` with 503 when the push was not stored)."""
        return (200, "text/plain", b"OK") if ok else (503, "text/plain", b"RETRY")


ENTRY = SmsProviderEntry(
    name=NAME,
    section=PigeonConfig,
    factory=lambda section, sms, clock: PigeonSmsProvider(section, clock=clock),
    docs="测试用信鸽短信",
    required=("url", "key"),
)


@dataclass
class PigeonSent:
    """One message the fake pigeon server accepted."""

    id: str
    to: str
    text: str
    ref: str


@dataclass
class FakePigeon:
    """The pigeon server: checks the signature, accepts, records."""

    key: str
    sent: list[PigeonSent] = field(default_factory=list)
    requests: int = 0

    def make_app(self) -> web.Application:
        """The aiohttp app to serve."""
        app = web.Application()
        app.router.add_post("/send", self._send)
        return app

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        data: dict[str, Any] = await request.json()
        if not hmac.compare_digest(signature(self.key, data["to"], data["text"], data["ref"]), data["sig"]):
            return web.json_response({"ok": False, "error": "bad_signature"})
        item = PigeonSent(f"pg-{len(self.sent) + 1}", data["to"], data["text"], data["ref"])
        self.sent.append(item)
        return web.json_response({"ok": True, "id": item.id})


def config_with_pigeon(url: str, key: str) -> SmsConfig:
    """``[sms]`` choosing the pigeon (the entry must be registered)."""
    return SmsConfig.model_validate({"provider": NAME, NAME: {"url": url, "key": key}})
