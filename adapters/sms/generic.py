"""A generic government SMS gateway (政务短信平台 / China Mobile 云MAS "HTTP"), driven by config.

Everything about the wire is configurable (GenericGatewayConfig): field names, body encoding,
the signing recipe, success rule, error codes and push field names. Defaults follow 云MAS
``norsubmit`` (``docs/sms.md``, generic gateway). In ``text`` mode the gateway takes free text, so the answer itself can
travel (placeholder ``{text}``); the result reports how many billed segments it takes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator
from yarl import URL

from adapters.sms.base import SmsProvider, SmsRequest, SmsTemplateError
from adapters.sms.sections import SectionModel, default_variables
from adapters.sms.templates import (
    HttpAnswer,
    SendLimiter,
    VariableRules,
    callback_phone,
    check_value,
    check_variables,
    count_segments,
    find_url,
    split_segments,
)
from bot import safe_json
from bot.clock import Clock, SystemClock
from bot.send_errors import PermanentSendError, TransientSendError
from bot.sms_port import (
    SmsAccountError,
    SmsReceipt,
    SmsReply,
    SmsSendResult,
    SmsUnknownOutcomeError,
    normalize_cn_mobile,
)
from bot.sms_providers import SmsProviderEntry, register

__all__ = [
    "GenericGatewayProvider",
    "decode_body",
    "encode_body",
    "mas_mac",
    "sign_fields",
    "signing_string",
]

SECRET_TOKEN = "{secret}"


class GenericGatewayConfig(SectionModel):
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
        "receipt": "您反映的问题已受理，工单号{number}，预计答复日期：{due}。",
        "feedback": "您的工单{number}已办结，请回复1满意，2不满意。",
        "delay": "您反映的问题（工单号{number}）未能按期办结，正在加紧办理，预计答复日期：{due}，敬请谅解。",
        "extension": "您反映的问题（工单{number}）办理时限延至{date}，我们将在此前办结并答复您。",
    }, description="text 模式：消息类别 → 带 {变量} 的短信文字（答复内容为 {text}）")
    """text mode: kind → text with {variable} placeholders (the answer itself is {text})."""
    templates: dict[str, str] = Field(default_factory=dict, description="template 模式：消息类别 → 网关的模板 ID")
    """template mode: kind → the gateway's template id."""
    variables: dict[str, list[str]] = Field(default_factory=default_variables, description="消息类别 → 模板变量名，按顺序")
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


# --------------------------------------------------------------------------- signing


def mas_mac(*, ec_name: str, ap_id: str, secret_key: str, mobiles: str, content: str, sign: str,
            add_serial: str, charset: str = "utf-8") -> str:
    """云MAS norsubmit ``mac``: lower-hex MD5 of the seven fields concatenated (``docs/sms.md``, generic gateway)."""
    raw = f"{ec_name}{ap_id}{secret_key}{mobiles}{content}{sign}{add_serial}"
    return hashlib.md5(raw.encode(charset)).hexdigest()


def signing_string(config: GenericGatewayConfig, fields: Mapping[str, str]) -> str:
    """The string the recipe signs: the listed fields joined, or sorted ``k=v&…`` for ``[]``."""
    order = config.effective_sign_fields()
    if not order:
        return "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != config.sign_field)
    parts = [config.secret if name == SECRET_TOKEN else fields.get(name, "") for name in order]
    return config.sign_separator.join(parts)


def sign_fields(config: GenericGatewayConfig, fields: Mapping[str, str]) -> str:
    """The signature value for ``fields`` per the configured algorithm and case."""
    data = signing_string(config, fields).encode(config.charset)
    key = config.secret.encode(config.charset)
    algo = config.sign_algo
    if algo == "md5":
        digest = hashlib.md5(data).hexdigest()
    elif algo == "sha256":
        digest = hashlib.sha256(data).hexdigest()
    elif algo == "hmac-sha256":
        digest = hmac.new(key, data, hashlib.sha256).hexdigest()
    elif algo == "hmac-md5":
        digest = hmac.new(key, data, hashlib.md5).hexdigest()
    else:
        return ""
    return digest.upper() if config.sign_case == "upper" else digest


def encode_body(config: GenericGatewayConfig, fields: Mapping[str, str]) -> tuple[bytes, str]:
    """(body bytes, content type) for the configured encoding."""
    charset = config.charset
    if config.body_encoding == "form":
        return (urlencode(dict(fields), encoding=charset).encode("ascii"),
                f"application/x-www-form-urlencoded; charset={charset}")
    raw = json.dumps(dict(fields), ensure_ascii=False).encode(charset)
    if config.body_encoding == "json":
        return raw, f"application/json; charset={charset}"
    return base64.b64encode(raw), "text/plain"


