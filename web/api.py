"""The ticket intake API (``docs/api.md``): signed POSTs from the hotline, and the bearer-token read API.

Signature: lowercase hex HMAC-SHA256(intake secret, ``timestamp + "." + raw_body``), timestamp in
unix seconds within 300 s of now, compared in constant time. The body size is checked against
Content-Length before it is read, and again while reading.
"""

from __future__ import annotations

import hashlib
import hmac
import time as _time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import ValidationError

from adapters.http import BodyTooLarge, read_capped
from bot import safe_json
from bot.context import CTX, BotContext
from bot.edge import header_bytes, text_problem
from bot.errors import error_response, store_outage
from bot.intake import TicketEventIn, field_errors, parse_ticket
from bot.intake_batch import INTAKE_BATCHER, IntakeBatcher, intake_batcher_ctx
from bot.lifecycle import OPEN_STATES, LifecycleError, State
from bot.ticket_rows import session_rows
from bot.units import resolve_unit
from bot.views import ticket_view
from store.models import Ticket
from store.queries import tickets as tickets_q
from store.queries.views import TicketRecord, load_record, load_records, page_of_tickets


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The intake signature of ``body`` at ``timestamp``."""
    # hmac.new, not the one-shot hmac.digest: that one releases the GIL for every call, and the
    # SQLite thread then holds it for milliseconds while the event loop waits to take it back.
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


async def _read_signed(request: web.Request) -> bytes | web.Response:
    """Body of a correctly signed request, or the error answer to send."""
    ctx = request.config_dict[CTX]
    limit = ctx.config.intake.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return _too_large(limit)
    ts = request.headers.get("X-Hotline-Timestamp", "")
    sig = request.headers.get("X-Hotline-Signature", "")
    if not ts or not sig:
        return error_response(401, "unsigned", "缺少签名头 X-Hotline-Timestamp / X-Hotline-Signature。")
    # At most 12 ASCII digits: int() of hundreds of digits cannot be compared with a float clock.
    if not (ts.isascii() and ts.isdigit() and len(ts) <= 12):
        return error_response(401, "bad_timestamp", "时间戳格式不对。")
    ts_value = int(ts)
    window = ctx.config.intake.window_seconds
    if abs(ctx.clock.now().timestamp() - ts_value) > window:
        return error_response(401, "stale", f"时间戳超出 {window} 秒有效期。")
    try:
        body = await read_capped(request, limit)
    except BodyTooLarge:
        return _too_large(limit)
    # Bytes, not str: compare_digest raises TypeError on non-ASCII text.
    if not hmac.compare_digest(sign(ctx.config.intake.secret, ts, body).encode(), header_bytes(sig.lower())):
        return error_response(401, "bad_signature", "签名不正确。")
    if request.content_type != "application/json":
        return error_response(415, "not_json", "请以 application/json 提交。")
    return body


def _too_large(limit: int) -> web.Response:
    # The limit is configurable ([intake] max_body_bytes): say the one in force.
    size = f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit} 字节"
    return error_response(413, "too_large", f"请求体超过 {size}。")


M = TypeVar("M")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(body: bytes) -> Any | web.Response:
    try:
        return safe_json.loads(body)
    except safe_json.BadJson:
        return error_response(400, "invalid_json", "请求体不是有效的 JSON。")


async def _signed_model(request: web.Request, parse: Callable[[Any], M], what: str) -> M | web.Response:
    """A signed JSON object body validated by ``parse``, or the error answer (401/413/415/400)."""
    body = await _read_signed(request)
    if isinstance(body, web.Response):
        return body
    data = _json(body)
    if isinstance(data, web.Response):
        return data
    if not isinstance(data, dict):
        return error_response(400, "invalid", "请求体应为 JSON 对象。")
    try:
        return parse(data)
    except ValidationError as exc:
        fields = field_errors(exc)
        return error_response(400, "invalid", what + "、".join(fields), fields)


def _view_of(ctx: BotContext, record: TicketRecord) -> dict[str, Any]:
    """The public view of a ticket record."""
    return ticket_view(record.ticket, record.events, ctx.calendar, ctx.directory, record.sms, record.replies,
                       record.units)


async def _view(ctx: BotContext, s: Any, ticket: Ticket) -> dict[str, Any]:
    """The view of a stored ticket, read from the store."""
    return _view_of(ctx, await load_record(s, ticket))


async def post_ticket(request: web.Request) -> web.Response:
    """``POST /api/v1/tickets``: 201 created, 200 identical again, 409 conflict."""
    ctx = request.config_dict[CTX]
    started = _time.perf_counter()
    status = await _post_ticket(request, ctx)
    ctx.metrics.intake_answered(status.status, _time.perf_counter() - started)
    return status


async def _post_ticket(request: web.Request, ctx: BotContext) -> web.Response:
    ticket_in = await _signed_model(request, parse_ticket, "工单字段有误：")
    if isinstance(ticket_in, web.Response):
        return ticket_in
    if ticket_in.unit:
        # The unit may be named by code or by name; it is stored (and hashed) by code.
        code = resolve_unit(ctx.directory.units.values(), ticket_in.unit)
        if code is None:
            return error_response(400, "invalid", "工单字段有误：unit",
                                  {"unit": f"没有这个承办单位：{ticket_in.unit}"})
        if code != ticket_in.unit:
            ticket_in = ticket_in.model_copy(update={"unit": code})
    result, view = await request.config_dict[INTAKE_BATCHER].register(ticket_in)
    if result.conflict:
        return error_response(409, "conflict", f"工单 {ticket_in.number} 已存在且内容不同。",
                              {"number": "已存在且内容不同"})
    return _answer(view, 201 if result.created else 200)


def _batcher(ctx: BotContext) -> IntakeBatcher:
    """The app's intake batcher, answering each ticket with its view."""
    async def view(s: Any, ticket: Any, new: bool) -> Callable[[], dict[str, Any]]:
        if new:  # its rows are the session's (no query), and it has no citizen replies yet
            events, sms = session_rows(s, ticket)
            return partial(ticket_view, ticket, events, ctx.calendar, ctx.directory, sms, [])
        stored = await _view(ctx, s, ticket)
        return lambda: stored

    return IntakeBatcher(ctx, view)


