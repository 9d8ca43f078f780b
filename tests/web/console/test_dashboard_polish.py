"""Dashboard polish: the 未派单 count really filters, the tag filter lists the store's tags, the icon."""

from __future__ import annotations

import re
from html import unescape

from tests.conftest import ticket_body
from tests.handlers.chat import Chat
from tests.web.console.conftest import console_overrides

_ROW_NUMBER = re.compile(r'<tr class="[^"]*" data-number="([^"]+)"')
_TAG_OPTIONS = re.compile(r'<select name="tag">(.*?)</select>', re.S)
_OPTION = re.compile(r'<option value="([^"]*)"')
_STATE_CELL = re.compile(r'data-number="([^"]+)">.*?<td class="state">(.*?)</td>', re.S)


def listed(html: str) -> list[str]:
    """Ticket numbers listed on a dashboard page."""
    return _ROW_NUMBER.findall(html)


def count_link(html: str, label: str) -> str:
    """The href of the count link labelled ``label``."""
    m = re.search(rf'<a class="[^"]*" href="([^"]*)">{re.escape(label)}<b>\d+</b></a>', html)
    assert m, label
    return unescape(m.group(1))


async def test_unassigned_count_links_to_the_tickets_without_a_unit(make_bot, make_user) -> None:
    bot = await make_bot(**console_overrides())
    bodies = [ticket_body("202611230001"), ticket_body("202611230002", unit="YLK"),
              ticket_body("202611230003", unit="SHJZK"), ticket_body("202611230004")]
    for body in bodies:
        assert (await bot.post_ticket(body)).status == 201
    without_unit = sorted(b["number"] for b in bodies if "unit" not in b)
    office = make_user(bot)
    await office.login("王办公")

    board = await office.page("/console/tickets")
    assert sorted(listed(board)) == sorted(b["number"] for b in bodies)
    href = count_link(board, "（未派单）")
    assert "unit=" in href
    page = await office.page(href)
    assert sorted(listed(page)) == without_unit
    assert f"共 {len(without_unit)} 件" in page
    # the unit select offers the same choice, selected when filtering
    assert re.search(r'<option value="-" selected>（未派单）</option>', page)

    # a unit's own count link still filters by that unit
    page = await office.page(count_link(board, "养老服务科"))
    assert listed(page) == ["202611230002"]


async def test_tag_filter_lists_every_tag_in_the_store(make_bot, make_user) -> None:
    bot = await make_bot(**console_overrides())
    tagged = {"202611230001": ["涉稳", "老旧小区加装电梯"], "202611230002": ["市级催办"], "202611230003": []}
    for number, tags in tagged.items():
        # a different matter each, so that no ticket is marked 重复件 (a tag of its own; near-duplicates
        # of the same citizen count since issue 17, not only identical words)
        matter = {"1": "楼道灯坏了，请修理。", "2": "小区门口积水严重，出行不便。", "3": "楼下饭店油烟太大，无法开窗。"}
        body = ticket_body(number, tags=tags, content=f"第{number[-1]}件诉求：{matter[number[-1]]}")
        assert (await bot.post_ticket(body)).status == 201
    office = make_user(bot)
    await office.login("王办公")

    board = await office.page("/console/tickets")
    options = _OPTION.findall(_TAG_OPTIONS.search(board).group(1))  # type: ignore[union-attr]
    in_use = {t for tags in tagged.values() for t in tags}
    assert options[0] == "" and set(options[1:]) == in_use, options
    assert options[1] == "涉稳"  # 涉稳/扬言/涉众 first
    page = await office.page("/console/tickets?tag=老旧小区加装电梯")
    assert listed(page) == ["202611230001"]


async def test_favicon_is_served(make_bot, make_user) -> None:
    bot = await make_bot(**console_overrides())
    r = await bot.client.get("/favicon.ico")  # no login: a browser asks before anything else
    assert r.status == 200 and r.content_type in ("image/x-icon", "image/vnd.microsoft.icon")
    icon = await r.read()
    assert icon[:4] == b"\x00\x00\x01\x00" and int.from_bytes(icon[4:6], "little") >= 1  # ICO, ≥1 image

    office = make_user(bot)
    await office.login("王办公")
    html = await office.page("/console/tickets")
    href = re.search(r'<link rel="icon" href="([^"]+)">', html).group(1)  # type: ignore[union-attr]
    r = await bot.client.get(href)
    assert r.status == 200 and await r.read() == icon


async def test_the_list_shows_a_pending_extension(make_bot, make_user) -> None:
    bot = await make_bot(**console_overrides())
    chat = Chat(bot)
    for number, matter in (("202611230001", "楼道灯坏了，请修理。"), ("202611230002", "小区门口积水严重。")):
        assert (await bot.post_ticket(ticket_body(number, unit="YLK", content=matter))).status == 201
        await chat.say("张承办", f"签收 {number}")
    office = make_user(bot)
    await office.login("王办公")
    assert "延期申请中" not in await office.page("/console/tickets")
    await chat.say("张承办", "延期 202611230002 5天 需协调街道")
    board = await office.page("/console/tickets")
    states = dict(_STATE_CELL.findall(board))
    assert states["202611230002"] == '办理中<div class="extension">延期申请中</div>'
    assert "延期" not in states["202611230001"]
    await chat.say("李科长", "同意 202611230002")  # 松江: the leader decides; no longer pending
    assert "延期申请中" not in await office.page("/console/tickets")
