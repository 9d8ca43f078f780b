"""store.queries.tickets over a real store: references, suffixes, units, review and quoted messages."""

from __future__ import annotations

from store.queries import tickets as tickets_q
from tests.conftest import ticket_body
from tests.handlers.chat import Chat


async def test_reference_exact_suffix_and_units(make_bot) -> None:
    bot = await make_bot()
    for number, unit in (("202611230001", "YLK"), ("202611230101", "SHJZK"), ("2026_1%01", "YLK")):
        assert (await bot.post_ticket(ticket_body(number=number, unit=unit))).status == 201
    async with bot.ctx.sessions() as s:
        numbers = lambda found: sorted(t.number for t in found)  # noqa: E731
        assert numbers(await tickets_q.by_reference(s, "202611230001")) == ["202611230001"]
        assert numbers(await tickets_q.by_reference(s, "0101")) == ["202611230101"]
        assert numbers(await tickets_q.by_reference(s, "101")) == []  # under 4: whole numbers only
        assert numbers(await tickets_q.by_reference(s, "0101", units={"YLK"})) == []
        # LIKE wildcards in a reference are literal characters
        assert numbers(await tickets_q.by_reference(s, "_1%01")) == ["2026_1%01"]
        assert numbers(await tickets_q.by_reference(s, "1%01")) == ["2026_1%01"]
        assert (await tickets_q.by_key(s, "12345", "202611230101")).unit_code == "SHJZK"  # type: ignore[union-attr]
        assert await tickets_q.by_key(s, "962200", "202611230101") is None


async def test_pending_review_and_open_lists(make_bot) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    assert (await bot.post_ticket(ticket_body(unit="YLK"))).status == 201
    await chat.say("张承办", "签收 0001")
    await chat.say("张承办", "退单 0001 不属于本单位职责")
    zhang = bot.ctx.directory.people["张承办"]
    async with bot.ctx.sessions() as s:
        ticket = await tickets_q.by_key(s, "12345", "202611230001")
        assert ticket is not None
        req = await tickets_q.pending_review(s, ticket.id)
        assert req is not None and req.kind == "giveback"
        assert [t.number for t in await tickets_q.handled_by(s, zhang.id, ["giveback_pending"], limit=5)] \
            == ["202611230001"]
        assert await tickets_q.unaccepted(s, ["giveback_pending"], units=None, limit=5) == []
        events = await tickets_q.latest_events(s, ticket.id, limit=2)
        assert [e.action for e in events] == ["accept", "request_giveback"]  # oldest first
        assert await tickets_q.of_sent_message(s, "no-such-message") is None
