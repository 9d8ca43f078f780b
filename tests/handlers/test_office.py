"""转办 / 派单 names the unit by code or by name, full-width or not."""

from __future__ import annotations

import pytest

from tests.conftest import ticket_body
from tests.handlers.chat import Chat, only_answer


@pytest.mark.parametrize("named", ["SHJZK", "社会救助科", "ｓｈｊｚｋ", "救助"])
async def test_dispatch_by_code_or_name(make_bot, named: str) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    assert (await bot.post_ticket(ticket_body())).status == 201
    text = only_answer(await chat.say("王办公", f"转办 0001 {named}", chat="bgs"))
    assert text == "工单 202611230001 已派至社会救助科。"
    assert (await chat.ticket("202611230001")).unit_code == "SHJZK"


async def test_dispatch_to_an_unknown_unit_lists_the_units(make_bot) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    assert (await bot.post_ticket(ticket_body())).status == 201
    text = only_answer(await chat.say("王办公", "转办 0001 城管局", chat="bgs"))
    assert text.startswith("没有找到单位「城管局」") and "SHJZK（社会救助科）" in text
    assert (await chat.ticket("202611230001")).unit_code is None
