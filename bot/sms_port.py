"""The SMS port: what the domain needs from an SMS provider, and what sends and pushes decode to.

The gateway (``bot/sms_gateway.py``) and the push route (``adapters/sms/webhook.py``) see a provider
only through :class:`SmsSender`; ``adapters/sms/`` implements it (one base class, one module per
provider) and registers each provider by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.privacy import mask_phone
from bot.send_errors import PermanentSendError, TransientSendError

__all__ = ["SmsAccountError", "SmsOptOutError", "SmsReceipt", "SmsReply", "SmsSendResult", "SmsSender",
           "SmsTemplateError", "SmsUnknownOutcomeError", "is_account_error", "is_balance_error",
           "is_opt_out_error", "normalize_cn_mobile"]

class SmsTemplateError(PermanentSendError):
    """A template variable the provider would reject (too long, a link, a bad character)."""

    def __init__(self, message: str, *, variable: str) -> None:
        super().__init__(message, code="template_variable")
        self.variable = variable


# --------------------------------------------------------------------------- errors


class SmsAccountError(PermanentSendError):
    """The channel itself is unusable (no balance, arrears, disabled key, IP not allowed, clock).

    Retrying the message cannot help until someone fixes the account: pause the channel and
    alert the office. ``balance`` marks the out-of-money codes.
    """

    def __init__(self, message: str, *, code: str, balance: bool = False) -> None:
        super().__init__(message, code=code)
        self.balance = balance


class SmsUnknownOutcomeError(TransientSendError):
    """The request may have reached the provider (timeout, garbled answer): outcome unknown.

    SMS send is not idempotent: resolve by receipt or query before sending again.
    """


class SmsOptOutError(PermanentSendError):
    """The number unsubscribed (blacklisted): record the opt-out, call the citizen instead."""


def is_balance_error(err: BaseException) -> bool:
    """True when ``err`` says the SMS account is out of money (alert the office)."""
    return isinstance(err, SmsAccountError) and err.balance


def is_account_error(err: BaseException) -> bool:
    """True when ``err`` means the whole channel must pause until the account is fixed."""
    return isinstance(err, SmsAccountError)


def is_opt_out_error(err: BaseException) -> bool:
    """True when the number refuses SMS (unsubscribed / blacklisted)."""
    return isinstance(err, SmsOptOutError)


# --------------------------------------------------------------------------- phones

_MOBILE_RE = re.compile(r"1[3-9]\d{9}")


def normalize_cn_mobile(phone: str) -> str:
    """Return the bare 11-digit mainland mobile number; PermanentSendError if it is not one.

    Accepts ``+86``, ``0086``, ``86`` prefixes, spaces and dashes.
    """
    digits = re.sub(r"[\s\-()]", "", phone or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
            break
    if not _MOBILE_RE.fullmatch(digits):
        raise PermanentSendError(f"不是有效的手机号：{mask_phone(phone)}", code="phone_invalid")
    return digits


@dataclass(frozen=True, slots=True)
class SmsSendResult:
    """The provider accepted the message."""

    provider_id: str  # BizId / SerialNo / gateway id
    segments: int = 1
    fee: int | None = None
    text: str = ""
    """The whole text as sent (【签名】 included) when the provider knows it, else ""."""


@dataclass(frozen=True, slots=True)
class SentRecord:
    """What the provider's status API holds for one of our messages (found by our out id)."""

    provider_id: str
    state: str  # sent (accepted, no report yet) | delivered | failed
    code: str = ""


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
