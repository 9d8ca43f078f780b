"""The `[sms]` configuration (DESIGN §4) and the factory that turns it into a provider."""

from __future__ import annotations

import ipaddress
import re
from datetime import time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.sms.base import SmsProvider
from adapters.sms.templates import (
    DEFAULT_VARIABLES,
    SmsAccountError,
    SmsOptOutError,
    SmsUnknownOutcomeError,
    is_account_error,
    is_balance_error,
    is_opt_out_error,
)
from bot.clock import Clock

__all__ = [
    "AliyunConfig",
    "GenericGatewayConfig",
    "SmsAccountError",
    "SmsConfig",
    "SmsOptOutError",
    "SmsUnknownOutcomeError",
    "TencentConfig",
    "build_provider",
    "is_account_error",
    "is_balance_error",
    "is_opt_out_error",
]

_DURATION_RE = re.compile(r"^(\d+)([dhm])$")
_QUIET_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def _default_variables() -> dict[str, list[str]]:
    return {kind: list(names) for kind, names in DEFAULT_VARIABLES.items()}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _CloudCommon(_Model):
    """Keys shared by the cloud providers."""

    sign_name: str = ""
    templates: dict[str, str] = Field(default_factory=dict)
    """Message kind (answer, receipt, feedback) → the provider's template id."""
    variables: dict[str, list[str]] = Field(default_factory=_default_variables)
    """Message kind → the template's variable names, in Tencent's positional order."""
    timeout: float = Field(default=10.0, gt=0)
    rate_per_second: int = Field(default=0, ge=0)
    """Local cap on requests per second; 0 = off."""
    extend_code: str = Field(default="", pattern=r"^\d{0,12}$")
    """Extension code (扩展码) sent with every message so replies carry it; "" = none."""


class AliyunConfig(_CloudCommon):
    """`[sms.aliyun]`: Alibaba Cloud SMS (dysmsapi 2017-05-25), signed ACS3-HMAC-SHA256."""

    access_key_id: str = ""
    access_key_secret: str = Field(default="", repr=False)
    security_token: str = Field(default="", repr=False)
    """STS token, when the key is temporary."""
    api_base: str = "https://dysmsapi.aliyuncs.com"
    param_max_length: int = Field(default=35, ge=1)
    """Longest variable value (`others` attribute ≈35, SMS.md §1.7, unverified)."""
    per_number_daily: int = Field(default=50, ge=0)
    """Accepted sends per number per rolling 24 h (通知: 50, SMS.md §1.6); 0 = off."""


class TencentConfig(_CloudCommon):
    """`[sms.tencent]`: Tencent Cloud SMS (2021-01-11), signed TC3-HMAC-SHA256."""

    secret_id: str = ""
    secret_key: str = Field(default="", repr=False)
    token: str = Field(default="", repr=False)
    """X-TC-Token for temporary credentials."""
    sdk_app_id: str = ""
    region: str = "ap-guangzhou"
    api_base: str = "https://sms.tencentcloudapi.com"
    param_max_length: int = Field(default=6, ge=1)
    """Longest variable value: 6 for accounts opened since 2024-01-25 (SMS.md §0)."""
    per_number_daily: int = Field(default=2, ge=0)
    """Sends per number per natural day (Tencent default 2, SMS.md §2.4); 0 = off."""


