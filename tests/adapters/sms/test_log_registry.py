"""The log provider, the [sms] config models and build_provider, and the shared helpers."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

import aiohttp
import pytest
from pydantic import ValidationError

from adapters.sms.aliyun import AliyunSmsProvider
from adapters.sms.base import SmsProvider, SmsTemplateError
from adapters.sms.generic import GenericGatewayProvider
from adapters.sms.log import LogSmsProvider
from adapters.sms.templates import SendLimiter, find_url
from adapters.sms.tencent import TencentSmsProvider
from bot.clock import FrozenClock
from bot.privacy import mask_phone
from bot.send_errors import PermanentSendError, TransientSendError
from bot.sms_port import SmsReceipt, SmsReply, normalize_cn_mobile
from bot.sms_providers import SmsConfig, build_provider


async def test_log_provider_masks_and_answers_log_id(caplog: pytest.LogCaptureFixture) -> None:
    provider = LogSmsProvider()
    caplog.set_level(logging.INFO, logger="hotline.sms")
    async with aiohttp.ClientSession() as http:
        result = await provider.send(http, "+8613812341234", "answer", {"number": "0001", "unit": "住建局"}, "ob-1")
    assert result.provider_id == "log-ob-1" and result.segments == 1
    records = [r for r in caplog.records if r.name == "hotline.sms"]
    assert records and "138****1234" in records[-1].getMessage()
    assert "13812341234" not in caplog.text
    assert provider.sent[-1].phone == "13812341234"


def test_log_provider_validates_like_a_lenient_template() -> None:
    provider = LogSmsProvider()
    provider.validate("anything", {"a": "x" * 35})
    for params in ({"a": "x" * 36}, {"a": "www.example.com"}, {"a": "【假】"}):
        with pytest.raises(SmsTemplateError):
            provider.validate("answer", params)


def test_log_provider_fake_pushes() -> None:
    items = LogSmsProvider().parse_callback(
        b'[{"phone": "13800138000", "text": "1"}, {"phone": "13800138000", "provider_id": "log-ob-1",'
        b' "out_id": "ob-1"}]', "application/json")
    assert items == [SmsReply(phone="13800138000", text="1"),
                     SmsReceipt(provider_id="log-ob-1", phone="13800138000", delivered=True, code="DELIVRD",
                                out_id="ob-1")]


def test_config_defaults() -> None:
    config = SmsConfig()
    assert config.provider == "log"
    assert config.reply_window_delta == timedelta(days=7)
    assert config.quiet_window == (time(21), time(8))
    assert config.section("tencent").param_max_length == 6 and config.section("tencent").per_number_daily == 2
    assert config.section("aliyun").param_max_length == 35
    assert config.section("generic").body_encoding == "base64-json"
    assert isinstance(build_provider(config), LogSmsProvider)
    assert SmsConfig(quiet_hours="").quiet_window is None
    assert SmsConfig(reply_window="48h").reply_window_delta == timedelta(hours=48)


def test_config_builds_each_provider() -> None:
    aliyun = SmsConfig.model_validate({"provider": "aliyun", "aliyun": {
        "access_key_id": "id", "access_key_secret": "TOPSECRET-S", "sign_name": "签名", "templates": {"answer": "SMS_1"}}})
    tencent = SmsConfig.model_validate({"provider": "tencent", "tencent": {
        "secret_id": "id", "secret_key": "TOPSECRET-K", "sdk_app_id": "1400000000", "sign_name": "签名"}})
    generic = SmsConfig.model_validate({"provider": "generic", "generic": {"url": "http://10.0.0.1/sms"}})
    providers: list[SmsProvider] = [build_provider(aliyun), build_provider(tencent), build_provider(generic)]
    assert [type(p) for p in providers] == [AliyunSmsProvider, TencentSmsProvider, GenericGatewayProvider]
    assert [p.name for p in providers] == ["aliyun", "tencent", "generic"]
    assert "TOPSECRET" not in repr(tencent) + repr(aliyun)


@pytest.mark.parametrize(("data", "needle"), [
    ({"provider": "aliyun"}, "sms.aliyun.access_key_id"),
    ({"provider": "tencent", "tencent": {"secret_id": "x", "secret_key": "y", "sign_name": "z"}},
     "sms.tencent.sdk_app_id"),
    ({"provider": "generic"}, "sms.generic.url"),
    ({"provider": "smtp"}, "provider"),
    ({"reply_window": "7 days"}, "reply_window"),
    ({"quiet_hours": "21-8"}, "quiet_hours"),
    ({"aliyun": {"acces_key_id": "typo"}}, "acces_key_id"),
])
def test_config_errors_name_the_key(data: dict[str, object], needle: str) -> None:
    with pytest.raises(ValidationError) as info:
        SmsConfig.model_validate(data)
    assert needle in str(info.value)


def test_phone_helpers() -> None:
    for raw in ("13800138000", "+8613800138000", "008613800138000", "86 138-0013-8000"):
        assert normalize_cn_mobile(raw) == "13800138000"
    for bad in ("010-12345678", "12345", "", "+1 555 123 4567"):
        with pytest.raises(PermanentSendError) as info:
            normalize_cn_mobile(bad)
        assert info.value.code == "phone_invalid"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("+8613812341234") == "138****1234"


def test_url_detection() -> None:
    for text in ("http://a", "HTTPS://X.CN", "www.abc", "t.cn/xyz", "gov.cn", "1.2.3.4", "a-b.com.cn/p"):
        assert find_url(text), text
    for text in ("20261123-0001", "某某区住建局", "3.5万元", "1号楼2单元", "v1.2"):
        assert find_url(text) is None, text


def test_send_limiter_release_and_rolling() -> None:
    clock = FrozenClock(datetime(2026, 11, 23, 12, tzinfo=UTC))
    limiter = SendLimiter(per_number_daily=1, rolling=True, clock=clock)
    slot = limiter.reserve("13800138000")
    limiter.release(slot)
    limiter.reserve("13800138000")
    with pytest.raises(TransientSendError) as info:
        limiter.reserve("13800138000")
    assert info.value.retry_after == 86400.0
    clock.advance(hours=24)
    limiter.reserve("13800138000")


def test_bot_style_params_and_number_limit() -> None:
    """The ticket core queues receipt with {number, due} and answer with {number, unit}."""
    tencent = TencentSmsProvider(SmsConfig().section("tencent").model_copy(
        update={"templates": {"answer": "1", "receipt": "2", "feedback": "3"}}))
    tencent.validate("receipt", {"number": "0001", "due": "12月2日"})
    tencent.validate("answer", {"number": "0001", "unit": "住建局"})
    tencent.validate("feedback", {"number": "0001"})
    # One per-number limiter: the provider's, per natural day (Tencent) or rolling 24 h (Alibaba).
    assert (tencent.limiter.per_number_daily, tencent.limiter.rolling) == (2, False)
    aliyun = AliyunSmsProvider(SmsConfig().section("aliyun")).limiter
    assert (aliyun.per_number_daily, aliyun.rolling) == (50, True)
    assert GenericGatewayProvider(SmsConfig().section("generic")).limiter.per_number_daily == 0
