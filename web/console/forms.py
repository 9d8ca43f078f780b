"""The procedures' paper forms, filled from a ticket: printable A4 HTML and Word (.docx).

- 利川 市长热线工单转办单 (利人社发〔2017〕86号, 附件2 "市人社局市长热线工单转办单(样本)")
- 松江 信访、市民热线处理表 (沪松民〔2023〕32号, 附件1)
- "12345" 市民服务热线工单办理领导签批表 (沪松民〔2023〕32号, 附件4: "局办公室根据承办责任科室答复意见填写
  审批单（附件4），经信访条线分管领导审核后报区热线办")

Each form is one layout (rows of cells on a fixed grid) rendered twice, so the HTML and the Word
file always say the same. The citizen's phone is masked unless the viewer may see it (``docs/design.md``, chat commands).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import notices
from bot.calendar import WorkCalendar
from bot.context import BotContext
from bot.directory import Directory, Person
from bot.labels import source_label
from bot.privacy import mask_name, mask_phone
from store.models import Attachment, ReviewRequest, Ticket
from store.queries.views import load_record
from web import render
from web.console import evidence
from web.console.login import PERSON
from web.console.site import ConsoleSite, load_visible_ticket, sees_citizen

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of a form: a label (bold, shaded) or a value, spanning ``span`` grid columns."""

    text: str
    span: int = 1
    label: bool = False
    tall: bool = False  # room to write by hand / a long text


@dataclass
class Facts:
    """What the forms need to know about a ticket, read once from the store."""

    ticket: Ticket
    unit: str
    handler: str
    citizen_name: str
    citizen_phone: str
    citizen_address: str
    registrar: str
    dispatcher: str
    dispatched_at: datetime | None
    first_contact_by: str = ""
    first_contact_at: datetime | None = None
    first_contact_note: str = ""
    progress: list[str] = field(default_factory=list)
    reply: ReviewRequest | None = None  # the approved (or latest) reply of this round
    reviewer: str = ""
    files: list[dict[str, Any]] = field(default_factory=list)  # attachments (evidence.listing)
    units: str = ""  # lead, assisting and copied units (notices.assists_line); "" for one unit
    extension: str = ""  # where an extension stands (notices.extension_line); "" for none


@dataclass(frozen=True)
class Form:
    """A printable form: its title, the issuing line, the grid width and the rows."""

    title: str
    heading: str
    columns: int
    rows: Callable[[Facts, WorkCalendar], list[list[Cell]]]
    issuer: str = ""
    widths: tuple[int, ...] = ()


def _t(cal: WorkCalendar, when: datetime | None, *, date_only: bool = False) -> str:
    if when is None:
        return ""
    local = cal.local(when)
    return f"{local:%Y年%m月%d日}" if date_only else f"{local:%Y年%m月%d日 %H:%M}"


def _boxes(options: tuple[str, ...] | list[str], chosen: str | None) -> str:
    return "　".join(f"{'☑' if o == chosen else '☐'}{o}" for o in options)


def _approved(f: Facts) -> bool:
    return f.reply is not None and f.reply.state == "approved"


def _decision(f: Facts, cal: WorkCalendar) -> str:
    """The leader's review, or an empty line where it is not signed yet."""
    r = f.reply
    if r is None or r.state == "pending" or r.decided_at is None:
        return "（尚未审核）"
    verdict = "同意" if r.state == "approved" else "驳回"
    note = f"。{r.decision_note}" if r.decision_note else ""
    return f"{verdict}{note}\n签字：{f.reviewer}　　日期：{_t(cal, r.decided_at)}"


def _duties(t: Ticket) -> str:
    """``包案领导：李科长　督办：现场督办`` (the parts that are set), or ``""``."""
    parts = [f"包案领导：{t.lead_leader}" if t.lead_leader else "",
             f"督办：{t.supervision_level}督办" if t.supervision_level else ""]
    return "　".join(p for p in parts if p)


