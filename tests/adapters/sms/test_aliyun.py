"""Alibaba Cloud SMS: sends through the fake dysmsapi (real ACS3 checks), errors, pushes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.sms.aliyun import AliyunConfig, AliyunSmsProvider, aliyun_error
from adapters.sms.base import SmsTemplateError
from adapters.sms.templates import (
    BEIJING,
)
from bot.send_errors import PermanentSendError, TransientSendError
from bot.sms_port import (
    SmsAccountError,
    SmsReceipt,
    SmsReply,
    SmsUnknownOutcomeError,
    is_account_error,
    is_balance_error,
)
from tests.fakes.sms_servers import FakeAliyunSms, aliyun_report, aliyun_up, push_body

ServerFactory = Callable[..., Awaitable[TestServer]]
KEY_ID, SECRET = "LTAI-TEST", "test-secret"
TEMPLATES = {
    "SMS_100": "您反映的问题（工单${number}）已由${unit}答复，回复1满意，2不满意。",
    "SMS_200": "您反映的问题已受理，工单号${number}。",
    "SMS_300": "工单${number}已办结，请回复1满意，2不满意。",
}
PARAMS = {"number": "20261123-0001", "unit": "某某区住建局"}


@pytest.fixture
def fake() -> FakeAliyunSms:
    return FakeAliyunSms(keys={KEY_ID: SECRET}, sign_names={"某某市12345"}, templates=TEMPLATES)


def provider_for(server: TestServer, **overrides: Any) -> AliyunSmsProvider:
    config: dict[str, Any] = {
        "access_key_id": KEY_ID, "access_key_secret": SECRET, "sign_name": "某某市12345",
        "templates": {"answer": "SMS_100", "receipt": "SMS_200", "feedback": "SMS_300"},
        "api_base": str(server.make_url("")).rstrip("/"), "per_number_daily": 0,
    }
    config.update(overrides)
    return AliyunSmsProvider(AliyunConfig(**config))


@pytest.fixture
async def server(aiohttp_server: ServerFactory, fake: FakeAliyunSms) -> TestServer:
    return await aiohttp_server(fake.make_app())


async def test_send_signed_and_recorded(server: TestServer, fake: FakeAliyunSms,
                                        http: aiohttp.ClientSession) -> None:
    provider = provider_for(server)
    result = await provider.send(http, "+86 138-0013-8000", "answer", dict(PARAMS), "ob:42 +1/x~*")
    assert result.provider_id.endswith("^0")
    assert fake.requests[-1].code == "OK"
    assert fake.requests[-1].body == b""
    sent = fake.sent[-1]
    assert sent.phone == "13800138000"
    assert sent.params == PARAMS
    assert sent.out_id == "ob:42 +1/x~*"  # "+" and space survive: the query is sent exactly as signed
    assert sent.text == "【某某市12345】您反映的问题（工单20261123-0001）已由某某区住建局答复，回复1满意，2不满意。"
    raw = fake.requests[-1].query_string
    assert "%2B1" in raw and "+" not in raw and "~" in raw


async def test_extra_params_dropped_and_feedback_kind(server: TestServer, fake: FakeAliyunSms,
                                                      http: aiohttp.ClientSession) -> None:
    provider = provider_for(server)
    await provider.send(http, "13800138000", "feedback", {"number": "0001", "unit": "ignored"}, "o1")
    assert fake.sent[-1].params == {"number": "0001"}


async def test_fresh_nonce_per_try(server: TestServer, fake: FakeAliyunSms,
                                   http: aiohttp.ClientSession) -> None:
    provider = provider_for(server)
    for i in range(3):
        await provider.send(http, "13800138000", "receipt", dict(PARAMS, due="12月2日"), f"o{i}")
    nonces = {r.headers["x-acs-signature-nonce"] for r in fake.requests}
    assert len(nonces) == 3


async def test_wrong_secret_is_signature_error(server: TestServer, fake: FakeAliyunSms,
                                               http: aiohttp.ClientSession) -> None:
    provider = provider_for(server, access_key_secret="wrong")
    with pytest.raises(PermanentSendError) as info:
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert info.value.code == "SignatureDoesNotMatch"
    assert is_account_error(info.value) and not is_balance_error(info.value)
    assert not fake.sent


async def test_unknown_key_id(server: TestServer, http: aiohttp.ClientSession) -> None:
    provider = provider_for(server, access_key_id="LTAI-OTHER")
    with pytest.raises(SmsAccountError) as info:
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert info.value.code == "InvalidAccessKeyId.NotFound"


async def test_server_checks_template_variables(server: TestServer, fake: FakeAliyunSms,
                                                http: aiohttp.ClientSession) -> None:
    """A template the fake doesn't know, and one whose variables we did not declare."""
    provider = provider_for(server, templates={"answer": "SMS_999"})
    with pytest.raises(PermanentSendError) as info:
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert info.value.code == "isv.SMS_TEMPLATE_ILLEGAL"
    provider = provider_for(server, variables={"answer": ["number"]})
    with pytest.raises(PermanentSendError) as info:
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert info.value.code == "isv.TEMPLATE_MISSING_PARAMETERS"
    provider = provider_for(server, sign_name="别的签名")
    with pytest.raises(PermanentSendError) as info:
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert info.value.code == "isv.SMS_SIGNATURE_ILLEGAL"


