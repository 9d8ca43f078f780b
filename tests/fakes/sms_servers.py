"""Fake Alibaba Cloud SMS, Tencent Cloud SMS and generic (云MAS-style) gateways for tests.

Each fake is an object holding state (credentials, approved signatures and templates, limits,
recorded requests, accepted messages) whose ``make_app()`` returns an aiohttp ``web.Application``
to run under ``TestServer`` / ``aiohttp_server``. The fakes verify signatures over the exact bytes
received with their own code (not the adapters'), check template ids and variables, enforce a
per-second rate and a per-number daily limit, and answer with the providers' real codes
(docs/sms.md, errors). ``fail_next`` injects 5xx answers or any provider code. Module functions
build the receipt / reply push bodies the providers POST to the bot.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus
from zoneinfo import ZoneInfo

from aiohttp import web

from adapters.sms.generic import GenericGatewayConfig

__all__ = [
    "FAKE_KEY",
    "FakeAliyunSms",
    "FakeGenericGateway",
    "FakeTencentSms",
    "RecordedRequest",
    "SentSms",
    "aliyun_report",
    "aliyun_up",
    "mas_receipt",
    "mas_reply",
    "push_body",
    "tencent_reply",
    "tencent_status",
]

BEIJING = ZoneInfo("Asia/Shanghai")
FAKE_KEY: web.AppKey[Any] = web.AppKey("sms_fake", object)
_URL_RE = re.compile(r"(?i)https?://|www\.|[a-z0-9-]+\.(?:com|cn|net|org|gov)\b")
_MOBILE_RE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")


@dataclass(slots=True)
class RecordedRequest:
    """One request as the fake received it, and the code it answered."""

    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    code: str = ""


@dataclass(slots=True)
class SentSms:
    """A message the fake accepted."""

    provider_id: str
    phone: str
    template: str
    params: dict[str, str] | list[str]
    sign_name: str
    out_id: str = ""
    text: str = ""
    segments: int = 1
    at: float = 0.0
    """When it was accepted (the fake's clock), for the status queries."""


@dataclass(slots=True)
class _Failure:
    status: int | None
    code: str | None
    message: str


def _segments(length: int) -> int:
    return 1 if length <= 70 else -(-length // 67)


def _mobile(value: str) -> str | None:
    match = _MOBILE_RE.match(value.strip())
    return match.group(1) if match else None


class _FakeBase:
    """Shared state: recording, failure injection, delay, rate and per-number limits."""

    def __init__(self, *, per_second: int = 0, per_number_daily: int = 0,
                 now: Callable[[], float] = time.time) -> None:
        self.per_second = per_second
        self.per_number_daily = per_number_daily
        self.now = now
        self.requests: list[RecordedRequest] = []
        self.sent: list[SentSms] = []
        self.delay = 0.0
        self.out_of_balance = False
        self.blacklist: set[str] = set()
        self._failures: deque[_Failure] = deque()
        self._recent: deque[float] = deque()
        self._daily: dict[tuple[str, str], int] = {}
        self._counter = 0
        self.answers_lost = 0
        """Accept the next n messages but lose the answer (a garbled 200): the outcome is unknown to us."""

    def fail_next(self, n: int = 1, *, status: int | None = None, code: str | None = None,
                  message: str = "") -> None:
        """Answer the next ``n`` requests with HTTP ``status`` (plain body) or provider ``code``."""
        if status is None and code is None:
            status = 503
        self._failures.extend(_Failure(status, code, message) for _ in range(n))

    def make_app(self) -> web.Application:
        """A fresh aiohttp application serving this fake at ``POST /`` (and any path)."""
        app = web.Application()
        app[FAKE_KEY] = self
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    def count_for(self, phone: str) -> int:
        """Accepted messages to ``phone`` today (Beijing time)."""
        return self._daily.get((phone, self._today()), 0)

    def _today(self) -> str:
        return datetime.fromtimestamp(self.now(), BEIJING).strftime("%Y-%m-%d")

    def _next_id(self) -> int:
        self._counter += 1
        return self._counter

    def _throttled(self) -> bool:
        if self.per_second <= 0:
            return False
        now = self.now()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.per_second:
            return True
        self._recent.append(now)
        return False

    def _daily_full(self, phone: str) -> bool:
        return self.per_number_daily > 0 and self.count_for(phone) >= self.per_number_daily

    def _count(self, phone: str) -> None:
        key = (phone, self._today())
        self._daily[key] = self._daily.get(key, 0) + 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        record = RecordedRequest(request.method, request.path, request.rel_url.raw_query_string,
                                 dict(request.headers), body)
        self.requests.append(record)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self._failures:
            failure = self._failures.popleft()
            if failure.code is None:
                record.code = f"http_{failure.status}"
                return web.Response(status=failure.status or 503, text="<html>Service Unavailable</html>",
                                    content_type="text/html")
            record.code = failure.code
            return self._error(failure.code, failure.message or "injected failure")
        sent_before = len(self.sent)
        response, code = self._process(request, body)
        record.code = code
        if len(self.sent) > sent_before:
            self.sent[-1].at = self.now()
            if self.answers_lost:
                self.answers_lost -= 1
                record.code = "answer_lost"
                return web.Response(status=200, text="<html>gateway timeout</html>", content_type="text/html")
        return response

    def sent_on(self, phone: str, day: str) -> list[SentSms]:
        """Accepted messages to ``phone`` on the Beijing day ``day`` (YYYYMMDD)."""
        return [m for m in self.sent if m.phone == phone
                and datetime.fromtimestamp(m.at, BEIJING).strftime("%Y%m%d") == day]

    def _process(self, request: web.Request, body: bytes) -> tuple[web.Response, str]:
        raise NotImplementedError

    def _error(self, code: str, message: str) -> web.Response:
        raise NotImplementedError


# --------------------------------------------------------------------------- Alibaba


_ALIYUN_STATUS = {"ServiceUnavailable": 503, "InternalError": 500, "InvalidAccessKeyId.NotFound": 404,
                  "InvalidAction.NotFound": 404}


class FakeAliyunSms(_FakeBase):
    """Alibaba dysmsapi SendSms: verifies ACS3-HMAC-SHA256 over the query as received.

    ``templates`` maps TemplateCode → text with ``${var}`` placeholders; ``keys`` maps
    AccessKeyId → AccessKeySecret. Business errors answer HTTP 200 with ``Code``; signing,
    throttling and gateway errors answer 4xx/5xx, as the real API does.
    """

    def __init__(self, *, keys: Mapping[str, str], sign_names: Iterable[str],
                 templates: Mapping[str, str], param_max_length: int = 35, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keys = dict(keys)
        self.sign_names = set(sign_names)
        self.templates = dict(templates)
        self.param_max_length = param_max_length
        self._nonces: set[str] = set()
        self.delivered: dict[str, int] = {}
        """BizId → SendStatus its report set (3 delivered, 2 failed); absent: 1, waiting."""

    def _error(self, code: str, message: str) -> web.Response:
        if code.startswith(("isv.", "isp.")):
            status = 200
        else:
            status = _ALIYUN_STATUS.get(code, 400)
        return web.json_response({"Code": code, "Message": message, "RequestId": str(uuid.uuid4()),
                                  "Recommend": "https://api.aliyun.com/troubleshoot"}, status=status)

    def _fail(self, code: str, message: str = "") -> tuple[web.Response, str]:
        return self._error(code, message or code), code

    @staticmethod
    def _pct(value: str) -> str:
        return quote(value, safe="-_.~")

    def _verify(self, request: web.Request, body: bytes, query: dict[str, str]) -> str | None:
        auth = request.headers.get("Authorization", "")
        match = re.fullmatch(r"ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})",
                             auth)
        if not match:
            return "IncompleteSignature"
        key_id, signed_list, signature = match.groups()
        secret = self.keys.get(key_id)
        if secret is None:
            return "InvalidAccessKeyId.NotFound"
        signed = signed_list.split(";")
        present = {k.lower() for k in request.headers}
        must = {h for h in present if h.startswith("x-acs-")} | {"host"}
        if "content-type" in present and body:
            must.add("content-type")
        if not must <= set(signed) or signed != sorted(signed):
            return "IncompleteSignature"
        content_sha = request.headers.get("x-acs-content-sha256", "")
        if content_sha != hashlib.sha256(body).hexdigest():
            return "SignatureDoesNotMatch"
        try:
            stamp = datetime.strptime(request.headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return "InvalidTimeStamp.Format"
        if abs(stamp.replace(tzinfo=UTC).timestamp() - self.now()) > 15 * 60:
            return "InvalidTimeStamp.Expired"
        canonical_query = "&".join(f"{self._pct(k)}={self._pct(v)}" for k, v in sorted(query.items()))
        canonical_headers = "".join(f"{h}:{request.headers.get(h, '').strip()}\n" for h in signed)
        canonical_request = "\n".join([request.method, request.path or "/", canonical_query,
                                       canonical_headers, signed_list, content_sha])
        string_to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical_request.encode()).hexdigest()
        expected = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return "SignatureDoesNotMatch"
        nonce = request.headers.get("x-acs-signature-nonce", "")
        if not nonce:
            return "MissingSignatureNonce"
        if nonce in self._nonces:
            return "SignatureNonceUsed"
        self._nonces.add(nonce)
        return None

    def _process(self, request: web.Request, body: bytes) -> tuple[web.Response, str]:
        query: dict[str, str] = {}
        raw = request.rel_url.raw_query_string
        for pair in raw.split("&") if raw else []:
            name, _, value = pair.partition("=")
            query[unquote_plus(name)] = unquote_plus(value)  # a raw "+" reads as a space
        if body and "x-www-form-urlencoded" in request.headers.get("Content-Type", ""):
            query.update(parse_qsl(body.decode()))
        if error := self._verify(request, body, query):
            return self._fail(error)
        action = request.headers.get("x-acs-action")
        if action not in ("SendSms", "QuerySendDetails"):
            return self._fail("InvalidAction.NotFound")
        if request.headers.get("x-acs-version") != "2017-05-25":
            return self._fail("InvalidVersion")
        if action == "QuerySendDetails":
            return self._query_send_details(query)
        if self._throttled():
            return self._fail("Throttling.User", "Request was denied due to user flow control.")
        if self.out_of_balance:
            return self._fail("isv.AMOUNT_NOT_ENOUGH", "账户余额不足")
        phone = _mobile(query.get("PhoneNumbers", ""))
        if phone is None:
            return self._fail("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if query.get("SignName") not in self.sign_names:
            return self._fail("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        template = self.templates.get(query.get("TemplateCode", ""))
        if template is None:
            return self._fail("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            params = json.loads(query.get("TemplateParam", "{}"))
        except json.JSONDecodeError:
            return self._fail("isv.INVALID_JSON_PARAM", "JSON参数不合法")
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return self._fail("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        names = re.findall(r"\$\{(\w+)\}", template)
        for name in names:
            if name not in params:
                return self._fail("isv.TEMPLATE_MISSING_PARAMETERS", f"模板缺少变量 {name}")
            if len(params[name]) > self.param_max_length:
                return self._fail("isv.PARAM_LENGTH_LIMIT", f"参数超出长度限制 {name}")
            if _URL_RE.search(params[name]):
                return self._fail("isv.PARAM_NOT_SUPPORT_URL", "不支持url为变量")
        out_id = query.get("OutId", "")
        if len(out_id) >= 256:
            return self._fail("isv.INVALID_PARAMETERS", "OutId 超长")
        if self._daily_full(phone):
            return self._fail("isv.BUSINESS_LIMIT_CONTROL", f"触发天级流控Permits:{self.per_number_daily}")
        text = f"【{query['SignName']}】" + re.sub(r"\$\{(\w+)\}", lambda m: params[m.group(1)], template)
        biz_id = f"{900000000000000000 + self._next_id()}^0"
        self._count(phone)
        self.sent.append(SentSms(biz_id, phone, query["TemplateCode"], params, query["SignName"], out_id,
                                 text, _segments(len(text))))
        return web.json_response({"Code": "OK", "Message": "OK", "BizId": biz_id,
                                  "RequestId": str(uuid.uuid4())}), "OK"

    def _query_send_details(self, query: dict[str, str]) -> tuple[web.Response, str]:
        """QuerySendDetails: one number's messages of one day (SendDate yyyyMMdd), a page at a time.
        SendStatus 1 waits for its report, 2 failed, 3 delivered (``delivered`` marks the latter)."""
        phone = _mobile(query.get("PhoneNumber", ""))
        if phone is None:
            return self._fail("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        day, size, page = query.get("SendDate", ""), query.get("PageSize", ""), query.get("CurrentPage", "")
        if not re.fullmatch(r"\d{8}", day) or not size.isdigit() or not page.isdigit() or not 1 <= int(size) <= 50:
            return self._fail("isv.INVALID_PARAMETERS", "参数格式错误")
        found = self.sent_on(phone, day)
        chunk = found[(int(page) - 1) * int(size):int(page) * int(size)]
        dtos = [{"PhoneNum": m.phone, "SendStatus": self.delivered.get(m.provider_id, 1), "ErrCode": "DELIVERED"
                 if self.delivered.get(m.provider_id) == 3 else "", "TemplateCode": m.template, "Content": m.text,
                 "SendDate": datetime.fromtimestamp(m.at, BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                 "ReceiveDate": "", "OutId": m.out_id} for m in chunk]
        return web.json_response({"Code": "OK", "Message": "OK", "RequestId": str(uuid.uuid4()),
                                  "TotalCount": len(found), "SmsSendDetailDTOs": {"SmsSendDetailDTO": dtos}}), "OK"

    def report_for(self, sent: SentSms, *, delivered: bool = True, err_code: str = "") -> dict[str, Any]:
        """The SmsReport item Alibaba would push for an accepted message."""
        return aliyun_report(biz_id=sent.provider_id, phone=sent.phone, success=delivered,
                             err_code=err_code or ("DELIVERED" if delivered else "MK:0000"),
                             out_id=sent.out_id, sms_size=str(sent.segments),
                             now=datetime.fromtimestamp(self.now(), BEIJING))


# --------------------------------------------------------------------------- Tencent


class FakeTencentSms(_FakeBase):
    """Tencent SendSms 2021-01-11: verifies TC3-HMAC-SHA256 over the exact body bytes.

    ``templates`` maps TemplateId → text with ``{1}``, ``{2}`` placeholders; ``keys`` maps
    SecretId → SecretKey. Every answer is HTTP 200: request errors in ``Response.Error``,
    per-number outcomes in ``SendStatusSet``.
    """

    def __init__(self, *, keys: Mapping[str, str], sdk_app_id: str, sign_names: Iterable[str],
                 templates: Mapping[str, str], param_max_length: int = 6, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keys = dict(keys)
        self.sdk_app_id = sdk_app_id
        self.sign_names = set(sign_names)
        self.templates = dict(templates)
        self.param_max_length = param_max_length
        self.reported: dict[str, bool] = {}
        """SerialNo → delivered, for the messages whose delivery report is in."""

    def _wrap(self, payload: dict[str, Any]) -> web.Response:
        payload["RequestId"] = str(uuid.uuid4())
        return web.json_response({"Response": payload})

    def _error(self, code: str, message: str) -> web.Response:
        return self._wrap({"Error": {"Code": code, "Message": message}})

    def _fail(self, code: str, message: str = "") -> tuple[web.Response, str]:
        return self._error(code, message or code), code

    def _verify(self, request: web.Request, body: bytes) -> str | None:
        auth = request.headers.get("Authorization", "")
        match = re.fullmatch(r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, "
                             r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})", auth)
        if not match:
            return "AuthFailure.SignatureFailure"
        secret_id, date, service, signed_list, signature = match.groups()
        secret = self.keys.get(secret_id)
        if secret is None:
            return "AuthFailure.SecretIdNotFound"
        try:
            timestamp = int(request.headers.get("X-TC-Timestamp", ""))
        except ValueError:
            return "AuthFailure.SignatureFailure"
        if abs(timestamp - self.now()) > 300:
            return "AuthFailure.SignatureExpire"
        if date != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d") or service != "sms":
            return "AuthFailure.SignatureFailure"
        signed = signed_list.split(";")
        if not {"content-type", "host"} <= set(signed) or signed != sorted(signed):
            return "AuthFailure.SignatureFailure"
        canonical_headers = "".join(f"{h}:{request.headers.get(h, '').strip().lower()}\n" for h in signed)
        canonical_request = "\n".join(["POST", "/", "", canonical_headers, signed_list,
                                       hashlib.sha256(body).hexdigest()])
        string_to_sign = (f"TC3-HMAC-SHA256\n{timestamp}\n{date}/sms/tc3_request\n"
                          + hashlib.sha256(canonical_request.encode()).hexdigest())
        key = hmac.new(("TC3" + secret).encode(), date.encode(), hashlib.sha256).digest()
        key = hmac.new(key, b"sms", hashlib.sha256).digest()
        key = hmac.new(key, b"tc3_request", hashlib.sha256).digest()
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return "AuthFailure.SignatureFailure"
        return None

    def _process(self, request: web.Request, body: bytes) -> tuple[web.Response, str]:
        if request.method != "POST":
            return self._fail("UnsupportedProtocol")
        if error := self._verify(request, body):
            return self._fail(error)
        action = request.headers.get("X-TC-Action")
        if action not in ("SendSms", "PullSmsSendStatusByPhoneNumber"):
            return self._fail("InvalidAction")
        if request.headers.get("X-TC-Version") != "2021-01-11":
            return self._fail("InvalidParameter.Version")
        if action == "PullSmsSendStatusByPhoneNumber":
            return self._pull_status(body)
        if self._throttled():
            return self._fail("RequestLimitExceeded", "请求的次数超过了频率限制")
        try:
            params = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._fail("FailedOperation.JsonParseFail")
        if not isinstance(params, dict):
            return self._fail("FailedOperation.JsonParseFail")
        if params.get("SmsSdkAppId") != self.sdk_app_id:
            return self._fail("UnauthorizedOperation.SmsSdkAppIdVerifyFail")
        if self.out_of_balance:
            return self._fail("FailedOperation.InsufficientBalanceInSmsPackage", "套餐包余量不足")
        sign_name = params.get("SignName", "")
        if sign_name not in self.sign_names:
            return self._fail("FailedOperation.SignatureIncorrectOrUnapproved")
        template = self.templates.get(str(params.get("TemplateId", "")))
        if template is None:
            return self._fail("FailedOperation.TemplateIncorrectOrUnapproved")
        values = params.get("TemplateParamSet") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return self._fail("InvalidParameterValue.TemplateParameterFormatError")
        if len(values) != len(set(re.findall(r"\{(\d+)\}", template))):
            return self._fail("FailedOperation.TemplateParamSetNotMatchApprovedTemplate")
        for value in values:
            if len(value) > self.param_max_length:
                return self._fail("InvalidParameterValue.TemplateParameterLengthLimit",
                                  f"单个变量长度超过 {self.param_max_length}")
            if _URL_RE.search(value):
                return self._fail("InvalidParameterValue.ProhibitedUseUrlInTemplateParameter")
        context = str(params.get("SessionContext", ""))
        if len(context.encode()) >= 512:
            return self._fail("InvalidParameterValue.ContentLengthLimit")
        phones = params.get("PhoneNumberSet") or []
        if not phones:
            return self._fail("MissingParameter.EmptyPhoneNumberSet")
        if len(phones) > 200:
            return self._fail("LimitExceeded.PhoneNumberCountLimit")
        text = f"【{sign_name}】" + re.sub(r"\{(\d+)\}", lambda m: values[int(m.group(1)) - 1], template)
        statuses = []
        codes = []
        for raw in phones:
            phone = _mobile(str(raw))
            item: dict[str, Any] = {"SerialNo": "", "PhoneNumber": str(raw), "Fee": 0,
                                    "SessionContext": context, "IsoCode": "CN"}
            if phone is None:
                item.update(Code="InvalidParameterValue.IncorrectPhoneNumber", Message="手机号格式错误")
            elif phone in self.blacklist:
                item.update(Code="FailedOperation.PhoneNumberInBlacklist", Message="手机号在免打扰名单库中")
            elif self._daily_full(phone):
                item.update(Code="LimitExceeded.PhoneNumberDailyLimit", Message="单个手机号日下发短信条数超过设定的上限")
            else:
                serial = f"2028:{self._next_id():020d}"
                fee = _segments(len(text))
                self._count(phone)
                self.sent.append(SentSms(serial, phone, str(params["TemplateId"]), list(values), sign_name,
                                         context, text, fee))
                item.update(SerialNo=serial, Fee=fee, Code="Ok", Message="send success")
            statuses.append(item)
            codes.append(item["Code"])
        return self._wrap({"SendStatusSet": statuses}), ",".join(codes)

    def _pull_status(self, body: bytes) -> tuple[web.Response, str]:
        """PullSmsSendStatusByPhoneNumber: the delivery reports (``reported``) of one number's
        messages sent between BeginTime and EndTime, Offset/Limit paged. A message whose report
        is not in yet is not listed, as at Tencent."""
        try:
            params = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._fail("FailedOperation.JsonParseFail")
        if not isinstance(params, dict) or params.get("SmsSdkAppId") != self.sdk_app_id:
            return self._fail("UnauthorizedOperation.SmsSdkAppIdVerifyFail")
        fields = [params.get(k) for k in ("BeginTime", "EndTime", "Offset", "Limit")]
        if not all(isinstance(v, int) for v in fields) or not 0 < fields[3] <= 100:
            return self._fail("InvalidParameterValue.InvalidParameters")
        begin, end, offset, limit = fields
        phone = _mobile(str(params.get("PhoneNumber") or ""))
        found = [m for m in self.sent if m.phone == phone and m.provider_id in self.reported
                 and begin <= m.at <= end + 1]
        items = [{"UserReceiveTime": datetime.fromtimestamp(m.at, BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                  "CountryCode": "86", "SubscriberNumber": m.phone, "PhoneNumber": f"+86{m.phone}",
                  "SerialNo": m.provider_id, "ReportStatus": "SUCCESS" if self.reported[m.provider_id] else "FAIL",
                  "Description": "用户短信送达成功" if self.reported[m.provider_id] else "用户短信送达失败",
                  "SessionContext": m.out_id} for m in found[offset:offset + limit]]
        return self._wrap({"PullSmsSendStatusSet": items}), "Ok"

    def status_for(self, sent: SentSms, *, delivered: bool = True, errmsg: str = "") -> dict[str, Any]:
        """The status-callback item Tencent would push for an accepted message."""
        return tencent_status(sid=sent.provider_id, mobile=sent.phone, success=delivered,
                              errmsg=errmsg or ("DELIVRD" if delivered else "MK:0001"),
                              now=datetime.fromtimestamp(self.now(), BEIJING))


# --------------------------------------------------------------------------- generic gateway


class FakeGenericGateway(_FakeBase):
    """A 云MAS-style gateway following a GenericGatewayConfig recipe, checked independently.

    Decodes the body per ``body_encoding``, checks the static fields and the secret, recomputes
    the signature, then answers ``{"rspcod": …, "msgGroup": …, "success": …}``. Error codes for
    throttling and the per-number limit are not documented for 云MAS: they are parameters here.
    """

    def __init__(self, config: GenericGatewayConfig, *, templates: Mapping[str, int] | None = None,
                 max_content_length: int = 1000, throttle_code: str = "Throttled",
                 daily_limit_code: str = "MobileDayLimit", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.templates = dict(templates or {})
        self.max_content_length = max_content_length
        self.throttle_code = throttle_code
        self.daily_limit_code = daily_limit_code

    def _error(self, code: str, message: str) -> web.Response:
        return web.json_response({"rspcod": code, "msgGroup": "", "success": False})

    def _fail(self, code: str) -> tuple[web.Response, str]:
        return self._error(code, code), code

    def _decode(self, body: bytes) -> dict[str, str] | None:
        cfg = self.config
        try:
            if cfg.body_encoding == "form":
                return dict(parse_qsl(body.decode("ascii"), keep_blank_values=True, encoding=cfg.charset))
            raw = base64.b64decode(body, validate=True) if cfg.body_encoding == "base64-json" else body
            data = json.loads(raw.decode(cfg.charset))
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()) else None

    def _signature(self, fields: Mapping[str, str]) -> str:
        cfg = self.config
        order = cfg.effective_sign_fields()
        if order:
            text = cfg.sign_separator.join(cfg.secret if n == "{secret}" else fields[n] for n in order)
        else:
            text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != cfg.sign_field)
        data, key = text.encode(cfg.charset), cfg.secret.encode(cfg.charset)
        digest = {
            "md5": lambda: hashlib.md5(data).hexdigest(),
            "sha256": lambda: hashlib.sha256(data).hexdigest(),
            "hmac-sha256": lambda: hmac.new(key, data, hashlib.sha256).hexdigest(),
            "hmac-md5": lambda: hmac.new(key, data, hashlib.md5).hexdigest(),
        }[cfg.sign_algo]()
        return digest.upper() if cfg.sign_case == "upper" else digest

    def _process(self, request: web.Request, body: bytes) -> tuple[web.Response, str]:
        cfg = self.config
        fields = self._decode(body)
        if fields is None:
            return self._fail("InvalidMessage")
        missing = cfg.sent_fields() - set(fields)
        if missing:
            return self._fail("InvalidMessage")
        if cfg.secret_field and fields[cfg.secret_field] != cfg.secret:
            return self._fail("InvalidUsrOrPwd")
        for name, value in cfg.static_fields.items():
            if fields.get(name) != value:
                return self._fail("IllegalSignId" if name == "sign" else "InvalidUsrOrPwd")
        if cfg.sign_algo != "none" and not hmac.compare_digest(self._signature(fields),
                                                               fields.get(cfg.sign_field, "")):
            return self._fail("IllegalMac")
        if self._throttled():
            return self._fail(self.throttle_code)
        if self.out_of_balance:
            return self._fail("NoBalance")
        phone = _mobile(fields[cfg.phone_field])
        if phone is None:
            return self._fail("InvalidMobile")
        if cfg.mode == "text":
            text = fields[cfg.text_field]
            if not text or len(text) > self.max_content_length:
                return self._fail("InvalidMessage")
            template, params = "", list[str]()
        else:
            template = fields[cfg.template_field]
            if template not in self.templates:
                return self._fail("InvalidTemplate")
            try:
                params = json.loads(fields[cfg.params_field])
            except json.JSONDecodeError:
                return self._fail("InvalidMessage")
            if len(params) != max(self.templates[template], 1):
                return self._fail("InvalidMessage")
            text = ""
        if self._daily_full(phone):
            return self._fail(self.daily_limit_code)
        group = f"{self._next_id():012d}"
        self._count(phone)
        prefix = len(cfg.sign_text) + 2 if cfg.sign_text else 0
        self.sent.append(SentSms(group, phone, template, params, fields.get("sign", ""),
                                 fields.get(cfg.out_id_field, "") if cfg.out_id_field else "", text,
                                 _segments(prefix + len(text))))
        return web.json_response({"rspcod": "success", "msgGroup": group, "success": True}), "success"

    def receipt_for(self, sent: SentSms, *, delivered: bool = True) -> dict[str, Any]:
        """The receipt item the gateway would push for an accepted message."""
        return mas_receipt(msg_group=sent.provider_id, mobile=sent.phone, delivered=delivered,
                           now=datetime.fromtimestamp(self.now(), BEIJING))


# --------------------------------------------------------------------------- push bodies


def _beijing(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(BEIJING)


def aliyun_report(*, biz_id: str, phone: str, success: bool = True, err_code: str = "DELIVERED",
                  err_msg: str = "", out_id: str = "", sms_size: str = "1",
                  now: datetime | None = None) -> dict[str, Any]:
    """One SmsReport item (docs/sms.md, Alibaba receipts)."""
    at = _beijing(now)
    return {"phone_number": phone, "send_time": (at - timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S"),
            "report_time": at.strftime("%Y-%m-%d %H:%M:%S"), "success": success, "err_code": err_code,
            "err_msg": err_msg or ("用户接收成功" if success else "失败"), "sms_size": sms_size,
            "biz_id": biz_id, "out_id": out_id}


def aliyun_up(*, phone: str, content: str, dest_code: str = "", sequence_id: str | int = "",
              sign_name: str = "", now: datetime | None = None) -> dict[str, Any]:
    """One SmsUp item (docs/sms.md, Alibaba replies)."""
    item: dict[str, Any] = {"phone_number": phone, "send_time": _beijing(now).strftime("%Y-%m-%d %H:%M:%S"),
                            "content": content, "dest_code": dest_code,
                            "sequence_id": sequence_id or str(uuid.uuid4().int % 10**12)}
    if sign_name:
        item["sign_name"] = sign_name
    return item


def tencent_status(*, sid: str, mobile: str, success: bool = True, errmsg: str = "DELIVRD",
                   description: str = "", nationcode: str = "86",
                   now: datetime | None = None) -> dict[str, Any]:
    """One item of Tencent's status callback array (docs/sms.md, Tencent callbacks)."""
    return {"user_receive_time": _beijing(now).strftime("%Y-%m-%d %H:%M:%S"), "nationcode": nationcode,
            "mobile": mobile, "report_status": "SUCCESS" if success else "FAIL", "errmsg": errmsg,
            "description": description or ("用户短信送达成功" if success else "用户短信送达失败"), "sid": sid}


def tencent_reply(*, mobile: str, text: str, extend: str = "", sign: str = "", nationcode: str = "86",
                  now: datetime | None = None) -> dict[str, Any]:
    """Tencent's reply callback object (docs/sms.md, Tencent callbacks); post it alone, not in an array."""
    return {"extend": extend, "mobile": mobile, "nationcode": nationcode, "sign": sign, "text": text,
            "time": int((now or datetime.now(UTC)).timestamp())}


def mas_receipt(*, msg_group: str, mobile: str, delivered: bool = True, error_code: str = "",
                now: datetime | None = None) -> dict[str, Any]:
    """A 云MAS receipt push item (docs/sms.md, generic gateway)."""
    at = _beijing(now)
    return {"reportStatus": "DELIVRD" if delivered else "UNDELIV", "mobile": mobile,
            "submitDate": (at - timedelta(seconds=5)).strftime("%Y%m%d%H%M%S"),
            "receiveDate": at.strftime("%Y%m%d%H%M%S"),
            "errorCode": error_code or ("DELIVRD" if delivered else "MK:0001"), "msgGroup": msg_group}


def mas_reply(*, mobile: str, text: str, add_serial: str = "", now: datetime | None = None) -> dict[str, Any]:
    """A 云MAS reply push item (docs/sms.md, generic gateway)."""
    return {"mobile": mobile, "smsContent": text,
            "sendTime": _beijing(now).strftime("%Y-%m-%d %H:%M:%S"), "addSerial": add_serial}


def push_body(items: dict[str, Any] | list[dict[str, Any]]) -> bytes:
    """The JSON bytes a provider POSTs: pass a list for arrays, a dict for Tencent's reply."""
    return json.dumps(items, ensure_ascii=False).encode("utf-8")
