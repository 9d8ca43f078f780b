"""One ticket, several units, through the real inbox: the office names a lead unit and assisting
units; each assisting unit 签收s in its own group and reports, relayed to the lead unit; the lead's
answer waits for every report unless the office waives it; 吉林 copies every 紧急 assignment to the
unit's parent unit.

平顶山 “涉及两个以上地区、部门、单位的问题,由市长热线办公室按照职责就近原则,指定一个牵头单位负责办理,
有关网络单位要切实搞好配合”; 吉林 “紧急类诉求，根据各级承办单位管理职能直接转至具体承办单位办理…
同时转至其上级单位督促解决”."""

from __future__ import annotations

from typing import Any

from tests.conftest import base_config, ticket_body
from tests.handlers.chat import Chat, only_answer
from tests.handlers.test_workflow import GOOD_REPLY

NUMBER = "202611230001"


async def _view(bot: Any) -> dict[str, Any]:
    r = await bot.get(f"/api/v1/tickets/12345/{NUMBER}")
    assert r.status == 200
    return await r.json()


async def _lead_and_assist(bot: Any, chat: Chat) -> None:
    r = await bot.post_ticket(ticket_body(NUMBER))
    assert r.status == 201, await r.text()
    rows = await chat.say("王办公", f"转办 {NUMBER} YLK 配合 SHJZK", chat="bgs")
    answer = only_answer(rows)
    assert "养老服务科牵头办理" in answer and "社会救助科" in answer
    [assist] = [x for x in rows if x.kind == "assist" and x.destination.get("chat_id") == "shjzk"]
    assert "由养老服务科牵头办理" in assist.payload["text"]
    assert [a["command"] for a in assist.payload["actions"]] == ["签收"]
    assert "13812341234" not in assist.payload["text"]  # the citizen's phone stays masked in groups
    [lead] = [x for x in rows if x.kind == "assignment"]
    assert lead.destination.get("chat_id") == "ylk"
    await chat.say("张承办", f"签收 {NUMBER}")


async def test_the_lead_answers_after_every_assisting_unit_reported(make_bot) -> None:
    bot = await make_bot(procedure={"preset": "pingdingshan"})
    chat = Chat(bot)
    await _lead_and_assist(bot, chat)
    assert "请先签收" in only_answer(await chat.say("陈承办", f"进展 {NUMBER} 已核查", chat="shjzk"))
    accepted = only_answer(await chat.say("陈承办", f"签收 {NUMBER}", chat="shjzk"))
    assert "已代表社会救助科签收" in accepted
    t = await chat.ticket(NUMBER)
    assert t.state == "accepted" and t.unit_code == "YLK"  # the lead's ticket did not move
    assert [a["unit"] for a in (await _view(bot))["assists"]] == ["SHJZK"]

    held = only_answer(await chat.say("张承办", f"答复 {NUMBER} {GOOD_REPLY}"))
    assert "配合单位社会救助科尚未报送" in held and "不等配合" in held
    assert (await chat.ticket(NUMBER)).state == "accepted"

    rows = await chat.say("陈承办", f"进展 {NUMBER} 已核实来电人低保情况，符合救助条件", chat="shjzk")
    assert "已转告牵头单位" in only_answer(rows)
    [relay] = [x for x in rows if x.kind == "assist_progress"]
    assert relay.destination.get("chat_id") == "ylk" and "符合救助条件" in relay.payload["text"]
    # an assisting unit never answers for the lead
    assert "只有" in only_answer(await chat.say("陈承办", f"答复 {NUMBER} {GOOD_REPLY}", chat="shjzk"))

    assert "等待领导审核" in only_answer(await chat.say("张承办", f"答复 {NUMBER} {GOOD_REPLY}"))
    assert (await chat.ticket(NUMBER)).state == "reply_pending"
    view = await _view(bot)
    assert view["assists"][0]["reported_at"] is not None and view["unit"] == "YLK"


async def test_the_office_may_waive_the_wait(make_bot) -> None:
    bot = await make_bot(procedure={"preset": "pingdingshan"})
    chat = Chat(bot)
    await _lead_and_assist(bot, chat)
    assert "尚未报送" in only_answer(await chat.say("张承办", f"答复 {NUMBER} {GOOD_REPLY}"))
    assert "只有办公室" in only_answer(await chat.say("李科长", f"转办 {NUMBER} 不等配合 已电话沟通"))
    waived = only_answer(await chat.say("王办公", f"转办 {NUMBER} 不等配合 社会救助科已电话说明", chat="bgs"))
    assert "未报送：社会救助科" in waived
    assert "等待领导审核" in only_answer(await chat.say("张承办", f"答复 {NUMBER} {GOOD_REPLY}"))


