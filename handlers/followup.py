"""回访: the office (or the unit, where the rule allows it) records a phone 回访."""

from __future__ import annotations

from bot.commands import Call
from bot.followup import EXAMPLE, parse_followup
from handlers.registry import command


@command("回访", "电话回访", example=EXAMPLE, office_sees_all=True,
         content="请写明回访结果，如：回访 202611230001 过程满意 结果满意。")
async def followup(call: Call) -> str:
    """回访 NO 过程… 结果… [归档 | 重办 原因] [意见：…]: process and result satisfaction, the
    citizen's opinion, and the outcome (archive, or a new round)."""
    assert call.ticket is not None
    ticket = call.ticket
    record = parse_followup(call.command.rest, call.usage)
    outcome = await call.ctx.service.phone_followup(call.s, ticket, call.person, call.raw, record)
    said = f"过程{record.process}、结果{record.result}" + (f"，意见：{record.opinion}" if record.opinion else "")
    if outcome == "archived":
        return f"已登记工单 {ticket.number} 的回访（{said}），工单归档。"
    return f"已登记工单 {ticket.number} 的回访（{said}），已发回重办（第{ticket.round}轮）：{record.reason}。"
