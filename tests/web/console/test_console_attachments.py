"""Attachments uploaded in the console: with 退单 and a 说明, listed by 附件, limited in size and
type (refused in Chinese), and never uploaded or served across units or without a session.

松江 退单 "详细说明理由并提交相关证明"; 不满意 "提供相关政策文件"."""

from __future__ import annotations

import base64
import io
import re
import zipfile
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bot.sender import Sender
from store.models import Attachment
from tests.conftest import ticket_body
from tests.handlers.chat import Chat, answers
from tests.handlers.test_workflow import GOOD_REPLY
from tests.system.evidence_rig import REPORT_SECRET, Hotline, pdf, png
from tests.web.console.conftest import console_overrides

NUMBER = "202611230001"
TICKET = f"/console/tickets/12345/{NUMBER}"
LIMIT = 4096


async def _bot(make_bot: Any) -> Any:
    bot = await make_bot(**console_overrides(), attachments={"max_bytes": LIMIT})
    assert (await bot.post_ticket(ticket_body(NUMBER, unit="YLK"))).status == 201
    return bot


async def _upload(user: Any, cmd: str, note: str, name: str, data: bytes, *, csrf: str | None = None,
                  ticket: str = TICKET) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("cmd", cmd)
    form.add_field("note", note)
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    token = user.csrf if csrf is None else csrf
    return await user.http.post(user.url(f"{ticket}/attachments?csrf={token}"), data=form, allow_redirects=False)


async def _rows(bot: Any) -> list[Attachment]:
    async with bot.ctx.sessions() as s:
        return list((await s.execute(select(Attachment).order_by(Attachment.id))).scalars())


async def test_giveback_with_proof_and_explanation_with_policy_file(make_bot: Any, make_user: Any) -> None:
    bot = await _bot(make_bot)
    chat = Chat(bot)
    await chat.say("张承办", "签收 0001")
    zhang = make_user(bot)
    assert (await zhang.login("张承办")).status == 302
    await zhang.page(TICKET)

    # 松江 退单 "详细说明理由并提交相关证明": the proof goes with the 退单 request
    proof = pdf("区住建局职责划分")
    r = await _upload(zhang, "退单", "不属于本单位职责，附职责划分文件", "职责划分.pdf", proof)
    assert r.status == 303, await r.text()
    page = await zhang.page(r.headers["Location"])
    assert "退单申请已提交" in page and "已附 1 个附件" in page and "职责划分.pdf" in page
    [row] = await _rows(bot)
    assert (row.purpose, row.kind, row.content_type, row.round) == ("退单", "file", "application/pdf", 1)
    served = await zhang.get(f"{TICKET}/attachments/{row.id}")
    assert served.status == 200 and await served.read() == proof
    assert "attachment;" in served.headers["Content-Disposition"]  # a file downloads, never renders

    # 附件 in chat lists it with the purpose and who attached it
    await chat.new_rows()  # the upload's own answer
    [listed] = answers(await chat.say("李科长", "附件 0001"))
    assert "【退单】职责划分.pdf" in listed and "张承办" in listed

    # 松江 不满意 "提供相关政策文件": after a 重办 the unit explains, with the policy file
    await chat.say("李科长", "驳回 0001 请先与来电人沟通")
    await chat.say("张承办", f"答复 0001 {GOOD_REPLY}")
    await chat.say("李科长", "同意 0001")
    r = await bot.post_event("12345", NUMBER, {"type": "reopen", "id": "RO-1", "reason": "来电人不满意"})
    assert r.status == 200
    policy = png(7)
    r = await _upload(zhang, "说明", "已按养老服务补贴政策答复，附政策文件", "补贴政策.png", policy)
    assert r.status == 303
    rows = await _rows(bot)
    assert [(a.purpose, a.round) for a in rows] == [("退单", 1), ("说明", 2)]
    trail = [e for e in await chat.audit(NUMBER) if e.action in ("explanation", "attach")]
    assert [(e.action, e.detail.get("purpose")) for e in trail] == [
        ("attach", "退单"), ("explanation", None), ("attach", "说明")]
    page = await zhang.page(TICKET)
    assert f'<img src="{TICKET}/attachments/{rows[1].id}"' in page and "情况说明" in page
    image = await zhang.get(f"{TICKET}/attachments/{rows[1].id}")
    assert image.headers["Content-Type"] == "image/png" and "inline;" in image.headers["Content-Disposition"]
    # the Word form lists both and carries the image itself
    docx = await zhang.get(f"{TICKET}/forms/signoff.docx")
    with zipfile.ZipFile(io.BytesIO(await docx.read())) as z:
        media = [n for n in z.namelist() if n.startswith("word/media/")]
        assert [z.read(n) for n in media] == [policy]
        body = z.read("word/document.xml").decode()
    assert "【退单】职责划分.pdf" in body and "【情况说明】补贴政策.png" in body


