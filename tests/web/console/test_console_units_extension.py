"""The console's ticket page and the printed forms show 延期申请中 and the lead / assisting units."""

from __future__ import annotations

import zipfile
from io import BytesIO

from tests.conftest import ticket_body
from tests.handlers.chat import Chat
from tests.web.console.conftest import console_overrides

NUMBER = "202611230001"
PAGE = f"/console/tickets/12345/{NUMBER}"


async def test_page_and_forms_show_the_extension_and_the_units(make_bot, make_user) -> None:
    # 平顶山: “由市长热线办公室根据具体情况重新确定办理时限”; “指定一个牵头单位负责办理,有关网络单位要切实搞好配合”
    bot = await make_bot(procedure={"preset": "pingdingshan"}, **console_overrides())
    chat = Chat(bot)
    assert (await bot.post_ticket(ticket_body(NUMBER))).status == 201
    await chat.say("王办公", f"转办 {NUMBER} YLK 配合 SHJZK", chat="bgs")
    await chat.say("张承办", f"签收 {NUMBER}")
    await chat.say("陈承办", f"签收 {NUMBER}", chat="shjzk")
    await chat.say("张承办", f"延期 {NUMBER} 2026-12-10 需协调社会救助科")
    await chat.say("李科长", f"同意 {NUMBER}")  # on to the hotline: 延期申请中

    office = make_user(bot)
    await office.login("王办公")
    page = await office.page(PAGE)
    units = "养老服务科（牵头）；配合：社会救助科（已签收）"
    assert units in page
    assert "延期申请中（申请延至 12月10日 17:30，原办结时限照常计算）（已申请 1/1 次）" in page
    for form in ("lichuan", "songjiang", "signoff"):
        html = await office.page(f"{PAGE}/forms/{form}")
        assert units in html and "延期申请中" in html, form
    r = await office.get(f"{PAGE}/forms/signoff.docx")
    with zipfile.ZipFile(BytesIO(await r.read())) as z:
        xml = z.read("word/document.xml").decode()
    assert "社会救助科（已签收）" in xml and "延期申请中" in xml

    assisting = make_user(bot)
    await assisting.login("陈承办")  # 社会救助科 assists: it may open the ticket, citizen data masked
    seen = await assisting.page(PAGE)
    assert units in seen and "138****1234" in seen and "13812341234" not in seen

    await chat.say("陈承办", f"进展 {NUMBER} 已核实", chat="shjzk")
    await chat.say("王办公", f"延期结果 {NUMBER} 同意 2026-12-09", chat="bgs")
    page = await office.page(PAGE)
    assert "配合：社会救助科（已报送）" in page
    assert "已批准，至 12月9日 17:30，市长热线办确定，不能再更改" in page
