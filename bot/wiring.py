"""Plugging the chat side into the app: adapters, the inbox and its dispatcher, the outbox senders
and the scheduler, each started and stopped by a cleanup context in that order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from adapters.registry import PlatformDeps, platforms
from bot.context import CTX, BotContext
from bot.inbox import Inbox

log = logging.getLogger("hotline.wiring")
INBOX: web.AppKey[Inbox] = web.AppKey("hotline_inbox", Inbox)


def build_adapters(ctx: BotContext) -> dict[str, object]:
    """One adapter per configured platform: the console, then every registered platform that has
    at least one ``[platforms.<name>.<bot>]`` table."""
    from bot.platform_config import platform_bots
    from store.leases import StoreLease

    adapters: dict[str, object] = {}
    cfg = ctx.config
    if cfg.platforms.console.enabled:
        from web.console.adapter import ConsoleAdapter

        adapters["console"] = ConsoleAdapter(ctx)
    lease = StoreLease(ctx.sessions, ctx.clock)
    for spec in platforms():
        bots = platform_bots(cfg, spec.name)
        if not bots:
            continue
        chats = {(c.bot, c.chat_id): spec.chat_options.model_validate(c.options)
                 for u in cfg.units for c in u.chats
                 if c.platform == spec.name and spec.chat_options is not None}
        deps = PlatformDeps(clock=ctx.clock, metrics=ctx.metrics, lease=lease, instance_id=ctx.instance_id,
                            chats=chats)
        adapters[spec.name] = spec.factory(bots, deps)
    return adapters


def install(app: web.Application, *, with_background: bool = True) -> None:
    """Add the chat routes and the background machinery to ``app``."""
    from bot.dispatcher import Dispatcher

    ctx = app[CTX]
    ctx.adapters = build_adapters(ctx)
    for adapter in ctx.adapters.values():
        adapter.setup_routes(app)  # type: ignore[attr-defined]
    dispatcher = Dispatcher(ctx)
    inbox = Inbox(ctx, dispatcher.handle)
    app[INBOX] = inbox
    ctx.extras["inbox"] = inbox
    ctx.extras["dispatcher"] = dispatcher
    app.cleanup_ctx.append(_inbox_ctx)
    from bot import sms_gateway

    sms_gateway.install(app)
    if with_background:
        from bot.sender import sender_ctx

        app.cleanup_ctx.append(sender_ctx)
        try:
            from scheduler.runner import scheduler_ctx
        except ImportError:
            log.info("scheduler not installed")
        else:
            app.cleanup_ctx.append(scheduler_ctx)


async def _inbox_ctx(app: web.Application) -> AsyncIterator[None]:
    ctx = app[CTX]
    inbox = app[INBOX]
    await inbox.start()
    assert ctx.http is not None
    for adapter in ctx.adapters.values():
        await adapter.start(ctx.http, inbox)  # type: ignore[attr-defined]
    yield
    for adapter in ctx.adapters.values():
        await adapter.stop()  # type: ignore[attr-defined]
    await inbox.stop()