def _answer(obj: Any, status: int = 200) -> web.Response:
    """A JSON answer, UTF-8 as is (no \\u escapes), encoded by orjson: the intake's hot path."""
    return web.Response(body=orjson.dumps(obj), status=status, content_type="application/json")


async def post_event(request: web.Request) -> web.Response:
    """``POST /api/v1/tickets/{source}/{number}/events``: urge, reopen, extension_decision, close,
    deadline (the final deadline, 平顶山 C类), supervise (a 督办 level)."""
    ctx = request.config_dict[CTX]
    event = await _signed_model(request, TicketEventIn.model_validate, "事件字段有误：")
    if isinstance(event, web.Response):
        return event
    if event.type == "extension_decision" and event.granted is not False and event.deadline is None:
        # Otherwise a grant without a date would read as a refusal.
        return error_response(400, "invalid", "事件字段有误：deadline", {"deadline": "同意延期时必填"})
    if event.type == "deadline" and event.deadline is None:
        return error_response(400, "invalid", "事件字段有误：deadline", {"deadline": "确定时限时必填"})
    if event.type == "supervise" and event.level is None:
        return error_response(400, "invalid", "事件字段有误：level", {"level": "督办时必填：书面、现场、重点或移交"})
    source, number = request.match_info["source"], request.match_info["number"]
    if bad := _bad_key(source, number):
        return bad
    async with ctx.sessions.begin() as s:
        ticket = await tickets_q.by_key(s, source, number)
        if ticket is None:
            return error_response(404, "not_found", f"没有工单 {source}/{number}。")
        try:
            async with s.begin_nested():  # a refused event leaves no ledger row: a retry is judged again
                await ctx.service.hotline_event_once(s, ticket, event)
        except LifecycleError as exc:
            return error_response(409, "wrong_state", str(exc))
        view = await _view(ctx, s, ticket)
    return _answer(view)


