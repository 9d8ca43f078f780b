"""The dispatch suggestion end to end on Feishu: an unrouted ticket's card reaches the office's
group on the fake platform with its 「按建议派单」 button; the office's click, sent back as a
signed and encrypted card callback, dispatches the ticket to the suggested unit, whose group gets
the assignment card and the office the confirmation. Everything is counted at the fake."""

from __future__ import annotations

import json
from typing import Any

from bot.reading.cards import SUGGEST_COMMAND
from bot.sender import Sender
from tests.bot.test_reading_suggestion import fill_history, new_ticket, train
from tests.fakes.feishu_server import card_action_event
from tests.system.test_e2e import _card_buttons
from tests.system.world import CHATS, IDS, feishu_post, feishu_webhook_bot, outbox_rows, settle

NUMBER = "202611230105"


async def _deliver_all(bot: Any, sender: Sender, clock: Any) -> None:
    """Drain the outbox, letting the fake's rate limit window pass between rounds."""
    for _ in range(60):
        await sender.drain()
        if not await outbox_rows(bot, state="pending"):
            return
        clock.advance(seconds=2)
    raise AssertionError("the outbox did not drain")


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(m["content"], ensure_ascii=False) for m in messages]


async def test_suggestion_card_click_through_feishu_dispatches(make_bot: Any, clock: Any) -> None:
    async with feishu_webhook_bot(make_bot, clock) as (fake, bot, sender):
        await fill_history(bot, 12)
        await train(bot)
        await _deliver_all(bot, sender, clock)
        history = len(fake.messages)
        clock.advance(seconds=2)
        assert (await bot.post_ticket(new_ticket(NUMBER, "低保申请很久没批，生活困难"))).status == 201
        await _deliver_all(bot, sender, clock)
        new = fake.messages[history:]
        [card] = [m for m in new if m["msg_type"] == "interactive"]
        assert card["receive_id"] == CHATS["feishu"]["BGS"]
        [button] = _card_buttons(card)
        assert button["text"]["content"] == SUGGEST_COMMAND and "社会救助科" in _texts([card])[0]

        clicked = len(fake.messages)
        await feishu_post(bot, card_action_event(button["value"], operator=IDS["feishu"]["王办公"],
                                                  chat_id=CHATS["feishu"]["BGS"], message_id=card["message_id"]),
                           clock)
        await settle(bot, sender, 1)
        await _deliver_all(bot, sender, clock)
        after = fake.messages[clicked:]
        to_office = _texts([m for m in after if m["receive_id"] == CHATS["feishu"]["BGS"]])
        assert any(f"工单 {NUMBER} 已按建议派至社会救助科。" in t for t in to_office), to_office
        assignment = [m for m in after if m["receive_id"] == CHATS["feishu"]["SHJZK"] and m["msg_type"] == "interactive"]
        assert len(assignment) == 1 and NUMBER in _texts(assignment)[0]
        async with bot.ctx.sessions() as s:
            from sqlalchemy import select

            from store.models import Ticket
            unit = (await s.execute(select(Ticket.unit_code).where(Ticket.number == NUMBER))).scalar_one()
        assert unit == "SHJZK"
