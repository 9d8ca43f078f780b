"""涉众 at registration: other citizens reporting the same matter at the same address within the
window mark the new ticket 涉众 (tag, ``related`` audit row, a note to the office), apart from
重复件; a different matter at that address, another address or the same citizen do not."""

from __future__ import annotations

from typing import Any

from bot.config import IntelligenceConfig
from bot.reading.related import alike
from tests.conftest import ticket_body
from tests.handlers.chat import Chat, answers

PLACE = "松江区人民路88号"
FIRST = "人民路88号门口的下水道堵了三天，污水漫到路面上，臭气熏天，请尽快派人疏通下水道。"
NEIGHBOUR = "人民路88号门口下水道堵塞，污水漫到路面，味道很大，行人没法走，请尽快派人疏通。"
OTHER_MATTER = "人民路88号楼下的早餐店每天凌晨四点开始装卸货物，噪音很大，影响休息。"
THRESHOLD = IntelligenceConfig().related_similarity


async def post(bot: Any, number: str, content: str, phone: str, *, address: str = PLACE,
               received: str = "2026-11-20T09:00:00+08:00") -> None:
    body = ticket_body(number=number, content=content, received_at=received, address=address,
                       citizen={"name": "李四", "phone": phone})
    assert (await bot.post_ticket(body)).status == 201


async def test_another_citizen_same_matter_same_place_is_marked(make_bot: Any) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    await post(bot, "202611200001", FIRST, "13800000001")
    await chat.new_rows()
    await post(bot, "202611200002", NEIGHBOUR, "13800000002", received="2026-11-21T09:00:00+08:00")
    notes = answers(await chat.new_rows(), "related")
    second = await chat.ticket("202611200002")
    assert "涉众" in second.tags and "重复件" not in second.tags and second.duplicate_of is None
    related = [e for e in await chat.audit("202611200002") if e.action == "related"]
    assert [e.detail["related"] for e in related] == [["12345/202611200001"]]
    assert len(notes) == 1 and "202611200001" in notes[0] and "涉众" in notes[0]
    assert "涉众" not in (await chat.ticket("202611200001")).tags  # the earlier one is left as it was


async def test_other_matter_other_place_or_same_citizen_is_not_marked(make_bot: Any) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    await post(bot, "202611200001", FIRST, "13800000001")
    await post(bot, "202611200002", OTHER_MATTER, "13800000002")  # same place, another matter
    await post(bot, "202611200003", NEIGHBOUR, "13800000003", address="松江区中山路1号")  # elsewhere
    await post(bot, "202611200004", NEIGHBOUR, "13800000001")  # the same citizen: a 重复件 instead
    for number in ("202611200002", "202611200003", "202611200004"):
        assert "涉众" not in (await chat.ticket(number)).tags
    assert (await chat.ticket("202611200004")).duplicate_of is not None


async def test_outside_the_window_is_not_marked(make_bot: Any) -> None:
    bot = await make_bot(procedure={"preset": "songjiang", "rules": [
        {"name": "short-window", "overlay": True, "duplicate_window_days": 3}]})
    chat = Chat(bot)
    await post(bot, "202611010001", FIRST, "13800000001", received="2026-11-01T09:00:00+08:00")
    await post(bot, "202611010002", NEIGHBOUR, "13800000002", received="2026-11-10T09:00:00+08:00")
    await post(bot, "202611010003", FIRST, "13800000003", received="2026-11-11T09:00:00+08:00")
    assert "涉众" not in (await chat.ticket("202611010002")).tags
    assert "涉众" in (await chat.ticket("202611010003")).tags



async def test_sharing_the_address_and_a_polite_ending_is_not_one_matter(make_bot: Any) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    await post(bot, "202611200001", f"{PLACE}附近路灯损坏一个多月，夜间出行不便，请尽快处理。", "13800000001")
    await post(bot, "202611200002", f"{PLACE}附近下水道堵塞，污水漫到路面，请尽快处理。", "13800000002")
    await post(bot, "202611200003", f"{PLACE}附近路灯损坏一个多月了，晚上很黑，请尽快处理。", "13800000003")
    assert "涉众" not in (await chat.ticket("202611200002")).tags  # with the address counted: 0.54
    assert "涉众" in (await chat.ticket("202611200003")).tags


SHORT_PAIRS = [  # at PLACE: (earlier, new, one matter?)
    ("人民路88号门口的路灯坏了，请尽快处理。", "人民路88号门口的井盖坏了，请尽快处理。", False),
    ("人民路88号门口路灯坏了，晚上看不见路，希望尽快修好。", "人民路88号门口的井盖丢了，晚上看不见很危险，希望尽快处理。", False),
    ("人民路88号门口路灯坏了好几天，晚上黑漆漆的，走路容易摔跤。", "人民路88号门口的路灯坏了好几天了，晚上黑漆漆一片，行人容易摔倒。", True),
    (FIRST, NEIGHBOUR, True),
    (FIRST, OTHER_MATTER, False),
]


def test_short_texts_must_share_more_than_the_address_and_the_asking() -> None:
    # the address in the text is part of the ticket's address (松江区 left out): it counts for nothing
    assert [alike(a, b, PLACE, THRESHOLD) for a, b, _ in SHORT_PAIRS] == [same for _, _, same in SHORT_PAIRS]


async def test_two_short_matters_at_one_address_are_not_marked_the_same_in_other_words_is(make_bot: Any) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    lamp, manhole, lamp_again = SHORT_PAIRS[0][0], SHORT_PAIRS[1][1], SHORT_PAIRS[2][1]
    await post(bot, "202611200001", lamp, "13800000001")
    await post(bot, "202611200002", manhole, "13800000002")
    await post(bot, "202611200003", lamp_again, "13800000003")
    assert "涉众" not in (await chat.ticket("202611200002")).tags
    assert "涉众" in (await chat.ticket("202611200003")).tags
    related = [e for e in await chat.audit("202611200003") if e.action == "related"]
    assert [e.detail["related"] for e in related] == [["12345/202611200001"]]
