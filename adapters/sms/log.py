"""The log provider: no network; logs what would be sent, with the number masked.

For development and the console demo. It validates like a lenient cloud template (length, links,
forbidden characters) so a message that passes here is not refused by the clouds for those
reasons. Its "pushes" are a tiny JSON format so a developer or a test can fake a citizen reply:
``[{"phone": "13800138000", "text": "1"}]`` or ``[{"provider_id": "log-x", "phone": "…",
"delivered": true}]``.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from adapters.base import PermanentSendError
from adapters.sms.base import SmsReceipt, SmsReply, SmsSendResult, push_items
from adapters.sms.templates import (
    VariableRules,
    check_variables,
    mask_phone,
    normalize_cn_mobile,
)

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


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


class LogSmsProvider:
    """Pretends to send: logs to ``hotline.sms`` and keeps the last messages in ``sent``."""

    name = "log"
    carries_text = False

    def __init__(self, *, max_length: int = 35, keep: int = 1000) -> None:
        self.rules = VariableRules(max_length=max_length)
        self.sent: deque[LoggedSms] = deque(maxlen=keep)

    def validate(self, kind: str, params: dict[str, str]) -> None:
        """Lenient template checks: every value a short string without links or 【】."""
        if not kind:
            raise PermanentSendError("短信类型为空", code="template_missing")
        check_variables(kind, params, self.rules, variables={})

    async def send(self, http: aiohttp.ClientSession, phone: str, kind: str,
                   params: dict[str, str], out_id: str) -> SmsSendResult:
        """Log the message (number masked) and answer ``log-<out_id>``."""
        self.validate(kind, params)
        number = normalize_cn_mobile(phone)
        provider_id = f"log-{out_id}"
        logger.info("SMS (log provider, not sent) to %s kind=%s params=%s out_id=%s",
                    mask_phone(number), kind, json.dumps(params, ensure_ascii=False), out_id)
        self.sent.append(LoggedSms(number, kind, dict(params), out_id, provider_id))
        return SmsSendResult(provider_id=provider_id)

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

    def callback_answer(self, ok: bool) -> tuple[int, str, bytes]:
        """(status, content type, body) to answer a push."""
        return (200, "application/json", b'{"ok":true}') if ok else (500, "application/json",
                                                                      b'{"ok":false}')
