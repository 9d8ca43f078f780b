"""The small interface every SMS provider implements, and what its callbacks decode to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import aiohttp

from adapters.base import PermanentSendError, TransientSendError

__all__ = [
    "PermanentSendError",
    "SmsProvider",
    "SmsReceipt",
    "SmsReply",
    "SmsSendResult",
    "SmsTemplateError",
    "TransientSendError",
]


class SmsTemplateError(PermanentSendError):
    """A template variable the provider would reject (too long, a link, a bad character)."""

    def __init__(self, message: str, *, variable: str) -> None:
        super().__init__(message, code="template_variable")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class SmsSendResult:
    """The provider accepted the message."""

    provider_id: str  # BizId / SerialNo / gateway id
    segments: int = 1
    fee: int | None = None
    text: str = ""
    """The whole text as sent (【签名】 included) when the provider knows it, else ""."""


@dataclass(frozen=True, slots=True)
class SmsReceipt:
    """A delivery report: the message reached the phone, or did not."""

    provider_id: str
    phone: str
    delivered: bool
    code: str
    description: str = ""
    out_id: str = ""
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SmsReply:
    """An up-link message: the citizen answered."""

    phone: str
    text: str
    provider_msg_id: str = ""
    extend_code: str = ""
    at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


class SmsProvider(Protocol):
    """One SMS provider (Alibaba, Tencent, a generic gateway, or the log provider)."""

    name: str

    def validate(self, kind: str, params: dict[str, str]) -> None:
        """Raise SmsTemplateError for a variable the provider would reject, before any call."""
        ...

    async def send(self, http: aiohttp.ClientSession, phone: str, kind: str,
                   params: dict[str, str], out_id: str) -> SmsSendResult:
        """Send one templated SMS; raise TransientSendError / PermanentSendError on failure."""
        ...

    def parse_callback(self, body: bytes, content_type: str) -> list[SmsReceipt | SmsReply]:
        """Decode a receipt or up-link push; raise ValueError on a body that cannot be parsed."""
        ...


def push_items(body: bytes, phone_key: str) -> list[dict[str, object]]:
    """The objects of a provider's JSON push (an array, or one object), each with ``phone_key``.

    Raises ValueError for a body that is not JSON or an item that is not such an object.
    """
    import json

    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a JSON body: {exc}") from exc
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict) or not item.get(phone_key):
            raise ValueError(f"unknown push item: {item!r:.200}")
    return items
