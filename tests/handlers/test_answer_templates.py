"""Answers by template: the check and the template follow the preset, the source and the kind
(松江 12345 求助/投诉, 咨询/建议, 信访 with its 复查 window; the 信访 preset), and a 重复件 is
answered in one step (利川)."""

from __future__ import annotations

from datetime import timedelta

from bot.deadlines import Duration, apply_duration
from tests.conftest import ticket_body
from tests.handlers.chat import Chat, only_answer
from tests.handlers.test_workflow import GOOD_REPLY

# 松江 附件2 信访答复模板: “经查，[…事实认定情况]。本机关认为，[…法律、法规、规章或政策]。…如不服本意见，
# 您可自收到本处理意见之日起 30 日内向[上一级行政机关]提出复查申请。”
XINFANG_REPLY = ("您反映养老服务站关门一事。经查，该站因装修暂停服务。本机关认为，根据《养老服务站管理办法》，"
                 "装修期间应保障就餐，已督促恢复。如不服本意见，您可自收到本处理意见之日起30日内向区政府提出复查申请。")
# 松江 附件3 二、咨询类或意见建议类办结报告填报模板: “根据“XXXXXX政策…”…来电人XXX表示接受/不接受”.
CONSULT_REPLY = ("11月24日10时，养老服务科工作人员与来电人电话沟通。根据《上海市养老服务补贴办法》，"
                 "来电人的诉求符合规定，已沟通解释，来电人表示接受。")


async def _accepted(make_bot, number: str = "202611230001", **body):
    bot = await make_bot(**body.pop("config", {}))
    chat = Chat(bot)
    r = await bot.post_ticket(ticket_body(number=number, unit="YLK", **body))
    assert r.status in (200, 201), await r.text()
    await chat.say("张承办", f"签收 {number}")
    return bot, chat


async def test_xinfang_answer_to_its_own_template_is_accepted_and_keeps_the_review_window(make_bot, clock) -> None:
    # 信访: “可以自收到处理意见之日起30日内，向市政府辦提出复查申请” — the window is kept and shown.
    bot, chat = await _accepted(make_bot, source="xinfang", kind="投诉")
    refused = only_answer(await chat.say("张承办", f"答复 0001 {GOOD_REPLY}"))
    assert "信访答复模板" in refused and "复查告知" in refused and "事实认定" in refused
    assert "实际解决" not in refused.split("缺少：")[1].split("。")[0]  # the 12345 elements are not asked
    assert "如不服本意见" in refused  # the template shown is the 信访 one
    assert "等待领导审核" in only_answer(await chat.say("张承办", f"答复 0001 {XINFANG_REPLY}"))
    clock.advance(hours=1)
    await chat.say("李科长", "同意 0001")
    t = await chat.ticket("202611230001")
    expected = apply_duration(bot.ctx.calendar, clock.now(), Duration("d", 30), roll=True)
    assert t.reconsider_until == expected
    assert t.reconsider_until - clock.now() > timedelta(days=29)
    shown = only_answer(await chat.say("张承办", "查询 0001"))
    assert f"复查期限：来电人可于 {expected.astimezone(bot.ctx.calendar.tz).month}月" in shown
    view = await (await bot.get("/api/v1/tickets/xinfang/202611230001")).json()
    assert view["reconsider_until"] == expected.astimezone(bot.ctx.calendar.tz).isoformat()


async def test_12345_answer_must_say_whether_the_citizen_accepts(make_bot) -> None:
    # 松江 办结规范: “…承办人与市民沟通答复情况；市民对办理结果是否满意等。对不符合规范的，一律退回承办责任科室重办”
    _bot, chat = await _accepted(make_bot)
    draft = GOOD_REPLY.replace("来电人表示接受。", "")
    refused = only_answer(await chat.say("张承办", f"答复 0001 {draft}"))
    assert "缺少：来电人是否满意/接受" in refused and "求助/投诉类" in refused
    assert (await chat.ticket("202611230001")).state == "accepted"
    assert "等待领导审核" in only_answer(await chat.say("张承办", f"答复 0001 {GOOD_REPLY}"))


async def test_consultation_uses_the_consultation_template(make_bot) -> None:
    # 松江 附件3 “二、咨询类或意见建议类办结报告填报模板”: a policy basis instead of a result category.
    _bot, chat = await _accepted(make_bot, kind="咨询")
    shown = only_answer(await chat.say("张承办", "模板 0001"))
    assert "咨询/建议类" in shown and "处置依据" in shown
    refused = only_answer(await chat.say("张承办", "答复 0001 11月24日10时电话沟通，来电人表示接受。"))
    assert "缺少：处置依据" in refused
    assert "等待领导审核" in only_answer(await chat.say("张承办", f"答复 0001 {CONSULT_REPLY}"))


async def test_template_command_offers_the_template_of_the_source(make_bot) -> None:
    bot, chat = await _accepted(make_bot, source="xinfang")
    assert "如不服本意见" in only_answer(await chat.say("张承办", "模板 0001"))
    await bot.post_ticket(ticket_body(number="202611230002", unit="YLK", kind="投诉",
                                      citizen={"name": "李四", "phone": "13900001111"}))
    shown = only_answer(await chat.say("张承办", "模板 0002"))
    assert "求助/投诉类" in shown and "复查" not in shown
    assert "模板 202611230001" in only_answer(await chat.say("张承办", "帮助"))


async def test_xinfang_preset_checks_the_review_notice(make_bot, clock) -> None:
    _bot, chat = await _accepted(make_bot, source="xinfang", config={"procedure": {"preset": "xinfang"}})
    refused = only_answer(await chat.say("张承办", "答复 0001 经查属实，根据规定已处理。"))
    assert "缺少：复查告知" in refused
    assert "等待领导审核" in only_answer(await chat.say("张承办", f"答复 0001 {XINFANG_REPLY}"))


async def test_duplicate_answered_in_one_step_with_the_earlier_answer(make_bot, clock) -> None:
    # 利川: “可以在重复件上回复“于什么时间回复，该件为重复件””.
    bot, chat = await _accepted(make_bot, number="A0001",
                                config={"server": {"public_url": "https://bot.example.cn"},
                                        "platforms": {"console": {"enabled": True}}})
    await bot.post_ticket(ticket_body(number="A0002", unit="YLK"))
    assignment = next(r for r in await chat.new_rows() if r.kind == "assignment")
    assert "「答复 A0002 重复件」" in assignment.payload["text"]
    await chat.say("张承办", "签收 A0002")
    refused = only_answer(await chat.say("张承办", "答复 A0002 重复件"))
    assert "尚未答复" in refused and "A0001" in refused
    await chat.say("张承办", f"答复 A0001 {GOOD_REPLY}")
    clock.advance(minutes=30)
    await chat.say("李科长", "同意 A0001")
    when = clock.now().astimezone(bot.ctx.calendar.tz)
    assert "重复件" in only_answer(await chat.say("张承办", "模板 A0002"))
    clock.advance(days=1)
    rows = await chat.say("张承办", "答复 A0002 重复件")
    review = next(r for r in rows if r.kind == "review").payload["text"]
    assert f"于{when.month}月{when.day}日 {when:%H:%M}回复，该件为重复件（原工单 A0001）" in review
    assert GOOD_REPLY[:20] in review
    assert "https://bot.example.cn/console/tickets/12345/A0001" in review
