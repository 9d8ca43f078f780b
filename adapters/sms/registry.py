"""The `[sms]` configuration (``docs/configuration.md``) and the factory that turns it into a provider."""

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

    sign_name: str = Field("", description="短信签名（在服务商控制台审核通过的）")
    templates: dict[str, str] = Field(default_factory=dict, description="消息类别（answer 答复、receipt 受理、feedback 回访）→ 服务商的模板 ID")
    """Message kind (answer, receipt, feedback) → the provider's template id."""
    variables: dict[str, list[str]] = Field(default_factory=_default_variables, description="消息类别 → 模板变量名，按模板中的顺序")
    """Message kind → the template's variable names, in Tencent's positional order."""
    timeout: float = Field(default=10.0, gt=0, description="调用接口的超时（秒）")
    rate_per_second: int = Field(default=0, ge=0, description="本地限速：每秒最多请求数；0 为不限")
    """Local cap on requests per second; 0 = off."""
    extend_code: str = Field(default="", pattern=r"^\d{0,12}$", description="扩展码，随每条短信发送，来电人的回复会带上它；留空为不用")
    """Extension code (扩展码) sent with every message so replies carry it; "" = none."""


class AliyunConfig(_CloudCommon):
    """`[sms.aliyun]`: Alibaba Cloud SMS (dysmsapi 2017-05-25), signed ACS3-HMAC-SHA256."""

    access_key_id: str = Field("", description="阿里云 AccessKey ID")
    access_key_secret: str = Field(default="", repr=False, description="阿里云 AccessKey Secret")
    security_token: str = Field(default="", repr=False, description="STS 临时凭证的 SecurityToken（用临时密钥时）")
    """STS token, when the key is temporary."""
    api_base: str = Field("https://dysmsapi.aliyuncs.com", description="短信接口地址（代理时改）")
    param_max_length: int = Field(default=35, ge=1, description="每个模板变量最多几个字")
    """Longest variable value (`others` attribute ≈35, ``docs/sms.md``, unverified)."""
    per_number_daily: int = Field(default=50, ge=0, description="同一号码 24 小时内最多发的条数；0 为不限")
    """Accepted sends per number per rolling 24 h (通知: 50, ``docs/sms.md``, Alibaba flow control); 0 = off."""


class TencentConfig(_CloudCommon):
    """`[sms.tencent]`: Tencent Cloud SMS (2021-01-11), signed TC3-HMAC-SHA256."""

    secret_id: str = Field("", description="腾讯云 SecretId")
    secret_key: str = Field(default="", repr=False, description="腾讯云 SecretKey")
    token: str = Field(default="", repr=False, description="临时凭证的 Token（用临时密钥时）")
    """X-TC-Token for temporary credentials."""
    sdk_app_id: str = Field("", description="短信应用 SdkAppId")
    region: str = Field("ap-guangzhou", description="地域，如 ap-guangzhou")
    api_base: str = Field("https://sms.tencentcloudapi.com", description="短信接口地址（代理时改）")
    param_max_length: int = Field(default=6, ge=0, description=(
        "每个模板变量最多几个字：新开的腾讯云账号默认 6；企业账号放宽后写放宽后的值，0 = 不限。"
        "超过时工单号发成“尾号”加末几位，单位名用 [[units]] 的 short_name（没有则截取前几个字）"))
    """Longest variable value: 6 for accounts opened since 2024-01-25 (``docs/sms.md``, Tencent).

    Longer ticket numbers and unit names are fitted to it (``尾号0001``, the unit's short name)."""
    per_number_daily: int = Field(default=2, ge=0, description="同一号码每个自然日最多发的条数；0 为不限")
    """Sends per number per natural day (Tencent default 2, ``docs/sms.md``); 0 = off."""


