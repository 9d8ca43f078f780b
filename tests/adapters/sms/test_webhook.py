"""The SMS push route answers refusals the way every webhook does: the JSON error body, one count
in ``hotline_webhook_rejected_total{platform="sms"}``, nothing stored; an oversized body is refused
before it is read."""

from __future__ import annotations

from tests.bot.sms_rig import TOKEN, rig
from tests.system.world import metric

REJECTED = "hotline_webhook_rejected_total"


async def test_refusals_are_counted_and_store_nothing(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "aliyun")
    await r.answered()
    await r.drain()
    forged = r.reply("2")
    resp = await r.push(forged, token="wrong")
    assert resp.status == 401
    assert await resp.json() == {"error": "unauthorized", "message": "回调令牌无效或来源不被允许。", "fields": {}}
    resp = await r.push(forged, provider="tencent")
    assert resp.status == 404 and (await resp.json())["error"] == "unknown_provider"
    resp = await r.push(b"{not json", token=TOKEN)
    assert resp.status == 400
    assert await resp.json() == {"error": "bad_body", "message": "无法解析短信回调内容。", "fields": {}}
    for reason in ("unauthorized", "unknown_provider", "bad_body"):
        assert await metric(r.bot, REJECTED, platform="sms", reason=reason) == 1
    assert (await r.ticket()).state == "answered" and await r.replies() == []


async def test_an_oversized_push_is_refused_unread(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "log")
    limit = r.ctx.config.intake.max_body_bytes
    resp = await r.push(b"[" + b" " * limit + b"]")
    assert resp.status == 413 and (await resp.json())["error"] == "too_large"
    assert await metric(r.bot, REJECTED, platform="sms", reason="too_large") == 1
    assert await r.replies() == []
