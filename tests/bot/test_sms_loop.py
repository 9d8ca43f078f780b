"""The whole loop per provider: 同意 → SMS → receipt → the citizen replies 不满意 → reopened, group told."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.bot.sms_rig import NUMBER, PHONE, PROVIDERS, SIGN, TOKEN, UNIT, rig
from tests.handlers.chat import only_answer
from tests.handlers.test_workflow import GOOD_REPLY

# The generic gateway (text mode) carries the answer itself:
# "您反映的问题（工单" 9 + "202611230001" 12 + "）已由" 3 + "养老服务科" 5 + "答复：" 3 = 32 characters,
# then the answer, then "回复1满意，2不满意。" 11 characters.
GENERIC_TEXT_LENGTH = 32 + len(GOOD_REPLY) + 11


@pytest.mark.parametrize("name", PROVIDERS)
async def test_answer_sms_receipt_and_unsatisfied_reply_reopen_the_ticket(make_bot, aiohttp_server, clock,
                                                                          name) -> None:
    r = await rig(make_bot, aiohttp_server, clock, name)
    await r.answered()
    [row] = await r.sms_rows()
    assert row.state == "pending" and row.destination["user_id"] == PHONE

    await r.drain()

    [sent] = r.accepted()
    assert sent.phone == PHONE
    if name == "aliyun":
        assert sent.template == "SMS_100" and sent.params == {"number": NUMBER, "unit": UNIT}
        assert sent.text == f"【{SIGN}】您反映的问题（工单{NUMBER}）已由{UNIT}答复，回复1满意，2不满意。"
        assert sent.out_id == (await r.sms())[0].out_id
    elif name == "tencent":
        assert sent.template == "1001" and sent.params == [NUMBER, UNIT]
    elif name == "generic":
        answer = (await r.sms())[0].text  # the approved answer as stored (the grammar folds punctuation)
        assert len(answer) == len(GOOD_REPLY) and "与来电人电话沟通" in answer
        assert sent.text == f"您反映的问题（工单{NUMBER}）已由{UNIT}答复：{answer}回复1满意，2不满意。"
    else:
        assert sent.kind == "answer" and sent.params == {"number": NUMBER, "unit": UNIT}
    [sms] = await r.sms()
    assert sms.state == "sent" and sms.provider_id == sent.provider_id and sms.provider == name
    if name == "generic":
        assert len(sent.text) == GENERIC_TEXT_LENGTH
        assert sms.segments == -(-GENERIC_TEXT_LENGTH // 67) == sent.segments
    [row] = await r.sms_rows()
    assert row.state == "sent" and row.provider_message_id == sent.provider_id

    resp = await r.push(r.receipt(sent))
    assert resp.status == 200
    if name == "aliyun":
        assert (await resp.json())["code"] == 0
    elif name == "tencent":
        assert json.loads(await resp.text()) == {"result": 0, "errmsg": "OK"}
    [sms] = await r.sms()
    assert sms.state == "delivered"

    resp = await r.push(r.reply("不满意"))
    assert resp.status == 200
    ticket = await r.ticket()
    assert ticket.state == "reopened" and ticket.round == 2 and ticket.feedback == "不满意"
    [reply] = await r.replies()
    assert reply.ticket_id == ticket.id and reply.verdict == "不满意" and reply.phone == PHONE

    group = [row.payload for row in await r.chat_rows(chat_id="ylk")]
    reopen = next(p for p in group if "【重办】" in p["text"])
    assert "第2轮" in reopen["text"] and [m["name"] for m in reopen["mentions"]] == ["李科长"]
    told = next(p for p in group if "回复工单" in p["text"])
    assert "138****1234" in told["text"] and PHONE not in told["text"]
    assert [m["name"] for m in told["mentions"]] == ["张承办"]
    office = [row.payload["text"] for row in await r.chat_rows(chat_id="bgs")]
    assert any("【督办】" in t and NUMBER in t for t in office)

    view = await (await r.bot.get(f"/api/v1/tickets/12345/{NUMBER}")).json()
    assert [(m["kind"], m["state"], m["phone"]) for m in view["sms"]] == [("answer", "delivered", "138****1234")]
    assert [(x["text"], x["verdict"]) for x in view["sms_replies"]] == [("不满意", "不满意")]
    actions = [e["action"] for e in view["events"]]
    assert actions[-4:] == ["approve_reply", "sms_sent", "sms_receipt", "feedback_unsatisfied"]


async def test_satisfied_reply_archives(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    await r.answered()
    await r.drain()
    resp = await r.push(r.reply("1"))
    assert resp.status == 200
    ticket = await r.ticket()
    assert ticket.state == "archived" and ticket.feedback == "满意"


async def test_unclear_text_is_recorded_and_shown_to_the_handler_and_the_office(make_bot, aiohttp_server,
                                                                                 clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "tencent")
    await r.answered()
    await r.drain()
    resp = await r.push(r.reply("服务站什么时候开门？"))
    assert resp.status == 200
    ticket = await r.ticket()
    assert ticket.state == "answered" and ticket.feedback is None
    [reply] = await r.replies()
    assert reply.ticket_id == ticket.id and reply.verdict is None
    told = [row.payload for row in await r.chat_rows(chat_id="ylk", kind="citizen_reply")]
    assert len(told) == 1 and "服务站什么时候开门？" in told[0]["text"]
    assert [m["name"] for m in told[0]["mentions"]] == ["张承办"]
    assert [e.text for e in await r.audit("citizen_reply")] == ["服务站什么时候开门？"]
    [office] = [row.payload for row in await r.chat_rows(chat_id="bgs", kind="followup_unclear")]
    assert "无法判断是否满意" in office["text"] and f"回访 {ticket.number} 满意" in office["text"]
    assert PHONE not in office["text"]  # masked


async def test_free_text_complaint_reopens_the_ticket(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "tencent")
    await r.answered()
    await r.drain()
    assert (await r.push(r.reply("不满意，敬老院根本没有改"))).status == 200
    ticket = await r.ticket()
    assert (ticket.state, ticket.feedback, ticket.round) == ("reopened", "不满意", 2)
    [reply] = await r.replies()
    assert reply.verdict == "不满意"


async def test_token_is_checked_before_anything(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    await r.answered()
    await r.drain()
    forged = r.reply("2")
    for token in (None, "", "wrong-token", TOKEN + "x"):
        resp = await r.push(forged, token=token)
        assert resp.status == 401
        assert (await resp.json())["error"] == "unauthorized"
    resp = await r.push(forged, provider="tencent")
    assert resp.status == 404
    resp = await r.push(b"{not json", token=TOKEN)
    assert resp.status == 400
    assert (await r.ticket()).state == "answered" and await r.replies() == []


async def test_source_networks_are_enforced_when_configured(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "log", sms={"callback_networks": ["10.0.0.0/8"]})
    resp = await r.push(r.reply("1"))
    assert resp.status == 401  # the test client comes from 127.0.0.1
    r2 = await rig(make_bot, aiohttp_server, clock, "log", sms={"callback_networks": ["127.0.0.0/8"]})
    resp = await r2.push(r2.reply("1"))
    assert resp.status == 200


async def test_repeated_receipt_and_reply_are_deduplicated(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    await r.answered()
    await r.drain()
    [sent] = r.accepted()
    for _ in range(2):
        assert (await r.push(r.receipt(sent))).status == 200
    assert len(await r.audit("sms_receipt")) == 1
    reply = r.reply("2", seq="777")
    for _ in range(3):
        assert (await r.push(reply)).status == 200
    ticket = await r.ticket()
    assert ticket.round == 2 and ticket.state == "reopened"
    assert len(await r.replies()) == 1
    assert len(await r.audit("feedback_unsatisfied")) == 1

    text = only_answer(await r.chat.say("张承办", f"查询 {NUMBER}"))
    assert "短信：答复已送达" in text and "来电人回复：「2」短信" in text
    assert PHONE not in text


async def test_one_reply_pushed_several_times_at_once_is_stored_once_and_never_a_5xx(
        make_bot, aiohttp_server, clock) -> None:
    # A provider's retry can overtake its first try: both read "not stored yet", one insert wins
    # and the other's transaction ends on the unique key (issue 14: the PostgreSQL fuzz run's 5xx).
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    await r.answered()
    await r.drain()
    reply = r.reply("2", seq="778")
    for _ in range(3):
        statuses = [resp.status for resp in await asyncio.gather(*(r.push(reply) for _ in range(6)))]
        assert statuses == [200] * 6
    assert len(await r.replies()) == 1
    assert len(await r.audit("feedback_unsatisfied")) == 1


async def test_failed_delivery_tells_the_handler_with_the_masked_number(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "tencent")
    await r.answered()
    await r.drain()
    [sent] = r.accepted()
    assert (await r.push(r.receipt(sent, delivered=False))).status == 200
    [sms] = await r.sms()
    assert sms.state == "failed" and sms.code == "MK:0001"
    [told] = await r.chat_rows(chat_id="ylk", kind="sms_notice")
    assert "未送达" in told.payload["text"] and "138****1234" in told.payload["text"]
    assert PHONE not in told.payload["text"]
    assert [m["name"] for m in told.payload["mentions"]] == ["张承办"]


async def test_receipt_for_a_message_we_never_sent_changes_nothing(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    await r.answered()
    await r.drain()
    [sent] = r.accepted()
    forged = r.receipt(sent, delivered=False)
    forged[0]["biz_id"] = "900000000000009999^0"
    forged[0]["out_id"] = ""
    assert (await r.push(forged)).status == 200
    [sms] = await r.sms()
    assert sms.state == "sent" and await r.audit("sms_receipt") == []
