"""Checks every SMS provider runs before a call, and the errors they share.

Template variables (length, links, forbidden characters), mainland mobile numbers, text
segments (70 characters single, 67 per part when concatenated, ``docs/sms.md``), local send limits
(per second, per number per day) and the error classes the outbox and the office alerts need.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
from yarl import URL

from adapters.http import retry_after
from bot.clock import Clock, SystemClock
from bot.privacy import mask_phone
from bot.send_errors import PermanentSendError, SendError, TransientSendError
from bot.sms_port import (
    SmsTemplateError,
    SmsUnknownOutcomeError,
    normalize_cn_mobile,
)

__all__ = [
    "ALIYUN_FORBIDDEN",
    "BEIJING",
    "COMMON_FORBIDDEN",
    "DEFAULT_VARIABLES",
    "KINDS",
    "SEGMENT_MULTI",
    "SEGMENT_SINGLE",
    "TAIL_PREFIX",
    "TEMPLATE_TEXTS",
    "HttpAnswer",
    "SendLimiter",
    "VariableRules",
    "check_variables",
    "count_segments",
    "fill_template",
    "find_url",
    "fit_value",
    "fit_variables",
    "host_header",
    "post",
    "provider_template",
    "signed_text",
    "split_segments",
]

KINDS: tuple[str, ...] = ("answer", "receipt", "feedback", "delay", "extension")
"""Message kinds the bot sends to citizens (`templates` in ``docs/configuration.md``)."""

DEFAULT_VARIABLES: dict[str, tuple[str, ...]] = {
    "answer": ("number", "unit"),
    "receipt": ("number", "due"),
    "feedback": ("number",),
    "delay": ("number", "due"),
    "extension": ("number", "date"),
}
"""Variables of each kind's template, in Tencent's positional order."""

SEGMENT_SINGLE = 70
SEGMENT_MULTI = 67
BEIJING = ZoneInfo("Asia/Shanghai")


def callback_phone(value: object) -> str:
    """A phone number read from a provider's receipt or reply: the bare mainland mobile when it
    is one (:func:`normalize_cn_mobile`), otherwise the text as given, stripped."""
    text = str(value or "").strip()
    try:
        return normalize_cn_mobile(text)
    except PermanentSendError:
        return text


# --------------------------------------------------------------------------- variables

_TLDS = (
    "com|cn|net|org|gov|edu|info|top|xyz|io|cc|me|vip|shop|site|link|ly|co|tv|biz|mobi|club|"
    "online|wang|ink|ren|pub|tech|app|dev|asia|store|fun|live|work|ltd|group"
)
_URL_RE = re.compile(
    r"(?i)(?:[a-z][a-z0-9+.-]*://|www\.|\d{1,3}(?:\.\d{1,3}){3}"
    rf"|(?<![a-z0-9-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:{_TLDS})(?![a-z0-9]))"
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
COMMON_FORBIDDEN = "【】"
"""Signature brackets: the platform adds 【签名】; a variable must not fake one."""
ALIYUN_FORBIDDEN = "〖〗『』「」•★※→" + "".join(chr(c) for c in range(0x2460, 0x2500))
"""Special characters Alibaba's template rules refuse (``docs/sms.md``, Alibaba template variables)."""


def find_url(text: str) -> str | None:
    """Return the first thing in ``text`` that looks like a link (scheme, www., domain, IP)."""
    match = _URL_RE.search(text)
    return match.group(0) if match else None


@dataclass(frozen=True, slots=True)
class VariableRules:
    """What a provider accepts in one template variable."""

    max_length: int
    forbid_urls: bool = True
    forbidden_chars: str = COMMON_FORBIDDEN
    allow_newlines: bool = False
    allow_empty: bool = False


