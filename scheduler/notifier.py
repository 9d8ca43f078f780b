"""Queueing a scan's reminders in the outbox: one executemany per scan, quiet hours applied.

A first scan over a large store may owe tens of thousands of reminders, so everything that does
not depend on the ticket (where a unit's messages go, its leaders, the end of quiet hours, the
outbox row's fixed columns) is worked out once per scan and reused.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.buttons import TicketButtons
from bot.context import BotContext
from bot.directory import Person
from bot.messages import Action, Mention, OutgoingMessage, TargetKind
from bot.outbox import Outbox, Target
from scheduler.owed import Item
from scheduler.quiet import QuietHours, is_exempt
from store.models import OutboxMessage

_OUTBOX_FIELDS = ("channel", "dest_key", "destination", "payload", "ticket_id", "kind", "state", "attempts",
                  "next_attempt_at", "dedupe_key", "created_at")


class Notifier:
    """Queues reminder messages in the outbox, holding them through quiet hours."""

    def __init__(self, ctx: BotContext, s: AsyncSession, now: datetime) -> None:
        self.ctx = ctx
        self.s = s
        self.now = now
        self.quiet_until = QuietHours(ctx.calendar, ctx.config.scheduler.quiet_hours).not_before(now)
        self.people: dict[int, Person] = {p.id: p for p in ctx.directory.people.values() if p.id}
        self._leaders: dict[str, list[Person]] = {}
        self._mentions: dict[str, Mention] = {}
        self._buttons = TicketButtons(ctx.config.effective_secret, ctx.clock)
        self._rows: dict[tuple[TargetKind, str | None, bool], list[dict[str, Any]]] = {}
        self.rows: list[dict[str, Any]] = []
        self.count = 0

    def handler(self, item: Item) -> Person | None:
        """The ticket's 承办人, if it has been accepted."""
        return self.people.get(item.handler_id) if item.handler_id is not None else None

    def leaders(self, unit: str | None) -> list[Person]:
        """The unit's leaders (cached per scan)."""
        if unit is None:
            return []
        if unit not in self._leaders:
            self._leaders[unit] = self.ctx.directory.leaders(unit) if unit in self.ctx.directory.units else []
        return self._leaders[unit]

    def mention(self, person: Person) -> Mention:
        """How to @mention ``person`` (cached per scan)."""
        m = self._mentions.get(person.name)
        if m is None:
            m = self._mentions[person.name] = person.mention()
        return m

    def mentions(self, item: Item, *, leaders: bool = False) -> list[Mention]:
        """@承办人 and the ticket's 包案 leader (平顶山 C/D类 “要确定1名主管领导”), plus the unit's
        leaders when asked."""
        people = [p for p in [self.handler(item), self.ctx.directory.people.get(item.lead_leader or "")]
                  if p is not None]
        if leaders:
            people += [p for p in self.leaders(item.unit_code) if p not in people]
        return [self.mention(p) for p in people]

    def button(self, item: Item, command: str) -> Action:
        """A card button (签收 / 进展) with its signed token."""
        return self._buttons.button(command, command, item.key, "primary")

    def _templates(self, target: Target, held: bool) -> list[dict[str, Any]]:
        """The outbox rows of ``target`` without payload, ticket and kind (cached per unit)."""
        cacheable = target.kind in (TargetKind.UNIT, TargetKind.OFFICE)
        key = (target.kind, target.unit, held)
        if cacheable and key in self._rows:
            return self._rows[key]
        not_before = self.quiet_until if held else None
        out = []
        for dest in self.ctx.outbox.resolve(target):
            row = Outbox.row(dest, {}, channel="chat", ticket_id=None, kind="", now=self.now, not_before=not_before)
            out.append({c: getattr(row, c) for c in _OUTBOX_FIELDS})
        if cacheable:
            self._rows[key] = out
        return out

    def send(self, targets: Target | list[Target], text: str, *, kind: str, item: Item | None = None,
             mentions: Iterable[Mention] = (), actions: Iterable[Action] = (),
             about: Iterable[Item] = ()) -> None:
        """Queue one message about ``item`` (or the tickets ``about``, a list in one message); it
        waits for the end of quiet hours unless one of them is exempt (``scheduler.quiet``)."""
        tickets = [item] if item is not None else about
        held = self.quiet_until is not None and not is_exempt(self.ctx.rulebook, (t.facts for t in tickets))
        msg = OutgoingMessage(text=text, mentions=tuple(mentions), actions=tuple(actions),
                              ticket=item.key if item else None).to_dict()
        seen: set[str] = set()
        for target in targets if isinstance(targets, list) else [targets]:
            for template in self._templates(target, held):
                if template["dest_key"] in seen:
                    continue
                seen.add(template["dest_key"])
                self.rows.append({**template, "payload": msg, "ticket_id": item.id if item else None,
                                  "kind": f"remind_{kind}"})
        self.count += 1

    async def flush(self) -> int:
        """Write the queued outbox rows in one executemany; returns the reminder count."""
        if self.rows:
            conn = await self.s.connection()  # Core executemany: no ORM bulk machinery per row
            await conn.execute(insert(OutboxMessage.__table__), self.rows)
            self.rows = []
        return self.count
