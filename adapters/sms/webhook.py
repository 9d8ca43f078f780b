"""The SMS push route (``POST /webhooks/sms/{provider}``) on the shared webhook pipeline.

Pushes are unsigned (``docs/sms.md``), so "verify" is the ``?token=`` (constant-time compare) and,
when ``[sms] callback_networks`` is set, the source network. Then the body is read under the
app's cap, the provider decodes it into receipts and replies, the domain records them in one
transaction (``bot.sms_replies.record_push``) and only then the provider gets its answer. A
refusal is a :class:`~adapters.webhooks.WebhookRefused` answered like every other webhook's.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from dataclasses import fields
from datetime import datetime

from aiohttp import web

from adapters.http import BodyTooLarge, read_capped
from adapters.webhooks import WebhookRefused, refuse
from bot.config import SmsConfig
from bot.context import CTX
from bot.edge import date_problem, header_bytes, storable, text_problem
from bot.privacy import mask_text
from bot.sms_gateway import SMS_GATEWAY
from bot.sms_port import SmsReceipt, SmsReply
from bot.sms_replies import record_push

log = logging.getLogger("hotline.sms")
PLATFORM = "sms"


def authorized(token: str, remote: str | None, config: SmsConfig) -> bool:
    """The push carries the callback token (constant-time compare) and comes from an allowed network."""
    expected = config.callback_token
    if not expected or not hmac.compare_digest(header_bytes(token), expected.encode()):
        return False
    if not config.callback_networks:
        return True
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in config.callback_networks)


async def sms_webhook(request: web.Request) -> web.StreamResponse:
    """``POST /webhooks/sms/{provider}``: verify, record the receipts and replies, then answer."""
    ctx = request.app[CTX]
    name = request.match_info["provider"]
    try:
        return await _receive(request, name)
    except WebhookRefused as exc:
        return refuse(exc, PLATFORM, name, request, ctx.metrics)


async def _receive(request: web.Request, name: str) -> web.StreamResponse:
    ctx = request.app[CTX]
    provider = request.config_dict[SMS_GATEWAY].provider
    if not authorized(request.query.get("token", ""), request.remote, ctx.config.sms):
        raise WebhookRefused(401, "unauthorized", "回调令牌无效或来源不被允许。")
    if provider is None or name != provider.name:
        raise WebhookRefused(404, "unknown_provider", "未配置该短信通道。")
    try:
        body = await read_capped(request, ctx.config.intake.max_body_bytes)
    except BodyTooLarge:
        raise WebhookRefused(413, "too_large") from None
    try:
        items = provider.parse_callback(body, request.content_type)
    except ValueError as exc:
        log.warning("sms push from %s not understood: %s", provider.name, mask_text(str(exc)))
        raise WebhookRefused(400, "bad_body", "无法解析短信回调内容。") from None
    for item in items:
        if problem := item_problem(item):
            log.warning("sms push from %s refused: %s", provider.name, problem)
            raise WebhookRefused(400, "bad_body", f"短信回调内容有误：{problem}")
    stored = await record_push(ctx, provider.name, items)
    status, content_type, payload = provider.callback_answer(stored)
    return web.Response(status=status, body=payload, content_type=content_type)


# The longest value each field of a push may carry (the store's column, or a sane bound for text).
FIELD_LIMITS: dict[str, int] = {"phone": 32, "provider_id": 100, "out_id": 64, "code": 64,
                                "provider_msg_id": 200, "extend_code": 64, "description": 500, "text": 2000}


def item_problem(item: SmsReceipt | SmsReply) -> str | None:
    """Why a decoded push item cannot be stored the same on SQLite and PostgreSQL, or None."""
    for f in fields(item):
        value = getattr(item, f.name)
        if f.name in FIELD_LIMITS:
            if not isinstance(value, str):
                return f"{f.name} 应为文本"
            if problem := text_problem(value, FIELD_LIMITS[f.name]):
                return f"{f.name} {problem}"
        elif isinstance(value, datetime) and (problem := date_problem(value)):
            return f"{f.name} {problem}"
        elif isinstance(value, dict) and any(not storable(k, 200) or not storable(v, 2000)
                                             for k, v in value.items()):
            return f"{f.name} 含有无效字符"
    return None


def setup_routes(app: web.Application) -> None:
    """Register the push route."""
    app.router.add_post("/webhooks/sms/{provider}", sms_webhook)
