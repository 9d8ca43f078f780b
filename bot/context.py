"""Everything a request handler or background task needs, built once per app (no globals)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.calendar import WorkCalendar
from bot.clock import Clock
from bot.config import Config
from bot.deadlines import RuleBook
from bot.directory import Directory
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.tickets import TicketService


@dataclass
class BotContext:
    """The app's shared state, stored under :data:`CTX`."""

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
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    http: aiohttp.ClientSession | None = None
    adapters: dict[str, Any] = field(default_factory=dict)  # platform → ChatAdapter
    sms_provider: Any = None
    extras: dict[str, Any] = field(default_factory=dict)


CTX: web.AppKey[BotContext] = web.AppKey("hotline_ctx", BotContext)
