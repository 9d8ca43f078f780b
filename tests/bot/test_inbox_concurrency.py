"""Inbound events arriving while others are processed: none is lost to a locked store."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.messages import ChatKind, IncomingMessage
from bot.wiring import INBOX
from store.models import InboxEvent
from tests.conftest import ticket_body


async def test_simultaneous_events_are_all_processed(make_bot) -> None:
    bot = await make_bot()
    for i in range(5):
        await bot.post_ticket(ticket_body(number=f"C{i:04d}", content=f"诉求{i}", unit="YLK"))
    inbox = bot.client.app[INBOX]

    def msg(i: int, dup: int = 0) -> IncomingMessage:
        return IncomingMessage(platform="console", bot="console", chat_id="ylk", chat_kind=ChatKind.GROUP,
                               sender_id="张承办", text=f"进展 C{i % 5:04d} 第{i}次", mentioned_bot=True,
                               event_id=f"e{i}")

    # 20 events, each also retried by the "platform" at the same moment.
    results = await asyncio.gather(*(inbox(msg(i)) for i in range(20)), *(inbox(msg(i)) for i in range(20)))
    assert results.count(True) == 20 and results.count(False) == 20
    await inbox.drain()
    async with bot.ctx.sessions() as s:
        rows = list((await s.execute(select(InboxEvent))).scalars())
    assert len(rows) == 20
    assert all(r.processed_at is not None and r.error is None for r in rows), [r.error for r in rows]
