"""Tencent Cloud SMS (API 2021-01-11): SendSms signed TC3-HMAC-SHA256, status and reply callbacks.

Wire details: ``docs/sms.md`` (Tencent Cloud). The body is ``json.dumps`` of the parameters (as the SDK sends it)
and the exact bytes sent are the bytes signed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from pydantic import Field
from yarl import URL

from adapters.sms.base import SmsProvider, SmsRequest, push_items
from adapters.sms.sections import CloudSection
from adapters.sms.templates import (
    BEIJING,
    HttpAnswer,
    SendLimiter,
    VariableRules,
    callback_phone,
    check_variables,
    fit_variables,
    host_header,
    post,
)
from bot.clock import Clock, SystemClock
from bot.send_errors import PermanentSendError, SendError, TransientSendError
from bot.sms_port import (
    SentRecord,
    SmsAccountError,
    SmsOptOutError,
    SmsReceipt,
    SmsReply,
    SmsSendResult,
    SmsUnknownOutcomeError,
    normalize_cn_mobile,
)
from bot.sms_providers import SmsProviderEntry, register

__all__ = [
    "ACTION",
    "CONTENT_TYPE",
    "SERVICE",
    "VERSION",
    "Tc3Signature",
    "TencentSmsProvider",
    "parse_tencent_push",
    "tc3_sign",
    "tencent_error",
]

ACTION = "SendSms"
QUERY_ACTION = "PullSmsSendStatusByPhoneNumber"
VERSION = "2021-01-11"
SERVICE = "sms"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = ("content-type", "host")


class TencentConfig(CloudSection):
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


# --------------------------------------------------------------------------- signing


@dataclass(frozen=True, slots=True)
class Tc3Signature:
    """Every intermediate of a TC3-HMAC-SHA256 signature, for tests and fake servers."""

    hashed_payload: str
    canonical_request: str
    hashed_canonical_request: str
    credential_scope: str
    secret_date: bytes
    secret_service: bytes
    secret_signing: bytes
    signature: str
    authorization: str


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tc3_sign(*, secret_id: str, secret_key: str, service: str, timestamp: int, method: str,
             canonical_uri: str, canonical_query: str, headers: Mapping[str, str],
             signed_headers: Sequence[str], payload: bytes | str) -> Tc3Signature:
    """Sign one request with TC3-HMAC-SHA256 (``docs/sms.md``, Tencent signing).

    Header names and values are lower-cased and trimmed; ``Date`` is the UTC date of
    ``timestamp`` (a local date fails every night 00:00-08:00 Beijing time).
    """
    body = payload.encode() if isinstance(payload, str) else payload
    lowered = {k.strip().lower(): v for k, v in headers.items()}
    names = sorted(h.strip().lower() for h in signed_headers)
    canonical_headers = "".join(f"{n}:{lowered[n].strip().lower()}\n" for n in names)
    signed = ";".join(names)
    hashed_payload = hashlib.sha256(body).hexdigest()
    canonical_request = "\n".join([method.upper(), canonical_uri, canonical_query,
                                   canonical_headers, signed, hashed_payload])
    hashed_request = hashlib.sha256(canonical_request.encode()).hexdigest()
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{hashed_request}"
    secret_date = _hmac(f"TC3{secret_key}".encode(), date)
    secret_service = _hmac(secret_date, service)
    secret_signing = _hmac(secret_service, "tc3_request")
    signature = hmac.new(secret_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = (f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={signed}, "
                     f"Signature={signature}")
    return Tc3Signature(hashed_payload, canonical_request, hashed_request, scope, secret_date,
                        secret_service, secret_signing, signature, authorization)


# --------------------------------------------------------------------------- errors

_UNKNOWN_OUTCOME = {"InternalError.Timeout"}
_TRANSIENT = {"InternalError.SendAndRecvFail", "InternalError.ParseBackendResponseFail",
              "InternalError.UnknownError", "InternalError"}
_PER_NUMBER = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": 30.0,
    "LimitExceeded.PhoneNumberOneHourLimit": 3600.0,
    "LimitExceeded.DeliveryFrequencyLimit": 60.0,
}
_PER_NUMBER_DAY = {"LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.PhoneNumberSameContentDailyLimit"}
_BALANCE = {"FailedOperation.InsufficientBalanceInSmsPackage",
            "UnauthorizedOperation.ServiceSuspendDueToArrears"}
_ACCOUNT = _BALANCE | {
    "LimitExceeded.AppDailyLimit", "LimitExceeded.AppMainlandChinaDailyLimit",
    "UnauthorizedOperation.SdkAppIdIsDisabled", "UnauthorizedOperation.RequestIpNotInWhitelist",
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
}
_OPT_OUT = {"FailedOperation.PhoneNumberInBlacklist"}


def _until_beijing_midnight(now: datetime) -> float:
    local = now.astimezone(BEIJING)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), BEIJING)
    return max((midnight - local).total_seconds(), 1.0)


def tencent_error(code: str, message: str = "", *, now: datetime | None = None,
                  status: int = 200, retry_after: float | None = None) -> SendError:
    """Map a Tencent error ``Code`` to the error the outbox acts on (``docs/sms.md``, Tencent errors).

    Throttling and internal errors are transient (``InternalError.Timeout`` is an unknown
    outcome); per-number limits are transient with the window as ``retry_after``; account
    problems are SmsAccountError (balance marked); a blacklisted number is SmsOptOutError;
    everything else, unknown codes included, is permanent.
    """
    text = f"腾讯云短信：{code} {message}".strip()
    if code in _UNKNOWN_OUTCOME:
        return SmsUnknownOutcomeError(text, code=code, retry_after=retry_after)
    if code.startswith("RequestLimitExceeded"):
        return TransientSendError(text, code=code, retry_after=retry_after or 1.0)
    if code in _TRANSIENT:
        return TransientSendError(text, code=code, retry_after=retry_after)
    if code in _PER_NUMBER:
        return TransientSendError(text, code=code, retry_after=_PER_NUMBER[code])
    if code in _PER_NUMBER_DAY:
        return TransientSendError(text, code=code,
                                  retry_after=_until_beijing_midnight(now or datetime.now(UTC)))
    if code in _ACCOUNT or code.startswith("AuthFailure"):
        return SmsAccountError(text, code=code, balance=code in _BALANCE)
    if code in _OPT_OUT:
        return SmsOptOutError(text, code=code)
    if status >= 500 and (not code or code.startswith("http_")):
        return TransientSendError(text, code=code or f"http_{status}", retry_after=retry_after)
    return PermanentSendError(text, code=code or f"http_{status}")


# --------------------------------------------------------------------------- callbacks


def _phone(mobile: Any, nationcode: Any) -> str:
    mobile = str(mobile or "").strip()
    nation = str(nationcode or "86").strip().lstrip("+") or "86"
    if nation != "86":
        return f"+{nation}{mobile}"
    return callback_phone(mobile)


def _local_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError:
        return None


def _unix_time(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def parse_tencent_push(body: bytes) -> list[SmsReceipt | SmsReply]:
    """Decode a status callback (JSON array) or a reply callback (one object, or an array)."""
    out: list[SmsReceipt | SmsReply] = []
    for item in push_items(body, "mobile"):
        phone = _phone(item["mobile"], item.get("nationcode"))
        if "report_status" in item:
            out.append(SmsReceipt(
                provider_id=str(item.get("sid") or ""),
                phone=phone,
                delivered=str(item["report_status"]).upper() == "SUCCESS",
                code=str(item.get("errmsg") or ""),
                description=str(item.get("description") or ""),
                at=_local_time(item.get("user_receive_time")),
            ))
        elif "text" in item:
            extra = {k: str(item[k]) for k in ("sign", "nationcode") if item.get(k) is not None}
            out.append(SmsReply(
                phone=phone,
                text=str(item.get("text") or ""),
                extend_code=str(item.get("extend") or ""),
                at=_unix_time(item.get("time")),
                extra=extra,
            ))
        else:
            raise ValueError(f"unknown callback item: {item!r:.200}")
    return out


# --------------------------------------------------------------------------- provider


class TencentSmsProvider(SmsProvider):
    """Tencent Cloud SMS: templated SendSms, TC3 signature, status and reply callbacks."""

    name = "tencent"

    def __init__(self, config: TencentConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.base = URL(config.api_base.rstrip("/"))
        self.templates = config.templates
        self.variables = config.variables
        self.timeout = config.timeout
        self.rules = VariableRules(max_length=config.param_max_length)
        self.limiter = SendLimiter(per_second=config.rate_per_second,
                                   per_number_daily=config.per_number_daily, rolling=False,
                                   clock=self.clock)

    def fit(self, params: dict[str, str]) -> dict[str, str]:
        """``params`` fitted to the account's variable limit (``param_max_length``).

        A default account takes 6 characters per variable: the ticket number goes as
        ``尾号`` + its last characters and the unit as its short name, instead of a refusal.
        """
        return fit_variables(params, self.config.param_max_length)

    def validate(self, kind: str, params: dict[str, str]) -> None:
        """Refuse a missing template or a variable Tencent would reject, before any call."""
        self.template_id(kind)
        check_variables(kind, self.fit(params), self.rules, self.config.variables)

    def build_body(self, phone: str, kind: str, params: dict[str, str], out_id: str) -> dict[str, Any]:
        """The SendSms parameters; variables go positionally in the template's order."""
        template = self.template_id(kind)
        pairs = check_variables(kind, self.fit(params), self.rules, self.config.variables)
        if len(out_id.encode()) >= 512:
            raise PermanentSendError("SessionContext 过长", code="out_id_too_long")
        body: dict[str, Any] = {
            "PhoneNumberSet": ["+86" + normalize_cn_mobile(phone)],
            "SmsSdkAppId": self.config.sdk_app_id,
            "TemplateId": template,
            "SignName": self.config.sign_name,
            "TemplateParamSet": [value for _, value in pairs],
        }
        if out_id:
            body["SessionContext"] = out_id
        if self.config.extend_code:
            body["ExtendCode"] = self.config.extend_code
        return body

    def sign_headers(self, payload: bytes, *, action: str = ACTION) -> dict[str, str]:
        """The request headers for one try of ``action``, signed over ``payload`` at the clock's time."""
        timestamp = int(self.clock.now().timestamp())
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Host": host_header(self.base),
            "X-TC-Action": action,
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.config.region,
        }
        if self.config.token:
            headers["X-TC-Token"] = self.config.token
        sig = tc3_sign(secret_id=self.config.secret_id, secret_key=self.config.secret_key,
                       service=SERVICE, timestamp=timestamp, method="POST", canonical_uri="/",
                       canonical_query="", headers=headers, signed_headers=SIGNED_HEADERS,
                       payload=payload)
        headers["Authorization"] = sig.authorization
        return headers

    def build_request(self, phone: str, kind: str, params: dict[str, str], out_id: str) -> SmsRequest:
        """SendSms to one number, the exact bytes signed; ``out_id`` goes as SessionContext."""
        body = self.build_body(phone, kind, params, out_id)
        payload = json.dumps(body).encode()
        return SmsRequest(phone=body["PhoneNumberSet"][0][3:], url=URL(f"{self.base}/"),
                          headers=self.sign_headers(payload), body=payload)

    def parse_result(self, answer: HttpAnswer, request: SmsRequest) -> SmsSendResult:
        """SerialNo and the billed count on ``Code = Ok``; otherwise the mapped error."""
        status, body, retry_after = answer.status, answer.body, answer.retry_after
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        response = data.get("Response") if isinstance(data, dict) else None
        if not isinstance(response, dict):
            if status >= 500:
                raise TransientSendError(f"腾讯云短信 HTTP {status}", code=f"http_{status}",
                                         retry_after=retry_after)
            if status == 200:
                raise SmsUnknownOutcomeError("腾讯云短信应答无法解析，发送结果未知", code="bad_response")
            raise PermanentSendError(f"腾讯云短信 HTTP {status}", code=f"http_{status}")
        now = self.clock.now()
        error = response.get("Error")
        if isinstance(error, dict):
            raise tencent_error(str(error.get("Code") or ""), str(error.get("Message") or ""),
                                now=now, status=status, retry_after=retry_after)
        statuses = response.get("SendStatusSet") or []
        if not statuses or not isinstance(statuses[0], dict):
            raise SmsUnknownOutcomeError("腾讯云短信应答缺少 SendStatusSet，发送结果未知",
                                         code="bad_response")
        item = statuses[0]
        code = str(item.get("Code") or "")
        if code != "Ok":
            raise tencent_error(code, str(item.get("Message") or ""), now=now)
        fee = item.get("Fee")
        fee = int(fee) if isinstance(fee, int | str) and str(fee).isdigit() else None
        return SmsSendResult(provider_id=str(item.get("SerialNo") or ""), segments=fee or 1, fee=fee)

    status_settle_seconds = 600.0
    """PullSmsSendStatusByPhoneNumber lists a message only once its delivery report is in
    (usually seconds): "no record" is believed ten minutes after the send was cut short."""

    async def query_sent(self, http: aiohttp.ClientSession, phone: str, out_id: str,
                         since: datetime) -> SentRecord | None:
        """PullSmsSendStatusByPhoneNumber since ``since``: the report of our message (its
        ``SessionContext``), or None when Tencent holds none. SendError when the query fails."""
        limit = 100
        for page in range(10):
            body = {"BeginTime": int(since.timestamp()), "EndTime": int(self.clock.now().timestamp()),
                    "Offset": page * limit, "Limit": limit, "PhoneNumber": "+86" + normalize_cn_mobile(phone),
                    "SmsSdkAppId": self.config.sdk_app_id}
            payload = json.dumps(body).encode()
            answer = await post(http, URL(f"{self.base}/"), headers=self.sign_headers(payload, action=QUERY_ACTION),
                                data=payload, timeout_s=self.timeout)
            items = self._status_set(answer)
            for item in items:
                if str(item.get("SessionContext") or "") == out_id:
                    delivered = str(item.get("ReportStatus") or "") == "SUCCESS"
                    return SentRecord(provider_id=str(item.get("SerialNo") or out_id),
                                      state="delivered" if delivered else "failed",
                                      code=str(item.get("Description") or ""))
            if len(items) < limit:
                break
        return None

    def _status_set(self, answer: HttpAnswer) -> list[dict[str, Any]]:
        try:
            data = json.loads(answer.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        response = data.get("Response") if isinstance(data, dict) else None
        if not isinstance(response, dict):
            raise TransientSendError(f"腾讯云短信查询 HTTP {answer.status}", code=f"http_{answer.status}")
        error = response.get("Error")
        if isinstance(error, dict):
            raise tencent_error(str(error.get("Code") or ""), str(error.get("Message") or ""),
                                now=self.clock.now(), status=answer.status, retry_after=answer.retry_after)
        return [i for i in response.get("PullSmsSendStatusSet") or [] if isinstance(i, dict)]

    def parse_callback(self, body: bytes, content_type: str) -> list[SmsReceipt | SmsReply]:
        """Decode a status (array) or reply (object) callback."""
        return parse_tencent_push(body)

    def callback_answer(self, ok: bool) -> tuple[int, str, bytes]:
        """(status, content type, body) to answer a callback: result 0 once stored."""
        if ok:
            return 200, "application/json", b'{"result":0,"errmsg":"OK"}'
        return 500, "application/json", b'{"result":1,"errmsg":"store failed"}'


def _preflight(section: TencentConfig) -> list[str]:
    if section.sdk_app_id.isdigit():
        return []
    return ["sms.tencent.sdk_app_id：应为数字，如 1400006666 / sdk_app_id must be digits"]


register(SmsProviderEntry(
    name="tencent",
    section=TencentConfig,
    factory=lambda section, sms, clock: TencentSmsProvider(section, clock=clock),
    docs="腾讯云短信",
    required=("secret_id", "secret_key", "sdk_app_id", "sign_name"),
    preflight=_preflight,
))