def decode_body(body: bytes, content_type: str = "", charset: str = "utf-8") -> Any:
    """Decode a gateway body: JSON, Base64(JSON) or a form; ValueError if none fits."""
    text = body.decode(charset, errors="strict").strip()
    try:
        return safe_json.loads(text)
    except safe_json.BadJson:
        pass
    try:
        return safe_json.loads(base64.b64decode(text, validate=True).decode(charset))
    except (binascii.Error, UnicodeDecodeError, safe_json.BadJson):
        pass
    if "=" in text:
        return dict(parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict"))
    raise ValueError("body is neither JSON, Base64(JSON) nor a form")


# --------------------------------------------------------------------------- provider


class GenericGatewayProvider(SmsProvider):
    """A configurable HTTP gateway: free text or templates, recipe signing, field-mapped pushes."""

    name = "generic"

    def __init__(self, config: GenericGatewayConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.url = URL(config.url)
        self.zone = ZoneInfo(config.timezone)
        self.carries_text = config.mode == "text"
        self.templates = config.templates
        self.variables = config.variables
        self.timeout = config.timeout
        self.prefix_length = len(config.sign_text) + 2 if config.sign_text else 0
        self.text_rules = VariableRules(max_length=0, forbid_urls=not config.allow_urls,
                                        allow_newlines=True)
        self.param_rules = VariableRules(max_length=config.param_max_length,
                                         forbid_urls=not config.allow_urls)
        self.limiter = SendLimiter(per_second=config.rate_per_second,
                                   per_number_daily=config.per_number_daily, clock=self.clock)

    # -- content

    def render(self, kind: str, params: Mapping[str, str]) -> str:
        """text mode: the message text for ``kind``, variables checked and filled in."""
        pattern = self.config.texts.get(kind)
        if not pattern:
            raise PermanentSendError(f"未配置 {kind} 短信内容", code="template_missing")
        values: dict[str, str] = {}
        for _, name, _, _ in string.Formatter().parse(pattern):
            if name is None or name in values:
                continue
            if name not in params:
                raise SmsTemplateError(f"短信内容缺少变量 {name}", variable=name)
            values[name] = check_value(name, params[name], self.text_rules)
        text = pattern.format_map(values)
        if not self.config.allow_urls and (url := find_url(text)):
            raise SmsTemplateError(f"短信内容不能含链接：{url}", variable="text")
        segments = count_segments(self.prefix_length + len(text))
        if segments > self.config.max_segments:
            raise SmsTemplateError(
                f"短信过长：{len(text)} 字，{segments} 条，上限 {self.config.max_segments} 条",
                variable="text")
        return text

    def segments(self, text: str) -> list[str]:
        """How carriers split ``text`` (the configured 签名 counts in the first part)."""
        return split_segments(text, self.prefix_length)

    def validate(self, kind: str, params: dict[str, str]) -> None:
        """Refuse what the gateway would reject: missing content, bad variables, too long."""
        self._content(kind, params)

    def _content(self, kind: str, params: Mapping[str, str]) -> dict[str, str]:
        cfg = self.config
        if cfg.mode == "text":
            return {cfg.text_field: self.render(kind, params)}
        template = cfg.templates.get(kind)
        if not template:
            raise PermanentSendError(f"未配置 {kind} 短信模板", code="template_missing")
        pairs = check_variables(kind, params, self.param_rules, cfg.variables)
        if cfg.params_format == "json-object":
            encoded = json.dumps(dict(pairs), ensure_ascii=False, separators=(",", ":"))
        else:
            encoded = json.dumps([v for _, v in pairs] or [""], ensure_ascii=False, separators=(",", ":"))
        return {cfg.template_field: template, cfg.params_field: encoded}

    def _timestamp(self) -> str:
        now = self.clock.now()
        fmt = self.config.timestamp_format
        if fmt == "unix":
            return str(int(now.timestamp()))
        if fmt == "unix_ms":
            return str(int(now.timestamp() * 1000))
        return now.astimezone(self.zone).strftime(fmt)

    def build_fields(self, phone: str, kind: str, params: Mapping[str, str], out_id: str) -> dict[str, str]:
        """Every field of the send request, signature included, in a stable order."""
        cfg = self.config
        fields = dict(cfg.static_fields)
        if cfg.secret_field:
            fields[cfg.secret_field] = cfg.secret
        fields[cfg.phone_field] = normalize_cn_mobile(phone)
        fields.update(self._content(kind, params))
        if cfg.out_id_field:
            fields[cfg.out_id_field] = out_id
        if cfg.timestamp_field:
            fields[cfg.timestamp_field] = self._timestamp()
        if cfg.sign_algo != "none":
            fields[cfg.sign_field] = sign_fields(cfg, fields)
        return fields

    def accepts_link(self, kind: str) -> bool:
        """text mode: where the kind's text has ``{link}``; template mode: a declared ``link`` variable."""
        if self.carries_text:
            return "{link}" in self.config.texts.get(kind, "")
        return super().accepts_link(kind)

    def build_request(self, phone: str, kind: str, params: dict[str, str], out_id: str) -> SmsRequest:
        """Submit one message: the signed fields, encoded as the gateway wants them."""
        cfg = self.config
        fields = self.build_fields(phone, kind, params, out_id)
        body, content_type = encode_body(cfg, fields)
        return SmsRequest(phone=fields[cfg.phone_field], url=self.url, headers={"Content-Type": content_type},
                          body=body, text=fields.get(cfg.text_field, "") if cfg.mode == "text" else "")

    def parse_result(self, answer: HttpAnswer, request: SmsRequest) -> SmsSendResult:
        """The gateway's id, and in text mode the billed segment count."""
        provider_id = self._provider_id(answer.status, answer.body, answer.retry_after)
        segments = count_segments(self.prefix_length + len(request.text)) if request.text else 1
        return SmsSendResult(provider_id=provider_id, segments=segments)

    def _provider_id(self, status: int, body: bytes, retry_after: float | None) -> str:
        cfg = self.config
        if status >= 500 or status == 429:
            raise TransientSendError(f"短信网关 HTTP {status}", code=f"http_{status}",
                                     retry_after=retry_after)
        try:
            data = decode_body(body, charset=cfg.charset)
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            if status == 200:
                raise SmsUnknownOutcomeError("短信网关应答无法解析，发送结果未知", code="bad_response")
            raise PermanentSendError(f"短信网关 HTTP {status}", code=f"http_{status}")
        flag = data.get(cfg.success_field)
        flag_text = str(flag).lower() if not isinstance(flag, bool) else ("true" if flag else "false")
        if status == 200 and flag_text in {v.lower() for v in cfg.success_values}:
            return str(data.get(cfg.id_field) or "")
        code = str(data.get(cfg.code_field) or f"http_{status}")
        text = f"短信网关：{code}"
        if code in cfg.transient_codes:
            raise TransientSendError(text, code=code, retry_after=retry_after or 1.0)
        if code in cfg.balance_codes:
            raise SmsAccountError(text, code=code, balance=True)
        if code in cfg.account_codes:
            raise SmsAccountError(text, code=code)
        raise PermanentSendError(text, code=code)

    def _time(self, value: Any, fmt: str) -> datetime | None:
        if value in (None, ""):
            return None
        try:
            if fmt == "unix":
                return datetime.fromtimestamp(int(value), UTC)
            if fmt == "unix_ms":
                return datetime.fromtimestamp(int(value) / 1000, UTC)
            return datetime.strptime(str(value), fmt).replace(tzinfo=self.zone)
        except (TypeError, ValueError, OverflowError, OSError):
            return None

    def parse_callback(self, body: bytes, content_type: str) -> list[SmsReceipt | SmsReply]:
        """Decode a receipt or reply push using the configured field names."""
        cfg = self.config
        try:
            data = decode_body(body, content_type, cfg.charset)
        except UnicodeDecodeError as exc:
            raise ValueError(f"body is not {cfg.charset}: {exc}") from exc
        items = data if isinstance(data, list) else [data]
        out: list[SmsReceipt | SmsReply] = []
        for item in items:
            if not isinstance(item, dict):
                raise ValueError(f"unknown push item: {item!r:.200}")
            if cfg.receipt_status_field in item:
                status = str(item[cfg.receipt_status_field])
                out.append(SmsReceipt(
                    provider_id=str(item.get(cfg.receipt_id_field) or ""),
                    phone=callback_phone(item.get(cfg.receipt_phone_field)),
                    delivered=status in cfg.receipt_success_values,
                    code=str(item.get(cfg.receipt_code_field) or status),
                    at=self._time(item.get(cfg.receipt_time_field), cfg.receipt_time_format),
                ))
            elif cfg.reply_text_field in item:
                known = {cfg.reply_text_field, cfg.reply_phone_field, cfg.reply_time_field,
                         cfg.reply_extend_field, cfg.reply_id_field}
                out.append(SmsReply(
                    phone=callback_phone(item.get(cfg.reply_phone_field)),
                    text=str(item[cfg.reply_text_field] or ""),
                    provider_msg_id=str(item.get(cfg.reply_id_field) or "") if cfg.reply_id_field else "",
                    extend_code=str(item.get(cfg.reply_extend_field) or ""),
                    at=self._time(item.get(cfg.reply_time_field), cfg.reply_time_format),
                    extra={k: str(v) for k, v in item.items() if k not in known},
                ))
            else:
                raise ValueError(f"unknown push item: {item!r:.200}")
        return out

    def callback_answer(self, ok: bool) -> tuple[int, str, bytes]:
        """(status, content type, body) to answer a push."""
        if ok:
            return 200, "application/json", self.config.callback_ack.encode(self.config.charset)
        return 500, "text/plain", b"error"


def _preflight(section: GenericGatewayConfig) -> list[str]:
    if section.url.startswith(("http://", "https://")):
        return []
    return ["sms.generic.url：应以 http:// 或 https:// 开头 / url must be an http(s) URL"]


register(SmsProviderEntry(
    name="generic",
    section=GenericGatewayConfig,
    factory=lambda section, sms, clock: GenericGatewayProvider(section, clock=clock),
    docs="政务短信平台 / 云MAS 网关",
    required=("url",),
    preflight=_preflight,
))
