"""Outbox channels: a channel registered from here (no product file edited) gets its rows from the
sender, records their end in the sender's transaction, and a name is registered once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import Channels
from bot.messages import Destination
from bot.outbox import Outbox
from bot.send_errors import PermanentSendError
from bot.sender import Sender
from store.models import OutboxMessage


class PagerChannel:
    """A test-only channel: answers a made-up provider id, or fails as told."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.delivered: list[int] = []
        self.sent: list[tuple[int, str, str]] = []
        self.dead: list[tuple[int, str]] = []

    def rate_limit(self, dest: Destination) -> tuple[int, float] | None:
        return None

    async def deliver(self, row: OutboxMessage) -> str:
        self.delivered.append(row.id)
        if self.fail is not None:
            raise self.fail
        return f"p-{row.id}"

    async def after_send(self, s: AsyncSession, row: OutboxMessage, provider_id: str) -> None:
        state = (await s.execute(select(OutboxMessage.state).where(OutboxMessage.id == row.id))).scalar_one()
        self.sent.append((row.id, provider_id, state))

    async def after_dead(self, s: AsyncSession, row: OutboxMessage, exc: Exception) -> None:
        self.dead.append((row.id, str(exc)))


async def _queue(bot: Any, channel: str) -> int:
    dest = Destination(platform="pager", bot="p", user_id="0571")
    async with bot.ctx.sessions.begin() as s:
        row = Outbox.row(dest, {"text": "呼叫"}, channel=channel, ticket_id=None, kind="notice",
                         now=bot.ctx.clock.now())
        s.add(row)
        await s.flush()
        return int(row.id)


async def _rows(bot: Any) -> list[OutboxMessage]:
    async with bot.ctx.sessions() as s:
        return list((await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def test_a_registered_channel_delivers_its_rows_and_records_them_sent(make_bot: Any) -> None:
    bot = await make_bot()
    pager = PagerChannel()
    bot.ctx.channels.register("pager", pager)
    row_id = await _queue(bot, "pager")

    await Sender(bot.ctx).drain()

    assert pager.delivered == [row_id]
    assert pager.sent == [(row_id, f"p-{row_id}", "sent")]  # inside the transaction marking it sent
    [row] = await _rows(bot)
    assert row.state == "sent" and row.provider_message_id == f"p-{row_id}" and row.attempts == 1


async def test_a_dead_row_is_the_channels_to_report(make_bot: Any) -> None:
    bot = await make_bot()
    pager = PagerChannel(fail=PermanentSendError("号码停机"))
    bot.ctx.channels.register("pager", pager)
    row_id = await _queue(bot, "pager")

    await Sender(bot.ctx).drain()

    assert pager.dead == [(row_id, "号码停机")]
    rows = await _rows(bot)
    assert [(r.channel, r.state) for r in rows] == [("pager", "dead")]  # no office alert of ours


async def test_a_row_of_an_unknown_channel_is_dead_and_the_office_told(make_bot: Any) -> None:
    bot = await make_bot()
    row_id = await _queue(bot, "fax")

    await Sender(bot.ctx).drain()

    rows = await _rows(bot)
    assert rows[0].id == row_id and rows[0].state == "dead"
    assert "fax" in (rows[0].last_error or "")
    alerts = [r for r in rows if r.kind == "dead_letter_alert"]
    assert alerts and all(r.channel == "chat" and f"#{row_id}" in r.payload["text"] for r in alerts)


def test_a_channel_name_is_registered_once() -> None:
    channels = Channels()
    channels.register("pager", PagerChannel())
    with pytest.raises(ValueError, match="pager"):
        channels.register("pager", PagerChannel())
    assert "pager" in channels and list(channels) == ["pager"]
