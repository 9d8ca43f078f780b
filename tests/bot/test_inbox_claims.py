"""The inbox on one store shared by two instances: each event is processed once, events of one chat
in the order they were written, a dead writer's events are taken over once its claim expires, and
one bad event in a batch fails alone (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.inbox import CLAIM_SECONDS, Inbox, InvalidEvent
from bot.messages import ChatKind, IncomingMessage
from bot.wiring import INBOX
from store.models import AuditEvent, InboxEvent
from tests.conftest import ticket_body


def progress(i: int, chat: str = "ylk", sender: str = "张承办", event_id: object = None) -> IncomingMessage:
    """A 进展 command; its text is unique, so its trail row tells how often it was processed."""
    return IncomingMessage(platform="console", bot="console", chat_id=chat, chat_kind=ChatKind.GROUP,
                           sender_id=sender, text=f"进展 C{i % 3:04d} 第{i}次 {chat}", mentioned_bot=True,
                           event_id=f"e{i}-{chat}" if event_id is None else event_id)  # type: ignore[arg-type]


async def _trail(bot) -> list[str]:  # type: ignore[no-untyped-def]
    async with bot.ctx.sessions() as s:
        return list((await s.execute(select(AuditEvent.text).where(AuditEvent.text.like("进展 %"))
                                     .order_by(AuditEvent.id))).scalars())


async def _two_instances(make_bot):  # type: ignore[no-untyped-def]
    first = await make_bot()
    for i in range(3):
        await first.post_ticket(ticket_body(number=f"C{i:04d}", content=f"诉求{i}", unit="YLK"))
    second = await make_bot()  # the same store: another process of the same deployment
    return first, second


async def _two_stopped_inboxes(make_bot):  # type: ignore[no-untyped-def]
    """Two instances on one store whose inbox loops are stopped: the test drives them."""
    first, second = await _two_instances(make_bot)
    a: Inbox = first.client.app[INBOX]
    b: Inbox = second.client.app[INBOX]
    await a.stop()
    await b.stop()
    return first, a, b


async def test_one_bad_event_fails_alone_and_its_batch_goes_on(make_bot) -> None:
    bot = await make_bot()
    inbox: Inbox = bot.client.app[INBOX]
    bad_id = progress(99, event_id=10**30)
    surrogate = IncomingMessage(platform="console", bot="console", chat_id="ylk", chat_kind=ChatKind.GROUP,
                                sender_id="张承办", text="进展 \ud800", event_id="e-sur")
    too_long = progress(98, event_id="x" * 201)
    results = await asyncio.gather(*(inbox(progress(i)) for i in range(24)), inbox(bad_id), inbox(surrogate),
                                   inbox(too_long), *(inbox(progress(i)) for i in range(24, 48)),
                                   return_exceptions=True)
    assert [type(r) for r in results[24:27]] == [InvalidEvent] * 3
    good = results[:24] + results[27:]
    assert good == [True] * 48
    await inbox.drain()
    trail = await _trail(bot)
    assert sorted(trail) == sorted(progress(i).text for i in range(48))


async def test_two_instances_process_each_event_once_and_in_order_per_chat(make_bot) -> None:
    first, second = await _two_instances(make_bot)
    a: Inbox = first.client.app[INBOX]
    b: Inbox = second.client.app[INBOX]
    await a.stop()  # the writer dies after acknowledging: its events wait in the store
    events = [progress(i, chat) for i in range(15) for chat in ("ylk", "shjzk")]
    assert all(await asyncio.gather(*(a(m) for m in events)))
    first.clock.advance(timedelta(seconds=CLAIM_SECONDS + 1))  # the claims expire
    await a.start()  # the writer comes back while the other instance takes over too
    await asyncio.gather(b.sweep(), a.sweep())
    for _ in range(200):
        await asyncio.gather(a.drain(), b.drain())
        async with first.ctx.sessions() as s:
            left = (await s.execute(select(InboxEvent.id).where(InboxEvent.processed_at.is_(None)))).all()
        if not left:
            break
        await asyncio.gather(a.sweep(), b.sweep())
    trail = await _trail(first)
    assert sorted(trail) == sorted(m.text for m in events)  # each once
    for chat in ("ylk", "shjzk"):
        assert [t for t in trail if t.endswith(chat)] == [m.text for m in events if m.chat_id == chat]
    async with first.ctx.sessions() as s:
        attempts = (await s.execute(select(InboxEvent.attempts))).scalars().all()
    assert attempts and set(attempts) == {1}


async def test_a_later_event_of_a_chat_waits_for_the_earlier_one(make_bot) -> None:
    first, a, b = await _two_stopped_inboxes(make_bot)
    for i in range(3):
        assert await a(progress(i))
    async with first.ctx.sessions() as s:
        ids = list((await s.execute(select(InboxEvent.id).order_by(InboxEvent.id))).scalars())
    first.clock.advance(timedelta(seconds=CLAIM_SECONDS + 1))
    assert await b.process_one(ids[2]) is False and await b.process_one(ids[1]) is False
    assert await _trail(first) == []
    assert await b.process_one(ids[0]) is True
    assert await b.process_one(ids[2]) is False  # still behind the second
    assert await b.process_one(ids[1]) is True and await b.process_one(ids[2]) is True
    assert await b.process_one(ids[2]) is False  # done already: not again
    assert await _trail(first) == [progress(i).text for i in range(3)]


async def test_a_live_writers_claim_is_left_to_it_and_a_dead_writers_taken_over_at_once(
        make_bot, store_url: str) -> None:
    first, a, b = await _two_stopped_inboxes(make_bot)
    await a.presence.acquire()  # a's process lives on (its loops are stopped so the test drives them)
    assert await a(progress(0))
    [row_id] = await _ids(first)
    if store_url.startswith("postgresql"):  # several instances share PostgreSQL; SQLite is one process
        assert await b.sweep() == 0  # left to its live writer
    await a.presence.release()  # a dies: its claim is taken over without waiting for it to run out
    assert await b.sweep() == 1
    assert await b.process_one(row_id) is True
    async with first.ctx.sessions() as s:
        row = await s.get(InboxEvent, row_id)
        assert row is not None and row.processed_at is not None and row.claimed_by == b.claimer


async def test_an_expired_claim_is_taken_over_where_no_death_can_be_seen(make_bot, store_url: str) -> None:
    first, a, b = await _two_stopped_inboxes(make_bot)
    await a.presence.acquire()  # alive as far as the store can tell, but silent (e.g. stalled)
    try:
        assert await a(progress(0))
        if store_url.startswith("postgresql"):
            assert await b.sweep() == 0
        first.clock.advance(timedelta(seconds=CLAIM_SECONDS + 1))
        assert await b.sweep() == 1
    finally:
        await a.presence.release()


async def test_the_next_event_of_a_chat_goes_on_whoever_wrote_it(make_bot, store_url: str) -> None:
    first, a, b = await _two_stopped_inboxes(make_bot)
    for inbox in (a, b):  # both live, loops driven by the test
        await inbox.presence.acquire()
    try:
        for i in range(6):  # written alternately by the two instances
            assert await (a if i % 2 else b)(progress(i))
        ids = await _ids(first)
        a._queue = type(a._queue)()  # forget what a queued at writing: only what processing queues
        a._queued.clear()
        assert await a.process_one(ids[0]) is True  # a wrote ids[1], b the others
        for _ in ids[1:]:
            nxt = a._queue.get_nowait()  # queued by processing the one before (QueueEmpty if not)
            a._queue.task_done()
            a._queued.discard(nxt)
            assert await a.process_one(nxt) is True
        assert a._queue.empty()
        assert await _trail(first) == [progress(i).text for i in range(6)]
    finally:
        for inbox in (a, b):
            await inbox.presence.release()


async def _ids(bot) -> list[int]:  # type: ignore[no-untyped-def]
    async with bot.ctx.sessions() as s:
        return list((await s.execute(select(InboxEvent.id).order_by(InboxEvent.id))).scalars())


async def test_an_idle_sweep_is_one_query(make_bot, store_url: str) -> None:
    """Every instance sweeps every second: with nothing left, or all of it held by a live writer,
    the sweep ends at its first query (SQLite's sweep is one query anyway)."""
    from tests.statements import statements_of_this_task

    first, a, b = await _two_stopped_inboxes(make_bot)
    with statements_of_this_task(first.ctx.engine) as seen:
        assert await a.sweep() == 0
    assert len(seen) == 1
    await a.presence.acquire()
    try:
        assert await a(progress(0))  # written and held by a, not processed yet
        if store_url.startswith("postgresql"):  # several instances share PostgreSQL
            with statements_of_this_task(b.ctx.engine) as seen:
                assert await b.sweep() == 0  # a is alive: its event is left to it
            assert len(seen) == 2 and "pg_locks" in seen[1]  # the look, then whether a lives
            with statements_of_this_task(a.ctx.engine) as seen:
                assert await a.sweep() == 0  # its own event, queued when written
            assert len(seen) == 2 and "inbox.id" in seen[1]  # the look, then the event is read
    finally:
        await a.presence.release()
