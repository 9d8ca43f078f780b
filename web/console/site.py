"""What the console's pages need of the console: the bot's context, the login gate and the
inbox writer (:class:`ConsoleSite`), and who may see which ticket.

The pages (dashboard, forms, reports) depend on this module, not on the adapter that mounts them.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import BotContext
from bot.directory import Person
from bot.ports import InboxWriter
from store.models import Ticket
from store.queries import tickets as tickets_q
from web import render
from web.console.login import Gate


class ConsoleSite(Protocol):
    """The console as its pages see it (:class:`web.console.adapter.ConsoleAdapter` is one)."""

    ctx: BotContext
    gate: Gate
    inbox: InboxWriter | None


def visible_units(site: ConsoleSite, person: Person) -> set[str] | None:
    """Units whose tickets ``person`` may see; None means every unit (the office)."""
    d = site.ctx.directory
    if person.is_office:
        return None
    return {code for code in d.units if d.may_see_unit(person, code)}


def sees_citizen(person: Person, ticket: Ticket) -> bool:
    """Full citizen details only to the office and the ticket's 承办人 (``docs/design.md``, chat commands)."""
    return person.is_office or (ticket.handler_id is not None and ticket.handler_id == person.id)


async def load_visible_ticket(site: ConsoleSite, s: AsyncSession, person: Person,
                              source: str, number: str) -> Ticket:
    """The ticket, or 404 when unknown or not the viewer's (their unit's, or one their unit
    assists in; no hint which of the two)."""
    ticket = await tickets_q.by_key(s, source, number)
    units = visible_units(site, person)
    if ticket is not None and units is not None and ticket.unit_code not in units:
        assisting = {r.unit_code for r in await tickets_q.ticket_units(s, ticket.id, ticket.round, role="assist")}
        if assisting & set(units):
            return ticket  # a 配合单位 sees the ticket it assists in
    if ticket is None or (units is not None and ticket.unit_code not in units):
        raise web.HTTPNotFound(text=render.render_text("console/message.html", {
            "title": "未找到", "heading": "没有找到该工单", "lines": ["工单不存在，或不属于您的单位。"],
            "back_href": "/console/tickets", "back_label": "返回工单总览"}), content_type="text/html")
    return ticket
