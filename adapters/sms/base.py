"""The base class every SMS provider derives from (the domain's port is ``bot/sms_port.py``).

:class:`SmsProvider` holds the skeleton every provider shares: check the content before any call,
take a slot from the local limiter, post the request, map the answer, and give the slot back when
the provider refused the message. A provider implements only its wire format: the request
(:meth:`SmsProvider.build_request`, signing included), the answer (:meth:`SmsProvider.parse_result`)
and its pushes (:meth:`SmsProvider.parse_callback`, :meth:`SmsProvider.callback_answer`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import aiohttp
from yarl import URL

from adapters.sms.templates import HttpAnswer, SendLimiter, post
from bot import safe_json
from bot.send_errors import PermanentSendError, SendError, TransientSendError
from bot.sms_port import SmsReceipt, SmsReply, SmsSendResult, SmsTemplateError, SmsUnknownOutcomeError

__all__ = [
    "PermanentSendError",
    "SmsProvider",
    "SmsRequest",
    "SmsTemplateError",
    "TransientSendError",
]


@dataclass(frozen=True, slots=True)
class SmsRequest:
    """One signed send request, ready to post."""

    phone: str
    """The bare number the local per-number limit counts."""
    url: URL
    headers: Mapping[str, str]
    body: bytes | None
    text: str = ""
    """The message text when the provider sends free text (for the billed segment count), else ""."""


class SmsProvider(ABC):
    """One SMS provider: the shared send skeleton; subclasses implement the wire format."""

    name: ClassVar[str]
    carries_text: bool = False
    """Whether the message carries the answer text itself (``{text}``), not only template variables."""
    variables: Mapping[str, list[str]] = {}
    """Message kind → the template's variable names, when the provider uses templates."""
    templates: Mapping[str, str] = {}
    """Message kind → the provider's template id, when it uses templates."""
    limiter: SendLimiter | None = None
    """Local send limits (per second, per number), counted before the call."""
    timeout: float = 10.0

    def template_id(self, kind: str) -> str:
        """The provider's template for ``kind``; PermanentSendError when none is configured."""
        template = self.templates.get(kind)
        if not template:
            raise PermanentSendError(f"未配置 {kind} 短信模板", code="template_missing")
        return template

    def accepts_link(self, kind: str) -> bool:
        """Whether the content for ``kind`` has a place for the citizen page link.

        A template provider only when the kind's declared variables include ``link`` (clouds
        refuse URLs in variables, ``docs/sms.md``, so the operator opts in knowingly).
        """
        return "link" in self.variables.get(kind, ())

    @abstractmethod
    def validate(self, kind: str, params: dict[str, str]) -> None:
        """Raise SmsTemplateError / PermanentSendError for content the provider would reject."""

    @abstractmethod
    def build_request(self, phone: str, kind: str, params: dict[str, str], out_id: str) -> SmsRequest:
        """The signed request for one message (content checked); raise SendError on bad content."""

    @abstractmethod
    def parse_result(self, answer: HttpAnswer, request: SmsRequest) -> SmsSendResult:
        """Map the provider's answer to a result, or raise the SendError the outbox acts on."""

    @abstractmethod
    def parse_callback(self, body: bytes, content_type: str) -> list[SmsReceipt | SmsReply]:
        """Decode a receipt or up-link push; raise ValueError on a body that cannot be parsed."""

    def callback_answer(self, ok: bool) -> tuple[int, str, bytes]:
        """(status, content type, body) to answer a push once it is stored (``ok``) or not."""
        return (200, "application/json", b'{"ok":true}') if ok else (500, "application/json",
                                                                      b'{"ok":false}')

    async def transmit(self, http: aiohttp.ClientSession, request: SmsRequest) -> HttpAnswer:
        """Post the request and read the answer (the log provider records it instead)."""
        return await post(http, request.url, headers=request.headers, data=request.body, timeout_s=self.timeout)

    async def send(self, http: aiohttp.ClientSession, phone: str, kind: str,
                   params: dict[str, str], out_id: str) -> SmsSendResult:
        """Send one message; raise TransientSendError / PermanentSendError on failure.

        The local limiter's slot is given back when the provider refused the message, and kept
        when the outcome is unknown (it may have gone out).
        """
        request = self.build_request(phone, kind, params, out_id)
        reservation = self.limiter.reserve(request.phone) if self.limiter is not None else None
        try:
            answer = await self.transmit(http, request)
            return self.parse_result(answer, request)
        except SmsUnknownOutcomeError:
            raise
        except SendError:
            if reservation is not None and self.limiter is not None:
                self.limiter.release(reservation)
            raise


def push_items(body: bytes, phone_key: str) -> list[dict[str, object]]:
    """The objects of a provider's JSON push (an array, or one object), each with ``phone_key``.

    Raises ValueError for a body that is not JSON or an item that is not such an object.
    """
    try:
        data = safe_json.loads(body)
    except safe_json.BadJson as exc:
        raise ValueError(f"not a JSON body: {exc}") from exc
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict) or not item.get(phone_key):
            raise ValueError(f"unknown push item: {item!r:.200}")
    return items
