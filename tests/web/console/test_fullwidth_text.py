"""Full-width punctuation end to end: what a citizen said and what a handler typed reach the store,
the chat cards, the SMS, the ticket page and the printed forms as written (，：（）；！？ stay
full-width). Only the copy used to recognise commands is folded to half-width."""

from __future__ import annotations

import html
import zipfile
from io import BytesIO
from pathlib import Path

from sqlalchemy import select

from adapters.importing import import_file
from store.models import ReviewRequest, SmsMessage, Ticket
from tests.adapters.test_importer import write_xls
from tests.conftest import ticket_body
from tests.web.console.conftest import console_overrides, settle

FULL_WIDTH = "，：（）；！？"
IMPORTED = "2026112300007"
POSTED = "2026112300008"
IMPORTED_CONTENT = "来电人反映：小区东门路灯不亮（已一周），夜间出行不便；请尽快修复！能否本周内修好？"
POSTED_CONTENT = "来电人咨询：养老服务站何时恢复供餐（老人无法就餐）；望答复！可否电话告知？"
ANSWER = ("实际解决。11月23日10：30，工作人员与来电人电话沟通（已上门核实）；"
          "服务站已恢复供餐！来电人表示接受，还有疑问吗？没有。")


def docx_text(payload: bytes) -> str:
    """The text of a .docx body, runs joined (Word may split a paragraph into several runs)."""
    import re

    with zipfile.ZipFile(BytesIO(payload)) as z:
        xml = z.read("word/document.xml").decode()
    return "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml))


async def test_full_width_punctuation_survives_everywhere(make_bot, make_user, tmp_path: Path) -> None:
    for text in (IMPORTED_CONTENT, POSTED_CONTENT, ANSWER):
        assert set(FULL_WIDTH) & set(text)
    bot = await make_bot(**console_overrides())

    # One ticket from an .xls export (unit by name), one through the intake API.
    export = write_xls(tmp_path / "export.xls", [
        ["工单编号", "登记时间", "诉求内容", "承办单位", "来电人", "联系电话"],
        [IMPORTED, "2026-11-23 09:00", IMPORTED_CONTENT, "养老服务科", "张三", "13812341234"]])
    summary = await import_file(bot.ctx, export, in_child=False)
    assert (summary.created, summary.rejected) == (1, 0), summary.render()
    r = await bot.post_ticket(ticket_body(POSTED, content=POSTED_CONTENT, unit="养老服务科"))
    assert r.status == 201, await r.text()

    handler, leader = make_user(bot), make_user(bot)
    await handler.login("张承办")
    await leader.login("李科长")
    await settle(bot)
    cards = [i["text"] for i in await handler.history("g:ylk")]
    assert any(IMPORTED_CONTENT in text for text in cards) and any(POSTED_CONTENT in text for text in cards)

    # The handler types the answer with full-width punctuation (and a full-width colon after the
    # number); the leader approves in the chat.
    assert (await handler.say("g:ylk", f"@热线助手 签收 {IMPORTED}")).status == 202
    await settle(bot)
    assert (await handler.say("g:ylk", f"@热线助手 答复：{IMPORTED}　{ANSWER}")).status == 202
    await settle(bot)
    review = next(i for i in await leader.history("g:ylk") if i["title"].startswith("答复待审核"))
    assert ANSWER in review["text"]
    assert (await leader.say("g:ylk", f"@热线助手 同意 {IMPORTED}")).status == 202
    await settle(bot)

    async with bot.ctx.sessions() as s:
        ticket = (await s.execute(select(Ticket).where(Ticket.number == IMPORTED))).scalar_one()
        assert ticket.state == "answered" and ticket.content == IMPORTED_CONTENT
        stored = (await s.execute(select(ReviewRequest.content).where(ReviewRequest.ticket_id == ticket.id))
                  ).scalar_one()
        assert stored == ANSWER
        sms = list((await s.execute(select(SmsMessage).where(SmsMessage.ticket_id == ticket.id,
                                                             SmsMessage.kind == "answer"))).scalars())
        posted = (await s.execute(select(Ticket.content).where(Ticket.number == POSTED))).scalar_one()
    assert posted == POSTED_CONTENT
    assert len(sms) == 1 and ANSWER in sms[0].text, [m.text for m in sms]

    page = html.unescape(await leader.page(f"/console/tickets/12345/{IMPORTED}"))
    assert IMPORTED_CONTENT in page and ANSWER in page
    form = html.unescape(await leader.page(f"/console/tickets/12345/{IMPORTED}/forms/signoff"))
    assert IMPORTED_CONTENT in form and ANSWER in form
    r = await leader.get(f"/console/tickets/12345/{IMPORTED}/forms/signoff.docx")
    assert r.status == 200
    printed = docx_text(await r.read())
    assert IMPORTED_CONTENT in printed and ANSWER in printed
    assert POSTED_CONTENT in html.unescape(await leader.page(f"/console/tickets/12345/{POSTED}"))
    other = html.unescape(await leader.page(f"/console/tickets/12345/{POSTED}/forms/lichuan"))
    assert POSTED_CONTENT in other
    r = await leader.get(f"/console/tickets/12345/{POSTED}/forms/lichuan.docx")
    assert r.status == 200 and POSTED_CONTENT in docx_text(await r.read())
