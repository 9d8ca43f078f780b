"""Building the domain context and readying its store: what the app factory, the CLI's import
and the benchmarks share, with no web app involved."""

from __future__ import annotations

import logging

from bot import plugins as plugins  # registers the built-in platforms, SMS providers, commands
from bot.attachments import Attachments
from bot.calendar import WorkCalendar
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.context import BotContext
from bot.directory import Directory
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.platforms import platforms
from bot.presets import build_rulebook
from bot.tickets import TicketService
from store.db import create_engine, session_factory
from store.migrate import current_revision, head_revision, is_empty, upgrade
from store.mirror import mirror_directory

log = logging.getLogger("hotline.app")


def build_calendar(config: Config) -> WorkCalendar:
    """The working-day calendar of the config."""
    return config.calendar.work_calendar()


def configured_bots(config: Config) -> dict[str, list[str]]:
    """platform → bot names, with the console when it is enabled."""
    bots = {spec.name: list(config.platforms.bot_tables(spec.name)) for spec in platforms()}
    if config.platforms.console.enabled:
        bots["console"] = ["console"]
    return bots


def build_context(config: Config, clock: Clock | None = None, metrics: Metrics | None = None) -> BotContext:
    """Wire the domain objects (no I/O yet)."""
    clock = clock or SystemClock()
    calendar = build_calendar(config)
    rulebook = build_rulebook(config.procedure.preset, config.procedure.rules)
    directory = Directory.from_config(config)
    outbox = Outbox(directory, clock, configured_bots(config))
    engine = create_engine(config.store.url, echo=config.store.echo)
    service = TicketService(config=config, directory=directory, rulebook=rulebook, calendar=calendar,
                            clock=clock, outbox=outbox)
    return BotContext(config=config, clock=clock, calendar=calendar, rulebook=rulebook,
                      directory=directory, metrics=metrics or Metrics(), engine=engine,
                      sessions=session_factory(engine), outbox=outbox, service=service,
                      attachments=Attachments(config, clock, directory))


async def prepare_store(ctx: BotContext, *, migrate: bool = True) -> None:
    """Bring the store to the newest revision, then mirror the directory into it.

    An empty store is created; a store behind the code (say, a new index after an update) is
    upgraded, so that a restart after ``pip install -U`` needs no extra step.
    """
    empty = await is_empty(ctx.engine)
    current = None if empty else await current_revision(ctx.engine)
    if not empty and current is None:
        raise RuntimeError("the store has tables but no migration revision; run `hotline-bot db upgrade`")
    if migrate and current != head_revision():
        log.info("store at revision %s: applying migrations up to %s", current, head_revision())
        await upgrade(ctx.engine)
    cfg = ctx.config
    async with ctx.sessions.begin() as s:
        ids = await mirror_directory(
            s, [(u.code, u.name, u.parent) for u in cfg.units],
            [(p.name, p.mobile, dict(p.ids), [(r.unit, r.role) for r in p.roles]) for p in cfg.people])
    ctx.directory.bind_ids(ids)
