"""The log provider: no network; logs what would be sent, with the number masked.

For development, trials and the console demo. It renders the message as the phone would show
it (``【签名】`` + the kind's template text with the variables filled in, TEMPLATE_TEXTS) and
counts its billed segments the way carriers do (70 characters in one SMS, 67 per part when
split, the 签名 included). It validates like a lenient cloud template (length, links, forbidden
characters) so a message that passes here is not refused by the clouds for those reasons; with
``log_max_length = 6`` it fits ticket numbers and unit names the way a default Tencent account
needs. Its "pushes" are a tiny JSON format so a developer or a test can fake a citizen reply:
``[{"phone": "13800138000", "text": "1"}]`` or ``[{"provider_id": "log-x", "phone": "…",
"delivered": true}]`` (docs/sms.md).
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from yarl import URL

from adapters.sms.base import SmsProvider, SmsRequest, push_items
from adapters.sms.templates import (
    DEFAULT_VARIABLES,
    TEMPLATE_TEXTS,
    HttpAnswer,
    VariableRules,
    check_variables,
    count_segments,
    fill_template,
    fit_variables,
    signed_text,
)
from bot.privacy import mask_phone, mask_text
from bot.send_errors import PermanentSendError
from bot.sms_port import (
    SmsReceipt,
    SmsReply,
    SmsSendResult,
    normalize_cn_mobile,
)
from bot.sms_providers import SmsProviderEntry, register

__all__ = ["LogSmsProvider", "LoggedSms"]

logger = logging.getLogger("hotline.sms")


@dataclass(frozen=True, slots=True)
class LoggedSms:
    """One message the log provider pretended to send."""

    phone: str
    kind: str
    params: dict[str, str]
    out_id: str
    provider_id: str
    text: str = ""
    """The whole SMS as the phone shows it, 【签名】 included."""
    segments: int = 1


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


class LogSmsProvider(SmsProvider):
    """Pretends to send: logs to ``hotline.sms`` and keeps the last messages in ``sent``."""

    name = "log"

    def __init__(self, *, max_length: int = 35, sign_name: str = "", keep: int = 1000) -> None:
        self.rules = VariableRules(max_length=max_length)
        self.sign_name = sign_name
        self.sent: deque[LoggedSms] = deque(maxlen=keep)

    def fit(self, params: dict[str, str]) -> dict[str, str]:
        """``params`` with the ticket number and unit name fitted to the variable limit."""
        return fit_variables(params, self.rules.max_length)

    def _checked(self, kind: str, params: dict[str, str]) -> list[tuple[str, str]]:
        if not kind:
            raise PermanentSendError("短信类型为空", code="template_missing")
        declared = {kind: DEFAULT_VARIABLES[kind]} if kind in TEMPLATE_TEXTS else {}
        return check_variables(kind, self.fit(params), self.rules, variables=declared)

    def validate(self, kind: str, params: dict[str, str]) -> None:
        """Lenient template checks: every value a short string without links or 【】."""
        self._checked(kind, params)

    def render(self, kind: str, params: dict[str, str]) -> str:
        """The SMS as the phone would show it: 【签名】 and the kind's text, variables filled in.

        A kind without a template text shows its variables after the kind.
        """
        pairs = self._checked(kind, params)
        template = TEMPLATE_TEXTS.get(kind)
        if template is None:
            body = f"{kind}：" + "，".join(f"{name}={value}" for name, value in pairs)
        else:
            body = fill_template(template, dict(pairs))
        return signed_text(self.sign_name, body)

    def build_request(self, phone: str, kind: str, params: dict[str, str], out_id: str) -> SmsRequest:
        """The log provider's "wire": the rendered text and what it was made of, as JSON."""
        text = self.render(kind, params)
        number = normalize_cn_mobile(phone)
        record = {"kind": kind, "params": dict(params), "out_id": out_id}
        return SmsRequest(phone=number, url=URL("log:sms"), headers={},
                          body=json.dumps(record, ensure_ascii=False).encode(), text=text)

    async def transmit(self, http: aiohttp.ClientSession, request: SmsRequest) -> HttpAnswer:
        """Log the message (number masked) with its text and segments; answer ``log-<out_id>``."""
        record = json.loads(request.body or b"{}")
        text, out_id = request.text, str(record["out_id"])
        segments = count_segments(len(text))
        provider_id = f"log-{out_id}"
        logger.info("SMS (log provider, not sent) to %s kind=%s segments=%d chars=%d out_id=%s text=%s",
                    mask_phone(request.phone), record["kind"], segments, len(text), out_id, mask_text(text))
        self.sent.append(LoggedSms(request.phone, str(record["kind"]), dict(record["params"]), out_id,
                                   provider_id, text, segments))
        return HttpAnswer(200, provider_id.encode())

    def parse_result(self, answer: HttpAnswer, request: SmsRequest) -> SmsSendResult:
        """The id ``transmit`` made, the whole text and its billed segments."""
        return SmsSendResult(provider_id=answer.body.decode(), segments=count_segments(len(request.text)),
                             text=request.text)

    def parse_callback(self, body: bytes, content_type: str) -> list[SmsReceipt | SmsReply]:
        """Decode the log provider's fake pushes (see the module docstring)."""
        out: list[SmsReceipt | SmsReply] = []
        for item in push_items(body, "phone"):
            phone = str(item["phone"])
            if "text" in item:
                out.append(SmsReply(phone=phone, text=str(item["text"]),
                                    extend_code=str(item.get("extend_code") or ""),
                                    at=_time(item.get("at"))))
            elif "provider_id" in item:
                out.append(SmsReceipt(provider_id=str(item["provider_id"]), phone=phone,
                                      delivered=bool(item.get("delivered", True)),
                                      code=str(item.get("code") or "DELIVRD"),
                                      out_id=str(item.get("out_id") or ""), at=_time(item.get("at"))))
            else:
                raise ValueError(f"unknown push item: {item!r:.200}")
        return out


register(SmsProviderEntry(
    name="log",
    factory=lambda section, sms, clock: LogSmsProvider(max_length=sms.log_max_length,
                                                       sign_name=sms.log_sign_name),
    docs="只记日志、不真发（试用、演示）",
))
