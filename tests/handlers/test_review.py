"""Review settings from the config, 重复件 answers, and the signed result report to the hotline."""

from __future__ import annotations

import hashlib
import hmac
import json

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.sender import Sender
from tests.conftest import ticket_body
from tests.handlers.chat import Chat, only_answer
from tests.handlers.test_workflow import GOOD_REPLY


async def test_reply_without_review_when_the_rule_says_so(make_bot) -> None:
    rules = [{"name": "求助-免审", "kind": "求助", "deadline": "7wd", "review": False}]
    bot = await make_bot(procedure={"preset": "songjiang", "rules": rules})
    chat = Chat(bot)
    await bot.post_ticket(ticket_body(unit="YLK"))
    await chat.say("张承办", "签收 0001")
    rows = await chat.say("张承办", f"答复 0001 {GOOD_REPLY}")
    assert "已答复" in only_answer(rows)
    assert not [r for r in rows if r.kind == "review"]
    assert (await chat.ticket("202611230001")).state == "answered"
    assert "已批准" in only_answer(await chat.say("张承办", "延期 0001 3天 需协调")) or \
        (await chat.ticket("202611230001")).state == "answered"


async def test_repeat_ticket_answered_as_duplicate(make_bot) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    await bot.post_ticket(ticket_body(number="A0001", unit="YLK"))
    r = await bot.post_ticket(ticket_body(number="A0002", unit="YLK"))
    assert "重复件" in (await r.json())["tags"]
    await chat.say("张承办", "签收 A0001")
    await chat.say("张承办", f"答复 A0001 {GOOD_REPLY}")
    await chat.say("李科长", "同意 A0001")
    await chat.say("张承办", "签收 A0002")
    rows = await chat.say("张承办", "答复 A0002 重复件")
    review = next(r for r in rows if r.kind == "review")
    assert "A0001" in review.payload["text"]
    # A reply that is not marked 重复件 still has to meet the 办结规范.
    await chat.say("李科长", "驳回 A0002 请写明")
    assert "办结规范" in only_answer(await chat.say("张承办", "答复 A0002 处理好了"))


async def test_approved_result_is_reported_to_the_hotline_signed(make_bot, clock) -> None:
    received: list[tuple[dict, bool]] = []
    fail_first = {"n": 1}

    async def report(request: web.Request) -> web.Response:
        raw = await request.read()
        ts = request.headers["X-Hotline-Timestamp"]
        expected = hmac.new(b"report-secret", ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(expected, request.headers["X-Hotline-Signature"])
        if fail_first["n"]:
            fail_first["n"] -= 1
            return web.Response(status=502)
        received.append((json.loads(raw), ok))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/report", report)
    server = TestServer(app)
    await server.start_server()
    try:
        bot = await make_bot(hotline={"report_url": str(server.make_url("/report")),
                                      "report_secret": "report-secret"})
        chat = Chat(bot)
        await bot.post_ticket(ticket_body(unit="YLK"))
        await chat.say("张承办", "签收 0001")
        await chat.say("张承办", f"答复 0001 {GOOD_REPLY}")
        await chat.say("李科长", "同意 0001 同意答复")
        sender = Sender(bot.ctx)
        await sender.drain()
        assert received == []  # the first try got a 502
        clock.advance(minutes=5)
        await sender.drain()
        assert len(received) == 1
        body, signed = received[0]
        assert signed
        assert body["number"] == "202611230001" and body["result"] == "answer"
        assert body["category"] == "实际解决" and "电话沟通" in body["content"]
        clock.advance(minutes=30)
        await sender.drain()
        assert len(received) == 1  # delivered once
    finally:
        await server.close()