def check_value(name: str, value: object, rules: VariableRules) -> str:
    """Check one variable value; return it, or raise SmsTemplateError naming ``name``."""
    if not isinstance(value, str):
        raise SmsTemplateError(f"短信变量 {name} 必须是文本", variable=name)
    if not value.strip() and not rules.allow_empty:
        raise SmsTemplateError(f"短信变量 {name} 为空", variable=name)
    if rules.max_length and len(value) > rules.max_length:
        raise SmsTemplateError(
            f"短信变量 {name} 超过 {rules.max_length} 字（{len(value)} 字）", variable=name)
    if rules.forbid_urls and (url := find_url(value)):
        raise SmsTemplateError(f"短信变量 {name} 不能含链接：{url}", variable=name)
    text = value.replace("\n", "").replace("\r", "") if rules.allow_newlines else value
    if _CONTROL_RE.search(text):
        raise SmsTemplateError(f"短信变量 {name} 含控制字符或换行", variable=name)
    for ch in value:
        if ch in rules.forbidden_chars:
            raise SmsTemplateError(f"短信变量 {name} 不能含字符「{ch}」", variable=name)
        if ord(ch) > 0xFFFF:
            raise SmsTemplateError(f"短信变量 {name} 不能含表情或生僻符号", variable=name)
    return value


def check_variables(kind: str, params: Mapping[str, object], rules: VariableRules,
                    variables: Mapping[str, Sequence[str]] | None = None) -> list[tuple[str, str]]:
    """Check ``params`` for ``kind``; return the (name, value) pairs to send, in template order.

    Declared variables (``variables[kind]``, default DEFAULT_VARIABLES) must all be present;
    params the template does not declare are dropped. A kind without a declaration sends
    every param in the order given.
    """
    declared = (variables if variables is not None else DEFAULT_VARIABLES).get(kind)
    if declared is None:
        names: Iterable[str] = list(params)
    else:
        for name in declared:
            if name not in params:
                raise SmsTemplateError(f"短信模板缺少变量 {name}", variable=name)
        names = declared
    return [(name, check_value(name, params[name], rules)) for name in names]


# --------------------------------------------------------------------------- segments


def count_segments(length: int) -> int:
    """How many billed SMS a text of ``length`` characters (签名 included) takes."""
    if length <= SEGMENT_SINGLE:
        return 1
    return math.ceil(length / SEGMENT_MULTI)


def split_segments(text: str, prefix_length: int = 0) -> list[str]:
    """Split ``text`` at character boundaries the way carriers bill it.

    ``prefix_length`` is the length of the 【签名】 the platform prepends: it counts in the first
    segment. ≤70 characters in all is one segment; otherwise 67 per segment.
    """
    if prefix_length + len(text) <= SEGMENT_SINGLE:
        return [text]
    parts: list[str] = []
    room = SEGMENT_MULTI - prefix_length
    if room <= 0:
        raise ValueError("signature longer than one segment")
    pos = 0
    while pos < len(text):
        parts.append(text[pos:pos + room])
        pos += room
        room = SEGMENT_MULTI
    return parts


# --------------------------------------------------------------------------- texts

TEMPLATE_TEXTS: dict[str, str] = {
    "answer": "您反映的问题（工单{number}）已由{unit}答复，回复1满意，2不满意。",
    "receipt": "您反映的问题已受理，工单{number}，预计答复日期：{due}。",
    "feedback": "您的工单{number}已办结，请回复1满意，2不满意。",
    "delay": "您反映的问题（工单{number}）未能按期办结，正在加紧办理，预计答复日期：{due}，敬请谅解。",
    "extension": "您反映的问题（工单{number}）办理时限延至{date}，我们将在此前办结并答复您。",
}
"""The text to register as each kind's template (docs/sms.md), with ``{name}`` placeholders.

Full-width punctuation is part of the approved text: nothing on the SMS path rewrites it.
"""

TAIL_PREFIX = "尾号"
"""Put before the last characters of a ticket number that does not fit a variable."""

_PLACEHOLDER_RE = re.compile(r"\$?\{(\w+)\}")


