"""Serving attachments: the one response every route gives a file, and the signed, expiring link
the hotline receives (``/files/{id}?token=…``). Rights are the caller's check: the console's routes
check the session's unit, this one the link's signature; anything else is a 404."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from bot.context import CTX
from store.models import Attachment

HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
           "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
           "Referrer-Policy": "no-referrer"}


def file_response(row: Attachment, data: bytes) -> web.Response:
    """The file with its stored type; images inline, everything else as a download."""
    disposition = "inline" if row.kind == "image" else "attachment"
    return web.Response(body=data, content_type=row.content_type, headers={
        **HEADERS, "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(row.filename)}"})


async def signed_file(request: web.Request) -> web.Response:
    """``GET /files/{id}?token=``: the file, when the token is this file's and unexpired."""
    ctx = request.app[CTX]
    raw = request.match_info["id"]
    token = request.query.get("token", "")
    if not raw.isdigit() or not ctx.attachments.link_ok(int(raw), token, ctx.clock.now()):
        raise web.HTTPNotFound(text="链接无效或已过期。")
    async with ctx.sessions() as s:
        row = await s.get(Attachment, int(raw))
    if row is None or row.ticket_id is None:
        raise web.HTTPNotFound(text="链接无效或已过期。")
    return file_response(row, ctx.attachments.content(row))


def setup_routes(app: web.Application) -> None:
    """Register ``GET /files/{id}`` (signed links for the hotline)."""
    app.router.add_get("/files/{id}", signed_file)