def _lichuan(f: Facts, cal: WorkCalendar) -> list[list[Cell]]:
    t = f.ticket
    reply = f.reply.content if f.reply else ""
    contact = (f"{_t(cal, f.first_contact_at)} {f.first_contact_by} 与来信人联系。{f.first_contact_note}"
               if f.first_contact_at else "")
    basics = "\n".join([x for x in [contact, *f.progress] if x])
    result = ""
    if f.reply is not None:
        result = f"处理结果：{f.reply.result_category or '—'}。" + (f"来信人评价：{t.feedback}。" if t.feedback else "")
    return [
        [Cell("来信人", label=True), Cell(f.citizen_name), Cell("电话", label=True), Cell(f.citizen_phone),
         Cell("工单类型", label=True), Cell(f"{t.kind or ''}工单" if t.kind else "")],
        [Cell("联系地址", label=True), Cell(f.citizen_address, 5)],
        [Cell("登记人", label=True), Cell(f.registrar), Cell("登记时间", label=True),
         Cell(_t(cal, t.received_at), 3)],
        [Cell("转办时间", label=True), Cell(_t(cal, f.dispatched_at)), Cell("限办时间", label=True),
         Cell(_t(cal, t.deadline) + (f"\n延期：{f.extension}" if f.extension else ""), 3)],
        *([[Cell("承办单位", label=True), Cell(f.units, 5)]] if f.units else []),
        [Cell("内　容", label=True), Cell(t.content, 5, tall=True)],
        [Cell("回复内容", label=True), Cell(reply if _approved(f) else "", 5, tall=True)],
        [Cell("基本情况及现场检查情况", label=True), Cell(basics, 5, tall=True)],
        [Cell("处理结果及沟通情况", label=True), Cell(result, 5, tall=True)],
        [Cell("分管领导审核意见", label=True), Cell(_decision(f, cal), 5, tall=True)],
        [Cell("包案领导及督办", label=True), Cell(_duties(t), 5)],
    ]


def _songjiang(f: Facts, cal: WorkCalendar) -> list[list[Cell]]:
    t = f.ticket
    category = f.reply.result_category if f.reply else None
    if t.state == "returned":
        category = "退单"
    options = ("实际解决", "解释说明", "参考备案", "不属实", "诉求过高", "退单", "其他")
    signed = ""
    if f.reply is not None and f.reply.decided_at is not None:
        signed = f"{f.reviewer}（{'同意' if f.reply.state == 'approved' else '驳回'}）　{_t(cal, f.reply.decided_at)}"
    remarks = "　".join(x for x in ("、".join(t.tags or []), _duties(t)) if x)
    if f.extension:
        remarks += f"　延期：{f.extension}"
    return [
        [Cell(f"编号：{t.number}", 4)],
        [Cell("来访人", label=True), Cell(f.citizen_name), Cell("电话", label=True), Cell(f.citizen_phone)],
        [Cell("联系地址", label=True), Cell(f.citizen_address), Cell("来电/来访时间", label=True),
         Cell(_t(cal, t.received_at))],
        [Cell("工单来源", label=True), Cell(source_label(t.source)), Cell("工单号", label=True), Cell(t.number)],
        [Cell(f"承办科室：{f.units or f.unit}", 2), Cell(f"流转时间：{_t(cal, f.dispatched_at)}", 2)],
        [Cell("承办科室处理意见：（可附页）\n" + (f.reply.content if f.reply else ""), 4, tall=True)],
        [Cell("处理结果：" + _boxes(options, category if category in options else ("其他" if category else None)), 4)],
        [Cell("市民反馈：" + _boxes(("满意", "不满意", "认可", "未评价", "其他"), t.feedback), 4)],
        [Cell(f"分管领导签字：{signed}", 4)],
        [Cell(f"备注：{remarks}", 4)],
    ]


