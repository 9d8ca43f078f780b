"""The app factory: one aiohttp app; resources open and close in cleanup contexts, in order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from bot import plugins as plugins  # registers the built-in platforms, SMS providers, commands
from bot import wiring
from bot.bootstrap import build_context, prepare_store
from bot.clock import Clock
from bot.config import Config
from bot.context import CTX
from bot.lifecycle import State
from bot.logs import mask_access_log, quiet_malformed_requests
from bot.preflight import calendar_notice
from store.checkpoint import WalCheckpointer
from store.db import sqlite_file
from store.health import StoreHealth
from store.models import OutboxMessage, Ticket
from web import api as intake

log = logging.getLogger("hotline.app")

STORE_HEALTH: web.AppKey[StoreHealth] = web.AppKey("hotline_store_health", StoreHealth)
"""What ``/healthz`` answers from: the store probed in the background (``store.health``)."""


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    ctx = app[CTX]
    await prepare_store(ctx, migrate=app.get(MIGRATE_KEY, True))
    database = sqlite_file(ctx.engine)
    checkpointer = WalCheckpointer(database) if database else None
    if checkpointer is not None:
        checkpointer.start()
    health = app[STORE_HEALTH]
    health.start()
    yield
    await health.stop()
    if checkpointer is not None:
        await checkpointer.stop()
    await ctx.engine.dispose()


async def _http_ctx(app: web.Application) -> AsyncIterator[None]:
    ctx = app[CTX]
    ctx.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
    yield
    await ctx.http.close()


async def healthz(request: web.Request) -> web.Response:
    """``GET /healthz``: 200 when the store answers, 503 otherwise."""
    ctx = request.app[CTX]
    if await request.app[STORE_HEALTH].ok():
        return web.json_response({"status": "ok", "instance": ctx.instance_id,
                                  "time": ctx.calendar.local(ctx.clock.now()).isoformat()})
    return web.json_response({"status": "unavailable", "error": "store_unavailable",
                              "message": "数据库无法连接。"}, status=503)


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics``: Prometheus text format; ticket and outbox gauges are read at scrape time."""
    ctx = request.app[CTX]
    try:
        async with ctx.sessions() as s:
            by_state = dict((await s.execute(select(Ticket.state, func.count()).group_by(Ticket.state))).all())
            depth = dict((await s.execute(select(OutboxMessage.channel, func.count())
                                          .where(OutboxMessage.state == "pending")
                                          .group_by(OutboxMessage.channel))).all())
        for state in State:
            ctx.metrics.tickets_by_state.labels(state.value).set(by_state.get(state.value, 0))
        for channel in ("chat", "sms", "report"):
            ctx.metrics.outbox_depth.labels(channel).set(depth.get(channel, 0))
    except Exception:  # the store may be down; still export what we have
        log.warning("metrics: store unavailable")
    body = generate_latest(ctx.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _calendar_notice(app: web.Application) -> None:
    """One warning at start when the next 60 days reach a year without official holidays (the
    console shows the same notice as a banner)."""
    ctx = app[CTX]
    notice = calendar_notice(ctx.calendar, ctx.calendar.local_date(ctx.clock.now()))
    if notice:
        log.warning("calendar: %s", notice)


async def _load_model(app: web.Application) -> None:
    """The suggestion model in use, loaded before the first ticket arrives (``bot.reading``)."""
    ctx = app[CTX]
    async with ctx.sessions() as s:
        await ctx.service.reader.current(s)


MIGRATE_KEY: web.AppKey[bool] = web.AppKey("hotline_migrate", bool)


def create_app(config: Config, *, clock: Clock | None = None, migrate: bool = True,
               with_background: bool = True) -> web.Application:
    """The bot's aiohttp app. ``with_background=False`` leaves out senders and the scheduler."""
    app = web.Application(client_max_size=config.intake.max_body_bytes)
    quiet_malformed_requests()
    mask_access_log()
    ctx = build_context(config, clock)
    app[CTX] = ctx
    app[MIGRATE_KEY] = migrate
    app[STORE_HEALTH] = StoreHealth(lambda: ctx.engine)  # the engine of the moment
    app.cleanup_ctx.append(_store_ctx)
    app.cleanup_ctx.append(_http_ctx)
    app.on_startup.append(_calendar_notice)
    app.on_startup.append(_load_model)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    intake.setup_routes(app)
    wiring.install(app, with_background=with_background)
    return app
