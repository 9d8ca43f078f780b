"""Helpers for the scheduler tests: tickets made through the real TicketService at chosen times,
and the outbox read back as the reminders the scans queued."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.config import Config
from bot.context import BotContext
from bot.intake import TicketIn
from bot.messages import OutgoingMessage
from scheduler.reports import reports_dir
from scheduler.runner import SchedulerRunner
from store.models import OutboxMessage, Ticket


def monthly_files(config: Config, month: str = "2026-11") -> list[Path]:
    """The monthly job's .xlsx and .png for ``month`` (those it wrote), in that order."""
    stem = reports_dir(config) / f"hotline-report-{month}"
    return [f for f in (stem.with_suffix(".xlsx"), stem.with_suffix(".png")) if f.exists()]


class Desk:
    """The office and the units at work: register, dispatch, accept, report progress — each at a
    chosen moment of the frozen clock."""

    def __init__(self, ctx: BotContext, clock: FrozenClock) -> None:
        self.ctx = ctx
        self.clock = clock

    def person(self, name: str) -> Any:
        return self.ctx.directory.people[name]

    async def ticket(self, number: str, *, at: datetime, unit: str | None = "YLK",
                     accept_by: str | None = "张承办", **fields: Any) -> int:
        """Register (and dispatch to ``unit``, and accept by ``accept_by``) at ``at``."""
        self.clock.set(at)
        data = TicketIn(source=fields.pop("source", "12345"), number=number, received_at=fields.pop("received_at", at),
                        content=fields.pop("content", f"诉求 {number}"), kind=fields.pop("kind", "求助"),
                        unit=unit, **fields)
        async with self.ctx.sessions.begin() as s:
            result = await self.ctx.service.register(s, data, via="api")
            ticket = result.ticket
            if unit and accept_by:
                await self.ctx.service.accept(s, ticket, self.person(accept_by), f"签收 {number}")
            return ticket.id

    async def do(self, number: str, at: datetime, action: str, *args: Any) -> None:
        """Run a TicketService step on ticket ``number`` at ``at``."""
        self.clock.set(at)
        async with self.ctx.sessions.begin() as s:
            ticket = (await s.execute(select(Ticket).where(Ticket.number == number))).scalar_one()
            await getattr(self.ctx.service, action)(s, ticket, *args)

    async def set_fields(self, number: str, **values: Any) -> None:
        """Write known values straight into a ticket row (fixtures for the report figures)."""
        async with self.ctx.sessions.begin() as s:
            ticket = (await s.execute(select(Ticket).where(Ticket.number == number))).scalar_one()
            for key, value in values.items():
                setattr(ticket, key, value)


async def reminders(ctx: BotContext, kind: str | None = None) -> list[OutboxMessage]:
    """Outbox rows queued by the scheduler (``remind_*`` and ``report_*``), oldest first."""
    q = select(OutboxMessage).where(OutboxMessage.kind.like("remind_%") | OutboxMessage.kind.like("report_%"))
    if kind is not None:
        q = select(OutboxMessage).where(OutboxMessage.kind == kind)
    async with ctx.sessions() as s:
        return list((await s.execute(q.order_by(OutboxMessage.id))).scalars())


def text(row: OutboxMessage) -> str:
    return OutgoingMessage.from_dict(row.payload).text


def mentioned(row: OutboxMessage) -> list[str]:
    return [m.name for m in OutgoingMessage.from_dict(row.payload).mentions]


def buttons(row: OutboxMessage) -> list[str]:
    return [a.command for a in OutgoingMessage.from_dict(row.payload).actions]


@pytest.fixture
def desk_for(clock: FrozenClock) -> Callable[[BotContext], Desk]:
    return lambda ctx: Desk(ctx, clock)


@pytest.fixture
async def sched(make_bot: Callable[..., Any], clock: FrozenClock) -> Callable[..., Any]:
    """``bot, desk, runner = await sched(**config_overrides)``: the app (no background tasks) plus a
    scheduler runner over its context, driven by the frozen clock."""
    async def make(**overrides: Any) -> tuple[Any, Desk, SchedulerRunner]:
        bot = await make_bot(**overrides)
        return bot, Desk(bot.ctx, clock), SchedulerRunner(bot.ctx)
    return make