class GenericGatewayConfig(_Model):
    """`[sms.generic]`: a government gateway (政务短信平台 / 云MAS HTTP), fully configurable.

    Defaults follow China Mobile 云MAS `norsubmit` (SMS.md §4): Base64(JSON) body with
    ecName, apId, secretKey, mobiles, content, sign, addSerial and
    ``mac = md5(ecName+apId+secretKey+mobiles+content+sign+addSerial)``.
    """

    url: str = ""
    """Full send URL, e.g. ``http://10.1.2.3:8080/sms/norsubmit``."""
    mode: Literal["text", "template"] = "text"
    """text: free text (may carry the answer itself); template: templateId + params."""
    body_encoding: Literal["base64-json", "json", "form"] = "base64-json"
    charset: str = "utf-8"
    timeout: float = Field(default=10.0, gt=0)

    phone_field: str = "mobiles"
    text_field: str = "content"
    template_field: str = "templateId"
    params_field: str = "params"
    params_format: Literal["json-array", "json-object"] = "json-array"
    out_id_field: str = ""
    """Field carrying our out id, if the gateway has one; "" = not sent."""
    static_fields: dict[str, str] = Field(
        default_factory=lambda: {"ecName": "", "apId": "", "sign": "", "addSerial": ""})
    """Fixed fields sent with every request (unit name, API user, 签名编码, extension)."""

    secret: str = Field(default="", repr=False)
    secret_field: str = "secretKey"
    """Field that carries the secret in the body; "" = the secret is only used for signing."""
    timestamp_field: str = ""
    timestamp_format: str = "unix"
    """unix | unix_ms | a strftime pattern (Beijing time), e.g. %Y%m%d%H%M%S."""
    sign_field: str = "mac"
    sign_algo: Literal["md5", "sha256", "hmac-sha256", "hmac-md5", "none"] = "md5"
    sign_fields: list[str] | None = None
    """Fields concatenated, in order, into the signed string; ``{secret}`` = the secret.
    [] = every sent field sorted by name as k=v joined by &. None = 云MAS order for the mode."""
    sign_separator: str = ""
    sign_case: Literal["lower", "upper"] = "lower"

    texts: dict[str, str] = Field(default_factory=lambda: {
        "answer": "您反映的问题（工单{number}）已由{unit}答复：{text}回复1满意，2不满意。",
        "receipt": "您反映的问题已受理，工单号{number}。",
        "feedback": "您的工单{number}已办结，请回复1满意，2不满意。",
    })
    """text mode: kind → text with {variable} placeholders (the answer itself is {text})."""
    templates: dict[str, str] = Field(default_factory=dict)
    """template mode: kind → the gateway's template id."""
    variables: dict[str, list[str]] = Field(default_factory=_default_variables)
    sign_text: str = ""
    """The 签名 text the platform prepends (counted in segment 1); "" = not counted."""
    max_segments: int = Field(default=8, ge=1)
    allow_urls: bool = False
    param_max_length: int = Field(default=35, ge=1)
    """template mode: longest variable value."""

    success_field: str = "success"
    success_values: list[str] = Field(default_factory=lambda: ["true"])
    code_field: str = "rspcod"
    id_field: str = "msgGroup"
    transient_codes: list[str] = Field(default_factory=list)
    """Gateway codes meaning "busy, try later" (throttling, system busy)."""
    balance_codes: list[str] = Field(default_factory=list)
    account_codes: list[str] = Field(default_factory=lambda: ["InvalidUsrOrPwd", "IllegalMac"])
    """Codes that stop the channel (bad credentials or signing): alert the office."""

    rate_per_second: int = Field(default=0, ge=0)
    per_number_daily: int = Field(default=0, ge=0)

    receipt_status_field: str = "reportStatus"
    receipt_success_values: list[str] = Field(default_factory=lambda: ["DELIVRD"])
    receipt_phone_field: str = "mobile"
    receipt_id_field: str = "msgGroup"
    receipt_code_field: str = "errorCode"
    receipt_time_field: str = "receiveDate"
    receipt_time_format: str = "%Y%m%d%H%M%S"
    reply_text_field: str = "smsContent"
    reply_phone_field: str = "mobile"
    reply_time_field: str = "sendTime"
    reply_time_format: str = "%Y-%m-%d %H:%M:%S"
    reply_extend_field: str = "addSerial"
    reply_id_field: str = ""
    timezone: str = "Asia/Shanghai"
    callback_ack: str = '{"rspcod":"success"}'
    """Body answered to a push once it is stored."""

    def effective_sign_fields(self) -> list[str]:
        """The signed field list, with the 云MAS default for the mode filled in."""
        if self.sign_fields is not None:
            return list(self.sign_fields)
        secret = self.secret_field or "{secret}"
        if self.mode == "template":
            return ["ecName", "apId", secret, self.template_field, self.phone_field,
                    self.params_field, "sign", "addSerial"]
        return ["ecName", "apId", secret, self.phone_field, self.text_field, "sign", "addSerial"]

    def sent_fields(self) -> set[str]:
        """Every field name a send request carries."""
        names = set(self.static_fields) | {self.phone_field, self.sign_field}
        names |= {self.text_field} if self.mode == "text" else {self.template_field, self.params_field}
        for extra in (self.out_id_field, self.secret_field, self.timestamp_field):
            if extra:
                names.add(extra)
        names.discard("")
        return names

    @model_validator(mode="after")
    def _check_recipe(self) -> GenericGatewayConfig:
        if self.sign_algo == "none":
            return self
        known = self.sent_fields() - {self.sign_field} | {"{secret}"}
        for name in self.effective_sign_fields():
            if name not in known:
                raise ValueError(f"sign_fields: {name!r} is not a sent field (known: {sorted(known)})")
        return self


