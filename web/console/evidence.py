"""Attachments in the console: upload a photo or file with a 进展 / 答复 / 退单 / 说明, and view a
ticket's files. Both go through the ticket's rights (``load_visible_ticket``): another unit's
ticket, or a file of another ticket, is a 404; no session is the login page.

An upload is kept pending for the viewer's console chat, then the command is sent as the viewer's
own (``dashboard.run_command``), so the chat's rules apply and the command claims the file.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attachments import PURPOSE_LABELS, AttachmentRefused, size_label
from bot.context import BotContext
from bot.notices import fmt_time
from store.models import Attachment, Ticket
from store.queries import attachments as attachments_q
from store.queries import dashboard as queries
from web import render
from web.console.login import PERSON
from web.console.site import ConsoleSite, load_visible_ticket, run_command
from web.files import file_response

COMMANDS = ("进展", "答复", "退单", "说明")
FORM_OVERHEAD = 64 * 1024  # the other fields of the multipart form


async def listing(ctx: BotContext, s: AsyncSession, t: Ticket) -> list[dict[str, Any]]:
    """The ticket's attachments as the ticket page and the forms show them: what for, the file,
    who attached it (name, title, phone: 平顶山 "负责人信息（含姓名、职务、联系方式）") and when."""
    out = []
    for a in await attachments_q.of_ticket(s, t.id):
        who = ctx.attachments.who(a)
        out.append({"id": a.id, "name": a.filename, "image": a.kind == "image", "size": a.size,
                    "purpose": PURPOSE_LABELS.get(a.purpose or "", a.purpose or ""), "round": a.round,
                    "who": "，".join(x for x in (who["name"], who["title"], who["phone"]) if x),
                    "at": fmt_time(ctx.calendar, a.attached_at),
                    "url": f"/console/tickets/{t.source}/{t.number}/attachments/{a.id}"})
    return out


def _refused(source: str, number: str, status: int, line: str) -> web.Response:
    return web.Response(status=status, content_type="text/html", text=render.render_text("console/message.html", {
        "title": "附件未保存", "heading": "附件未保存", "lines": [line],
        "back_href": f"/console/tickets/{source}/{number}", "back_label": "返回工单"}))


def setup(tickets: web.Application, site: ConsoleSite) -> None:
    """Register the upload and file routes on the dashboard's ``/console/tickets`` sub-app."""

    async def show(request: web.Request) -> web.Response:
        """``GET /{source}/{number}/attachments/{id}``: the file, to those who may see the ticket."""
        person = request[PERSON]
        raw = request.match_info["id"]
        async with site.ctx.sessions() as s:
            t = await load_visible_ticket(site, s, person, request.match_info["source"], request.match_info["number"])
            row = await s.get(Attachment, int(raw)) if raw.isdigit() else None
        if row is None or row.ticket_id != t.id:
            raise web.HTTPNotFound(text="没有这个附件。")
        return file_response(row, site.ctx.attachments.content(row))

    async def upload(request: web.Request) -> web.Response:
        """``POST /{source}/{number}/attachments``: a file (multipart ``file``) with its command."""
        person = request[PERSON]
        ctx = site.ctx
        source, number = request.match_info["source"], request.match_info["number"]
        async with ctx.sessions() as s:
            t = await load_visible_ticket(site, s, person, source, number)
            before = await queries.last_outbox_id(s)
        limit = ctx.attachments.limits.max_bytes
        try:
            form = await request.clone(client_max_size=limit + FORM_OVERHEAD).post()
        except web.HTTPRequestEntityTooLarge:
            return _refused(source, number, 413, f"文件超过 {size_label(limit)} 的上限，请压缩或拆分后重新上传。")
        cmd = str(form.get("cmd", ""))
        note = " ".join(str(form.get("note", "")).split())
        upload = form.get("file")
        if cmd not in COMMANDS:
            raise web.HTTPBadRequest(text="unknown command")
        if not isinstance(upload, web.FileField):
            return _refused(source, number, 400, "请选择要上传的图片或文件。")
        data = upload.file.read()
        # browsers send the UTF-8 name as is; some clients (aiohttp's FormData) percent-encode it
        name = unquote(upload.filename or "")
        try:
            async with ctx.sessions.begin() as s:
                ctx.attachments.keep(s, data, name=name, platform="console",
                                     chat_id=f"dm:{person.name}", message_id=None, person_id=person.id)
        except AttachmentRefused as exc:
            return _refused(source, number, 413 if len(data) > limit else 415, str(exc))
        await run_command(site, person, t, f"{cmd} {t.number} {note}".strip(), str(form.get("event_id", "")),
                          before)

    tickets.router.add_get("/{source}/{number}/attachments/{id}", show)
    tickets.router.add_post("/{source}/{number}/attachments", upload)
