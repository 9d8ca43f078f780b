"""Plugging the chat side into the app: adapters, the inbox and its dispatcher, the outbox senders
and the scheduler, each started and stopped by a cleanup context in that order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from adapters.sms import webhook as sms_webhook
from bot import sms_gateway
from bot.context import CTX, BotContext
from bot.dispatcher import Dispatcher
from bot.inbox import Inbox
from bot.outbox_channels import ChatChannel, ReportChannel
from bot.platform_config import platform_bots
from bot.platforms import PlatformDeps, platforms
from bot.plugins import COMMANDS
from bot.ports import ChatAdapter, FileSource
from bot.sender import SENDER, Sender, sender_ctx
from scheduler.runner import scheduler_ctx
from store.leases import StoreLease
from web import citizen as citizen_page
from web import files as file_links
from web.console.adapter import ConsoleAdapter

log = logging.getLogger("hotline.wiring")
INBOX: web.AppKey[Inbox] = web.AppKey("hotline_inbox", Inbox)
DISPATCHER: web.AppKey[Dispatcher] = web.AppKey("hotline_dispatcher", Dispatcher)
CHAT_ADAPTERS: web.AppKey[dict[str, ChatAdapter]] = web.AppKey("hotline_chat_adapters", dict)
"""platform → its ChatAdapter."""


def build_adapters(ctx: BotContext) -> dict[str, ChatAdapter]:
    """One adapter per configured platform: the console, then every registered platform that has
    at least one ``[platforms.<name>.<bot>]`` table."""
    adapters: dict[str, ChatAdapter] = {}
    cfg = ctx.config
    if cfg.platforms.console.enabled:
        adapters["console"] = ConsoleAdapter(ctx)
    lease = StoreLease(ctx.sessions, ctx.clock.now)
    for spec in platforms():
        bots = platform_bots(cfg, spec.name)
        if not bots:
            continue
        chats = {(c.bot, c.chat_id): spec.chat_options.model_validate(c.options)
                 for u in cfg.units for c in u.chats
                 if c.platform == spec.name and spec.chat_options is not None}
        deps = PlatformDeps(clock=ctx.clock, metrics=ctx.metrics, lease=lease, instance_id=ctx.instance_id,
                            chats=chats, sessions=ctx.sessions)
        adapters[spec.name] = spec.factory(bots, deps)
    return adapters


def install(app: web.Application, *, with_background: bool = True) -> None:
    """Add the chat routes and the background machinery to ``app``."""
    ctx = app[CTX]
    adapters = build_adapters(ctx)
    app[CHAT_ADAPTERS] = adapters
    for adapter in adapters.values():
        adapter.setup_routes(app)
    ctx.channels.register("chat", ChatChannel(ctx, adapters))
    ctx.channels.register("report", ReportChannel(ctx))
    dispatcher = Dispatcher(ctx, COMMANDS, file_sources={
        name: a for name, a in adapters.items() if isinstance(a, FileSource)})
    app[DISPATCHER] = dispatcher
    sender = Sender(ctx) if with_background else None
    app[INBOX] = Inbox(ctx, dispatcher.handle, on_processed=sender.wake if sender else None,
                       prefetch=dispatcher.prefetch)
    app.cleanup_ctx.append(_inbox_ctx)
    sms_gateway.install(app)
    sms_webhook.setup_routes(app)
    citizen_page.setup_routes(app)
    file_links.setup_routes(app)
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
