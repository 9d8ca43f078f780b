"""The citizen hears about delays: the receipt SMS carries the expected answer date (信访 “告知其处理
程序和預計辦理時間”), and a passed deadline sends one short SMS with the new promised date where one
exists (吉林 “未在规定时限内解决的，要向诉求人做好解释说明，取得理解，并承诺办结时限”), through each
provider's fake server, held through quiet hours."""

from __future__ import annotations

import pytest

from scheduler import delays
from tests.bot.sms_rig import NUMBER, PROVIDERS, SIGN, rig
from tests.conftest import local, ticket_body


def _day(when) -> str:
    return f"{when.month}月{when.day}日"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_receipt_sms_names_the_expected_answer_date(make_bot, aiohttp_server, clock, provider) -> None:
    r = await rig(make_bot, aiohttp_server, clock, provider, procedure={"preset": "xinfang"})
    resp = await r.bot.post_ticket(ticket_body(source="xinfang", unit="YLK"))
    assert resp.status == 201
    ticket = await r.ticket()
    await r.drain()
    [sent] = r.accepted()
    due = _day(ticket.deadline.astimezone(r.ctx.calendar.tz))
    assert f"预计答复日期：{due}" in sent.text and "已受理" in sent.text
    assert (await r.sms())[0].params["due"] == due


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_passed_deadline_tells_the_citizen_once_per_deadline(make_bot, aiohttp_server, clock, provider) -> None:
    r = await rig(make_bot, aiohttp_server, clock, provider, procedure={"preset": "jilin"})
    await r.bot.post_ticket(ticket_body(unit="YLK", category="紧急"))  # 24h from 09:30
    await r.chat.say("张承办", "签收 0001")
    ctx = r.ctx
    clock.set(local(2026, 11, 24, 9, 0))
    assert await delays.delay_sms(ctx, clock.now()) == 0  # not yet due
    # the unit asks for a later date before the deadline passes: that is the date promised
    await r.chat.say("张承办", "延期 0001 2026-11-27 需协调供水公司抢修")
    clock.set(local(2026, 11, 24, 9, 45))
    assert await delays.delay_sms(ctx, clock.now()) == 1
    assert await delays.delay_sms(ctx, clock.now()) == 0  # one per event
    await r.drain()
    [sent] = r.accepted()
    assert "未能按期办结" in sent.text and "预计答复日期：11月27日" in sent.text
    if provider in ("aliyun", "tencent"):
        assert sent.text.startswith(f"【{SIGN}】")
    # granted, and that date passes too: a second SMS, with no date left to promise
    await r.chat.say("李科长", "同意 0001")
    clock.set(local(2026, 11, 27, 23, 0))  # inside the SMS quiet hours (21:00-08:00)
    assert await delays.delay_sms(ctx, clock.now()) == 1
    [row] = [x for x in await r.sms_rows() if x.kind == "sms_delay" and x.state == "pending"]
    assert row.next_attempt_at == local(2026, 11, 28, 8, 0)
    await r.drain()
    assert len(r.accepted()) == 1  # held, and so is the extension's SMS queued at 同意
    clock.set(local(2026, 11, 28, 8, 0))
    await r.drain()  # the window's end: both go, the extension's first
    assert len(r.accepted()) == 3 and "预计答复日期：另行告知" in r.accepted()[-1].text
    # the granted extension was told to the citizen on its own (吉林 “承诺办结时限”)
    assert [m.kind for m in await r.sms(NUMBER)] == ["delay", "extension", "delay"]


async def test_no_delay_sms_where_the_procedure_does_not_ask(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "log")  # songjiang: no such rule
    await r.bot.post_ticket(ticket_body(unit="YLK"))
    clock.set(local(2026, 12, 10, 9, 0))
    assert await delays.delay_sms(r.ctx, clock.now()) == 0
    assert not await r.sms()


async def test_no_delay_sms_once_answered(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "log", procedure={"preset": "jilin"})
    await r.answered()
    await r.bot.post_ticket(ticket_body("202611230002", unit="YLK"))  # never answered: told
    clock.set(local(2026, 12, 10, 9, 0))
    assert await delays.delay_sms(r.ctx, clock.now()) == 1
    assert [m.kind for m in await r.sms("202611230002")] == ["delay"]
    assert [m.kind for m in await r.sms()] == ["answer"]