def _signoff(f: Facts, cal: WorkCalendar) -> list[list[Cell]]:
    t = f.ticket
    tags = set(t.tags or [])
    content = f.reply.content if f.reply else ""
    ways = [w for w in ("电话", "书面", "约谈") if w in content or (w == "约谈" and "面谈" in content)]
    solved_options = ("实际解决", "解释说明", "参考备案", "诉求过高", "未解决")
    category = f.reply.result_category if f.reply else None
    contact = (f"☑已联　☐未联　先行联系人：{f.first_contact_by}　联系时间：{_t(cal, f.first_contact_at)}"
               if f.first_contact_at else "☐已联　☐未联")
    assign = f"{f.dispatcher}　{_t(cal, f.dispatched_at)}" if f.dispatched_at else ""
    return [
        [Cell("工单编号", label=True), Cell(t.number), Cell("转交日期", label=True),
         Cell(_t(cal, f.dispatched_at, date_only=True))],
        [Cell("工单类型", label=True), Cell(t.kind or ""), Cell("工单来源", label=True), Cell(source_label(t.source))],
        [Cell("热线12345工单是否重复", label=True), Cell("是" if "重复件" in tags else "否"),
         Cell("是否回访复核单", label=True), Cell("是" if "复核" in tags else "否")],
        [Cell("联系人", label=True), Cell(f.citizen_name), Cell("联系电话", label=True), Cell(f.citizen_phone)],
        [Cell("联系地址", label=True), Cell(f.citizen_address, 3)],
        [Cell("内容描述：\n" + t.content, 4, tall=True)],
        [Cell("派单：建议派单部门(科室)", label=True),
         Cell(f"部门名称：{f.units or f.unit}" + (f"\n延期：{f.extension}" if f.extension else ""), 3)],
        [Cell("科室负责人或分管领导交办意见", label=True), Cell(assign, 3)],
        [Cell("处置：先行联系", label=True), Cell(contact, 3)],
        [Cell("*办结汇报（办理依据、结果及结论）", label=True), Cell(content, 3, tall=True)],
        [Cell("*答复市民要点", label=True), Cell(content if _approved(f) else "", 3, tall=True)],
        [Cell("*市民答复时间", label=True), Cell(_t(cal, t.answered_at)), Cell("*答复方式", label=True),
         Cell(_boxes(("电话", "书面", "约谈"), ways[0] if ways else None))],
        [Cell("*是否解决", label=True),
         Cell(_boxes(solved_options, category if category in solved_options else None), 3)],
        [Cell("*是否满意", label=True), Cell(_boxes(("满意", "不满意", "认可", "未评价"), t.feedback), 3)],
        [Cell("包案领导及督办", label=True), Cell(_duties(t), 3)],
        [Cell("结案：分管领导审核意见", label=True),
         Cell(_decision(f, cal) + f"\n填报单位：{f.unit}", 3, tall=True)],
    ]


FORMS: dict[str, Form] = {
    "lichuan": Form("市长热线工单转办单", "市长热线工单转办单", 6, _lichuan, widths=(14, 20, 10, 20, 12, 24)),
    "songjiang": Form("信访、市民热线处理表", "信访、市民热线处理表", 4, _songjiang, widths=(18, 32, 18, 32)),
    "signoff": Form("12345工单办理领导签批表", "“12345” 市民服务热线工单办理领导签批表", 4, _signoff,
                    issuer="“12345” 市民服务热线管理办公室", widths=(24, 26, 22, 28)),
}


async def gather(s: AsyncSession, t: Ticket, viewer: Person, directory: Directory, ctx: BotContext) -> Facts:
    """Read what the forms need about ``t``; citizen data masked unless ``viewer`` may see it."""
    record = await load_record(s, t, reviews=True)
    events = [ev for ev in record.events if ev.outcome == "ok"]
    replies = [r for r in record.reviews if r.kind == "reply" and r.round == t.round]
    reply = next((r for r in reversed(replies) if r.state == "approved"), replies[-1] if replies else None)
    full = sees_citizen(viewer, t)
    register = next((ev for ev in events if ev.action == "register"), None)
    dispatch = next((ev for ev in reversed(events) if ev.action == "dispatch"), None)
    contact = next((ev for ev in reversed(events) if ev.action == "first_contact"), None)
    handler = directory.person_by_id(t.handler_id)
    reviewer = directory.person_by_id(reply.decided_by) if reply else None
    return Facts(
        ticket=t, unit=directory.unit_name(t.unit_code) if t.unit_code else "",
        handler=handler.name if handler else "",
        citizen_name=(t.citizen_name if full else mask_name(t.citizen_name)) or "",
        citizen_phone=(t.citizen_phone if full else mask_phone(t.citizen_phone)) or "",
        citizen_address=(t.citizen_address or "") if full else ("（已隐藏）" if t.citizen_address else ""),
        registrar=register.actor if register else "",
        dispatcher=dispatch.actor if dispatch else "", dispatched_at=t.dispatched_at,
        first_contact_by=contact.actor if contact else "",
        first_contact_at=t.first_contact_at,
        first_contact_note=str((contact.detail or {}).get("note", "")) if contact else "",
        progress=[str((ev.detail or {}).get("content", "")) for ev in events if ev.action == "progress"],
        reply=reply, reviewer=reviewer.name if reviewer else "",
        files=await evidence.listing(ctx, s, t),
        units=notices.assists_line(t, record.units, directory.unit_name),
        extension=notices.extension_line(t, ctx.calendar) if t.extension_state else "")