async def test_server_refuses_long_variable_when_local_limit_is_looser(
        server: TestServer, fake: FakeAliyunSms, http: aiohttp.ClientSession) -> None:
    fake.param_max_length = 10
    provider = provider_for(server)
    with pytest.raises(PermanentSendError) as info:
        await provider.send(http, "13800138000", "answer", {"number": "x" * 20, "unit": "局"}, "o1")
    assert info.value.code == "isv.PARAM_LENGTH_LIMIT"
    assert not isinstance(info.value, SmsAccountError)


@pytest.mark.parametrize(("status", "code", "expected"), [
    (503, None, "http_503"),
    (None, "Throttling.User", "Throttling.User"),
    (None, "isp.SYSTEM_ERROR", "isp.SYSTEM_ERROR"),
    (None, "ServiceUnavailable", "ServiceUnavailable"),
    (None, "InternalError", "InternalError"),
    (None, "SignatureNonceUsed", "SignatureNonceUsed"),
])
async def test_transient_then_success(server: TestServer, fake: FakeAliyunSms, http: aiohttp.ClientSession,
                                      status: int | None, code: str | None, expected: str) -> None:
    provider = provider_for(server)
    fake.fail_next(1, status=status, code=code)
    with pytest.raises(TransientSendError) as info:
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert info.value.code == expected
    assert not isinstance(info.value, SmsUnknownOutcomeError)
    if expected.startswith("Throttling"):
        assert info.value.retry_after == 1.0
    result = await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert result.provider_id
    assert len(fake.sent) == 1


async def test_rate_limit_answers_throttling(server: TestServer, fake: FakeAliyunSms,
                                             http: aiohttp.ClientSession) -> None:
    fake.per_second = 2
    provider = provider_for(server)
    await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    await provider.send(http, "13800138001", "answer", dict(PARAMS), "o2")
    with pytest.raises(TransientSendError) as info:
        await provider.send(http, "13800138002", "answer", dict(PARAMS), "o3")
    assert info.value.code == "Throttling.User"


async def test_per_number_daily_limit(server: TestServer, fake: FakeAliyunSms,
                                      http: aiohttp.ClientSession) -> None:
    fake.per_number_daily = 2
    provider = provider_for(server)
    for i in range(2):
        await provider.send(http, "13800138000", "answer", dict(PARAMS), f"o{i}")
    with pytest.raises(TransientSendError) as info:
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o3")
    assert info.value.code == "isv.BUSINESS_LIMIT_CONTROL"
    assert info.value.retry_after == 86400.0
    await provider.send(http, "13900139000", "answer", dict(PARAMS), "o4")  # another number is fine


async def test_local_per_number_limit_stops_before_the_call(server: TestServer, fake: FakeAliyunSms,
                                                            http: aiohttp.ClientSession) -> None:
    provider = provider_for(server, per_number_daily=1)
    await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    with pytest.raises(TransientSendError) as info:
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o2")
    assert info.value.code == "local_number_daily_limit"
    assert info.value.retry_after and info.value.retry_after > 86000
    assert len(fake.requests) == 1