def provider_template(provider: str, kind: str,
                      variables: Mapping[str, Sequence[str]] | None = None) -> str:
    """The template text to register with ``provider`` for ``kind``.

    Alibaba writes variables as ``${number}``, Tencent numbers them ``{1}``, ``{2}`` in the
    kind's declared order (``variables``, default DEFAULT_VARIABLES); the log provider and
    the generic gateway's template mode keep ``{number}``.
    """
    text = TEMPLATE_TEXTS.get(kind)
    if text is None:
        raise PermanentSendError(f"没有 {kind} 短信的模板文本", code="template_missing")
    if provider == "aliyun":
        return _PLACEHOLDER_RE.sub(lambda m: "${" + m.group(1) + "}", text)
    if provider == "tencent":
        order = list((variables if variables is not None else DEFAULT_VARIABLES).get(kind, ()))

        def position(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in order:
                raise SmsTemplateError(f"短信模板变量 {name} 未在 variables.{kind} 中声明", variable=name)
            return "{" + str(order.index(name) + 1) + "}"

        return _PLACEHOLDER_RE.sub(position, text)
    return text


def fill_template(template: str, params: Mapping[str, str], order: Sequence[str] = ()) -> str:
    """Fill ``{name}``, ``${name}`` or positional ``{1}`` placeholders (``order`` names them).

    Values go in verbatim; a placeholder without a value raises SmsTemplateError.
    """
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.isdigit() and order:
            index = int(name) - 1
            name = order[index] if 0 <= index < len(order) else name
        if name not in params:
            raise SmsTemplateError(f"短信模板缺少变量 {name}", variable=name)
        return params[name]

    return _PLACEHOLDER_RE.sub(value, template)


def signed_text(sign_name: str, text: str) -> str:
    """The text as the phone shows it: the platform puts ``【签名】`` in front."""
    return f"【{sign_name}】{text}" if sign_name else text


def fit_value(name: str, value: str, max_length: int, *, short: str = "") -> str:
    """Shorten one known variable to ``max_length`` characters (0 = no limit).

    ``number`` keeps its tail after TAIL_PREFIX (``尾号0001``); ``unit`` becomes ``short`` (the
    unit's ``short_name``) when that fits, else its first characters. Other variables are
    returned as they are, so the length check refuses them with a clear message.
    """
    if not max_length or not isinstance(value, str) or len(value) <= max_length:
        return value
    if name == "number":
        keep = max_length - len(TAIL_PREFIX)
        return TAIL_PREFIX + value[-keep:] if keep >= 2 else value[-max_length:]
    if name == "unit":
        if short and len(short) <= max_length:
            return short
        return value[:max_length]
    return value


def fit_variables(params: Mapping[str, str], max_length: int) -> dict[str, str]:
    """``params`` with ``number`` and ``unit`` fitted to ``max_length`` (see fit_value).

    ``unit_short`` (the unit's short name, added by the SMS gateway) is the preferred short
    form of ``unit``.
    """
    short = str(params.get("unit_short") or "")
    return {name: fit_value(name, value, max_length, short=short) for name, value in params.items()}


# --------------------------------------------------------------------------- limits


@dataclass(slots=True)
class Reservation:
    """A send slot taken from a SendLimiter; release it if the provider refused the message."""

    phone: str
    at: datetime
    released: bool = False


@dataclass(slots=True)
class SendLimiter:
    """Local send limits, counted before the call (``docs/sms.md``: count before sending).

    ``per_second`` caps requests in any one-second window; ``per_number_daily`` caps accepted
    sends to one number per natural day in Beijing time (Tencent) or, with ``rolling``, per
    rolling 24 hours (Alibaba). 0 turns a limit off. In-memory: the store's outbox is the
    durable count; this one stops a burst from burning the provider's per-number quota.
    """

    per_second: int = 0
    per_number_daily: int = 0
    rolling: bool = False
    clock: Clock = field(default_factory=SystemClock)
    _recent: deque[datetime] = field(default_factory=deque, init=False, repr=False)
    _numbers: dict[str, deque[datetime]] = field(default_factory=dict, init=False, repr=False)
    _sweeps: int = field(default=0, init=False, repr=False)

    def reserve(self, phone: str) -> Reservation:
        """Take a slot for ``phone`` or raise TransientSendError with ``retry_after``."""
        now = self.clock.now()
        if self.per_second > 0:
            while self._recent and now - self._recent[0] >= timedelta(seconds=1):
                self._recent.popleft()
            if len(self._recent) >= self.per_second:
                wait = (self._recent[0] + timedelta(seconds=1) - now).total_seconds()
                raise TransientSendError("短信发送过快，稍后重试", code="local_rate_limit",
                                         retry_after=max(wait, 0.01))
        if self.per_number_daily > 0:
            sent = self._numbers.setdefault(phone, deque())
            self._prune(sent, now)
            if len(sent) >= self.per_number_daily:
                raise TransientSendError(
                    f"{mask_phone(phone)} 今日短信已达 {self.per_number_daily} 条上限",
                    code="local_number_daily_limit", retry_after=self._wait(sent, now))
            sent.append(now)
        if self.per_second > 0:
            self._recent.append(now)
        self._sweeps += 1
        if self._sweeps % 1000 == 0:
            self._sweep(now)
        return Reservation(phone=phone, at=now)

    def release(self, reservation: Reservation) -> None:
        """Give back a slot: the provider did not accept the message."""
        if reservation.released:
            return
        reservation.released = True
        sent = self._numbers.get(reservation.phone)
        if sent is not None and reservation.at in sent:
            sent.remove(reservation.at)
        if reservation.at in self._recent:
            self._recent.remove(reservation.at)

    def _prune(self, sent: deque[datetime], now: datetime) -> None:
        if self.rolling:
            while sent and now - sent[0] >= timedelta(days=1):
                sent.popleft()
        else:
            today = now.astimezone(BEIJING).date()
            while sent and sent[0].astimezone(BEIJING).date() != today:
                sent.popleft()

    def _wait(self, sent: deque[datetime], now: datetime) -> float:
        if self.rolling:
            return max((sent[0] + timedelta(days=1) - now).total_seconds(), 1.0)
        local = now.astimezone(BEIJING)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), BEIJING)
        return max((midnight - local).total_seconds(), 1.0)

    def _sweep(self, now: datetime) -> None:
        for phone in list(self._numbers):
            self._prune(self._numbers[phone], now)
            if not self._numbers[phone]:
                del self._numbers[phone]


