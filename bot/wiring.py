"""Plugging the chat side into the app: adapters, the inbox and its dispatcher, the outbox senders
and the scheduler, each started and stopped by a cleanup context in that order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from adapters import citizen_page
from bot import sms_gateway, sms_replies
from bot.context import CTX, BotContext
from bot.dispatcher import Dispatcher
from bot.inbox import Inbox
from bot.outbox_channels import ChatChannel, ReportChannel
from bot.ports import ChatAdapter, Lease
from bot.sender import SENDER, Sender, sender_ctx
from scheduler.runner import scheduler_ctx
from store.leases import StoreLease

log = logging.getLogger("hotline.wiring")
INBOX: web.AppKey[Inbox] = web.AppKey("hotline_inbox", Inbox)
DISPATCHER: web.AppKey[Dispatcher] = web.AppKey("hotline_dispatcher", Dispatcher)
CHAT_ADAPTERS: web.AppKey[dict[str, ChatAdapter]] = web.AppKey("hotline_chat_adapters", dict)
"""platform → its ChatAdapter."""


def build_adapters(ctx: BotContext) -> dict[str, ChatAdapter]:
    """One adapter per configured platform."""
    from bot.platform_config import platform_model

    adapters: dict[str, ChatAdapter] = {}
    cfg = ctx.config
    if cfg.platforms.console.enabled:
        from adapters.console import ConsoleAdapter

        adapters["console"] = ConsoleAdapter(ctx)
    for platform, cls_name in (("wecom", "WeComAdapter"), ("dingtalk", "DingTalkAdapter"),
                               ("feishu", "FeishuAdapter")):
        tables = getattr(cfg.platforms, platform)
        if not tables:
            continue
        import importlib

        module = importlib.import_module(f"adapters.{platform}")
        model = platform_model(platform)
        bots = {name: model.model_validate(table) for name, table in tables.items()}
        adapters[platform] = getattr(module, cls_name)(
            bots, clock=ctx.clock, metrics=ctx.metrics, instance_id=ctx.instance_id,
            **({"lease": _lease(ctx)} if platform == "wecom" else {}))
    return adapters


def _lease(ctx: BotContext) -> Lease:
    return StoreLease(ctx.sessions, ctx.clock.now)


def install(app: web.Application, *, with_background: bool = True) -> None:
    """Add the chat routes and the background machinery to ``app``."""
    ctx = app[CTX]
    adapters = build_adapters(ctx)
    app[CHAT_ADAPTERS] = adapters
    for adapter in adapters.values():
        adapter.setup_routes(app)
    ctx.channels.register("chat", ChatChannel(ctx, adapters))
    ctx.channels.register("report", ReportChannel(ctx))
    dispatcher = Dispatcher(ctx)
    app[DISPATCHER] = dispatcher
    sender = Sender(ctx) if with_background else None
    app[INBOX] = Inbox(ctx, dispatcher.handle, on_processed=sender.wake if sender else None)
    app.cleanup_ctx.append(_inbox_ctx)
    sms_gateway.install(app)
    sms_replies.setup_routes(app)
    citizen_page.setup_routes(app)
    if sender is not None:
        app[SENDER] = sender
        app.cleanup_ctx.append(sender_ctx)
        app.cleanup_ctx.append(scheduler_ctx)


async def _inbox_ctx(app: web.Application) -> AsyncIterator[None]:
    ctx = app[CTX]
    inbox = app[INBOX]
    adapters = app[CHAT_ADAPTERS]
    await inbox.start()
    assert ctx.http is not None
    for adapter in adapters.values():
        await adapter.start(ctx.http, inbox)
    yield
    for adapter in reversed(adapters.values()):
        await adapter.stop()
    await inbox.stop()
