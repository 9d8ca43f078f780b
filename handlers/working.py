"""What handlers do with a ticket: 签收, 联系, 进展, 答复, 延期, 退单."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.answers import duplicate_text
from bot.commands import Call
from bot.grammar import fold, parse_extension
from bot.lifecycle import GuardFailed, State, Transition, check
from bot.notices import fmt_time
from bot.registration import SYSTEM
from bot.reply_checks import REPLY_CHECKS, result_category
from bot.supervision import progress_mark
from handlers.decisions import approved
from handlers.registry import command


@command("签收", "接单", example="签收 202611230001")
async def accept(call: Call) -> str:
    """签收: the sender becomes the 承办人."""
    assert call.ticket is not None
    ctx, ticket = call.ctx, call.ticket
    assist = await ctx.service.accept(call.s, ticket, call.person, call.raw)
    if assist is not None:
        return (f"{call.person.name} 已代表{ctx.directory.unit_name(assist.unit_code)}签收工单 {ticket.number}"
                f"（配合办理，牵头单位：{ctx.directory.unit_name(ticket.unit_code)}），"
                f"请用「进展 {ticket.number} 配合情况」报送。")
    # 平顶山 C/D类 “要确定1名主管领导”
    extra = (f"（请同时明确包案领导：回复「包案 {ticket.number} 领导姓名」。）"
             if ctx.service.policy(ticket).leader_at_accept and not ticket.lead_leader else "")
    return f"{call.person.name} 已签收工单 {ticket.number}，办结时限 {fmt_time(ctx.calendar, ticket.deadline)}。{extra}"


@command("联系", "先行联系", example="联系 202611230001 已电话联系来电人，约定明日上门")
async def first_contact(call: Call) -> str:
    """联系 / 先行联系: record the first contact with the citizen."""
    assert call.ticket is not None
    ctx, ticket = call.ctx, call.ticket
    await ctx.service.first_contact(call.s, ticket, call.person, call.raw, call.command.rest)
    return f"已登记工单 {ticket.number} 的先行联系（{fmt_time(ctx.calendar, ticket.first_contact_at)}）。"


@command("进展", "报送", example="进展 202611230001 已协调社区，明日现场核实",
         content="请写明进展内容。", evidence=True)
async def progress(call: Call) -> str:
    """进展 / 报送: an interim report; ``计划：…`` carries the plan (平顶山 C类), ``方案：…`` the 方案 of a
    现场督办."""
    assert call.ticket is not None
    ticket = call.ticket
    assist = await call.ctx.service.progress(call.s, ticket, call.person, call.raw, call.command.rest)
    if assist is not None:
        return f"已记录{call.ctx.directory.unit_name(assist.unit_code)}对工单 {ticket.number} 的配合情况，已转告牵头单位。"
    mark = progress_mark(call.command.rest)
    if mark == "计划" and ticket.deadline is None and call.ctx.service.policy(ticket).deadline_by_office:
        return f"已记录工单 {ticket.number} 的前期处理情况及办理计划，最终办结时限待办公室确定。"
    if mark is not None:
        return f"已记录工单 {ticket.number} 的{mark}。"
    return f"已记录工单 {ticket.number} 的进展。"


@command("答复", "回复", "办结", example="答复 202611230001 实际解决。11月23日10时电话沟通……来电人表示接受",
         content="请写明答复内容。", evidence=True)
async def reply(call: Call) -> str:
    """答复 / 回复 / 办结: the reply draft, checked by the ticket's rule (``reply_check``)."""
    assert call.ticket is not None
    ctx, ticket = call.ctx, call.ticket
    check(Transition.REPLY, ticket.state, ctx.service.capacities(call.person, ticket))
    content = call.command.rest
    probe = fold(content)[0]  # keywords are matched on the folded copy; ``content`` is stored as typed
    category = result_category(probe)
    duplicate = await duplicate_text(call.s, ticket, content, ctx.calendar, ctx.config)
    if duplicate is not None:
        # 利川: “可以在重复件上回复“于什么时间回复，该件为重复件”” — filled in from the earlier ticket.
        content, category = duplicate, "重复件"
    else:
        rule = ctx.service.policy(ticket).reply_check
        if rule is not None and not REPLY_CHECKS[rule].passes(probe):
            raise GuardFailed(REPLY_CHECKS[rule].refusal(ticket.number, probe),
                              state=State(ticket.state), code="reply_incomplete")
    req = await ctx.service.reply(call.s, ticket, call.person, call.raw, content, category)
    if req.state == "approved":  # the rule asks no review
        return f"工单 {ticket.number} 已答复。"
    return f"工单 {ticket.number} 的答复已提交，等待领导审核。"


@dataclass(frozen=True)
class ExtensionArgs:
    """延期's arguments: the new deadline asked for and why."""

    until: datetime
    reason: str


def _extension_args(call: Call) -> ExtensionArgs:
    """``5天 理由`` / ``3个工作日 理由`` / ``2026-12-05 理由``, counted from the ticket's deadline."""
    assert call.ticket is not None
    ctx = call.ctx
    until, reason = parse_extension(call.command.rest, ctx.calendar, ctx.clock.now(), call.ticket.deadline,
                                    call.usage)
    return ExtensionArgs(until, reason)


@command("延期", example="延期 202611230001 5天 需协调多个部门（或写日期：2026-12-05）", args=_extension_args)
async def extension(call: Call) -> str:
    """延期 NO N天 理由 (or a date)."""
    assert call.ticket is not None
    args: ExtensionArgs = call.args
    req = await call.ctx.service.request_extension(call.s, call.ticket, call.person, call.raw, args.until,
                                                   args.reason)
    if req.state == "approved":  # the rule asks no review
        return approved(call, call.ticket, req, SYSTEM)
    return f"工单 {call.ticket.number} 的延期申请已提交，等待审核。"


@command("退单", "退回", example="退单 202611230001 不属于本单位职责，建议转住建局", evidence=True,
         office_sees_all=True)
async def giveback(call: Call) -> str:
    """退单 / 退回 NO 理由: the handler asks (a leader decides); the office returns a ticket not yet
    dispatched itself."""
    assert call.ticket is not None
    service, ticket = call.ctx.service, call.ticket
    if ticket.state == State.REGISTERED and call.person.is_office:
        await service.office_giveback(call.s, ticket, call.person, call.raw, call.command.rest)
        when = service.giveback_when(ticket)
        return f"工单 {ticket.number} 已由办公室退单，请{when}在热线系统中从原渠道退回。"
    req = await service.request_giveback(call.s, ticket, call.person, call.raw, call.command.rest)
    if req.state == "approved":  # the rule asks no review
        return approved(call, ticket, req, SYSTEM)
    when = service.giveback_when(ticket)
    return f"工单 {ticket.number} 的退单申请已提交，等待审核" + (f"（退单须{when}完成）。" if when else "。")
