"""What the office decides about a ticket beside its lifecycle: 时限 (the final deadline a rule leaves
to it), 包案 (the 主管/包案 leader) and 督办 (a 督办 level with its duty)."""

from __future__ import annotations

from datetime import datetime

from bot.commands import Call
from bot.grammar import GrammarError, fold, parse_extension
from bot.lifecycle import Actor
from bot.notices import fmt_time
from bot.supervision import BY_NAME, LEVELS, Level
from handlers.registry import command

OFFICE = frozenset({Actor.OFFICE})


def _final_deadline(call: Call) -> datetime:
    """``2026-12-20`` / ``12月20日`` (or ``N天`` from today) → the end of that office day."""
    ctx = call.ctx
    try:
        when, _ = parse_extension(call.command.rest, ctx.calendar, ctx.clock.now(), None, "")
    except GrammarError:
        raise GrammarError("请写明最终办结时限的日期。" + call.usage) from None
    return when


@command("时限", "定时限", example="时限 202611230001 2026-12-20（办公室确定最终办结时限）", roles=OFFICE,
         office_sees_all=True, args=_final_deadline)
async def final_deadline(call: Call) -> str:
    """时限 NO 日期: the final deadline of a ticket whose rule leaves it to the office (平顶山 C类)."""
    assert call.ticket is not None
    when = await call.ctx.service.set_final_deadline(call.s, call.ticket, call.person, call.raw, call.args)
    return f"已确定工单 {call.ticket.number} 的最终办结时限为 {fmt_time(call.ctx.calendar, when)}，已通知承办单位。"


@command("包案", "主管领导", example="包案 202611230001 李科长", roles=frozenset({Actor.OFFICE, Actor.LEADER}),
         office_sees_all=True, content="请写明包案领导的姓名。")
async def lead_leader(call: Call) -> str:
    """包案 NO 领导名: the ticket's 主管/包案 leader (平顶山 C/D类 “要确定1名主管领导”)."""
    assert call.ticket is not None
    name = call.command.rest.split()[0]
    await call.ctx.service.set_lead_leader(call.s, call.ticket, call.person, call.raw, name)
    return f"已登记工单 {call.ticket.number} 的包案领导：{name}。"


def _level(call: Call) -> tuple[Level, str]:
    """``现场 说明`` → (the level, the note)."""
    words = call.command.rest.split(maxsplit=1)
    first = fold(words[0])[0].removesuffix("督办") if words else ""
    if first not in BY_NAME:
        names = "、".join(lv.name for lv in LEVELS)
        raise GrammarError(f"请写明督办级别（{names}）。" + call.usage)
    return BY_NAME[first], words[1].strip() if len(words) > 1 else ""


@command("督办", example="督办 202611230001 现场 请3个工作日内报送办理工作方案（级别：书面、现场、重点、移交）",
         roles=OFFICE, office_sees_all=True, args=_level)
async def supervise(call: Call) -> str:
    """督办 NO 级别 说明: raise the ticket's 督办 level (平顶山 六、督办机制)."""
    assert call.ticket is not None
    level, note = call.args
    ticket = call.ticket
    await call.ctx.service.supervise(call.s, ticket, call.person, call.raw, level.name, note)
    due = f"，时限 {fmt_time(call.ctx.calendar, ticket.supervision_due)}" if ticket.supervision_due else ""
    return f"已对工单 {ticket.number} 启动{level.name}督办（要求：{level.duty}{due}），已通知承办单位。"
