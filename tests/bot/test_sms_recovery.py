"""An SMS whose send was cut short (the process killed mid-call, the answer lost) is settled with
the provider's status API by our own out id: sent once when the provider never got it, not again
when it did. A receipt for an SMS given up on brings it back. Never two SMS, never none."""

from __future__ import annotations

import asyncio
import contextlib

from bot.sender import CLAIM_SECONDS, MAX_ATTEMPTS
from store.models import AuditEvent
from tests.bot.sms_rig import rig


async def _killed_mid_send(r) -> None:  # type: ignore[no-untyped-def]
    """The sender dies while the provider call is in flight, before the provider handled it."""
    r.fake.delay = 5.0
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(r.drain(), 0.5)
    r.fake.delay = 0
    await asyncio.sleep(0.1)


async def test_killed_before_the_provider_took_it_is_sent_once_after_the_check(make_bot, aiohttp_server,
                                                                              clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    await r.answered()
    await _killed_mid_send(r)
    [sms] = await r.sms()
    assert sms.state == "sending" and r.fake.sent == []
    clock.advance(seconds=CLAIM_SECONDS + 1)  # the dead sender's claim expires
    await r.drain()
    assert len(r.fake.sent) == 1  # no record at Alibaba: sent now, once
    actions = [q.headers.get("x-acs-action") for q in r.fake.requests]
    assert actions == ["SendSms", "QuerySendDetails", "SendSms"]
    [row] = await r.sms_rows()
    [sms] = await r.sms()
    assert row.state == "sent" and sms.state == "sent" and sms.provider_id == r.fake.sent[0].provider_id
    clock.advance(hours=2)
    await r.drain()
    assert len(r.fake.sent) == 1


async def test_a_lost_answer_is_settled_by_the_query_without_a_second_sms(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    r.fake.answers_lost = 1  # Alibaba takes it, the answer is garbled on the way back
    await r.answered()
    await r.drain()
    [sms] = await r.sms()
    assert sms.state == "unknown" and len(r.fake.sent) == 1
    await r.drain()  # too early to ask (the provider's index lags): nothing happens
    assert len(r.fake.requests) == 1
    clock.advance(minutes=5)
    r.fake.delivered[r.fake.sent[0].provider_id] = 3  # its report came in meanwhile
    await r.drain()
    assert len(r.fake.sent) == 1
    [row] = await r.sms_rows()
    [sms] = await r.sms()
    assert row.state == "sent" and sms.state == "delivered"
    [trail] = await r.all(AuditEvent, AuditEvent.action == "sms_sent")
    assert trail.detail["recovered"] == "delivered"


async def test_a_receipt_brings_a_given_up_sms_back(make_bot, aiohttp_server, clock) -> None:
    # The answer is lost and every status query fails until the sender gives the SMS up (the
    # 承办人 is told to phone); Alibaba's receipt, carrying our OutId, then proves it went.
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    r.fake.answers_lost = 1
    await r.answered()
    await r.drain()
    r.fake.fail_next(MAX_ATTEMPTS, status=503)
    for _ in range(MAX_ATTEMPTS):
        clock.advance(hours=2)
        await r.drain()
    [row] = await r.sms_rows()
    [sms] = await r.sms()
    assert row.state == "dead" and sms.state == "unknown" and len(r.fake.sent) == 1
    [told] = await r.chat_rows(chat_id="ylk", kind="sms_notice")
    assert "138****1234" in told.payload["text"]
    assert (await r.push([r.fake.report_for(r.fake.sent[0])])).status == 200
    [row] = await r.sms_rows()
    [sms] = await r.sms()
    assert row.state == "sent" and sms.state == "delivered" and sms.provider_id == r.fake.sent[0].provider_id
    assert len(r.fake.sent) == 1


async def test_tencent_killed_mid_send_is_sent_once_when_no_report_comes(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "tencent")
    await r.answered()
    await _killed_mid_send(r)
    clock.advance(seconds=CLAIM_SECONDS + 1)
    await r.drain()  # asked, no report yet: too early to believe "no record"
    assert r.fake.sent == [] and [q.headers.get("X-TC-Action") for q in r.fake.requests] == [
        "SendSms", "PullSmsSendStatusByPhoneNumber"]
    clock.advance(minutes=11)
    await r.drain()
    assert len(r.fake.sent) == 1
    [row] = await r.sms_rows()
    assert row.state == "sent"


async def test_tencent_lost_answer_is_settled_by_its_report(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "tencent")
    r.fake.answers_lost = 1
    await r.answered()
    await r.drain()
    [sms] = await r.sms()
    assert sms.state == "unknown" and len(r.fake.sent) == 1
    r.fake.reported[r.fake.sent[0].provider_id] = True
    clock.advance(minutes=11)
    await r.drain()
    assert len(r.fake.sent) == 1
    [row] = await r.sms_rows()
    [sms] = await r.sms()
    assert row.state == "sent" and sms.state == "delivered" and sms.provider_id == r.fake.sent[0].provider_id


async def test_a_reply_that_overtakes_the_record_of_its_sms_still_finds_the_ticket(make_bot, aiohttp_server,
                                                                                  clock) -> None:
    # Alibaba took the answer SMS but its answer was lost (as when the process is killed between
    # the provider's acceptance and our commit): the citizen replies before the status query.
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    r.fake.answers_lost = 1
    await r.answered()
    await r.drain()
    [sms] = await r.sms()
    assert sms.state == "unknown" and sms.provider_id is None and len(r.fake.sent) == 1
    assert (await r.push(r.reply("2"))).status == 200
    ticket = await r.ticket()
    assert ticket.state == "reopened" and ticket.feedback == "不满意"
    [reply] = await r.replies()
    assert reply.ticket_id == ticket.id
    assert await r.chat_rows(kind="sms_unmatched") == []
    clock.advance(minutes=5)
    await r.drain()  # the query settles it later, without a second SMS
    assert len(r.fake.sent) == 1 and (await r.sms())[0].state == "sent"