async def test_refused_send_does_not_count_locally(server: TestServer, fake: FakeAliyunSms,
                                                   http: aiohttp.ClientSession) -> None:
    provider = provider_for(server, per_number_daily=1)
    fake.fail_next(1, status=502)
    with pytest.raises(TransientSendError):
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")


async def test_balance_error(server: TestServer, fake: FakeAliyunSms, http: aiohttp.ClientSession) -> None:
    fake.out_of_balance = True
    provider = provider_for(server)
    with pytest.raises(PermanentSendError) as info:
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert info.value.code == "isv.AMOUNT_NOT_ENOUGH"
    assert is_balance_error(info.value)


async def test_timeout_is_unknown_outcome(server: TestServer, fake: FakeAliyunSms,
                                          http: aiohttp.ClientSession) -> None:
    fake.delay = 1.0
    provider = provider_for(server, timeout=0.2)
    with pytest.raises(SmsUnknownOutcomeError) as info:
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert info.value.transient and info.value.code == "timeout"


async def test_connection_refused_is_transient(unused_tcp_port: int, http: aiohttp.ClientSession) -> None:
    provider = AliyunSmsProvider(AliyunConfig(access_key_id=KEY_ID, access_key_secret=SECRET,
                                              sign_name="某某市12345", templates={"answer": "SMS_100"},
                                              api_base=f"http://127.0.0.1:{unused_tcp_port}"))
    with pytest.raises(TransientSendError) as info:
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert info.value.code == "network"
    assert not isinstance(info.value, SmsUnknownOutcomeError)


@pytest.mark.parametrize(("code", "message", "kind", "retry_after"), [
    ("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1", TransientSendError, 60.0),
    ("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5", TransientSendError, 3600.0),
    ("Throttling.Api", "", TransientSendError, 1.0),
    ("isv.SYSTEM_ERROR", "", TransientSendError, None),
    ("isv.MOBILE_NUMBER_ILLEGAL", "", PermanentSendError, None),
    ("isv.PARAM_NOT_SUPPORT_URL", "", PermanentSendError, None),
    ("isv.SMS_SIGNATURE_ILLEGAL", "", PermanentSendError, None),
    ("isv.TEMPLATE_MISSING_PARAMETERS", "", PermanentSendError, None),
    ("isv.OUT_OF_SERVICE", "", SmsAccountError, None),
    ("isv.DAY_LIMIT_CONTROL", "", SmsAccountError, None),
    ("InvalidAccessKeyId.Inactive", "", SmsAccountError, None),
    ("InvalidTimeStamp.Expired", "", SmsAccountError, None),
    ("isv.SOMETHING_NEW", "", PermanentSendError, None),
])
def test_error_mapping(code: str, message: str, kind: type, retry_after: float | None) -> None:
    err = aliyun_error(code, message)
    assert type(err) is kind
    assert err.code == code
    assert err.retry_after == retry_after
    assert is_balance_error(err) == (code in ("isv.OUT_OF_SERVICE", "isv.AMOUNT_NOT_ENOUGH"))


def test_validate_refusals() -> None:
    provider = AliyunSmsProvider(AliyunConfig(access_key_id="k", access_key_secret="s", sign_name="x",
                                              templates={"answer": "SMS_1"}))
    provider.validate("answer", dict(PARAMS))
    cases = [
        ({"number": "1" * 36, "unit": "局"}, "number"),
        ({"number": "0001", "unit": "见 https://x.cn/a"}, "unit"),
        ({"number": "0001", "unit": "详见 www.gov.cn"}, "unit"),
        ({"number": "0001", "unit": "12345.gov.cn"}, "unit"),
        ({"number": "0001", "unit": "【假签名】局"}, "unit"),
        ({"number": "0001", "unit": "住建局★"}, "unit"),
        ({"number": "0001", "unit": "住建局\n"}, "unit"),
        ({"number": "0001", "unit": "住建局😀"}, "unit"),
        ({"number": "0001", "unit": ""}, "unit"),
        ({"number": "0001"}, "unit"),
    ]
    for params, variable in cases:
        with pytest.raises(SmsTemplateError) as info:
            provider.validate("answer", params)
        assert info.value.variable == variable, params
        assert info.value.code == "template_variable"
    with pytest.raises(PermanentSendError) as missing:
        provider.validate("feedback", {"number": "1"})
    assert missing.value.code == "template_missing"


