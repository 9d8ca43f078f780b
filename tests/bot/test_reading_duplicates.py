"""重复件 that are 基本一致: a citizen's edited repeat is found at registration (punctuation,
spaces, a changed sentence, reordered clauses, traditional characters); another matter of the
same citizen is not, nor a repeat outside the window (the preset's rule may set its own)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import IntelligenceConfig
from bot.reading.similar import similarity
from tests.conftest import ticket_body
from tests.handlers.chat import Chat

FIRST = "小区东门的路灯坏了一个多月，晚上一片漆黑，老人出门经常摔倒，请尽快派人修好路灯。"
EDITS = {
    "punctuation and spaces": "小区东门的路灯坏了一个多月 晚上一片漆黑!老人出门经常摔倒，请尽快派人修好路灯！！ ",
    "a changed sentence": "小区东门的路灯坏了一个多月，晚上一片漆黑，孩子放学回家很害怕，请尽快派人修好路灯。",
    "reordered clauses": "请尽快派人修好路灯。小区东门的路灯坏了一个多月，晚上一片漆黑，老人出门经常摔倒。",
    "traditional characters": "小區東門的路燈壞了一個多月，晚上一片漆黑，老人出門經常摔倒，請儘快派人修好路燈。",
}
OTHER_MATTERS = [
    "楼下饭店油烟太大，每天中午熏得家里没法开窗，请环保部门查一查。",
    "孩子上学的学校门口早晚堵车严重，希望交警早晚高峰派人疏导。",
    "小区物业乱收停车费，一个月涨了一百元，也没有公示，请住建部门查处。",
]
THRESHOLD = IntelligenceConfig().near_duplicate_similarity


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_edited_repeats_reach_the_threshold(edit: str) -> None:
    assert similarity(FIRST, EDITS[edit]) >= THRESHOLD


@pytest.mark.parametrize("other", OTHER_MATTERS)
def test_other_matters_of_the_same_citizen_stay_below_it(other: str) -> None:
    assert similarity(FIRST, other) < THRESHOLD


async def post(bot: Any, number: str, content: str, received: str, phone: str = "13812341234") -> None:
    body = ticket_body(number=number, content=content, received_at=received,
                       citizen={"name": "张三", "phone": phone})
    assert (await bot.post_ticket(body)).status == 201


async def test_edited_repeat_is_marked_at_intake_and_another_matter_is_not(make_bot: Any) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    await post(bot, "202611200001", FIRST, "2026-11-20T09:00:00+08:00")
    for i, edit in enumerate(sorted(EDITS), start=2):
        await post(bot, f"20261120000{i}", EDITS[edit], "2026-11-21T09:00:00+08:00")
    await post(bot, "202611200009", OTHER_MATTERS[0], "2026-11-22T09:00:00+08:00")
    await post(bot, "202611200010", FIRST, "2026-11-22T10:00:00+08:00", phone="13900000000")  # someone else
    first = await chat.ticket("202611200001")
    for i in range(2, 2 + len(EDITS)):
        repeat = await chat.ticket(f"20261120000{i}")
        assert repeat.duplicate_of == first.id and "重复件" in repeat.tags
    for number in ("202611200009", "202611200010"):
        other = await chat.ticket(number)
        assert other.duplicate_of is None and "重复件" not in other.tags


async def test_the_window_comes_from_the_rule(make_bot: Any) -> None:
    rules = [{"name": "short-window", "overlay": True, "duplicate_window_days": 3}]
    bot = await make_bot(procedure={"preset": "songjiang", "rules": rules})
    chat = Chat(bot)
    await post(bot, "202611010001", FIRST, "2026-11-01T09:00:00+08:00")
    await post(bot, "202611010002", EDITS["reordered clauses"], "2026-11-10T09:00:00+08:00")  # 9 days later
    await post(bot, "202611010003", EDITS["traditional characters"], "2026-11-12T09:00:00+08:00")  # 2 days
    assert (await chat.ticket("202611010002")).duplicate_of is None
    assert (await chat.ticket("202611010003")).duplicate_of == (await chat.ticket("202611010002")).id
