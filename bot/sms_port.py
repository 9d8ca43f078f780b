"""The SMS port: what the domain needs from an SMS provider, and what sends and pushes decode to.

The gateway (``bot/sms_gateway.py``) and the push route (``adapters/sms/webhook.py``) see a provider
only through :class:`SmsSender`; ``adapters/sms/`` implements it (one base class, one module per
provider) and registers each provider by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = ["SmsReceipt", "SmsReply", "SmsSendResult", "SmsSender"]


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


class SmsSender(Protocol):
    """One configured SMS provider, as the domain uses it."""

    name: str
    carries_text: bool
    """Whether the message carries the answer text itself (``{text}``), not only template variables."""

    def accepts_link(self, kind: str) -> bool:
        """Whether the content for ``kind`` has a place for the citizen page link."""
        ...

    def validate(self, kind: str, params: dict[str, str]) -> None:
        """Raise a SendError for content the provider would reject, before any call."""
        ...

    async def send(self, http: Any, phone: str, kind: str, params: dict[str, str], out_id: str) -> SmsSendResult:
        """Send one message; raise TransientSendError / PermanentSendError on failure."""
        ...

    def parse_callback(self, body: bytes, content_type: str) -> list[SmsReceipt | SmsReply]:
        """Decode a receipt or up-link push; ValueError on a body that cannot be parsed."""
        ...

    def callback_answer(self, ok: bool) -> tuple[int, str, bytes]:
        """(status, content type, body) to answer a push once it is stored (``ok``) or not."""
        ...