async def test_validation_happens_before_any_call(server: TestServer, fake: FakeAliyunSms,
                                                  http: aiohttp.ClientSession) -> None:
    provider = provider_for(server)
    with pytest.raises(SmsTemplateError):
        await provider.send(http, "13800138000", "answer", {"number": "1", "unit": "http://a.cn"}, "o1")
    with pytest.raises(PermanentSendError) as info:
        await provider.send(http, "010-12345678", "answer", dict(PARAMS), "o1")
    assert info.value.code == "phone_invalid"
    assert fake.requests == []


def test_parse_documented_report_sample() -> None:
    body = json.dumps([{
        "phone_number": "13900001234", "send_time": "2017-01-01 11:12:13", "report_time": "2017-02-02 22:23:24",
        "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
        "biz_id": "12345", "out_id": "67890",
    }, {
        "phone_number": "13900001235", "send_time": "2017-01-01 11:12:13", "report_time": "2017-02-02 22:23:25",
        "success": False, "err_code": "MK:0001", "err_msg": "失败", "sms_size": "2",
        "biz_id": "12346", "out_id": "",
    }], ensure_ascii=False).encode()
    provider = AliyunSmsProvider(AliyunConfig())
    ok, failed = provider.parse_callback(body, "application/json")
    assert ok == SmsReceipt(provider_id="12345", phone="13900001234", delivered=True, code="DELIVERED",
                            description="用户接收成功", out_id="67890",
                            at=datetime(2017, 2, 2, 22, 23, 24, tzinfo=BEIJING))
    assert isinstance(failed, SmsReceipt) and not failed.delivered and failed.code == "MK:0001"


def test_parse_documented_up_sample() -> None:
    body = json.dumps([
        {"phone_number": "13900001234", "send_time": "2017-01-01 00:00:00", "content": "1",
         "sign_name": "【阿里云】", "dest_code": "1234", "sequence_id": 1234567890},
        {"phone_number": "13900001235", "send_time": "2017-01-01 00:00:01", "content": "不满意",
         "dest_code": "", "sequence_id": "1234567891"},
    ], ensure_ascii=False).encode()
    first, second = AliyunSmsProvider(AliyunConfig()).parse_callback(body, "application/json")
    assert first == SmsReply(phone="13900001234", text="1", provider_msg_id="1234567890", extend_code="1234",
                             at=datetime(2017, 1, 1, tzinfo=BEIJING),
                             extra={"sign_name": "【阿里云】", "sequence_id": "1234567890"})
    assert isinstance(second, SmsReply) and second.provider_msg_id == "1234567891"


def test_parse_fake_built_bodies_and_garbage() -> None:
    provider = AliyunSmsProvider(AliyunConfig())
    now = datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC)
    items = provider.parse_callback(push_body([
        aliyun_report(biz_id="9^0", phone="13800138000", out_id="o1", now=now),
        aliyun_up(phone="13800138000", content="1", dest_code="01", now=now)]), "application/json")
    assert [type(i) for i in items] == [SmsReceipt, SmsReply]
    assert items[0].out_id == "o1" and items[0].at == now
    for bad in (b"not json", b"[1]", b'[{"foo": 1}]'):
        with pytest.raises(ValueError):
            provider.parse_callback(bad, "application/json")


async def test_report_for_sent_message(server: TestServer, fake: FakeAliyunSms,
                                       http: aiohttp.ClientSession) -> None:
    provider = provider_for(server)
    result = await provider.send(http, "13800138000", "answer", dict(PARAMS), "ob-7")
    body = push_body([fake.report_for(fake.sent[-1])])
    (receipt,) = provider.parse_callback(body, "application/json")
    assert isinstance(receipt, SmsReceipt)
    assert (receipt.provider_id, receipt.out_id, receipt.delivered) == (result.provider_id, "ob-7", True)


def test_callback_answer() -> None:
    status, _, body = AliyunSmsProvider(AliyunConfig()).callback_answer(True)
    assert status == 200 and json.loads(body) == {"code": 0, "msg": "接收成功"}
    assert AliyunSmsProvider(AliyunConfig()).callback_answer(False)[0] == 500
