"""Tencent's variable limit: a default account (6 characters per variable) still gets every SMS out.

The fake Tencent server refuses a longer variable with ``TemplateParameterLengthLimit`` exactly as
configured, so each test sets the bot and the fake to the same account limit.
"""

from __future__ import annotations

from typing import Any

from adapters.sms.templates import TAIL_PREFIX, fill_template, provider_template, signed_text
from tests.bot.sms_rig import NUMBER, PHONE, SIGN, UNIT, rig, units_with
from tests.conftest import ticket_body

LONG_UNIT = "某某区民政局养老服务科"


def expected_text(number: str, unit: str) -> str:
    """The answer SMS the phone shows, from the template text the docs give for Tencent."""
    return signed_text(SIGN, fill_template(provider_template("tencent", "answer"), {"number": number, "unit": unit},
                                           ("number", "unit")))


async def limited(make_bot: Any, aiohttp_server: Any, clock: Any, limit: int, fake_limit: int | None = None,
                  **bot_overrides: Any) -> Any:
    """The bot and the fake Tencent account with a variable limit of ``limit``."""
    return await rig(make_bot, aiohttp_server, clock, "tencent", sms={"tencent": {"param_max_length": limit}},
                     fake_kw={"param_max_length": fake_limit if fake_limit is not None else limit},
                     **bot_overrides)


async def test_default_account_sends_the_number_tail_and_the_loop_closes(make_bot, aiohttp_server, clock) -> None:
    r = await limited(make_bot, aiohttp_server, clock, 6)
    await r.answered()
    await r.drain()
    [sent] = r.accepted()
    tail = TAIL_PREFIX + NUMBER[-4:]
    assert sent.params == [tail, UNIT] and all(len(v) <= 6 for v in sent.params)
    assert sent.text == expected_text(tail, UNIT)
    [sms] = await r.sms()
    assert sms.state == "sent" and sms.code is None and sms.params["number"] == NUMBER
    assert await r.chat_rows(kind="sms_notice") == []  # nobody is asked to phone the citizen

    assert (await r.push(r.receipt(sent))).status == 200
    assert (await r.sms())[0].state == "delivered"
    assert (await r.push(r.reply("1"))).status == 200
    ticket = await r.ticket()
    assert ticket.state == "archived" and ticket.feedback == "满意"


async def test_default_account_uses_the_unit_short_name(make_bot, aiohttp_server, clock) -> None:
    r = await limited(make_bot, aiohttp_server, clock, 6, units=units_with(name=LONG_UNIT, short_name="养老科"))
    await r.answered()
    await r.drain()
    [sent] = r.accepted()
    assert sent.params == [TAIL_PREFIX + NUMBER[-4:], "养老科"]


async def test_default_account_without_short_name_cuts_the_unit_name(make_bot, aiohttp_server, clock) -> None:
    r = await limited(make_bot, aiohttp_server, clock, 6, units=units_with(name=LONG_UNIT))
    await r.answered()
    await r.drain()
    [sent] = r.accepted()
    assert sent.params == [TAIL_PREFIX + NUMBER[-4:], LONG_UNIT[:6]]


async def test_default_account_receipt_sms(make_bot, aiohttp_server, clock) -> None:
    r = await limited(make_bot, aiohttp_server, clock, 6)
    body = ticket_body(NUMBER, unit="YLK", source="xinfang")  # 信访 tickets get a 受理告知 SMS
    body["citizen"] = {"name": "张三", "phone": PHONE}
    assert (await r.bot.post_ticket(body)).status == 201
    await r.drain()
    [sent] = r.accepted()
    due = (await r.sms())[0].params["due"]
    assert sent.template == "1002" and sent.params == [TAIL_PREFIX + NUMBER[-4:], due] and len(due) <= 6
    assert sent.text == signed_text(SIGN, f"您反映的问题已受理，工单{TAIL_PREFIX}{NUMBER[-4:]}，预计答复日期：{due}。")


async def test_raised_limit_keeps_the_full_number(make_bot, aiohttp_server, clock) -> None:
    r = await limited(make_bot, aiohttp_server, clock, 20, units=units_with(name=LONG_UNIT, short_name="养老科"))
    await r.answered()
    await r.drain()
    [sent] = r.accepted()
    assert sent.params == [NUMBER, LONG_UNIT]
    assert sent.text == expected_text(NUMBER, LONG_UNIT)


async def test_no_limit_configured_sends_everything_in_full(make_bot, aiohttp_server, clock) -> None:
    r = await limited(make_bot, aiohttp_server, clock, 0, fake_limit=30)
    await r.answered()
    await r.drain()
    [sent] = r.accepted()
    assert sent.params == [NUMBER, UNIT]


async def test_account_stricter_than_configured_is_refused_by_tencent(make_bot, aiohttp_server, clock) -> None:
    # The config claims a raised limit the account does not have: Tencent refuses, the handler phones.
    r = await limited(make_bot, aiohttp_server, clock, 20, fake_limit=6)
    await r.answered()
    await r.drain()
    assert r.accepted() == [] and r.provider_requests() == 1
    [sms] = await r.sms()
    assert sms.state == "failed" and sms.code == "InvalidParameterValue.TemplateParameterLengthLimit"
    [told] = await r.chat_rows(chat_id="ylk", kind="sms_notice")
    assert "请电话告知来电人" in told.payload["text"] and PHONE not in told.payload["text"]
