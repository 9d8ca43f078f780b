"""回访 by phone, end to end: intake over HTTP, answer and approval in chat, then the 回访 command.

平顶山 “回访内容包括:反映诉求是否得到解决,服务过程满意度,办理结果满意度,是否有意见和建议等,并做好详细
记录。对回访中发现办理结果不属实的事项,发回责任单位重新办理。”
吉林 “评价结果为满意的归档，评价结果为不满意的列入督办。”
"""

from __future__ import annotations

import hashlib

from bot.followup import in_sample
from store.models import Ticket
from tests.conftest import ticket_body
from tests.handlers.chat import Chat, only_answer
from tests.handlers.test_workflow import GOOD_REPLY

NUMBER = "202611230001"


async def answered(make_bot, number: str = NUMBER, chat: Chat | None = None, **overrides):
    """A ticket of YLK taken through 签收, 答复 and the leader's 同意: state ``answered``."""
    bot = chat.bot if chat else await make_bot(**overrides)
    chat = chat or Chat(bot)
    body = ticket_body(number, unit="YLK", content=f"养老服务站长期关门，老人无法就餐（{number}）。")
    assert (await bot.post_ticket(body)).status == 201
    await chat.say("张承办", f"签收 {number}")
    await chat.say("张承办", f"答复 {number} {GOOD_REPLY}")
    rows = await chat.say("李科长", f"同意 {number}")
    assert (await chat.ticket(number)).state == "answered"
    return bot, chat, rows


async def test_unsatisfied_followup_sends_the_ticket_back_for_a_new_round(make_bot) -> None:
    _, chat, _ = await answered(make_bot)
    rows = await chat.say("王办公", f"回访 {NUMBER} 过程满意 结果不满意 重办 敬老院仍未整改 意见：希望尽快恢复供餐",
                          chat="bgs")
    text = only_answer(rows)
    assert text == (f"已登记工单 {NUMBER} 的回访（过程满意、结果不满意，意见：希望尽快恢复供餐），"
                    "已发回重办（第2轮）：敬老院仍未整改。")
    t = await chat.ticket(NUMBER)
    assert (t.state, t.feedback, t.round, t.handler_id, t.answered_at) == ("reopened", "不满意", 2, None, None)
    reopen = next(r for r in rows if r.kind == "reopen")
    assert reopen.dest_key.endswith(":ylk") and "敬老院仍未整改" in reopen.payload["text"]
    assert any(r.kind == "supervise" and r.dest_key.endswith(":bgs") for r in rows)  # 列入督办
    event = (await chat.audit(NUMBER))[-1]
    assert event.action == "feedback_unsatisfied" and event.actor == "王办公"
    assert event.detail == {"via": "phone", "process": "满意", "result": "不满意", "opinion": "希望尽快恢复供餐",
                            "outcome": "重办", "reason": "敬老院仍未整改", "verdict": "不满意"}


async def test_satisfied_followup_archives(make_bot) -> None:
    _, chat, _ = await answered(make_bot)
    text = only_answer(await chat.say("王办公", "电话回访 0001 满意", chat="bgs"))
    assert text == f"已登记工单 {NUMBER} 的回访（过程满意、结果满意），工单归档。"
    t = await chat.ticket(NUMBER)
    assert (t.state, t.feedback, t.round) == ("archived", "满意", 1) and t.closed_at is not None


async def test_untrue_answer_is_sent_back_even_when_the_citizen_is_satisfied(make_bot) -> None:
    # 平顶山 “对回访中发现办理结果不属实的事项，发回责任单位重新办理”
    _, chat, _ = await answered(make_bot)
    text = only_answer(await chat.say("王办公", "回访 0001 结果基本满意 重办 回访发现供餐未恢复，答复不属实",
                                      chat="bgs"))
    assert "已发回重办（第2轮）：回访发现供餐未恢复，答复不属实" in text
    t = await chat.ticket(NUMBER)
    assert (t.state, t.feedback) == ("reopened", "满意")


