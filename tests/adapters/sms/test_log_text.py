"""The log provider records the SMS as the phone shows it and counts segments as carriers bill them.

Also: full-width punctuation (，：（）) reaches every provider's request exactly as written.
"""

from __future__ import annotations

import json
import logging

import aiohttp
import pytest

from adapters.sms.aliyun import AliyunConfig, AliyunSmsProvider
from adapters.sms.generic import GenericGatewayConfig, GenericGatewayProvider
from adapters.sms.log import LogSmsProvider
from adapters.sms.tencent import TencentConfig, TencentSmsProvider
from bot.sms_providers import SmsConfig, build_provider
from store.models import AuditEvent
from tests.bot.sms_rig import NUMBER, PHONE, rig, units_with

SIGN = "热线助手"
# The answer template with both variables empty: what the variables add comes on top.
ANSWER_FRAME = "【热线助手】您反映的问题（工单）已由答复，回复1满意，2不满意。"


def test_log_provider_renders_the_answer_as_the_phone_shows_it() -> None:
    provider = LogSmsProvider(sign_name=SIGN)
    text = provider.render("answer", {"number": "202611230001", "unit": "养老服务科", "unit_short": "养老科"})
    assert text == "【热线助手】您反映的问题（工单202611230001）已由养老服务科答复，回复1满意，2不满意。"
    assert provider.render("receipt", {"number": "202611230001", "due": "12月2日"}) == \
        "【热线助手】您反映的问题已受理，工单202611230001，预计答复日期：12月2日。"
    assert provider.render("feedback", {"number": "0001"}) == "【热线助手】您的工单0001已办结，请回复1满意，2不满意。"
    assert LogSmsProvider().render("feedback", {"number": "1"}) == "您的工单1已办结，请回复1满意，2不满意。"  # no sign configured


def test_log_provider_fits_variables_like_a_default_tencent_account() -> None:
    provider = LogSmsProvider(max_length=6, sign_name=SIGN)
    text = provider.render("answer", {"number": "202611230001", "unit": "某某区民政局养老服务科", "unit_short": "养老科"})
    assert text == "【热线助手】您反映的问题（工单尾号0001）已由养老科答复，回复1满意，2不满意。"


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3)])
async def test_segment_boundaries_count_the_sign(http: aiohttp.ClientSession, length: int, segments: int) -> None:
    provider = LogSmsProvider(max_length=200, sign_name=SIGN)
    number = "2026"
    unit = "科" * (length - len(ANSWER_FRAME) - len(number))
    result = await provider.send(http, PHONE, "answer", {"number": number, "unit": unit}, f"o-{length}")
    assert len(result.text) == length and result.text.startswith("【热线助手】")
    assert result.segments == segments
    logged = provider.sent[-1]
    assert logged.text == result.text and logged.segments == segments


async def test_log_line_shows_text_and_segments_with_the_number_masked(
        http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hotline.sms")
    provider = build_provider(SmsConfig(log_sign_name=SIGN))
    await provider.send(http, "+86" + PHONE, "receipt", {"number": NUMBER, "due": "另行告知"}, "t9-receipt-r1")
    [record] = [r for r in caplog.records if r.name == "hotline.sms"]
    line = record.getMessage()
    assert "138****1234" in line and PHONE not in caplog.text
    assert f"text=【热线助手】您反映的问题已受理，工单{NUMBER}，预计答复日期：另行告知。" in line and "segments=1" in line


async def test_log_sends_through_the_app_store_text_and_segments(make_bot, aiohttp_server, clock,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hotline.sms")
    long_unit = "某某区民政局" + "养老服务和社会福利事务管理科" * 2  # a long name: the SMS takes two parts
    r = await rig(make_bot, aiohttp_server, clock, "log", sms={"log_sign_name": SIGN, "log_max_length": 40},
                  units=units_with(name=long_unit))
    await r.answered()
    await r.drain()
    [sent] = r.accepted()
    assert sent.text == f"【热线助手】您反映的问题（工单{NUMBER}）已由{long_unit}答复，回复1满意，2不满意。"
    assert 70 < len(sent.text) <= 134 and sent.segments == 2
    [sms] = await r.sms()
    assert sms.segments == 2 and sms.state == "sent"
    [event] = await r.all(AuditEvent, AuditEvent.action == "sms_sent")
    assert event.detail["text"] == sent.text and event.detail["segments"] == 2 and event.detail["phone"] == "138****1234"
    resp = await r.bot.client.get(f"/api/v1/tickets/12345/{NUMBER}",
                                  headers={"Authorization": f"Bearer {r.ctx.config.api.tokens[0]}"})
    assert resp.status == 200, await resp.text()
    [view] = (await resp.json())["sms"]
    assert view["segments"] == 2 and view["phone"] == "138****1234"
    assert PHONE not in caplog.text


# ---- full-width punctuation is sent as written ------------------------------------------------------

UNIT_FW = "民政局（老龄办）"
ANSWER_FW = "经核实，服务站已于11月25日恢复供餐：每日11时（节假日除外）。"


def test_full_width_punctuation_reaches_every_provider_verbatim() -> None:
    params = {"number": "0001", "unit": UNIT_FW}
    log_text = LogSmsProvider(sign_name=SIGN).render("answer", params)
    assert f"已由{UNIT_FW}答复，回复1满意，2不满意。" in log_text

    aliyun = AliyunSmsProvider(AliyunConfig(access_key_id="k", access_key_secret="s", sign_name="某某区民政局",
                                            templates={"answer": "SMS_1"}))
    query = aliyun.build_query(PHONE, "answer", params, "o")
    assert json.loads(query["TemplateParam"]) == params

    tencent = TencentSmsProvider(TencentConfig(templates={"answer": "1001"}, param_max_length=20))
    assert tencent.build_body(PHONE, "answer", params, "o")["TemplateParamSet"] == ["0001", UNIT_FW]

    generic = GenericGatewayProvider(GenericGatewayConfig(url="http://10.0.0.1/sms/norsubmit"))
    text = generic.render("answer", {**params, "text": ANSWER_FW})
    assert ANSWER_FW in text and UNIT_FW in text
    # The Base64(JSON) body carries the same characters.
    fields = generic.build_fields(PHONE, "answer", {**params, "text": ANSWER_FW}, "o")
    assert fields["content"] == text
