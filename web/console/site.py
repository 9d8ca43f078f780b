"""What the console's pages need of the console: the bot's context, the login gate and the
inbox writer (:class:`ConsoleSite`), and who may see which ticket.

The pages (dashboard, forms, reports) depend on this module, not on the adapter that mounts them.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import NoReturn, Protocol

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import BotContext
from bot.directory import Person
from bot.messages import ChatKind, IncomingMessage
from bot.ports import InboxWriter
from store.models import Ticket
from store.queries import dashboard as queries
from store.queries import tickets as tickets_q
from web import render
from web.console.login import Gate

ACTION_WAIT_SECONDS = 10.0


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


async def run_command(adapter: ConsoleSite, person: Person, t: Ticket, text: str, event_id: str,
                      before: int) -> NoReturn:
    """Send ``text`` as the viewer's own command in their direct chat with the bot, wait for the
    answer, and redirect to the ticket page showing it (outbox rows after ``before``)."""
    event_id = event_id or uuid.uuid4().hex
    message = IncomingMessage(platform="console", bot="console", chat_id=f"dm:{person.name}",
                              chat_kind=ChatKind.DIRECT, sender_id=person.name, text=text,
                              event_id=f"{person.name}:web:{event_id[:64]}")
    if adapter.inbox is None:
        raise web.HTTPServiceUnavailable(text="starting")
    await adapter.inbox(message)
    drain = getattr(adapter.inbox, "drain", None)
    if drain is not None:
        try:
            await asyncio.wait_for(drain(), ACTION_WAIT_SECONDS)
        except TimeoutError:
            pass
    async with adapter.ctx.sessions() as s:
        answer = await queries.first_outbox_after(s, before, f"console:console:dm:{person.name}")
    target = f"/console/tickets/{t.source}/{t.number}" + (f"?msg={answer}" if answer else "")
    raise web.HTTPSeeOther(target)