async def test_mistyped_followup_is_answered_with_how_to_write_it(make_bot) -> None:
    _, chat, _ = await answered(make_bot)
    text = only_answer(await chat.say("王办公", "回访 0001 还行", chat="bgs"))
    assert text.startswith("请写明办理结果满意度（满意、基本满意或不满意）。") and "回访 202611230001 过程满意" in text
    text = only_answer(await chat.say("王办公", "回访 0001 不满意", chat="bgs"))
    assert text.startswith("重办请写明原因")
    assert (await chat.ticket(NUMBER)).state == "answered"


async def test_followup_before_the_answer_is_refused(make_bot) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    assert (await bot.post_ticket(ticket_body(unit="YLK"))).status == 201
    text = only_answer(await chat.say("王办公", "回访 0001 满意", chat="bgs"))
    assert text == "工单当前状态为「已派单（待签收）」，不能登记满意。"
    assert (await chat.ticket(NUMBER)).state == "dispatched"


async def test_the_unit_records_a_followup_only_where_the_preset_allows(make_bot) -> None:
    # 松江: the office checks (“办公室对反馈不满意和未回复工单进行核查”); the unit may not record it
    _, chat, _ = await answered(make_bot)
    text = only_answer(await chat.say("张承办", "回访 0001 满意"))
    assert text == "本工单的回访由办公室负责。"
    assert (await chat.ticket(NUMBER)).state == "answered"


async def test_pingdingshan_unit_records_its_own_followup_and_the_office_gets_a_task(make_bot) -> None:
    # 平顶山 “市长热线一级、二级网络单位要对反映人进行回访” (pingdingshan-回访: all, by phone, unit allowed)
    _, chat, rows = await answered(make_bot, procedure={"preset": "pingdingshan"})
    [task] = [r for r in rows if r.kind == "followup_task"]
    assert task.dest_key.endswith(":bgs") and f"回访 {NUMBER}" in task.payload["text"]
    assert "13812341234" not in task.payload["text"] and "138****1234" in task.payload["text"]
    text = only_answer(await chat.say("张承办", "回访 0001 过程满意 结果满意 意见：无"))
    assert text == f"已登记工单 {NUMBER} 的回访（过程满意、结果满意，意见：无），工单归档。"
    assert (await chat.ticket(NUMBER)).state == "archived"


def _chosen_by_hand(seed: str, number: str, share: float) -> bool:
    """The sampling rule of docs (first 32 bits of sha256("seed|source/number") below share × 2³²)."""
    return int(hashlib.sha256(f"{seed}|12345/{number}".encode()).hexdigest()[:8], 16) < share * 2**32


SAMPLED = {"procedure": {"preset": "jilin", "feedback_seed": "2026-Q4",
                         "rules": [{"name": "抽查", "feedback": "sampled", "feedback_share": 0.5,
                                    "feedback_via": "office", "deadline": "5wd"}]}}


async def _tasks_for(make_bot, numbers: list[str], **store) -> set[str]:
    bot = await make_bot(**SAMPLED, **store)
    chat = Chat(bot)
    tasked: set[str] = set()
    for number in numbers:
        _, _, rows = await answered(make_bot, number, chat=chat)
        tasked |= {number for r in rows if r.kind == "followup_task"}
    return tasked


async def test_sampled_followup_is_reproducible(make_bot, tmp_path) -> None:
    # 吉林 “一般类诉求抽查回访”: the same tickets are drawn on every run (here: a second, fresh store)
    numbers = [f"2026112300{i:02d}" for i in range(1, 11)]
    first = await _tasks_for(make_bot, numbers)
    again = await _tasks_for(make_bot, numbers, store={"url": f"sqlite+aiosqlite:///{tmp_path / 'again.db'}"})
    assert first == again == {n for n in numbers if _chosen_by_hand("2026-Q4", n, 0.5)}
    assert 0 < len(first) < len(numbers)


def test_sample_share_is_honoured_over_many_tickets() -> None:
    tickets = [Ticket(source="12345", number=f"2026{i:08d}") for i in range(4000)]
    for share in (0.0, 0.1, 0.3, 1.0):
        drawn = sum(in_sample("seed", t, share) for t in tickets)
        assert abs(drawn / len(tickets) - share) < 0.03
    other = {t.number for t in tickets if in_sample("other-seed", t, 0.3)}
    assert other != {t.number for t in tickets if in_sample("seed", t, 0.3)}
