"""At registration, an unrouted ticket gets the model's dispatch suggestion: a card to the office
with a 「按建议派单」 button, or, above ``[intelligence] auto_dispatch_above``, a dispatch the bot
makes itself and tells the office about. The office is also told of 重复件 and 涉众."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.buttons import TicketButtons
from bot.calendar import WorkCalendar
from bot.config import Config
from bot.directory import Directory
from bot.messages import OutgoingMessage
from bot.outbox import Outbox, Target
from bot.reading.cards import SUGGEST_COMMAND, auto_dispatched_text, percent, suggestion_text
from bot.reading.related import TAG as RELATED_TAG
from bot.reading.related import office_note as related_note
from bot.reading.related import related_tickets
from bot.reading.repeats import earlier_tickets, office_note
from bot.reading.service import ModelHolder, Suggestion
from store.models import Ticket
from store.queries import tickets as tickets_q


class TicketService(Protocol):
    """What advising needs of :class:`bot.tickets.TicketService` (not imported: it imports us)."""

    config: Config
    calendar: WorkCalendar
    directory: Directory
    outbox: Outbox
    buttons: TicketButtons
    reader: ModelHolder

    def audit(self, s: AsyncSession, ticket: Ticket | None, person: Any, action: str, text: str | None,
              before: str | None, after: str | None, detail: dict[str, Any] | None = None, *,
              outcome: str = "ok", actor_name: str | None = None) -> Any: ...

    async def dispatch(self, s: AsyncSession, ticket: Ticket, unit: str, person: Any, text: str | None) -> None: ...

SYSTEM = "系统"


async def advise(service: TicketService, s: AsyncSession, ticket: Ticket) -> Suggestion | None:
    """Suggest (or, above the threshold, make) the dispatch of ``ticket``; None without a model."""
    found = await service.reader.suggest(s, ticket)
    if found is None or found.unit is None or found.unit.label not in service.directory.units:
        return None
    unit = found.unit.label
    detail = {"unit": unit, "confidence": round(found.unit.confidence, 4), "version": found.version,
              "category": found.category.label if found.category else None,
              "similar": [n.key for n in found.similar]}
    threshold = service.config.intelligence.auto_dispatch_above
    name = service.directory.unit_name(unit)
    if threshold is not None and found.unit.confidence >= threshold:
        service.audit(s, ticket, None, "suggest", None, ticket.state, ticket.state, {**detail, "auto": True},
                      actor_name=SYSTEM)
        await service.dispatch(s, ticket, unit, None, f"按建议自动派单（置信度 {percent(found.unit.confidence)}）")
        service.outbox.add(s, Target.to_office(), OutgoingMessage(auto_dispatched_text(ticket, found, name)),
                           ticket_id=ticket.id, kind="suggestion")
        return found
    service.audit(s, ticket, None, "suggest", None, ticket.state, ticket.state, detail, actor_name=SYSTEM)
    similar = []
    for n in found.similar:
        source, _, number = n.key.partition("/")
        past = await tickets_q.by_key(s, source, number)
        if past is not None:
            where = service.directory.unit_name(past.unit_code) if past.unit_code else "未派单"
            similar.append(f"{past.number}（{where}，相似度 {percent(n.similarity)}）")
    service.outbox.add(s, Target.to_office(), OutgoingMessage(
        suggestion_text(ticket, found, name, similar), title=f"派单建议 {ticket.number}", ticket=ticket.key,
        card_key=f"suggest:{ticket.key}:{ticket.round}",
        actions=(service.buttons.button(SUGGEST_COMMAND, SUGGEST_COMMAND, ticket.key, "primary"),)),
        ticket_id=ticket.id, kind="suggestion")
    return found


async def tell_office_of_repeat(service: TicketService, s: AsyncSession, ticket: Ticket) -> None:
    """The office's note about a new 重复件: the earlier tickets it repeats and their answers."""
    found = await earlier_tickets(s, ticket)
    if found:
        service.outbox.add(s, Target.to_office(), OutgoingMessage(
            office_note(service.calendar, ticket, found), title=f"重复件 {ticket.number}", ticket=ticket.key),
            ticket_id=ticket.id, kind="repeat")


async def mark_related(service: TicketService, s: AsyncSession, ticket: Ticket, window_days: int) -> None:
    """涉众: tag ``ticket``, audit the earlier tickets of other citizens about the same matter at the
    same place, and tell the office (``[intelligence] related_similarity``)."""
    found = await related_tickets(s, ticket, window_days, service.config.intelligence.related_similarity)
    if not found:
        return
    if RELATED_TAG not in ticket.tags:
        ticket.tags = [*ticket.tags, RELATED_TAG]
    service.audit(s, ticket, None, "related", None, ticket.state, ticket.state,
                  {"related": [t.key for t in found], "address": ticket.address}, actor_name=SYSTEM)
    service.outbox.add(s, Target.to_office(), OutgoingMessage(
        related_note(service.calendar, ticket, found), title=f"{RELATED_TAG} {ticket.number}", ticket=ticket.key),
        ticket_id=ticket.id, kind="related")
