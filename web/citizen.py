"""The citizen's page (``/c/{token}``): the approved answer and two buttons, 满意 and 不满意.

The link comes in the answer SMS when ``server.public_url`` is set (bot/sms_gateway.py). Its token
is signed and expiring (bot/action_tokens.py, purpose ``citizen``, ``[sms] citizen_link_days``,
default 7) and names one ticket and one round. The page shows only the approved answer of that
round: no name, number, address or other data of the ticket. A decision counts exactly like an SMS
reply (bot/sms_replies.apply_citizen_verdict) and uses the token up. A bad, altered, expired, used
or outdated token gets the same 404 page, so a guess learns nothing.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.action_tokens import TokenClaims, TokenError, verify
from bot.context import CTX, BotContext
from bot.sms_gateway import CITIZEN_PURPOSE, normal_phone
from bot.sms_replies import SATISFIED, UNSATISFIED, apply_citizen_verdict
from store.models import ReviewRequest, SmsReplyRecord, Ticket, UsedToken

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
_STYLE = ("body{font-family:system-ui,-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;margin:0;"
          "padding:16px;background:#f5f6f8;color:#222;line-height:1.6}"
          "main{max-width:560px;margin:0 auto;background:#fff;border-radius:8px;padding:16px}"
          "h1{font-size:1.2em;margin:0 0 12px}.answer{white-space:pre-wrap;border-left:3px solid #3a7;"
          "padding-left:10px}textarea{width:100%;box-sizing:border-box;min-height:4em;margin:12px 0}"
          "button{font-size:1.1em;padding:10px 0;width:48%;border:0;border-radius:6px;color:#fff}"
          ".ok{background:#2a8}.no{background:#c44;float:right}")


def _page(title: str, body: str, status: int = 200) -> web.Response:
    doc = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width,initial-scale=1">'
           f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
           f"<body><main>{body}</main></body></html>")
    return web.Response(status=status, text=doc, content_type="text/html", charset="utf-8",
                        headers=HEADERS)


def not_found() -> web.Response:
    """The one answer for every token that does not open a page."""
    return _page("页面不存在", "<h1>页面不存在或已失效</h1><p>如需反映问题，请拨打12345热线。</p>", 404)


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
    if await s.get(UsedToken, claims.token_id) is not None:
        return None
    answer = (await s.execute(
        select(ReviewRequest.content).where(ReviewRequest.ticket_id == ticket.id, ReviewRequest.kind == "reply",
                                            ReviewRequest.round == round_, ReviewRequest.state == "approved")
        .order_by(ReviewRequest.id.desc()).limit(1))).scalar_one_or_none()
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
    body = (
        "<h1>您反映问题的办理答复</h1>"
        f'<div class="answer">{html.escape(answer)}</div>'
        '<form method="post"><p>您对答复是否满意？可留言（选填）：</p>'
        f'<textarea name="comment" maxlength="{MAX_COMMENT}"></textarea>'
        f'<button class="ok" name="verdict" value="{SATISFIED}">满意</button>'
        f'<button class="no" name="verdict" value="{UNSATISFIED}">不满意</button></form>'
    )
    return _page("办理答复", body)


async def decide(request: web.Request) -> web.Response:
    """``POST /c/{token}``: count the decision once, exactly like an SMS reply."""
    ctx = request.config_dict[CTX]
    form = await request.post()
    verdict = str(form.get("verdict") or "")
    comment = " ".join(str(form.get("comment") or "").split())[:MAX_COMMENT]
    async with ctx.sessions.begin() as s:
        opened = await _open(ctx, s, request.match_info["token"])
        if opened is None:
            return not_found()
        if verdict not in (SATISFIED, UNSATISFIED):
            return _page("请选择", "<h1>请选择「满意」或「不满意」</h1><p>请返回上一页重新选择。</p>", 400)
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
    return _page("感谢评价", f"<h1>感谢您的评价</h1><p>已记录：{html.escape(verdict)}。</p>")


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer of the citizen's page: not cached, not indexed, no referrer, no framing."""
    response = await handler(request)
    response.headers.update(HEADERS)
    return response


def setup_routes(app: web.Application) -> None:
    """Mount the citizen page as the sub-app ``/c``."""
    citizen = web.Application(middlewares=[_headers])
    citizen.router.add_get("/{token}", show)
    citizen.router.add_post("/{token}", decide)
    app.add_subapp("/c", citizen)
