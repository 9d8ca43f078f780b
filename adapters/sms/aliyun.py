"""Alibaba Cloud SMS (dysmsapi 2017-05-25): SendSms signed ACS3-HMAC-SHA256, SmsReport / SmsUp pushes.

Wire details: ``docs/sms.md`` (Alibaba Cloud). SendSms goes as the SDK sends it: ``POST /``, every parameter in the
query string (percent-encoded exactly as signed), empty body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp
from pydantic import Field
from yarl import URL

from adapters.sms.base import SmsProvider, SmsRequest, push_items
from adapters.sms.sections import CloudSection
from adapters.sms.templates import (
    ALIYUN_FORBIDDEN,
    BEIJING,
    COMMON_FORBIDDEN,
    HttpAnswer,
    SendLimiter,
    VariableRules,
    callback_phone,
    check_variables,
    host_header,
    post,
)
from bot.clock import Clock, SystemClock
from bot.send_errors import PermanentSendError, SendError, TransientSendError
from bot.sms_port import (
    SentRecord,
    SmsAccountError,
    SmsReceipt,
    SmsReply,
    SmsSendResult,
    SmsUnknownOutcomeError,
    normalize_cn_mobile,
)
from bot.sms_providers import SmsProviderEntry, register

__all__ = [
    "ACTION",
    "EMPTY_SHA256",
    "VERSION",
    "Acs3Signature",
    "AliyunSmsProvider",
    "acs3_canonical_headers",
    "acs3_canonical_query",
    "acs3_sign",
    "aliyun_error",
    "parse_aliyun_push",
    "percent_encode",
    "rpc_sign",
    "rpc_string_to_sign",
]

ACTION = "SendSms"
QUERY_ACTION = "QuerySendDetails"
_SEND_STATUS = {1: "sent", 2: "failed", 3: "delivered"}  # QuerySendDetails' SendStatus
VERSION = "2017-05-25"
ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class AliyunConfig(CloudSection):
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


# --------------------------------------------------------------------------- signing


def percent_encode(value: str) -> str:
    """RFC 3986 encoding both signatures use: keep ``A-Za-z0-9-_.~``, UTF-8 ``%XX`` otherwise."""
    return quote(value, safe="-_.~")


def acs3_canonical_query(query: Mapping[str, str]) -> str:
    """CanonicalQueryString: sorted by name, names and values encoded, empty value as ``name=``."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(query.items()))


def _signed(name: str) -> bool:
    return name in ("host", "content-type") or name.startswith("x-acs-")


def acs3_canonical_headers(headers: Mapping[str, str | Sequence[str]]) -> tuple[str, str]:
    """Return (CanonicalHeaders, SignedHeaders) over host, content-type and x-acs-* headers.

    Names are lower-cased (case variants merge), values trimmed; several values of one name
    are sorted and joined with ``,`` as the SDK does.
    """
    merged: dict[str, list[str]] = {}
    for name, value in headers.items():
        key = name.strip().lower()
        if not _signed(key):
            continue
        values = [value] if isinstance(value, str) else list(value)
        merged.setdefault(key, []).extend(v.strip() for v in values)
    names = sorted(merged)
    canonical = "".join(f"{n}:{','.join(sorted(merged[n]))}\n" for n in names)
    return canonical, ";".join(names)


@dataclass(frozen=True, slots=True)
class Acs3Signature:
    """Every intermediate of an ACS3-HMAC-SHA256 signature, for tests and fake servers."""

    canonical_query: str
    canonical_request: str
    hashed_canonical_request: str
    signed_headers: str
    signature: str
    authorization: str


