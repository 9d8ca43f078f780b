"""Live delivery to the browsers at the console: one queue per open event stream.

A chat is named by a key: ``g:<chat_id>`` for a group, ``d:<person>`` for a person's direct
conversation with the bot. A subscriber only receives events of the chats it may see, decided
once when the stream opens.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

QUEUE_SIZE = 500


def chat_key(chat_id: str = "", user_id: str = "") -> str:
    """The key of a group chat (``chat_id``) or of a person's direct conversation."""
    return f"g:{chat_id}" if chat_id else f"d:{user_id}"


@dataclass(eq=False)
class Subscriber:
    """One open event stream of one person."""

    person: str
    chats: frozenset[str]
    queue: asyncio.Queue[dict[str, Any] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_SIZE))


class Hub:
    """Fans events out to the subscribers allowed to see them."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()

    def subscribe(self, person: str, chats: frozenset[str]) -> Subscriber:
        """Open a subscription for ``person`` on ``chats``."""
        sub = Subscriber(person, chats)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget ``sub`` (its stream closed)."""
        self._subscribers.discard(sub)

    def publish(self, event: dict[str, Any]) -> int:
        """Queue ``event`` (it has a ``chat`` key) for every allowed subscriber; returns how many.

        A browser too slow to read 500 events is dropped; it reloads the history on reconnect.
        """
        count = 0
        for sub in list(self._subscribers):
            if event["chat"] not in sub.chats:
                continue
            try:
                sub.queue.put_nowait(event)
                count += 1
            except asyncio.QueueFull:
                self._subscribers.discard(sub)
        return count

    def close_all(self) -> None:
        """End every stream (shutdown)."""
        for sub in list(self._subscribers):
            try:
                sub.queue.put_nowait(None)
            except asyncio.QueueFull:
                pass
        self._subscribers.clear()

    @property
    def count(self) -> int:
        """Open streams."""
        return len(self._subscribers)
