"""Tencent Cloud SMS: sends through the fake (real TC3 checks over the body bytes), errors, callbacks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.sms.base import SmsTemplateError
from adapters.sms.templates import (
    BEIJING,
)
from adapters.sms.tencent import TencentConfig, TencentSmsProvider, tencent_error
from bot.clock import FrozenClock
from bot.send_errors import PermanentSendError, TransientSendError
from bot.sms_port import (
    SmsAccountError,
    SmsOptOutError,
    SmsReceipt,
    SmsReply,
    SmsUnknownOutcomeError,
    is_balance_error,
    is_opt_out_error,
)
from tests.fakes.sms_servers import FakeTencentSms, push_body, tencent_reply, tencent_status

ServerFactory = Callable[..., Awaitable[TestServer]]
SECRET_ID, SECRET_KEY, APP_ID = "AKIDTEST", "tencent-secret", "1400000000"
TEMPLATES = {"1001": "您的工单{1}已由{2}答复，回复1满意，2不满意。", "1002": "工单{1}已受理，预计答复日期：{2}。",
             "1003": "工单{1}已办结，请回复1满意，2不满意。"}
PARAMS = {"number": "0001", "unit": "住建局"}


@pytest.fixture
def fake() -> FakeTencentSms:
    return FakeTencentSms(keys={SECRET_ID: SECRET_KEY}, sdk_app_id=APP_ID, sign_names={"某某市人社局"},
                          templates=TEMPLATES)


@pytest.fixture
async def server(aiohttp_server: ServerFactory, fake: FakeTencentSms) -> TestServer:
    return await aiohttp_server(fake.make_app())


def provider_for(server: TestServer, clock: Any = None, **overrides: Any) -> TencentSmsProvider:
    config: dict[str, Any] = {
        "secret_id": SECRET_ID, "secret_key": SECRET_KEY, "sdk_app_id": APP_ID, "sign_name": "某某市人社局",
        "templates": {"answer": "1001", "receipt": "1002", "feedback": "1003"},
        "api_base": str(server.make_url("")).rstrip("/"), "per_number_daily": 0,
    }
    config.update(overrides)
    return TencentSmsProvider(TencentConfig(**config), clock=clock)


async def test_send_positional_and_session_context(server: TestServer, fake: FakeTencentSms,
                                                   http: aiohttp.ClientSession) -> None:
    provider = provider_for(server)
    result = await provider.send(http, "13800138000", "answer", {"unit": "住建局", "number": "0001"},
                                 "ticket:0001")
    sent = fake.sent[-1]
    assert sent.params == ["0001", "住建局"]  # number, unit: positional in that order
    assert sent.out_id == "ticket:0001"
    assert sent.text == "【某某市人社局】您的工单0001已由住建局答复，回复1满意，2不满意。"
    assert result.provider_id == sent.provider_id and result.fee == 1 and result.segments == 1
    request = fake.requests[-1]
    assert request.headers["X-TC-Region"] == "ap-guangzhou"
    assert json.loads(request.body)["PhoneNumberSet"] == ["+8613800138000"]


async def test_late_night_beijing_uses_utc_date(server: TestServer, fake: FakeTencentSms,
                                                http: aiohttp.ClientSession) -> None:
    """00:30 Beijing is the previous UTC day: the credential date must be the UTC one."""
    at = datetime(2026, 11, 23, 0, 30, tzinfo=BEIJING)
    fake.now = lambda: at.timestamp()
    provider = provider_for(server, clock=FrozenClock(at))
    await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert "/2026-11-22/sms/tc3_request" in fake.requests[-1].headers["Authorization"]


async def test_clock_skew_is_signature_expire(server: TestServer, fake: FakeTencentSms,
                                              http: aiohttp.ClientSession) -> None:
    provider = provider_for(server, clock=FrozenClock(datetime.now(UTC) - timedelta(minutes=6)))
    with pytest.raises(SmsAccountError) as info:
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert info.value.code == "AuthFailure.SignatureExpire"


async def test_wrong_key_is_signature_failure(server: TestServer, http: aiohttp.ClientSession) -> None:
    provider = provider_for(server, secret_key="nope")
    with pytest.raises(PermanentSendError) as info:
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert info.value.code == "AuthFailure.SignatureFailure"


async def test_server_template_checks(server: TestServer, fake: FakeTencentSms,
                                      http: aiohttp.ClientSession) -> None:
    with pytest.raises(PermanentSendError) as info:
        await provider_for(server, templates={"answer": "9"}).send(http, "13800138000", "answer",
                                                                   dict(PARAMS), "o")
    assert info.value.code == "FailedOperation.TemplateIncorrectOrUnapproved"
    with pytest.raises(PermanentSendError) as info:
        await provider_for(server, variables={"answer": ["number"]}).send(http, "13800138000", "answer",
                                                                          dict(PARAMS), "o")
    assert info.value.code == "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"
    with pytest.raises(PermanentSendError) as info:
        await provider_for(server, param_max_length=20).send(
            http, "13800138000", "answer", {"number": "20261123-0001", "unit": "局"}, "o")
    assert info.value.code == "InvalidParameterValue.TemplateParameterLengthLimit"
    with pytest.raises(SmsAccountError) as info:
        await provider_for(server, sdk_app_id="1400999999").send(http, "13800138000", "answer",
                                                                 dict(PARAMS), "o")
    assert info.value.code == "UnauthorizedOperation.SmsSdkAppIdVerifyFail"
    assert fake.sent == []


async def test_raised_param_limit_with_matching_account(server: TestServer, fake: FakeTencentSms,
                                                        http: aiohttp.ClientSession) -> None:
    fake.param_max_length = 20
    provider = provider_for(server, param_max_length=20)
    await provider.send(http, "13800138000", "answer", {"number": "20261123-0001", "unit": "某某区住建局"}, "o")
    assert fake.sent[-1].params == ["20261123-0001", "某某区住建局"]


async def test_daily_limit_per_number(server: TestServer, fake: FakeTencentSms,
                                      http: aiohttp.ClientSession) -> None:
    fake.per_number_daily = 2  # Tencent's default
    provider = provider_for(server)
    await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    await provider.send(http, "13800138000", "feedback", {"number": "0001"}, "o2")
    with pytest.raises(TransientSendError) as info:
        await provider.send(http, "13800138000", "receipt", dict(PARAMS, due="12月2日"), "o3")
    assert info.value.code == "LimitExceeded.PhoneNumberDailyLimit"
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 86400
    assert fake.count_for("13800138000") == 2


async def test_local_default_limit_is_two_per_day(server: TestServer, fake: FakeTencentSms,
                                                  http: aiohttp.ClientSession) -> None:
    at = datetime(2026, 11, 23, 23, 0, tzinfo=BEIJING)
    clock = FrozenClock(at)
    fake.now = lambda: clock.now().timestamp()
    config = provider_for(server).config.model_copy(update={"per_number_daily": 2})
    provider = TencentSmsProvider(config, clock=clock)
    assert TencentConfig().per_number_daily == 2
    for i in range(2):
        await provider.send(http, "13800138000", "answer", dict(PARAMS), f"o{i}")
    with pytest.raises(TransientSendError) as info:
        await provider.send(http, "13800138000", "answer", dict(PARAMS), "o3")
    assert info.value.code == "local_number_daily_limit"
    assert info.value.retry_after == 3600.0  # natural day: until Beijing midnight
    assert len(fake.requests) == 2
    clock.advance(hours=1)  # the next Beijing day
    await provider.send(http, "13800138000", "answer", dict(PARAMS), "o4")


async def test_local_rate_per_second(server: TestServer, fake: FakeTencentSms,
                                     http: aiohttp.ClientSession) -> None:
    clock = FrozenClock(datetime.now(UTC))
    provider = provider_for(server, clock=clock, rate_per_second=1)
    await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    with pytest.raises(TransientSendError) as info:
        await provider.send(http, "13800138001", "answer", dict(PARAMS), "o2")
    assert info.value.code == "local_rate_limit" and info.value.retry_after == 1.0
    clock.advance(seconds=1)
    await provider.send(http, "13800138001", "answer", dict(PARAMS), "o2")


async def test_server_rate_limit(server: TestServer, fake: FakeTencentSms, http: aiohttp.ClientSession) -> None:
    fake.per_second = 1
    provider = provider_for(server)
    await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    with pytest.raises(TransientSendError) as info:
        await provider.send(http, "13800138001", "answer", dict(PARAMS), "o2")
    assert info.value.code == "RequestLimitExceeded" and info.value.retry_after == 1.0


async def test_blacklisted_number_is_opt_out(server: TestServer, fake: FakeTencentSms,
                                             http: aiohttp.ClientSession) -> None:
    fake.blacklist.add("13800138000")
    with pytest.raises(SmsOptOutError) as info:
        await provider_for(server).send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert info.value.code == "FailedOperation.PhoneNumberInBlacklist" and is_opt_out_error(info.value)


async def test_balance(server: TestServer, fake: FakeTencentSms, http: aiohttp.ClientSession) -> None:
    fake.out_of_balance = True
    with pytest.raises(PermanentSendError) as info:
        await provider_for(server).send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert info.value.code == "FailedOperation.InsufficientBalanceInSmsPackage"
    assert is_balance_error(info.value)


@pytest.mark.parametrize(("status", "code", "expected", "unknown"), [
    (500, None, "http_500", False),
    (502, None, "http_502", False),
    (None, "RequestLimitExceeded", "RequestLimitExceeded", False),
    (None, "InternalError.SendAndRecvFail", "InternalError.SendAndRecvFail", False),
    (None, "InternalError.Timeout", "InternalError.Timeout", True),
])
async def test_transient_failures_then_success(server: TestServer, fake: FakeTencentSms,
                                               http: aiohttp.ClientSession, status: int | None,
                                               code: str | None, expected: str, unknown: bool) -> None:
    fake.fail_next(2, status=status, code=code)
    provider = provider_for(server)
    for _ in range(2):
        with pytest.raises(TransientSendError) as info:
            await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
        assert info.value.code == expected
        assert isinstance(info.value, SmsUnknownOutcomeError) == unknown
    await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    assert len(fake.requests) == 3 and len(fake.sent) == 1


@pytest.mark.parametrize(("code", "kind", "retry_after"), [
    ("LimitExceeded.PhoneNumberThirtySecondLimit", TransientSendError, 30.0),
    ("LimitExceeded.PhoneNumberOneHourLimit", TransientSendError, 3600.0),
    ("RequestLimitExceeded.Global", TransientSendError, 1.0),
    ("InternalError.UnknownError", TransientSendError, None),
    ("UnauthorizedOperation.ServiceSuspendDueToArrears", SmsAccountError, None),
    ("LimitExceeded.AppDailyLimit", SmsAccountError, None),
    ("AuthFailure.SecretIdNotFound", SmsAccountError, None),
    ("InvalidParameterValue.IncorrectPhoneNumber", PermanentSendError, None),
    ("InvalidParameterValue.ProhibitedUseUrlInTemplateParameter", PermanentSendError, None),
    ("FailedOperation.ContainSensitiveWord", PermanentSendError, None),
    ("UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber", PermanentSendError, None),
    ("Brand.NewCode", PermanentSendError, None),
])
def test_error_mapping(code: str, kind: type, retry_after: float | None) -> None:
    err = tencent_error(code)
    assert type(err) is kind and err.code == code and err.retry_after == retry_after
    assert is_balance_error(err) == (code == "UnauthorizedOperation.ServiceSuspendDueToArrears")


def test_daily_limit_retry_after_is_until_beijing_midnight() -> None:
    now = datetime(2026, 11, 23, 22, 0, tzinfo=BEIJING)
    err = tencent_error("LimitExceeded.PhoneNumberDailyLimit", now=now)
    assert isinstance(err, TransientSendError) and err.retry_after == 7200.0


def test_validate_six_chars_by_default() -> None:
    provider = TencentSmsProvider(TencentConfig(templates={"answer": "1001"}))
    provider.validate("answer", {"number": "123456", "unit": "住建局"})
    # Too long for 6 characters: the number goes by its tail, the unit by its short name.
    provider.validate("answer", {"number": "1234567", "unit": "某某区住房和城乡建设局"})
    assert provider.build_body("13800138000", "answer", {"number": "1234567", "unit": "某某区住房和城乡建设局",
                                                         "unit_short": "区住建局"}, "o")["TemplateParamSet"] \
        == ["尾号4567", "区住建局"]
    with pytest.raises(SmsTemplateError) as info:
        TencentSmsProvider(TencentConfig(templates={"answer": "1001"}, variables={"answer": ["number", "area"]})
                           ).validate("answer", {"number": "1", "area": "松江区方松街道"})
    assert info.value.variable == "area" and "超过 6 字" in str(info.value)
    with pytest.raises(SmsTemplateError) as info:
        provider.validate("answer", {"number": "1", "unit": "t.cn/ab"})
    assert info.value.variable == "unit"
    TencentSmsProvider(TencentConfig(templates={"answer": "1001"}, param_max_length=12)).validate(
        "answer", {"number": "1234567", "unit": "住建局"})
    with pytest.raises(PermanentSendError) as missing:
        provider.validate("receipt", dict(PARAMS, due="12月2日"))
    assert missing.value.code == "template_missing"


async def test_validation_before_call(server: TestServer, fake: FakeTencentSms,
                                      http: aiohttp.ClientSession) -> None:
    with pytest.raises(SmsTemplateError):  # a link in a variable cannot be fitted away
        await provider_for(server).send(http, "13800138000", "answer", {"number": "1234567", "unit": "t.cn/a"}, "o")
    with pytest.raises(PermanentSendError) as info:
        await provider_for(server).send(http, "13800138000", "answer", dict(PARAMS), "x" * 600)
    assert info.value.code == "out_id_too_long"
    assert fake.requests == []


def test_parse_documented_status_sample() -> None:
    body = json.dumps([
        {"user_receive_time": "2015-10-17 08:03:04", "nationcode": "86", "mobile": "13900001234",
         "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功", "sid": "xxxxx"},
        {"user_receive_time": "2015-10-17 08:03:05", "nationcode": "86", "mobile": "13900001235",
         "report_status": "FAIL", "errmsg": "MK:0001", "description": "用户短信送达失败", "sid": "yyyyy"},
    ], ensure_ascii=False).encode()
    ok, failed = TencentSmsProvider(TencentConfig()).parse_callback(body, "application/json")
    assert ok == SmsReceipt(provider_id="xxxxx", phone="13900001234", delivered=True, code="DELIVRD",
                            description="用户短信送达成功", at=datetime(2015, 10, 17, 8, 3, 4, tzinfo=BEIJING))
    assert isinstance(failed, SmsReceipt) and not failed.delivered and failed.code == "MK:0001"


def test_parse_documented_reply_sample() -> None:
    body = json.dumps({"extend": "", "mobile": "13900001234", "nationcode": "86", "sign": "腾讯云",
                       "text": "最近天气几号", "time": 1457336869}, ensure_ascii=False).encode()
    (reply,) = TencentSmsProvider(TencentConfig()).parse_callback(body, "application/json")
    assert reply == SmsReply(phone="13900001234", text="最近天气几号", extend_code="",
                             at=datetime.fromtimestamp(1457336869, UTC),
                             extra={"sign": "腾讯云", "nationcode": "86"})


async def test_status_for_sent_message_and_reply_builder(server: TestServer, fake: FakeTencentSms,
                                                         http: aiohttp.ClientSession) -> None:
    provider = provider_for(server)
    result = await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    (receipt,) = provider.parse_callback(push_body([fake.status_for(fake.sent[-1])]), "application/json")
    assert isinstance(receipt, SmsReceipt) and receipt.provider_id == result.provider_id and receipt.delivered
    (reply,) = provider.parse_callback(push_body(tencent_reply(mobile="13800138000", text="2", extend="7")),
                                       "application/json")
    assert isinstance(reply, SmsReply) and (reply.text, reply.extend_code) == ("2", "7")
    items = provider.parse_callback(push_body([tencent_status(sid="s1", mobile="5551234", nationcode="1")]),
                                    "application/json")
    assert items[0].phone == "+15551234"
    with pytest.raises(ValueError):
        provider.parse_callback(b"{", "application/json")


def test_callback_answer() -> None:
    status, _, body = TencentSmsProvider(TencentConfig()).callback_answer(True)
    assert status == 200 and json.loads(body) == {"result": 0, "errmsg": "OK"}