def _authorized(request: web.Request) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    token = header_bytes(header[7:].strip())
    return any(hmac.compare_digest(token, t.encode()) for t in request.config_dict[CTX].config.api.tokens)


@web.middleware
async def _read_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The read API's own gate: a GET of a known route needs a bearer token of ``[api] tokens``."""
    routed = request.match_info.http_exception is None
    if routed and request.method in ("GET", "HEAD") and not _authorized(request):
        return error_response(401, "unauthorized", "缺少或无效的访问令牌。")
    return await handler(request)


async def get_ticket(request: web.Request) -> web.Response:
    """``GET /api/v1/tickets/{source}/{number}``."""
    ctx = request.config_dict[CTX]
    if bad := _bad_key(request.match_info["source"], request.match_info["number"]):
        return bad
    async with ctx.sessions() as s:
        ticket = await tickets_q.by_key(s, request.match_info["source"], request.match_info["number"])
        if ticket is None:
            return error_response(404, "not_found", "没有这个工单。")
        view = await _view(ctx, s, ticket)
    return _answer(view)


async def list_tickets(request: web.Request) -> web.Response:
    """``GET /api/v1/tickets?state=&unit=&overdue=&tag=&limit=&offset=``."""
    ctx = request.config_dict[CTX]
    q = request.query
    limit, offset = _bounded(q.get("limit", "50")), _bounded(q.get("offset", "0"))
    if limit is None or offset is None:
        field = "limit" if limit is None else "offset"
        return error_response(400, "invalid", f"{field} 应为 0—{MAX_OFFSET} 之间的整数。",
                              {field: f"应为 0—{MAX_OFFSET} 之间的整数"})
    limit = min(max(limit, 1), 500)
    if q.get("state") and q["state"] not in State.__members__.values():
        return error_response(400, "invalid", "state 取值不对。", {"state": "取值不对"})
    for key in ("unit", "tag"):
        if problem := text_problem(q.get(key, ""), 64):
            return error_response(400, "invalid", f"{key} {problem}。", {key: problem})
    overdue = q.get("overdue") in ("1", "true", "yes")
    async with ctx.sessions() as s:
        total, page = await page_of_tickets(
            s, state=q.get("state", ""), unit=q.get("unit", ""), tag=q.get("tag", ""),
            deadline_before=ctx.clock.now() if overdue else None,
            open_states=[str(x) for x in OPEN_STATES], limit=limit, offset=offset)
        items = [_view_of(ctx, r) for r in await load_records(s, page)]
    return _answer({"items": items, "total": total})


# Beyond any real table; keeps the number inside SQLite's and PostgreSQL's 64-bit integers.
MAX_OFFSET = 10_000_000


def _bounded(text: str) -> int | None:
    """A query integer within 0..MAX_OFFSET (negative values count as 0), or None."""
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 8):
        return None
    value = max(int(text), 0)
    return value if value <= MAX_OFFSET else None


def _bad_key(source: str, number: str) -> web.Response | None:
    """400 naming the field when a path's source or number cannot be a stored key."""
    for field, value, size in (("source", source, 32), ("number", number, 64)):
        if problem := text_problem(value, size):
            return error_response(400, "invalid", f"{field} {problem}。", {field: problem})
    return None


def setup_routes(app: web.Application) -> None:
    """Mount the intake and read API as the sub-app ``/api/v1/tickets``; the intake batcher lives on
    the root app, closed by its cleanup context before the store."""
    app[INTAKE_BATCHER] = _batcher(app[CTX])
    app.cleanup_ctx.append(intake_batcher_ctx)
    api = web.Application(middlewares=[store_outage, _read_auth])
    api.router.add_post("", post_ticket)
    api.router.add_post("/{source}/{number}/events", post_event)
    api.router.add_get("", list_tickets)
    api.router.add_get("/{source}/{number}", get_ticket)
    app.add_subapp("/api/v1/tickets", api)