async def test_limits_are_refused_politely_and_nothing_is_kept(make_bot: Any, make_user: Any) -> None:
    bot = await _bot(make_bot)
    await Chat(bot).say("张承办", "签收 0001")
    zhang = make_user(bot)
    await zhang.login("张承办")
    await zhang.page(TICKET)

    big = png(1) + bytes(LIMIT)  # a PNG (by its magic) one limit too long
    assert len(big) > LIMIT
    r = await _upload(zhang, "进展", "现场照片", "大图.png", big)
    assert r.status == 413 and "超过" in await r.text() and "上限" in await r.text()
    huge = b"x" * (LIMIT + 200 * 1024)  # past the form's whole allowance
    r = await _upload(zhang, "进展", "现场照片", "视频.txt", huge)
    assert r.status == 413 and "上限" in await r.text()
    r = await _upload(zhang, "进展", "工具", "tool.exe", b"MZ\x90\x00" + b"\x00" * 100)
    assert r.status == 415 and "类型不在允许范围内" in await r.text()
    r = await _upload(zhang, "进展", "假文档", "fake.docx", b"not a zip at all")
    assert r.status == 415  # an office name without its container is not an office file
    assert await _rows(bot) == []
    r = await _upload(zhang, "进展", "照片", "ok.png", png(2))
    assert r.status == 303 and len(await _rows(bot)) == 1


async def test_rights_other_unit_no_session_no_csrf(make_bot: Any, make_user: Any) -> None:
    bot = await _bot(make_bot)
    chat = Chat(bot)
    await chat.say("张承办", "签收 0001")
    zhang = make_user(bot)
    await zhang.login("张承办")
    await zhang.page(TICKET)
    r = await _upload(zhang, "进展", "照片", "现场.png", png(3))
    assert r.status == 303
    [row] = await _rows(bot)
    url = f"{TICKET}/attachments/{row.id}"

    chen = make_user(bot)  # 社会救助科: another unit
    await chen.login("陈承办")
    await chen.page("/console")
    assert (await chen.get(url)).status == 404
    assert (await _upload(chen, "进展", "冒名", "x.png", png(4))).status == 404
    office = make_user(bot)
    await office.login("王办公")
    assert (await office.get(url)).status == 200  # the office sees every unit

    nobody = make_user(bot)
    r = await nobody.get(url, allow_redirects=False)
    assert r.status == 302 and r.headers["Location"].startswith("/console/login")
    assert (await _upload(nobody, "进展", "照片", "y.png", png(5), csrf="")).status == 401
    assert (await _upload(zhang, "进展", "照片", "z.png", png(6), csrf="forged")).status == 403
    assert (await zhang.get(f"{TICKET}/attachments/{row.id + 99}")).status == 404
    async with bot.ctx.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Attachment))).scalar_one() == 1
    assert re.fullmatch(r"[0-9a-f]{64}", row.sha256)


async def test_report_carries_the_files_themselves_stored_once(make_bot: Any, make_user: Any) -> None:
    """``[attachments] report = "files"``: the hotline gets the bytes (base64); the same photo
    attached twice is two attachments and one stored file."""
    hotline = Hotline()
    try:
        bot = await make_bot(**console_overrides(), attachments={"report": "files"}, server={"public_url": "http://bot.example"},
                             hotline={"report_url": await hotline.start(), "report_secret": REPORT_SECRET})
        assert (await bot.post_ticket(ticket_body(NUMBER, unit="YLK"))).status == 201
        chat = Chat(bot)
        await chat.say("张承办", "签收 0001")
        zhang = make_user(bot)
        await zhang.login("张承办")
        await zhang.page(TICKET)
        photo = png(11)
        assert (await _upload(zhang, "进展", "已到现场", "现场.png", photo)).status == 303
        assert (await _upload(zhang, "答复", GOOD_REPLY, "现场-复核.png", photo)).status == 303
        await chat.say("李科长", "同意 0001")
        await Sender(bot.ctx).drain()
        rows = await _rows(bot)
        assert len(rows) == 2 and rows[0].sha256 == rows[1].sha256
        assert bot.ctx.attachments.files.count() == 1
        [report] = hotline.reports
        assert [(a["name"], a["purpose"], base64.b64decode(a["data"])) for a in report["attachments"]] == [
            ("现场.png", "进展", photo), ("现场-复核.png", "答复", photo)]
        assert all("url" not in a for a in report["attachments"])
    finally:
        await hotline.close()
