"""Writing what the bot owes into the outbox, in the caller's transaction (``docs/design.md``, rules of the road).

Targets (a unit, a person, the office, the chat a command came from) are resolved here into
concrete destinations, one outbox row each, so the sender only ever sees a platform and a chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.directory import Directory, Person
from bot.messages import Destination, OutgoingMessage, TargetKind
from store.models import OutboxMessage


@dataclass(frozen=True, slots=True)
class Target:
    """Who a message is for, before it is resolved to chats."""

    kind: TargetKind
    unit: str | None = None
    person: Person | None = None
    destination: Destination | None = None

    @classmethod
    def to_unit(cls, unit: str) -> Target:
        """Every group chat of ``unit``."""
        return cls(TargetKind.UNIT, unit=unit)

    @classmethod
    def to_person(cls, person: Person) -> Target:
        """One person, directly."""
        return cls(TargetKind.PERSON, person=person)

    @classmethod
    def to_office(cls) -> Target:
        """The office's chats."""
        return cls(TargetKind.OFFICE)

    @classmethod
    def to_chat(cls, destination: Destination) -> Target:
        """The chat a command was said in."""
        return cls(TargetKind.CHAT, destination=destination)


class Outbox:
    """Resolves targets and adds outbox rows to a session."""

    def __init__(self, directory: Directory, clock: Clock, bots: dict[str, list[str]]) -> None:
        self.directory = directory
        self.clock = clock
        self.bots = bots  # platform → configured bot names (console included when enabled)

    def resolve(self, target: Target) -> list[Destination]:
        """The concrete destinations of ``target`` (may be empty: then nothing is queued)."""
        d = self.directory
        if target.kind is TargetKind.CHAT and target.destination is not None:
            return [target.destination]
        if target.kind is TargetKind.UNIT and target.unit:
            return d.unit_destinations(target.unit)
        if target.kind is TargetKind.PERSON and target.person is not None:
            return d.person_destinations(target.person, self.bots)
        if target.kind is TargetKind.OFFICE:
            dests = [dest for unit in d.office_units() for dest in d.unit_destinations(unit)]
            if not dests:  # no office chat: tell each office member directly
                dests = [x for p in d.office_people() for x in d.person_destinations(p, self.bots)]
            return dests
        return []

    def add(self, session: AsyncSession, targets: Target | list[Target], message: OutgoingMessage, *,
            ticket_id: int | None = None, kind: str = "notice", not_before: datetime | None = None,
            dedupe_key: str | None = None) -> list[OutboxMessage]:
        """Queue ``message`` for every destination of ``targets``; duplicates are dropped."""
        now = self.clock.now()
        rows: list[OutboxMessage] = []
        seen: set[str] = set()
        for target in targets if isinstance(targets, list) else [targets]:
            for dest in self.resolve(target):
                if dest.key in seen:
                    continue
                seen.add(dest.key)
                rows.append(self.row(dest, message.to_dict(), channel="chat", ticket_id=ticket_id,
                                     kind=kind, now=now, not_before=not_before,
                                     dedupe_key=f"{dedupe_key}:{dest.key}" if dedupe_key else None))
        session.add_all(rows)
        return rows

    @staticmethod
    def row(dest: Destination, payload: dict[str, Any], *, channel: str, ticket_id: int | None,
            kind: str, now: datetime, not_before: datetime | None = None,
            dedupe_key: str | None = None) -> OutboxMessage:
        """One outbox row (chat, sms or report)."""
        return OutboxMessage(
            channel=channel, dest_key=dest.key, destination=dest.to_dict(), payload=payload,
            ticket_id=ticket_id, kind=kind, state="pending", attempts=0,
            next_attempt_at=max(now, not_before) if not_before else now,
            dedupe_key=dedupe_key, created_at=now)
