"""Sending citizen SMS: refusals before the call, retries, permanent errors, idempotency, quiet hours."""

from __future__ import annotations

import pytest

from bot.sender import CLAIM_SECONDS
from bot.sms_gateway import SMS_GATEWAY
from store.models import SmsOptOut
from tests.bot.sms_rig import NUMBER, PHONE, rig
from tests.conftest import local


async def test_template_refusal_tells_the_handler_and_is_not_retried(make_bot, aiohttp_server, clock) -> None:
    # An Alibaba variable limit of 10 (attribute "others" set short): a 12-digit number is refused
    # before any call (only Tencent's limit is fitted with 尾号, see test_tencent_limit.py).
    r = await rig(make_bot, aiohttp_server, clock, "aliyun", sms={"aliyun": {"param_max_length": 10}})
    await r.answered()
    await r.drain()
    assert r.provider_requests() == 0
    [row] = await r.sms_rows()
    assert row.state == "dead" and row.attempts == 1
    [sms] = await r.sms()
    assert sms.state == "failed" and sms.code == "template_variable"
    [told] = await r.chat_rows(chat_id="ylk", kind="sms_notice")
    text = told.payload["text"]
    assert NUMBER in text and "超过 10 字" in text and "138****1234" in text and PHONE not in text
    assert [m["name"] for m in told.payload["mentions"]] == ["张承办"]
    clock.advance(hours=2)
    await r.drain()
    assert r.provider_requests() == 0