class GenericGatewayConfig(_Model):
    """`[sms.generic]`: a government gateway (政务短信平台 / 云MAS HTTP), fully configurable.

    Defaults follow China Mobile 云MAS `norsubmit` (``docs/sms.md``, generic gateway): Base64(JSON) body with
    ecName, apId, secretKey, mobiles, content, sign, addSerial and
    ``mac = md5(ecName+apId+secretKey+mobiles+content+sign+addSerial)``.
    """

    url: str = Field("", description="发送接口的完整地址，如 http://10.1.2.3:8080/sms/norsubmit")
    """Full send URL, e.g. ``http://10.1.2.3:8080/sms/norsubmit``."""
    mode: Literal["text", "template"] = Field("text", description="text 自由文本（可直接带答复内容）或 template 模板加参数")
    """text: free text (may carry the answer itself); template: templateId + params."""
    body_encoding: Literal["base64-json", "json", "form"] = Field("base64-json", description="请求体编码：base64-json、json 或 form")
    charset: str = Field("utf-8", description="请求体字符集")
    timeout: float = Field(default=10.0, gt=0, description="调用接口的超时（秒）")

    phone_field: str = Field("mobiles", description="手机号字段名")
    text_field: str = Field("content", description="短信内容字段名（text 模式）")
    template_field: str = Field("templateId", description="模板 ID 字段名（template 模式）")
    params_field: str = Field("params", description="模板参数字段名（template 模式）")
    params_format: Literal["json-array", "json-object"] = Field("json-array", description="模板参数格式：json-array 数组或 json-object 对象")
    out_id_field: str = Field("", description="携带本系统消息编号的字段名；留空为不发")
    """Field carrying our out id, if the gateway has one; "" = not sent."""
    static_fields: dict[str, str] = Field(
        default_factory=lambda: {"ecName": "", "apId": "", "sign": "", "addSerial": ""}, description="每次请求都带的固定字段（单位名、接口账号、签名编码、扩展号）")
    """Fixed fields sent with every request (unit name, API user, 签名编码, extension)."""

    secret: str = Field(default="", repr=False, description="接口密钥")
    secret_field: str = Field("secretKey", description="请求体里携带密钥的字段名；留空则密钥只用于签名")
    """Field that carries the secret in the body; "" = the secret is only used for signing."""
    timestamp_field: str = Field("", description="时间戳字段名；留空为不发")
    timestamp_format: str = Field("unix", description="时间戳格式：unix、unix_ms 或 strftime 格式（北京时间）")
    """unix | unix_ms | a strftime pattern (Beijing time), e.g. %Y%m%d%H%M%S."""
    sign_field: str = Field("mac", description="签名字段名")
    sign_algo: Literal["md5", "sha256", "hmac-sha256", "hmac-md5", "none"] = Field("md5", description="签名算法：md5、sha256、hmac-sha256、hmac-md5 或 none")
    sign_fields: list[str] | None = Field(None, description="按顺序拼接参与签名的字段，{secret} 表示密钥；[] 为全部字段按名排序；不写用云MAS 默认顺序")
    """Fields concatenated, in order, into the signed string; ``{secret}`` = the secret.
    [] = every sent field sorted by name as k=v joined by &. None = 云MAS order for the mode."""
    sign_separator: str = Field("", description="签名字段之间的分隔符")
    sign_case: Literal["lower", "upper"] = Field("lower", description="签名结果大小写：lower 或 upper")

    texts: dict[str, str] = Field(default_factory=lambda: {
        "answer": "您反映的问题（工单{number}）已由{unit}答复：{text}回复1满意，2不满意。",
        "receipt": "您反映的问题已受理，工单号{number}。",
        "feedback": "您的工单{number}已办结，请回复1满意，2不满意。",
    }, description="text 模式：消息类别 → 带 {变量} 的短信文字（答复内容为 {text}）")
    """text mode: kind → text with {variable} placeholders (the answer itself is {text})."""
    templates: dict[str, str] = Field(default_factory=dict, description="template 模式：消息类别 → 网关的模板 ID")
    """template mode: kind → the gateway's template id."""
    variables: dict[str, list[str]] = Field(default_factory=_default_variables, description="消息类别 → 模板变量名，按顺序")
    sign_text: str = Field("", description="平台自动加在前面的签名文字（计入第一条的字数）；留空为不计")
    """The 签名 text the platform prepends (counted in segment 1); "" = not counted."""
    max_segments: int = Field(default=8, ge=1, description="一条短信最多拆成几条计费短信")
    allow_urls: bool = Field(False, description="短信里允许带链接")
    param_max_length: int = Field(default=35, ge=1, description="template 模式：每个模板变量最多几个字")
    """template mode: longest variable value."""

    success_field: str = Field("success", description="应答中表示成功与否的字段名")
    success_values: list[str] = Field(default_factory=lambda: ["true"], description="表示成功的取值")
    code_field: str = Field("rspcod", description="应答中错误码的字段名")
    id_field: str = Field("msgGroup", description="应答中消息批次号的字段名")
    transient_codes: list[str] = Field(default_factory=list, description="表示“繁忙，稍后重试”的错误码")
    """Gateway codes meaning "busy, try later" (throttling, system busy)."""
    balance_codes: list[str] = Field(default_factory=list, description="表示余额不足的错误码（提醒办公室）")
    account_codes: list[str] = Field(default_factory=lambda: ["InvalidUsrOrPwd", "IllegalMac"], description="表示账号或签名错误、须停发并提醒办公室的错误码")
    """Codes that stop the channel (bad credentials or signing): alert the office."""

    rate_per_second: int = Field(default=0, ge=0, description="本地限速：每秒最多请求数；0 为不限")
    per_number_daily: int = Field(default=0, ge=0, description="同一号码每天最多发的条数；0 为不限")

    receipt_status_field: str = Field("reportStatus", description="状态报告中状态的字段名")
    receipt_success_values: list[str] = Field(default_factory=lambda: ["DELIVRD"], description="状态报告中表示送达的取值")
    receipt_phone_field: str = Field("mobile", description="状态报告中手机号的字段名")
    receipt_id_field: str = Field("msgGroup", description="状态报告中消息批次号的字段名")
    receipt_code_field: str = Field("errorCode", description="状态报告中错误码的字段名")
    receipt_time_field: str = Field("receiveDate", description="状态报告中时间的字段名")
    receipt_time_format: str = Field("%Y%m%d%H%M%S", description="状态报告时间的 strftime 格式")
    reply_text_field: str = Field("smsContent", description="上行短信中内容的字段名")
    reply_phone_field: str = Field("mobile", description="上行短信中手机号的字段名")
    reply_time_field: str = Field("sendTime", description="上行短信中时间的字段名")
    reply_time_format: str = Field("%Y-%m-%d %H:%M:%S", description="上行短信时间的 strftime 格式")
    reply_extend_field: str = Field("addSerial", description="上行短信中扩展号的字段名")
    reply_id_field: str = Field("", description="上行短信中编号的字段名；留空为无")
    timezone: str = Field("Asia/Shanghai", description="网关时间所用的时区")
    callback_ack: str = Field('{"rspcod":"success"}', description="收到推送并保存后应答的内容")
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

    provider: Literal["log", "aliyun", "tencent", "generic"] = Field("log", description="发短信的通道：log（只记日志，试用）、aliyun、tencent 或 generic（政务短信网关）")
    callback_token: str = Field(default="", repr=False, description="短信推送地址 /webhooks/sms/{provider} 必须带的 ?token=")
    """Required as ``?token=`` on ``POST /webhooks/sms/{provider}`` (pushes are unsigned)."""
    reply_window: str = Field("7d", description="来电人回复在短信发出后多久内算作对它的回复：Nd、Nh 或 Nm")
    """How long after an SMS a citizen reply is tied to it: Nd, Nh or Nm."""
    quiet_hours: str = Field("21:00-08:00", description="免打扰时段（北京时间），其间的短信等到结束再发；留空为立即发")
    """Citizen SMS due inside this window (Beijing time) wait until it ends; "" = send at once."""
    log_max_length: int = Field(default=35, ge=1, description="log 通道：每个变量最多几个字")
    """log provider: longest variable value it accepts."""
    log_sign_name: str = Field(default="热线助手", description=(
        "log 通道（试用，不真发）显示的短信签名，记录的短信以【签名】开头，计入字数和条数"))
    """log provider: the 签名 shown in front of the text it records (it counts in the length)."""
    callback_networks: list[str] = Field(default_factory=list, description="推送只接受来自这些网段（CIDR）；[] 为不限")
    """Source networks (CIDR) pushes must come from, besides the token; [] = any."""
    citizen_link_days: int = Field(default=7, ge=1, le=90, description="答复短信里来电人页面链接的有效天数")
    """How long the citizen page link in an answer SMS stays valid."""
    aliyun: AliyunConfig = Field(default_factory=AliyunConfig, description="阿里云短信")
    tencent: TencentConfig = Field(default_factory=TencentConfig, description="腾讯云短信")
    generic: GenericGatewayConfig = Field(default_factory=GenericGatewayConfig, description="政务短信平台 / 云MAS 网关")

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
    return LogSmsProvider(max_length=config.log_max_length, sign_name=config.log_sign_name)