class SmsConfig(_Model):
    """`[sms]`: which provider sends citizen SMS, and the push and timing settings."""

    provider: Literal["log", "aliyun", "tencent", "generic"] = "log"
    callback_token: str = Field(default="", repr=False)
    """Required as ``?token=`` on ``POST /webhooks/sms/{provider}`` (pushes are unsigned)."""
    reply_window: str = "7d"
    """How long after an SMS a citizen reply is tied to it: Nd, Nh or Nm."""
    quiet_hours: str = "21:00-08:00"
    """Citizen SMS due inside this window (Beijing time) wait until it ends; "" = send at once."""
    log_max_length: int = Field(default=35, ge=1)
    """log provider: longest variable value it accepts."""
    callback_networks: list[str] = Field(default_factory=list)
    """Source networks (CIDR) pushes must come from, besides the token; [] = any."""
    citizen_link_days: int = Field(default=7, ge=1, le=90)
    """How long the citizen page link in an answer SMS stays valid."""
    aliyun: AliyunConfig = Field(default_factory=AliyunConfig)
    tencent: TencentConfig = Field(default_factory=TencentConfig)
    generic: GenericGatewayConfig = Field(default_factory=GenericGatewayConfig)

    @field_validator("reply_window")
    @classmethod
    def _check_window(cls, value: str) -> str:
        if not _DURATION_RE.match(value) or int(value[:-1]) <= 0:
            raise ValueError("write a duration like 7d, 48h or 90m")
        return value

    @field_validator("callback_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for net in value:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError as exc:
                raise ValueError(f"not a network: {net!r}") from exc
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet(cls, value: str) -> str:
        if value and not _QUIET_RE.match(value):
            raise ValueError('write "HH:MM-HH:MM", e.g. "21:00-08:00", or "" for none')
        return value

    @model_validator(mode="after")
    def _check_provider(self) -> SmsConfig:
        required = {
            "aliyun": ("access_key_id", "access_key_secret", "sign_name"),
            "tencent": ("secret_id", "secret_key", "sdk_app_id", "sign_name"),
            "generic": ("url",),
        }.get(self.provider, ())
        section = getattr(self, self.provider, None)
        for key in required:
            if not getattr(section, key):
                raise ValueError(f"sms.{self.provider}.{key} is required when provider = {self.provider!r}")
        return self

    @property
    def reply_window_delta(self) -> timedelta:
        """``reply_window`` as a timedelta."""
        match = _DURATION_RE.match(self.reply_window)
        assert match is not None
        unit = {"d": "days", "h": "hours", "m": "minutes"}[match.group(2)]
        return timedelta(**{unit: int(match.group(1))})

    @property
    def quiet_window(self) -> tuple[time, time] | None:
        """``quiet_hours`` as (start, end) local times, or None when off."""
        match = _QUIET_RE.match(self.quiet_hours)
        if not match:
            return None
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        return time(h1, m1), time(h2, m2)


def build_provider(config: SmsConfig, *, clock: Clock | None = None) -> SmsProvider:
    """Create the provider ``config.provider`` names; ``clock`` is for tests."""
    from adapters.sms.aliyun import AliyunSmsProvider
    from adapters.sms.generic import GenericGatewayProvider
    from adapters.sms.log import LogSmsProvider
    from adapters.sms.tencent import TencentSmsProvider

    if config.provider == "aliyun":
        return AliyunSmsProvider(config.aliyun, clock=clock)
    if config.provider == "tencent":
        return TencentSmsProvider(config.tencent, clock=clock)
    if config.provider == "generic":
        return GenericGatewayProvider(config.generic, clock=clock)
    return LogSmsProvider(max_length=config.log_max_length)