async def test_no_balance_alerts_the_office_once(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    r.fake.out_of_balance = True
    await r.answered(NUMBER, PHONE)
    await r.answered("202611230002", "13912345678")
    await r.drain()
    assert [row.state for row in await r.sms_rows()] == ["dead", "dead"]
    assert len(r.fake.requests) == 2
    alerts = await r.chat_rows(kind="sms_balance_alert")
    assert len(alerts) == 1 and "余额不足" in alerts[0].payload["text"]
    assert alerts[0].destination["chat_id"] == "bgs"
    told = await r.chat_rows(chat_id="ylk", kind="sms_notice")
    assert len(told) == 2 and all("请电话告知来电人" in row.payload["text"] for row in told)
    for number in (NUMBER, "202611230002"):
        [sms] = await r.sms(number)
        assert sms.state == "failed" and sms.code == "isv.AMOUNT_NOT_ENOUGH"


async def test_throttling_is_retried_after_the_backoff(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "aliyun", sms={"aliyun": {"per_number_daily": 0}})
    r.fake.fail_next(code="Throttling.User")
    await r.answered()
    await r.drain()
    [row] = await r.sms_rows()
    assert row.state == "pending" and row.attempts == 1 and r.fake.sent == []
    [sms] = await r.sms()
    assert sms.state == "queued" and sms.code == "Throttling.User"
    await r.drain()  # not due yet: Throttling asks for 1 s, the sender waits 0.8–1.2 s
    assert len(r.fake.requests) == 1
    clock.advance(seconds=2)
    await r.drain()
    assert len(r.fake.requests) == 2 and len(r.fake.sent) == 1
    [row] = await r.sms_rows()
    assert row.state == "sent" and row.attempts == 2


async def test_network_error_is_retried_with_backoff(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "tencent")
    r.fake.fail_next(status=503)
    await r.answered()
    await r.drain()
    [row] = await r.sms_rows()
    assert row.state == "pending" and row.attempts == 1
    clock.advance(seconds=3)  # first backoff: 2 s ± 20 %
    await r.drain()
    assert len(r.fake.sent) == 1 and (await r.sms())[0].state == "sent"


async def test_permanent_bad_number_is_not_retried(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    r.fake.fail_next(code="isv.MOBILE_NUMBER_ILLEGAL", message="非法手机号")
    await r.answered()
    await r.drain()
    clock.advance(hours=1)
    await r.drain()
    assert len(r.fake.requests) == 1
    [row] = await r.sms_rows()
    assert row.state == "dead"
    [sms] = await r.sms()
    assert sms.state == "failed" and sms.code == "isv.MOBILE_NUMBER_ILLEGAL"
    [told] = await r.chat_rows(chat_id="ylk", kind="sms_notice")
    assert "isv.MOBILE_NUMBER_ILLEGAL" in told.payload["text"] and "138****1234" in told.payload["text"]


async def test_crash_between_acceptance_and_commit_does_not_send_twice(make_bot, aiohttp_server, clock) -> None:
    """The provider accepted; the sender's own commit then failed (as a crash would cut it short).

    Simulated by making the after_send hook, which runs inside the sender's commit, fail once: the
    outbox row stays pending and claimed. When the claim expires the row is tried again and the
    gateway finds the provider id it committed at acceptance: it returns it without a second send.
    """
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    gateway = r.bot.client.app[SMS_GATEWAY]
    hook = gateway.after_send
    crashes = [RuntimeError("crash after the provider accepted")]

    async def crash_once(s, row, provider_id):  # type: ignore[no-untyped-def]
        if crashes:
            raise crashes.pop()
        await hook(s, row, provider_id)

    gateway.after_send = crash_once  # type: ignore[method-assign]
    await r.answered()
    with pytest.raises(RuntimeError):
        await r.drain()
    [row] = await r.sms_rows()
    assert row.state == "pending" and len(r.fake.sent) == 1
    [sms] = await r.sms()
    assert sms.provider_id == r.fake.sent[0].provider_id
    clock.advance(seconds=CLAIM_SECONDS + 1)
    await r.drain()
    assert len(r.fake.requests) == 1 and len(r.fake.sent) == 1
    [row] = await r.sms_rows()
    assert row.state == "sent" and row.provider_message_id == r.fake.sent[0].provider_id
    [sms] = await r.sms()
    assert sms.state == "sent" and sms.outbox_id == row.id


async def test_timeout_is_settled_by_the_status_query_never_by_a_blind_resend(make_bot, aiohttp_server,
                                                                                clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "aliyun", sms={"aliyun": {"timeout": 0.2}})
    r.fake.delay = 1.0  # the fake answers after our timeout: did it take the message? unknown
    await r.answered()
    await r.drain()
    [sms] = await r.sms()
    assert sms.state == "unknown"
    [row] = await r.sms_rows()
    assert row.state == "pending"  # to be settled with the provider, not given up
    r.fake.delay = 0
    clock.advance(hours=1)
    await r.drain()
    # Alibaba is asked; had it taken the first try it is not sent again, had it not (the fake's
    # handler may be cut off with our connection) it is sent now: one SMS either way.
    actions = [q.headers["x-acs-action"] for q in r.fake.requests]
    assert len(r.fake.sent) == 1 and actions[:2] == ["SendSms", "QuerySendDetails"]
    assert actions.count("SendSms") == (1 if r.fake.requests[0].code == "OK" else 2)
    [row] = await r.sms_rows()
    assert row.state == "sent"
    [sms] = await r.sms()
    assert sms.state == "sent" and sms.provider_id in (sms.out_id, r.fake.sent[0].provider_id)
    assert await r.chat_rows(chat_id="ylk", kind="sms_notice") == []
    # Its receipt still finds it, by our out id.
    receipt = r.fake.report_for(r.fake.sent[0])
    assert (await r.push([receipt])).status == 200
    [sms] = await r.sms()
    assert sms.state == "delivered"


async def test_opt_out_stops_further_sms_to_that_number(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "tencent")
    await r.answered()
    await r.drain()
    assert (await r.push(r.reply("TD"))).status == 200
    assert (await r.one(SmsOptOut, SmsOptOut.phone == PHONE)).phone == PHONE
    ticket = await r.ticket()
    assert ticket.state == "answered"  # an unsubscribe is not a verdict
    [told] = await r.chat_rows(chat_id="ylk", kind="sms_notice")
    assert "退订" in told.payload["text"] and "138****1234" in told.payload["text"]

    await r.answered("202611230002", PHONE)
    await r.drain()
    assert len(r.fake.requests) == 1
    [sms] = await r.sms("202611230002")
    assert sms.state == "failed" and sms.code == "opted_out"
    told = await r.chat_rows(chat_id="ylk", kind="sms_notice")
    assert any("已退订短信" in row.payload["text"] and "202611230002" in row.payload["text"] for row in told)


async def test_reply_from_an_unknown_number_is_kept_and_the_office_told(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    await r.answered()
    await r.drain()
    assert (await r.push(r.reply("2", phone="13698765432"))).status == 200
    assert (await r.ticket()).state == "answered"
    [reply] = await r.replies()
    assert reply.ticket_id is None and reply.phone == "13698765432" and reply.text == "2"
    [office] = await r.chat_rows(chat_id="bgs", kind="sms_unmatched")
    assert "136****5432" in office.payload["text"] and "13698765432" not in office.payload["text"]


async def test_a_reply_before_any_answer_was_sent_changes_nothing(make_bot, aiohttp_server, clock) -> None:
    """A forged 不满意 for the citizen's number: no SMS was sent yet, so no ticket may change."""
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    await r.answered()  # approved and queued, not sent
    assert (await r.push(r.reply("2"))).status == 200
    ticket = await r.ticket()
    assert ticket.state == "answered" and ticket.round == 1
    [reply] = await r.replies()
    assert reply.ticket_id is None
    assert len(await r.chat_rows(chat_id="bgs", kind="sms_unmatched")) == 1


async def test_reply_after_the_window_is_not_matched(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "log", sms={"reply_window": "48h"})
    await r.answered()
    await r.drain()
    clock.advance(hours=49)
    assert (await r.push(r.reply("2"))).status == 200
    assert (await r.ticket()).state == "answered"
    [reply] = await r.replies()
    assert reply.ticket_id is None


async def test_citizen_sms_waits_for_the_end_of_quiet_hours(make_bot, aiohttp_server, clock) -> None:
    clock.set(local(2026, 11, 23, 21, 30))
    r = await rig(make_bot, aiohttp_server, clock, "log")
    await r.answered()
    [row] = await r.sms_rows()
    assert row.next_attempt_at == local(2026, 11, 24, 8, 0)
    clock.set(local(2026, 11, 24, 7, 59))
    await r.drain()
    assert r.accepted() == []
    clock.set(local(2026, 11, 24, 8, 0))
    await r.drain()
    assert len(r.accepted()) == 1


async def test_a_retry_falling_into_quiet_hours_is_postponed(make_bot, aiohttp_server, clock) -> None:
    clock.set(local(2026, 11, 23, 20, 59, 59))
    r = await rig(make_bot, aiohttp_server, clock, "tencent")
    r.fake.fail_next(status=503)
    await r.answered()
    await r.drain()
    clock.set(local(2026, 11, 23, 21, 0, 30))
    await r.drain()
    assert len(r.fake.requests) == 1 and r.fake.sent == []  # the retry is postponed before any call
    [row] = await r.sms_rows()
    # due when the window ends, not hours after it (no jitter), and the night is not an attempt
    assert row.state == "pending" and row.next_attempt_at == local(2026, 11, 24, 8, 0)
    assert row.attempts == 1  # the 503 only
    clock.set(local(2026, 11, 24, 8, 0))
    await r.drain()
    assert len(r.fake.sent) == 1
