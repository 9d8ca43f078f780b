"""What a console chat shows: the events pushed live, and the history rebuilt from the store.

No table of its own: people's messages are the console's inbox rows, the bot's messages are the
outbox rows sent to that chat (their ``provider_message_id`` is the console's message id), and
card updates are outbox rows carrying ``update_message_id``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar import WorkCalendar
from bot.messages import IncomingMessage, OutgoingMessage
from store.queries.chat_history import inbox_events, sent_chat_messages

HISTORY_LIMIT = 200
PLATFORM = "console"


def bot_event(message_id: str, chat: str, message: OutgoingMessage, at: str) -> dict[str, Any]:
    """A message of the bot, as the browser draws it."""
    return {"type": "message", "id": message_id, "chat": chat, "from": "bot", "at": at,
            "text": message.text, "title": message.title, "ticket": message.ticket,
            "mentions": [m.name for m in message.mentions],
            "actions": [a.to_dict() for a in message.actions]}


def person_event(message: IncomingMessage, chat: str, at: str, bot_name: str) -> dict[str, Any]:
    """A person's message (or button click), as the browser draws it."""
    if message.action is not None:
        a = message.action
        text = f"点击了「{a.get('cmd', '')}」{a.get('ticket', '').split('/', 1)[-1]}"
        if a.get("note"):
            text += f"：{a['note']}"
        kind = "click"
    else:
        text = (f"@{bot_name} " if message.mentioned_bot else "") + message.text
        kind = "message"
    return {"type": kind, "id": f"in:{message.event_id}", "chat": chat, "from": message.sender_id,
            "at": at, "text": text, "title": "", "ticket": None,
            "mentions": list(message.mentions), "actions": []}


def update_event(message_id: str, chat: str, message: OutgoingMessage, at: str) -> dict[str, Any]:
    """A card updated in place after a click (its buttons are spent)."""
    return {"type": "update", "id": message_id, "chat": chat, "at": at, "text": message.text}


def clock_text(cal: WorkCalendar, when: datetime | None) -> str:
    """``11-23 10:05`` in the configured zone."""
    if when is None:
        return ""
    local = cal.local(when)
    return f"{local:%m-%d %H:%M}"


def dest_key(chat: str) -> str:
    """The outbox ``dest_key`` of a console chat key (see ``Destination.key``)."""
    kind, _, name = chat.partition(":")
    return f"{PLATFORM}:{PLATFORM}:{name}" if kind == "g" else f"{PLATFORM}:{PLATFORM}:dm:{name}"


async def load(s: AsyncSession, cal: WorkCalendar, chat: str, bot_name: str,
               limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The last ``limit`` events of ``chat``, oldest first, card updates applied."""
    kind, _, name = chat.partition(":")
    rows = await sent_chat_messages(s, dest_key(chat), limit)
    updates: dict[str, str] = {}
    items: list[tuple[datetime, int, int, dict[str, Any]]] = []
    for row in rows:
        message = OutgoingMessage.from_dict(row.payload)
        target = row.payload.get("update_message_id")
        if target:
            updates.setdefault(str(target), message.text)  # newest first: keep the latest update
            continue
        at = row.sent_at or row.created_at
        items.append((at, 1, row.id, bot_event(row.provider_message_id or f"o{row.id}", chat, message,
                                               clock_text(cal, at))))
    inbox = await inbox_events(s, PLATFORM, limit * 10)
    found = 0
    for ev in inbox:
        data = ev.payload
        group = data.get("chat_kind") == "group"
        if (kind == "g" and group and data.get("chat_id") == name) or (
                kind == "d" and not group and data.get("sender_id") == name):
            msg = IncomingMessage.from_dict(data)
            items.append((ev.received_at, 0, ev.id, person_event(msg, chat, clock_text(cal, ev.received_at),
                                                                 bot_name)))
            found += 1
            if found >= limit:
                break
    items.sort(key=lambda x: (x[0], x[1], x[2]))
    events = [x[3] for x in items[-limit:]]
    for event in events:
        if event["id"] in updates:
            event["update"] = updates[event["id"]]
    return events
