"""The permission matrix: who may say which command about a ticket of 养老服务科 (YLK)."""

from __future__ import annotations

import pytest

from tests.conftest import ticket_body
from tests.handlers.chat import Chat
from tests.handlers.test_workflow import GOOD_REPLY

# person → the chat they speak in (their unit's group)
CHAT = {"王办公": "bgs", "李科长": "ylk", "张承办": "ylk", "刘承办": "ylk", "陈承办": "shjzk", "赵科长": "shjzk"}

# command text, the state to prepare, who may do it (张承办 has accepted where the state needs it)
MATRIX = [
    ("签收 0001", "dispatched", {"王办公", "张承办", "刘承办"}),
    ("联系 0001 已电话联系", "accepted", {"张承办"}),
    ("进展 0001 已协调", "accepted", {"张承办"}),
    (f"答复 0001 {GOOD_REPLY}", "accepted", {"张承办"}),
    ("延期 0001 3天 需协调", "accepted", {"张承办"}),
    ("退单 0001 非本单位职责", "dispatched", {"张承办", "刘承办"}),
    ("同意 0001", "reply_pending", {"王办公", "李科长"}),
    ("驳回 0001 请补充", "reply_pending", {"王办公", "李科长"}),
    ("转办 0001 SHJZK", "dispatched", {"王办公"}),
    ("查询 0001", "dispatched", {"王办公", "李科长", "张承办", "刘承办"}),
]


async def _prepared(bot, chat: Chat, number: str, state: str) -> None:
    await bot.post_ticket(ticket_body(number=number, content=f"诉求 {number}", unit="YLK"))
    if state in ("accepted", "reply_pending"):
        await chat.say("张承办", f"签收 {number}")
    if state == "reply_pending":
        await chat.say("张承办", f"答复 {number} {GOOD_REPLY}")
    assert (await chat.ticket(number)).state == state


@pytest.mark.parametrize(("text", "state", "allowed"), MATRIX, ids=[m[0].split()[0] for m in MATRIX])
async def test_matrix(make_bot, text: str, state: str, allowed: set[str]) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    refused_no = "T0000"
    await _prepared(bot, chat, refused_no, state)
    for person, group in CHAT.items():
        if person in allowed:
            continue
        await chat.say(person, text.replace("0001", refused_no), chat=group)
        last = (await chat.audit())[-1]
        assert last.outcome == "refused", (person, text)
    assert (await chat.ticket(refused_no)).state == state
    # Each allowed speaker on a ticket of their own in the same state.
    for i, person in enumerate(sorted(allowed), start=1):
        number = f"T{i:04d}"
        await _prepared(bot, chat, number, state)
        await chat.say(person, text.replace("0001", number), chat=CHAT[person])
        last = (await chat.audit())[-1]
        assert last.outcome == "ok", (person, text, last.detail)