def render_html(form: Form, facts: Facts, cal: WorkCalendar) -> str:
    """The form as an A4 HTML page (its print style hides the toolbar)."""
    return render.render_text("console/form.html", {
        "title": f"{form.title} {facts.ticket.number}", "styles": ("forms.css",), "scripts": ("forms.js",),
        "body_class": "print-form", "source": facts.ticket.source, "number": facts.ticket.number,
        "heading": form.heading, "issuer": form.issuer, "widths": form.widths,
        "rows": form.rows(facts, cal), "files": facts.files})


def _docx_files(doc: Any, files: list[dict[str, Any]], images: dict[int, bytes]) -> None:
    """附件: one line per file, the images inline below their line."""
    from docx.shared import Cm

    if not files:
        return
    doc.add_paragraph("附件：")
    for i, f in enumerate(files, 1):
        doc.add_paragraph(f"{i}. 【{f['purpose']}】{f['name']}（{f['who']}，{f['at']}）")
        if f["id"] in images:
            try:
                doc.add_picture(io.BytesIO(images[f["id"]]), width=Cm(12))
            except Exception:  # an image python-docx cannot read (webp…) stays a line
                continue


def render_docx(form: Form, facts: Facts, cal: WorkCalendar, images: dict[int, bytes] | None = None) -> bytes:
    """The same form as a Word file (``images``: attachment id → bytes, shown inline)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(1.8)
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(10.5)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(form.heading)
    run.bold = True
    run.font.size = Pt(16)
    if form.issuer:
        doc.add_paragraph(form.issuer).alignment = WD_ALIGN_PARAGRAPH.CENTER
    rows = form.rows(facts, cal)
    table = doc.add_table(rows=len(rows), cols=form.columns)
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        col = 0
        for c in row:
            cell = table.cell(r, col)
            if c.span > 1:
                cell = cell.merge(table.cell(r, col + c.span - 1))
            cell.text = c.text
            if c.label:
                for p in cell.paragraphs:
                    for x in p.runs:
                        x.bold = True
            if c.tall:
                table.rows[r].height = Cm(2.5)
            col += c.span
    _docx_files(doc, facts.files, images or {})
    doc.add_paragraph(f"工单 {facts.ticket.number} · 由热线工单机器人生成")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


async def _images(ctx: BotContext, s_ids: list[int]) -> dict[int, bytes]:
    """The bytes of the image attachments ``s_ids`` (already listed for a ticket the viewer sees)."""
    if not s_ids:
        return {}
    async with ctx.sessions() as s:
        rows = [await s.get(Attachment, i) for i in s_ids]
    return {r.id: ctx.attachments.content(r) for r in rows if r is not None}


def setup(tickets: web.Application, adapter: ConsoleSite) -> None:
    """Register ``/console/tickets/{source}/{number}/forms/{form}`` (and ``.docx``) on the dashboard."""

    async def handler(request: web.Request) -> web.Response:
        person = request[PERSON]
        name = request.match_info["form"]
        as_docx = name.endswith(".docx")
        form = FORMS.get(name.removesuffix(".docx"))
        if form is None:
            raise web.HTTPNotFound(text="没有这种表单。")
        ctx = adapter.ctx
        async with ctx.sessions() as s:
            t = await load_visible_ticket(adapter, s, person, request.match_info["source"],
                                          request.match_info["number"])
            facts = await gather(s, t, person, ctx.directory, ctx)
        if as_docx:
            filename = f"{form.title}-{t.number}.docx"
            from urllib.parse import quote

            images = await _images(ctx, s_ids=[f["id"] for f in facts.files if f["image"]])
            return web.Response(body=render_docx(form, facts, ctx.calendar, images), content_type=DOCX_TYPE,
                                headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})
        return web.Response(text=render_html(form, facts, ctx.calendar), content_type="text/html")

    tickets.router.add_get("/{source}/{number}/forms/{form}", handler)