async def test_a_unit_that_does_not_assist_still_cannot_see_the_ticket(make_bot) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    await bot.post_ticket(ticket_body(NUMBER, unit="YLK"))
    assert "没有找到工单" in only_answer(await chat.say("陈承办", f"签收 {NUMBER}", chat="shjzk"))
    usage = only_answer(await chat.say("王办公", f"转办 {NUMBER} YLK 配合", chat="bgs"))
    assert "转办 工单号 牵头单位 配合 单位1 单位2" in usage


def _units_with_a_parent() -> list[dict[str, Any]]:
    """The test units, with 养老服务科 under a 民政局 that has its own group."""
    units = base_config("sqlite://")["units"]
    for unit in units:
        if unit["code"] == "YLK":
            unit["parent"] = "MZJ"
    units.append({"code": "MZJ", "name": "民政局", "parent": "BGS",
                  "chats": [{"platform": "console", "bot": "console", "chat_id": "mzj"}]})
    return units


async def test_jilin_copies_urgent_assignments_to_the_parent_unit(make_bot) -> None:
    bot = await make_bot(procedure={"preset": "jilin"}, units=_units_with_a_parent())
    chat = Chat(bot)
    await bot.post_ticket(ticket_body(NUMBER, unit="YLK", category="紧急"))
    await bot.post_ticket(ticket_body("202611230002", unit="YLK", category="一般"))
    rows = await chat.new_rows()
    copies = [x for x in rows if x.kind == "copy"]
    assert [(x.destination.get("chat_id"), x.payload["ticket"]) for x in copies] == [("mzj", f"12345/{NUMBER}")]
    assert "请督促解决" in copies[0].payload["text"]
    assert [(a["unit"], a["role"]) for a in (await _view(bot))["assists"]] == [("MZJ", "copy")]


async def test_a_reopened_ticket_keeps_its_assisting_units_who_report_again(make_bot) -> None:
    bot = await make_bot(procedure={"preset": "pingdingshan"})
    chat = Chat(bot)
    await _lead_and_assist(bot, chat)
    await chat.say("陈承办", f"签收 {NUMBER}", chat="shjzk")
    await chat.say("陈承办", f"进展 {NUMBER} 已核实低保情况", chat="shjzk")
    await chat.say("张承办", f"答复 {NUMBER} {GOOD_REPLY}")
    await chat.say("李科长", f"同意 {NUMBER}")
    assert (await chat.ticket(NUMBER)).state == "answered"

    rows = await chat.say("王办公", f"回访 {NUMBER} 过程满意 结果不满意 重办 低保仍未落实", chat="bgs")
    assert (await chat.ticket(NUMBER)).round == 2
    [carried] = [x for x in rows if x.kind == "assist" and x.destination.get("chat_id") == "shjzk"]
    assert "【重办·配合】" in carried.payload["text"] and "第2轮" in carried.payload["text"]
    assert [a["command"] for a in carried.payload["actions"]] == ["签收"]
    assert any(x.kind == "assist" and x.destination.get("chat_id") == "ylk" and "社会救助科" in x.payload["text"]
               for x in rows)
    [assist] = (await _view(bot))["assists"]
    assert (assist["unit"], assist["accepted_at"], assist["reported_at"]) == ("SHJZK", None, None)

    await chat.say("张承办", f"签收 {NUMBER}")
    held = only_answer(await chat.say("张承办", f"答复 {NUMBER} {GOOD_REPLY}"))
    assert "配合单位社会救助科尚未报送" in held  # the new round waits for the assist's new report
    assert "已代表社会救助科签收" in only_answer(await chat.say("陈承办", f"签收 {NUMBER}", chat="shjzk"))
    await chat.say("陈承办", f"进展 {NUMBER} 已再次上门，低保已落实", chat="shjzk")
    assert "等待领导审核" in only_answer(await chat.say("张承办", f"答复 {NUMBER} {GOOD_REPLY}"))


async def test_jilin_parent_keeps_its_copy_when_the_ticket_is_reopened(make_bot) -> None:
    bot = await make_bot(procedure={"preset": "jilin"}, units=_units_with_a_parent())
    chat = Chat(bot)
    await bot.post_ticket(ticket_body(NUMBER, unit="YLK", category="紧急"))
    await chat.new_rows()
    await chat.say("张承办", f"签收 {NUMBER}")
    await chat.say("张承办", f"答复 {NUMBER} {GOOD_REPLY}")
    await chat.say("李科长", f"同意 {NUMBER}")
    assert (await chat.ticket(NUMBER)).state == "answered"
    r = await bot.post_event("12345", NUMBER, {"type": "reopen", "id": "RO-1", "reason": "问题仍未解决"})
    assert r.status == 200 and (await r.json())["round"] == 2
    copies = [x for x in await chat.new_rows() if x.kind == "copy"]
    assert [x.destination.get("chat_id") for x in copies] == ["mzj"]
    assert "【抄送·重办】" in copies[0].payload["text"] and "第2轮" in copies[0].payload["text"]
    assert "13812341234" not in copies[0].payload["text"]
    assert [(a["unit"], a["role"]) for a in (await _view(bot))["assists"]] == [("MZJ", "copy")]