def error_text(err: SendError) -> str:
    """A one-line description of a send error for logs: class, code and message."""
    return f"{type(err).__name__}[{err.code}]: {err}"


# --------------------------------------------------------------------------- HTTP


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """The provider's HTTP answer, read in full."""

    status: int
    body: bytes
    retry_after: float | None = None


def host_header(url: URL) -> str:
    """The Host header value aiohttp sends for ``url`` (port only when not the default)."""
    return url.host_port_subcomponent or ""


async def post(http: aiohttp.ClientSession, url: URL, *, headers: Mapping[str, str],
               data: bytes | None, timeout_s: float) -> HttpAnswer:
    """POST exactly these bytes; map failures to send errors.

    A connection that never opened is a plain TransientSendError (safe to retry); a timeout or
    a dropped connection after the request went out is SmsUnknownOutcomeError.
    """
    try:
        async with http.post(url, headers=dict(headers), data=data, allow_redirects=False,
                             timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
            body = await resp.read()
            return HttpAnswer(resp.status, body, retry_after(resp.headers.get("Retry-After"), None))
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
        raise TransientSendError(f"短信通道连接失败：{exc}", code="network") from exc
    except TimeoutError as exc:
        raise SmsUnknownOutcomeError("短信通道超时，发送结果未知", code="timeout") from exc
    except aiohttp.ClientError as exc:
        raise SmsUnknownOutcomeError(f"短信通道连接中断，发送结果未知：{exc}",
                                     code="network_unknown") from exc
