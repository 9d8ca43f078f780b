"""Everything a request handler or background task needs, built once per app (no globals)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.attachments import Attachments
from bot.calendar import WorkCalendar
from bot.channels import Channels
from bot.clock import Clock
from bot.config import Config
from bot.deadlines import RuleBook
from bot.directory import Directory
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.tickets import TicketService


@dataclass
class BotContext:
    """The domain services every handler and job shares, stored under :data:`CTX`.

    Runtime parts (the chat adapters, inbox, dispatcher, sender, scheduler, SMS gateway, intake
    batcher) are not here: each has its own typed ``web.AppKey`` next to its class."""

    config: Config
    clock: Clock
    calendar: WorkCalendar
    rulebook: RuleBook
    directory: Directory
    metrics: Metrics
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    outbox: Outbox
    service: TicketService
    attachments: Attachments
    """Photos and files attached to tickets (limits, file store, signed links)."""
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    http: aiohttp.ClientSession | None = None
    channels: Channels = field(default_factory=Channels)
    """The outbox channels (``chat``, ``sms``, ``report``), registered by the wiring."""


CTX: web.AppKey[BotContext] = web.AppKey("hotline_ctx", BotContext)
