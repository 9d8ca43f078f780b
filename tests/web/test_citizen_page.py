"""The citizen page: the signed link in the answer SMS, one decision per link, the same 404 for the rest."""

from __future__ import annotations

import re

from tests.bot.sms_rig import NUMBER, PHONE, Rig, rig

PUBLIC = "https://hotline.example.gov.cn"
TEXT = "您反映的问题（工单{number}）已由{unit}答复：{text}详情及评价：{link} 回复1满意，2不满意。"


async def page_rig(make_bot, aiohttp_server, clock) -> Rig:  # type: ignore[no-untyped-def]
    return await rig(make_bot, aiohttp_server, clock, "generic",
                     sms={"generic": {"allow_urls": True, "texts": {"answer": TEXT}}},
                     server={"public_url": PUBLIC})


def link_path(r: Rig, index: int = -1) -> str:
    """The /c/<token> path of the link the gateway sent."""
    match = re.search(re.escape(PUBLIC) + r"(/c/[A-Za-z0-9_.\-]+) ", r.fake.sent[index].text)
    assert match, r.fake.sent[index].text
    return match.group(1)


async def test_page_shows_only_the_answer_and_counts_one_decision(make_bot, aiohttp_server, clock) -> None:
    r = await page_rig(make_bot, aiohttp_server, clock)
    await r.answered()
    await r.drain()
    path = link_path(r)
    client = r.bot.client

    resp = await client.get(path)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["Referrer-Policy"] == "no-referrer"
    page = await resp.text()
    answer = (await r.sms())[0].text
    assert answer in page and "满意" in page and "不满意" in page
    for private in ("张三", PHONE, "138****1234", "松江区某路1号", NUMBER, "张承办", "养老服务站长期关门"):
        assert private not in page

    resp = await client.post(path, data={"verdict": "不满意", "comment": "还是没有恢复供餐"})
    assert resp.status == 200 and "感谢" in await resp.text()
    ticket = await r.ticket()
    assert ticket.state == "reopened" and ticket.round == 2 and ticket.feedback == "不满意"
    [reply] = await r.replies()
    assert (reply.provider, reply.verdict, reply.text) == ("page", "不满意", "不满意 还是没有恢复供餐")
    told = [row.payload for row in await r.chat_rows(chat_id="ylk", kind="citizen_reply")]
    assert len(told) == 1 and "评价页面" in told[0]["text"] and "还是没有恢复供餐" in told[0]["text"]

    gone = await client.get("/c/not-a-token")
    assert gone.status == 404
    nothing = await gone.text()
    for again in (await client.post(path, data={"verdict": "满意"}), await client.get(path)):
        assert again.status == 404 and await again.text() == nothing
    ticket = await r.ticket()
    assert ticket.state == "reopened" and ticket.round == 2 and len(await r.replies()) == 1


async def test_altered_or_expired_links_get_the_same_404(make_bot, aiohttp_server, clock) -> None:
    r = await page_rig(make_bot, aiohttp_server, clock)
    await r.answered()
    await r.drain()
    path = link_path(r)
    client = r.bot.client
    nothing = await (await client.get("/c/x")).text()

    payload, mac = path.removeprefix("/c/").split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    altered = payload[:-1] + ("x" if payload[-1] != "x" else "y")
    for bad in (f"/c/{payload}.{flipped}", f"/c/{altered}.{mac}", f"/c/{payload}", f"/c/{mac}"):
        resp = await client.get(bad)
        assert resp.status == 404 and await resp.text() == nothing, bad
        resp = await client.post(bad, data={"verdict": "不满意"})
        assert resp.status == 404 and await resp.text() == nothing, bad
    assert (await r.ticket()).state == "answered"

    clock.advance(days=6, hours=23)
    assert (await client.get(path)).status == 200
    clock.advance(hours=2)  # 7 days after sending (citizen_link_days = 7)
    resp = await client.get(path)
    assert resp.status == 404 and await resp.text() == nothing
    resp = await client.post(path, data={"verdict": "不满意"})
    assert resp.status == 404 and (await r.ticket()).state == "answered"


async def test_satisfied_on_the_page_archives(make_bot, aiohttp_server, clock) -> None:
    r = await page_rig(make_bot, aiohttp_server, clock)
    await r.answered()
    await r.drain()
    resp = await r.bot.client.post(link_path(r), data={"verdict": "满意"})
    assert resp.status == 200
    ticket = await r.ticket()
    assert ticket.state == "archived" and ticket.feedback == "满意"


async def test_no_link_without_a_public_url(make_bot, aiohttp_server, clock) -> None:
    r = await rig(make_bot, aiohttp_server, clock, "generic",
                  sms={"generic": {"allow_urls": True, "texts": {"answer": TEXT}}})
    await r.answered()
    await r.drain()
    # {link} is in the text but there is no public URL: the gateway refuses the content up front.
    assert r.fake.sent == []
    [sms] = await r.sms()
    assert sms.state == "failed" and sms.code == "template_variable"
