"""Generic government gateway (云MAS defaults): recipes, free text and segments, errors, pushes."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pydantic import ValidationError

from adapters.sms.base import SmsTemplateError
from adapters.sms.generic import GenericGatewayConfig, GenericGatewayProvider
from adapters.sms.templates import (
    BEIJING,
    count_segments,
    split_segments,
)
from bot.clock import FrozenClock
from bot.send_errors import PermanentSendError, TransientSendError
from bot.sms_port import (
    SmsAccountError,
    SmsReceipt,
    SmsReply,
    is_account_error,
    is_balance_error,
)
from tests.fakes.sms_servers import FakeGenericGateway, mas_receipt, mas_reply, push_body

ServerFactory = Callable[..., Awaitable[TestServer]]
STATIC = {"ecName": "某某市人力资源和社会保障局", "apId": "hotline", "sign": "abcDEF123", "addSerial": ""}
PARAMS = {"number": "20261123-0001", "unit": "某某区住建局", "text": "经核实，小区供暖已恢复。"}


async def start(aiohttp_server: ServerFactory, path: str = "/sms/norsubmit", clock: Any = None,
                fake_kwargs: dict[str, Any] | None = None,
                **overrides: Any) -> tuple[GenericGatewayProvider, FakeGenericGateway, TestServer]:
    """A fake gateway and a provider sharing one recipe (the fake needs the URL only after start)."""
    config: dict[str, Any] = {"url": "http://placeholder", "secret": "s3cr3t", "static_fields": dict(STATIC)}
    config.update(overrides)
    fake = FakeGenericGateway(GenericGatewayConfig(**config), **(fake_kwargs or {}))
    server = await aiohttp_server(fake.make_app())
    config["url"] = str(server.make_url(path))
    return GenericGatewayProvider(GenericGatewayConfig(**config), clock=clock), fake, server


async def test_mas_default_free_text(aiohttp_server: ServerFactory, http: aiohttp.ClientSession) -> None:
    provider, fake, _ = await start(aiohttp_server, sign_text="某某市12345")
    result = await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    sent = fake.sent[-1]
    assert result.provider_id == sent.provider_id and result.segments == 1
    assert sent.text == ("您反映的问题（工单20261123-0001）已由某某区住建局答复：经核实，小区供暖已恢复。"
                         "回复1满意，2不满意。")
    request = fake.requests[-1]
    fields = json.loads(base64.b64decode(request.body))
    assert request.path == "/sms/norsubmit"
    assert fields["secretKey"] == "s3cr3t" and fields["mobiles"] == "13800138000"
    expected_mac = hashlib.md5("".join([STATIC["ecName"], "hotline", "s3cr3t", "13800138000", sent.text,
                                        "abcDEF123", ""]).encode()).hexdigest()
    assert fields["mac"] == expected_mac
    assert provider.carries_text


async def test_long_answer_segments(aiohttp_server: ServerFactory, http: aiohttp.ClientSession) -> None:
    provider, fake, _ = await start(aiohttp_server, sign_text="某某市12345",
                                    texts={"answer": "工单{number}答复：{text}"})
    answer = "答" * 150
    result = await provider.send(http, "13800138000", "answer", {**PARAMS, "text": answer}, "o1")
    text = fake.sent[-1].text
    total = len("【某某市12345】") + len(text)
    assert result.segments == count_segments(total) == 3 == fake.sent[-1].segments
    parts = provider.segments(text)
    assert "".join(parts) == text and len(parts) == 3
    assert len(parts[0]) == 67 - len("【某某市12345】") and all(len(p) <= 67 for p in parts)


def test_segment_boundaries() -> None:
    assert count_segments(70) == 1 and count_segments(71) == 2
    assert count_segments(134) == 2 and count_segments(135) == 3
    assert split_segments("字" * 70) == ["字" * 70]
    parts = split_segments("字" * 65, prefix_length=8)
    assert [len(p) for p in parts] == [59, 6]
    assert [len(p) for p in split_segments("a" * 201)] == [67, 67, 67]
    text = "答复内容" * 40
    assert "".join(split_segments(text, 5)) == text


async def test_validation_before_call(aiohttp_server: ServerFactory, http: aiohttp.ClientSession) -> None:
    provider, fake, _ = await start(aiohttp_server, max_segments=2)
    cases = [
        ({**PARAMS, "text": "长" * 200}, "text"),
        ({"number": "1", "unit": "局"}, "text"),
        ({**PARAMS, "text": "请访问 https://example.cn/x 查看"}, "text"),
        ({**PARAMS, "text": "【伪造签名】内容"}, "text"),
        ({**PARAMS, "unit": ""}, "unit"),
    ]
    for params, variable in cases:
        with pytest.raises(SmsTemplateError) as info:
            await provider.send(http, "13800138000", "answer", params, "o1")
        assert info.value.variable == variable, params
    provider.validate("answer", {**PARAMS, "text": "第一行\n第二行"})  # free text may have lines
    with pytest.raises(PermanentSendError) as missing:
        provider.validate("other", {})
    assert missing.value.code == "template_missing"
    assert fake.requests == []


async def test_form_hmac_recipe_with_timestamp(aiohttp_server: ServerFactory,
                                               http: aiohttp.ClientSession) -> None:
    clock = FrozenClock(datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC))
    provider, fake, _ = await start(
        aiohttp_server, path="/api/send", clock=clock, body_encoding="form", phone_field="phone",
        text_field="msg", static_fields={"account": "hb"}, secret_field="", sign_field="sig",
        sign_algo="hmac-sha256", sign_fields=[], sign_case="upper", timestamp_field="ts",
        timestamp_format="%Y%m%d%H%M%S", out_id_field="custId")
    await provider.send(http, "13800138000", "feedback", {"number": "0001"}, "ob-9")
    request = fake.requests[-1]
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    fields = dict(provider.build_fields("13800138000", "feedback", {"number": "0001"}, "ob-9"))
    assert request.body == urlencode(fields).encode()
    assert fields["ts"] == "20261123090203" and fields["custId"] == "ob-9"
    assert "s3cr3t" not in request.body.decode()
    assert fake.sent[-1].out_id == "ob-9"


async def test_custom_success_rule(aiohttp_server: ServerFactory, http: aiohttp.ClientSession) -> None:
    """Success decided by another field than ``success``: rspcod == "success"."""
    provider, _, _ = await start(aiohttp_server, success_field="rspcod", success_values=["success"],
                                 id_field="msgGroup")
    result = await provider.send(http, "13800138000", "feedback", {"number": "0001"}, "o")
    assert result.provider_id


async def test_template_mode(aiohttp_server: ServerFactory, http: aiohttp.ClientSession) -> None:
    provider, fake, _ = await start(aiohttp_server, path="/sms/tmpsubmit", mode="template",
                                    templates={"answer": "T100"}, fake_kwargs={"templates": {"T100": 2}})
    result = await provider.send(http, "13800138000", "answer", dict(PARAMS), "o1")
    fields = json.loads(base64.b64decode(fake.requests[-1].body))
    assert fields["templateId"] == "T100"
    assert json.loads(fields["params"]) == ["20261123-0001", "某某区住建局"]
    assert "content" not in fields and result.segments == 1 and not provider.carries_text
    with pytest.raises(SmsTemplateError):
        provider.validate("answer", {"number": "x" * 36, "unit": "局"})


async def test_bad_signature_and_credentials(aiohttp_server: ServerFactory,
                                             http: aiohttp.ClientSession) -> None:
    provider, fake, _ = await start(aiohttp_server, secret_field="", sign_fields=["apId", "mobiles", "{secret}"])
    fake.config = fake.config.model_copy(update={"secret": "other"})
    with pytest.raises(SmsAccountError) as info:
        await provider.send(http, "13800138000", "feedback", {"number": "0001"}, "o")
    assert info.value.code == "IllegalMac" and is_account_error(info.value)

    provider, fake, _ = await start(aiohttp_server)
    fake.config = fake.config.model_copy(update={"secret": "other"})
    with pytest.raises(SmsAccountError) as info:
        await provider.send(http, "13800138000", "feedback", {"number": "0001"}, "o")
    assert info.value.code == "InvalidUsrOrPwd"


async def test_error_codes(aiohttp_server: ServerFactory, http: aiohttp.ClientSession) -> None:
    provider, fake, _ = await start(aiohttp_server, transient_codes=["Throttled", "MobileDayLimit"],
                                    balance_codes=["NoBalance"])
    fake.per_second = 1
    await provider.send(http, "13800138000", "feedback", {"number": "1"}, "o1")
    with pytest.raises(TransientSendError) as info:
        await provider.send(http, "13800138001", "feedback", {"number": "1"}, "o2")
    assert info.value.code == "Throttled" and info.value.retry_after == 1.0
    fake.per_second = 0
    fake.fail_next(1, status=502)
    with pytest.raises(TransientSendError) as info:
        await provider.send(http, "13800138001", "feedback", {"number": "1"}, "o2")
    assert info.value.code == "http_502"
    fake.per_number_daily = 1
    with pytest.raises(TransientSendError) as info:
        await provider.send(http, "13800138000", "feedback", {"number": "1"}, "o3")
    assert info.value.code == "MobileDayLimit"
    fake.out_of_balance = True
    with pytest.raises(PermanentSendError) as info:
        await provider.send(http, "13900139000", "feedback", {"number": "1"}, "o4")
    assert info.value.code == "NoBalance" and is_balance_error(info.value)
    fake.out_of_balance = False
    fake.fail_next(1, code="SomethingElse")
    with pytest.raises(PermanentSendError) as info:
        await provider.send(http, "13900139000", "feedback", {"number": "1"}, "o5")
    assert info.value.code == "SomethingElse" and not is_account_error(info.value)


def test_recipe_validation_names_the_field() -> None:
    with pytest.raises(ValidationError, match="sign_fields"):
        GenericGatewayConfig(url="http://x", sign_fields=["nope"])
    GenericGatewayConfig(url="http://x", sign_algo="none", sign_fields=["nope"])


def _provider(**overrides: Any) -> GenericGatewayProvider:
    return GenericGatewayProvider(GenericGatewayConfig(url="http://gw.example/sms", **overrides))


def test_parse_mas_receipt_and_reply() -> None:
    provider = _provider()
    now = datetime(2026, 11, 23, 9, 0, tzinfo=BEIJING)
    body = push_body([mas_receipt(msg_group="000000000001", mobile="13800138000", now=now),
                      mas_receipt(msg_group="000000000002", mobile="13800138001", delivered=False, now=now),
                      mas_reply(mobile="13800138000", text="1", add_serial="01", now=now)])
    ok, failed, reply = provider.parse_callback(body, "application/json")
    assert ok == SmsReceipt(provider_id="000000000001", phone="13800138000", delivered=True, code="DELIVRD",
                            at=now)
    assert isinstance(failed, SmsReceipt) and not failed.delivered and failed.code == "MK:0001"
    assert reply == SmsReply(phone="13800138000", text="1", extend_code="01", at=now)
    single = provider.parse_callback(push_body(mas_reply(mobile="13800138000", text="满意")), "application/json")
    assert isinstance(single[0], SmsReply) and single[0].text == "满意"


def test_parse_base64_and_form_bodies() -> None:
    provider = _provider()
    item = {"reportStatus": "DELIVRD", "mobile": "13800138000", "receiveDate": "20261123090000",
            "errorCode": "DELIVRD", "msgGroup": "g1"}
    (receipt,) = provider.parse_callback(base64.b64encode(json.dumps(item).encode()), "text/plain")
    assert isinstance(receipt, SmsReceipt) and receipt.provider_id == "g1"
    (reply,) = provider.parse_callback(urlencode({"mobile": "13800138000", "smsContent": "2",
                                                  "sendTime": "2026-11-23 09:00:00"}).encode(),
                                       "application/x-www-form-urlencoded")
    assert isinstance(reply, SmsReply) and reply.text == "2"
    with pytest.raises(ValueError):
        provider.parse_callback(b"\x00\x01", "application/json")
    with pytest.raises(ValueError):
        provider.parse_callback(b'{"foo": "bar"}', "application/json")


def test_parse_custom_field_names() -> None:
    provider = _provider(receipt_status_field="stat", receipt_success_values=["0"], receipt_id_field="sid",
                         receipt_phone_field="phone", receipt_time_field="t", receipt_time_format="unix",
                         reply_text_field="msg", reply_phone_field="phone", reply_time_field="t",
                         reply_time_format="unix", reply_id_field="id")
    body = json.dumps([{"stat": "0", "sid": "a1", "phone": "+8613800138000", "t": 1795395723},
                       {"msg": "不满意", "phone": "13800138000", "t": 1795395723, "id": "m9", "x": "y"}],
                      ensure_ascii=False).encode()
    receipt, reply = provider.parse_callback(body, "application/json")
    assert isinstance(receipt, SmsReceipt) and receipt.delivered and receipt.phone == "13800138000"
    assert receipt.at == datetime.fromtimestamp(1795395723, UTC)
    assert isinstance(reply, SmsReply) and reply.provider_msg_id == "m9" and reply.extra == {"x": "y"}


async def test_receipt_for_sent(aiohttp_server: ServerFactory, http: aiohttp.ClientSession) -> None:
    provider, fake, _ = await start(aiohttp_server)
    result = await provider.send(http, "13800138000", "feedback", {"number": "1"}, "o1")
    (receipt,) = provider.parse_callback(push_body([fake.receipt_for(fake.sent[-1])]), "application/json")
    assert isinstance(receipt, SmsReceipt) and receipt.provider_id == result.provider_id
    assert provider.callback_answer(True)[2] == b'{"rspcod":"success"}'