def acs3_sign(*, method: str, canonical_uri: str, query: Mapping[str, str],
              headers: Mapping[str, str | Sequence[str]], hashed_payload: str,
              access_key_id: str, access_key_secret: str) -> Acs3Signature:
    """Sign one request with ACS3-HMAC-SHA256 (``docs/sms.md``, Alibaba signing V3); an empty URI counts as ``/``."""
    canonical_query = acs3_canonical_query(query)
    canonical_headers, signed_headers = acs3_canonical_headers(headers)
    canonical_request = "\n".join([method.upper(), canonical_uri or "/", canonical_query,
                                   canonical_headers, signed_headers, hashed_payload])
    hashed = hashlib.sha256(canonical_request.encode()).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{hashed}"
    signature = hmac.new(access_key_secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = (f"{ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},"
                     f"Signature={signature}")
    return Acs3Signature(canonical_query, canonical_request, hashed, signed_headers, signature,
                         authorization)


def rpc_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """Legacy RPC (SignatureVersion 1.0) StringToSign: ``METHOD&%2F&pct(canonicalized)``."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical)}"


def rpc_sign(method: str, params: Mapping[str, str], access_key_secret: str) -> str:
    """Legacy RPC HMAC-SHA1 signature (Base64), key = AccessKeySecret + ``&`` (``docs/sms.md``, Alibaba legacy signing)."""
    digest = hmac.new(f"{access_key_secret}&".encode(), rpc_string_to_sign(method, params).encode(),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# --------------------------------------------------------------------------- errors

_TRANSIENT = {"isp.SYSTEM_ERROR", "isv.SYSTEM_ERROR", "ServiceUnavailable", "InternalError",
              "SignatureNonceUsed"}
_BALANCE = {"isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE"}
_ACCOUNT = _BALANCE | {
    "isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL", "isp.RAM_PERMISSION_DENY",
    "isv.PRODUCT_UN_SUBSCRIPT", "isv.ACCOUNT_NOT_EXISTS", "isv.ACCOUNT_ABNORMAL",
    "isv.DENY_IP_RANGE", "SignatureDoesNotMatch", "IncompleteSignature", "InvalidTimeStamp.Expired",
}


def _window_seconds(message: str) -> float:
    if "分钟" in message:
        return 60.0
    if "小时" in message:
        return 3600.0
    if "天" in message:
        return 86400.0
    return 60.0


def aliyun_error(code: str, message: str = "", *, status: int = 200,
                 retry_after: float | None = None) -> SendError:
    """Map an Alibaba ``Code`` (and HTTP status) to the error the outbox acts on (``docs/sms.md``, Alibaba errors).

    Throttling, system errors and 5xx are transient; per-number flow control is transient with
    the window as ``retry_after``; account problems are SmsAccountError (balance marked);
    everything else, unknown codes included, is permanent.
    """
    text = f"阿里云短信：{code} {message}".strip()
    if code.startswith("Throttling"):
        return TransientSendError(text, code=code, retry_after=retry_after or 1.0)
    if code == "isv.BUSINESS_LIMIT_CONTROL":
        return TransientSendError(text, code=code, retry_after=_window_seconds(message))
    if code in _TRANSIENT:
        return TransientSendError(text, code=code, retry_after=retry_after)
    if code in _ACCOUNT or code.startswith("InvalidAccessKeyId"):
        return SmsAccountError(text, code=code, balance=code in _BALANCE)
    if status >= 500 and (not code or code.startswith("http_")):
        return TransientSendError(text, code=code or f"http_{status}", retry_after=retry_after)
    return PermanentSendError(text, code=code or f"http_{status}")


# --------------------------------------------------------------------------- pushes


def _beijing_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError:
        return None


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _send_details(answer: HttpAnswer) -> tuple[list[dict[str, Any]], int]:
    """The SmsSendDetailDTO items and TotalCount of a QuerySendDetails answer; SendError if refused."""
    try:
        data = json.loads(answer.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict):
        raise TransientSendError(f"阿里云短信查询 HTTP {answer.status}", code=f"http_{answer.status}")
    code = str(data.get("Code") or "")
    if answer.status != 200 or code != "OK":
        raise aliyun_error(code or f"http_{answer.status}", str(data.get("Message") or ""), status=answer.status,
                           retry_after=answer.retry_after)
    box = data.get("SmsSendDetailDTOs") or {}
    items = box.get("SmsSendDetailDTO") if isinstance(box, dict) else None
    return [i for i in items or [] if isinstance(i, dict)], _int(data.get("TotalCount"))


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1")


def parse_aliyun_push(body: bytes) -> list[SmsReceipt | SmsReply]:
    """Decode an SmsReport or SmsUp push (a JSON array; one object is accepted too)."""
    out: list[SmsReceipt | SmsReply] = []
    for item in push_items(body, "phone_number"):
        phone = callback_phone(item["phone_number"])
        if "biz_id" in item or "success" in item or "err_code" in item:
            out.append(SmsReceipt(
                provider_id=str(item.get("biz_id") or ""),
                phone=phone,
                delivered=_truthy(item.get("success")),
                code=str(item.get("err_code") or ""),
                description=str(item.get("err_msg") or ""),
                out_id=str(item.get("out_id") or ""),
                at=_beijing_time(item.get("report_time")) or _beijing_time(item.get("send_time")),
            ))
        elif "content" in item:
            extra = {k: str(item[k]) for k in ("sign_name", "sequence_id") if item.get(k) is not None}
            out.append(SmsReply(
                phone=phone,
                text=str(item.get("content") or ""),
                provider_msg_id=str(item.get("sequence_id") or ""),
                extend_code=str(item.get("dest_code") or ""),
                at=_beijing_time(item.get("send_time")),
                extra=extra,
            ))
        else:
            raise ValueError(f"unknown push item: {item!r:.200}")
    return out


# --------------------------------------------------------------------------- provider


class AliyunSmsProvider(SmsProvider):
    """Alibaba Cloud SMS: templated SendSms, V3 signature, SmsReport / SmsUp pushes."""

    name = "aliyun"

    def __init__(self, config: AliyunConfig, *, clock: Clock | None = None,
                 nonce: Callable[[], str] | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.nonce = nonce or (lambda: uuid.uuid4().hex)
        self.base = URL(config.api_base.rstrip("/"))
        self.templates = config.templates
        self.variables = config.variables
        self.timeout = config.timeout
        self.rules = VariableRules(max_length=config.param_max_length,
                                   forbidden_chars=COMMON_FORBIDDEN + ALIYUN_FORBIDDEN)
        self.limiter = SendLimiter(per_second=config.rate_per_second,
                                   per_number_daily=config.per_number_daily, rolling=True,
                                   clock=self.clock)

    def validate(self, kind: str, params: dict[str, str]) -> None:
        """Refuse a missing template or a variable Alibaba would reject, before any call."""
        self.template_id(kind)
        check_variables(kind, params, self.rules, self.config.variables)

    def build_query(self, phone: str, kind: str, params: dict[str, str], out_id: str) -> dict[str, str]:
        """The SendSms parameters (no empty values: SDK generations canonicalise them differently)."""
        template = self.template_id(kind)
        pairs = check_variables(kind, params, self.rules, self.config.variables)
        if len(out_id) >= 256:
            raise PermanentSendError("OutId 过长", code="out_id_too_long")
        query = {"PhoneNumbers": normalize_cn_mobile(phone), "SignName": self.config.sign_name,
                 "TemplateCode": template}
        if pairs:
            query["TemplateParam"] = json.dumps(dict(pairs), ensure_ascii=False, separators=(",", ":"))
        if out_id:
            query["OutId"] = out_id
        if self.config.extend_code:
            query["SmsUpExtendCode"] = self.config.extend_code
        return query

    def sign_headers(self, query: Mapping[str, str], body: bytes = b"", *, action: str = ACTION) -> dict[str, str]:
        """Fresh date and nonce, then the signed headers for one try of ``action``."""
        headers = {
            "host": host_header(self.base),
            "x-acs-action": action,
            "x-acs-version": VERSION,
            "x-acs-date": self.clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x-acs-signature-nonce": self.nonce(),
            "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        }
        if self.config.security_token:
            headers["x-acs-security-token"] = self.config.security_token
        sig = acs3_sign(method="POST", canonical_uri="/", query=query, headers=headers,
                        hashed_payload=headers["x-acs-content-sha256"],
                        access_key_id=self.config.access_key_id,
                        access_key_secret=self.config.access_key_secret)
        headers["Authorization"] = sig.authorization
        return headers

    def build_request(self, phone: str, kind: str, params: dict[str, str], out_id: str) -> SmsRequest:
        """SendSms to one number: every parameter in the signed query string, empty body;
        ``out_id`` goes as OutId and comes back in the receipt."""
        query = self.build_query(phone, kind, params, out_id)
        url = URL(f"{self.base}/?{acs3_canonical_query(query)}", encoded=True)
        return SmsRequest(phone=query["PhoneNumbers"], url=url, headers=self.sign_headers(query), body=None)

    def parse_result(self, answer: HttpAnswer, request: SmsRequest) -> SmsSendResult:
        """BizId on ``Code = OK``; otherwise the error :func:`aliyun_error` maps the code to."""
        status, body, retry_after = answer.status, answer.body, answer.retry_after
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        if not isinstance(data, dict):
            if status >= 500:
                raise TransientSendError(f"阿里云短信 HTTP {status}", code=f"http_{status}",
                                         retry_after=retry_after)
            if status == 200:
                raise SmsUnknownOutcomeError("阿里云短信应答无法解析，发送结果未知", code="bad_response")
            raise PermanentSendError(f"阿里云短信 HTTP {status}", code=f"http_{status}")
        code = str(data.get("Code") or "")
        if status == 200 and code == "OK":
            return SmsSendResult(provider_id=str(data.get("BizId") or ""))
        raise aliyun_error(code or f"http_{status}", str(data.get("Message") or ""), status=status,
                           retry_after=retry_after)

    status_settle_seconds = 60.0
    """QuerySendDetails lists a message as soon as it is accepted (SendStatus 1); a minute covers
    the lag of its index before "no record" is believed."""

    async def query_sent(self, http: aiohttp.ClientSession, phone: str, out_id: str,
                         since: datetime) -> SentRecord | None:
        """QuerySendDetails for ``phone`` on the Beijing days since ``since``: our message (its
        ``OutId``), or None when Alibaba holds no record of it. SendError when the query fails."""
        days = sorted({d.astimezone(BEIJING).strftime("%Y%m%d") for d in (since, self.clock.now())})
        for day in days:
            for page in range(1, 21):
                query = {"PhoneNumber": normalize_cn_mobile(phone), "SendDate": day, "PageSize": "50",
                         "CurrentPage": str(page)}
                url = URL(f"{self.base}/?{acs3_canonical_query(query)}", encoded=True)
                answer = await post(http, url, headers=self.sign_headers(query, action=QUERY_ACTION), data=None,
                                    timeout_s=self.timeout)
                details, total = _send_details(answer)
                for dto in details:
                    if str(dto.get("OutId") or "") == out_id:
                        return SentRecord(provider_id=out_id, state=_SEND_STATUS.get(_int(dto.get("SendStatus")), "sent"),
                                          code=str(dto.get("ErrCode") or ""))
                if page * 50 >= total:
                    break
        return None

    def parse_callback(self, body: bytes, content_type: str) -> list[SmsReceipt | SmsReply]:
        """Decode an SmsReport / SmsUp push body (JSON array)."""
        return parse_aliyun_push(body)

    def callback_answer(self, ok: bool) -> tuple[int, str, bytes]:
        """(status, content type, body) to answer a push: 200 code 0 once stored, else 500."""
        if ok:
            return 200, "application/json", json.dumps({"code": 0, "msg": "接收成功"},
                                                       ensure_ascii=False).encode()
        return 500, "application/json", json.dumps({"code": 1, "msg": "接收失败"},
                                                   ensure_ascii=False).encode()


register(SmsProviderEntry(
    name="aliyun",
    section=AliyunConfig,
    factory=lambda section, sms, clock: AliyunSmsProvider(section, clock=clock),
    docs="阿里云短信",
    required=("access_key_id", "access_key_secret", "sign_name"),
))
