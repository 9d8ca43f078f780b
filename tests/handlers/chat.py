"""A test helper that talks to the bot as people in group chats do, through the real inbox."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select

from bot.messages import ChatKind, IncomingMessage
from bot.wiring import INBOX
from store.models import AuditEvent, OutboxMessage, Ticket

_ids = itertools.count(1)


class Chat:
    """Say things as a person; read what the bot queued in the outbox."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.seen = 0

    @property
    def inbox(self) -> Any:
        return self.bot.client.app[INBOX]

    async def say(self, person: str, text: str, *, chat: str = "ylk", direct: bool = False,
                  mentioned: bool = True, quoted: str | None = None,
                  action: dict[str, Any] | None = None, message_id: str | None = None,
                  event_id: str | None = None) -> list[OutboxMessage]:
        """Send one message and return the outbox rows it produced."""
        msg = IncomingMessage(
            platform="console", bot="console", chat_id="" if direct else chat,
            chat_kind=ChatKind.DIRECT if direct else ChatKind.GROUP, sender_id=person, text=text,
            mentioned_bot=mentioned, quoted_message_id=quoted, action=action,
            event_id=event_id or f"ev-{next(_ids)}", message_id=message_id)
        await self.inbox(msg)
        await self.inbox.drain()
        return await self.new_rows()

    async def click(self, person: str, row: OutboxMessage, command: str, *, note: str = "",
                    chat: str = "ylk") -> list[OutboxMessage]:
        """Click the button ``command`` on the card carried by outbox ``row``."""
        action = next(a for a in row.payload["actions"] if a["command"] == command)
        data = {"cmd": action["command"], "ticket": action["ticket"], "token": action["token"]}
        if note:
            data["note"] = note
        return await self.say(person, "", chat=chat, action=data, mentioned=False,
                              message_id=f"card-{row.id}")

    async def new_rows(self) -> list[OutboxMessage]:
        """Outbox rows queued since the last look."""
        async with self.bot.ctx.sessions() as s:
            rows = list((await s.execute(select(OutboxMessage).where(OutboxMessage.id > self.seen)
                                         .order_by(OutboxMessage.id))).scalars())
        if rows:
            self.seen = rows[-1].id
        return rows

    async def ticket(self, number: str) -> Ticket:
        async with self.bot.ctx.sessions() as s:
            return (await s.execute(select(Ticket).where(Ticket.number == number))).scalar_one()

    async def audit(self, number: str | None = None) -> list[AuditEvent]:
        async with self.bot.ctx.sessions() as s:
            q = select(AuditEvent).order_by(AuditEvent.id)
            if number is not None:
                t = (await s.execute(select(Ticket).where(Ticket.number == number))).scalar_one()
                q = q.where(AuditEvent.ticket_id == t.id)
            return list((await s.execute(q)).scalars())


def answers(rows: list[OutboxMessage], kind: str = "answer") -> list[str]:
    """Texts of the rows of ``kind``."""
    return [r.payload["text"] for r in rows if r.kind == kind]


def only_answer(rows: list[OutboxMessage]) -> str:
    """The single answer among ``rows``."""
    texts = answers(rows)
    assert len(texts) == 1, texts
    return texts[0]
