"""The citizen's page (``/c/{token}``): the approved answer and two buttons, 满意 and 不满意.

The link comes in the answer SMS when ``server.public_url`` is set (bot/sms_gateway.py). Its token
is signed and expiring (bot/action_tokens.py, purpose ``citizen``, ``[sms] citizen_link_days``,
default 7) and names one ticket and one round. The page shows only the approved answer of that
round: no name, number, address or other data of the ticket. A decision counts exactly like an SMS
reply (bot/sms_replies.apply_citizen_verdict) and uses the token up. A bad, altered, expired, used
or outdated token gets the same 404 page, so a guess learns nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.action_tokens import TokenClaims, TokenError, verify
from bot.context import CTX, BotContext
from bot.errors import store_outage
from bot.sms_gateway import CITIZEN_PURPOSE, normal_phone
from bot.sms_replies import SATISFIED, UNSATISFIED, apply_citizen_verdict
from store.models import SmsReplyRecord, Ticket, UsedToken
from store.queries.views import approved_answer, token_used
from web import render
from web.edge import read_form, refuse_unstorable

log = logging.getLogger("hotline.citizen_page")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_TOKEN = 512
MAX_COMMENT = 500
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                "frame-ancestors 'none'"),
}


def _page(title: str, heading: str, text: str, status: int = 200) -> web.Response:
    """A page with a heading and one line (not found, choose, thanks)."""
    return _respond(render.render_text("citizen/page.html", {"title": title, "heading": heading, "text": text}),
                    status)


def _respond(html_text: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text=html_text, content_type="text/html", charset="utf-8",
                        headers=HEADERS)


def not_found() -> web.Response:
    """The one answer for every token that does not open a page."""
    return _page("页面不存在", "页面不存在或已失效", "如需反映问题，请拨打12345热线。", 404)


async def _open(ctx: BotContext, s: AsyncSession, token: str) -> tuple[TokenClaims, Ticket, str] | None:
    """The token's claims, ticket and approved answer, or None for anything not usable."""
    if not token or len(token) > MAX_TOKEN:
        return None
    try:
        claims = verify(ctx.config.effective_secret, token, ctx.clock.now())
        ticket_id, round_ = (int(part) for part in claims.ticket.split(":"))
    except (TokenError, ValueError, KeyError, TypeError):
        return None
    if claims.purpose != CITIZEN_PURPOSE:
        return None
    ticket = await s.get(Ticket, ticket_id)
    if ticket is None or ticket.round != round_:
        return None  # the ticket moved on (reopened): this answer is no longer the one to judge
    if await token_used(s, claims.token_id):
        return None
    answer = await approved_answer(s, ticket.id, round_)
    if answer is None:
        return None
    return claims, ticket, answer


async def show(request: web.Request) -> web.Response:
    """``GET /c/{token}``: the approved answer and the two buttons."""
    ctx = request.config_dict[CTX]
    async with ctx.sessions() as s:
        opened = await _open(ctx, s, request.match_info["token"])
    if opened is None:
        return not_found()
    _claims, _ticket, answer = opened
    return _respond(render.render_text("citizen/page.html", {
        "title": "办理答复", "answer": answer, "max_comment": MAX_COMMENT, "satisfied": SATISFIED,
        "unsatisfied": UNSATISFIED}))


async def decide(request: web.Request) -> web.Response:
    """``POST /c/{token}``: count the decision once, exactly like an SMS reply."""
    ctx = request.config_dict[CTX]
    form = await read_form(request)
    verdict = str(form.get("verdict") or "")
    comment = " ".join(str(form.get("comment") or "").split())[:MAX_COMMENT]
    async with ctx.sessions.begin() as s:
        opened = await _open(ctx, s, request.match_info["token"])
        if opened is None:
            return not_found()
        if verdict not in (SATISFIED, UNSATISFIED):
            return _page("请选择", "请选择「满意」或「不满意」", "请返回上一页重新选择。", 400)
        claims, ticket, _answer = opened
        now = ctx.clock.now()
        try:
            async with s.begin_nested():
                s.add(UsedToken(token_id=claims.token_id, used_at=now))
                await s.flush()
        except IntegrityError:
            return not_found()  # a double submit racing the first one
        text = f"{verdict} {comment}".strip()
        phone = normal_phone(ticket.citizen_phone or "")
        s.add(SmsReplyRecord(ticket_id=ticket.id, phone=phone, text=text, verdict=verdict, provider="page",
                             dedupe_key=f"page:{claims.token_id}", received_at=now))
        await apply_citizen_verdict(ctx, s, ticket, verdict, text, via="citizen_page", phone=phone)
    return _page("感谢评价", "感谢您的评价", f"已记录：{verdict}。")


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer of the citizen's page: not cached, not indexed, no referrer, no framing."""
    response = await handler(request)
    response.headers.update(HEADERS)
    return response


def setup_routes(app: web.Application) -> None:
    """Mount the citizen page as the sub-app ``/c``."""
    citizen = web.Application(middlewares=[store_outage, _headers, refuse_unstorable])
    citizen.router.add_get("/{token}", show)
    citizen.router.add_post("/{token}", decide)
    app.add_subapp("/c", citizen)
