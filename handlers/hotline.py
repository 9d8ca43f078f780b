"""What the office records from the hotline: its decision on an extension (延期结果)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.commands import Call
from bot.grammar import GrammarError, fold, parse_extension
from bot.lifecycle import Actor
from bot.notices import fmt_time
from handlers.registry import command


@dataclass(frozen=True)
class DecisionArgs:
    """延期结果's arguments: granted or not, the date the hotline fixed, and a note."""

    granted: bool
    until: datetime | None
    note: str


def _decision_args(call: Call) -> DecisionArgs:
    """``同意 2026-12-20 [说明]`` or ``不同意 理由``."""
    assert call.ticket is not None
    rest = call.command.rest.strip()
    word = fold(rest)[0]
    if word.startswith("不同意"):
        return DecisionArgs(False, None, rest[len("不同意"):].strip(" ，,：:"))
    if word.startswith("同意"):
        ctx = call.ctx
        until, note = parse_extension(rest[len("同意"):].strip(" ，,：:"), ctx.calendar, ctx.clock.now(),
                                      call.ticket.deadline, call.usage)
        return DecisionArgs(True, until, note)
    raise GrammarError("请写明热线的决定：同意 加日期，或 不同意 加理由。" + call.usage)


@command("延期结果", example="延期结果 202611230001 同意 2026-12-20（或：不同意 理由）",
         roles=frozenset({Actor.OFFICE}), office_sees_all=True, args=_decision_args,
         content="请写明热线的决定。")
async def extension_result(call: Call) -> str:
    """延期结果 NO 同意 日期 / 不同意 理由: the hotline's decision, recorded by the office."""
    assert call.ticket is not None
    args: DecisionArgs = call.args
    ticket = call.ticket
    await call.ctx.service.extension_decision(call.s, ticket, call.person, call.raw, args.granted, args.until,
                                              args.note, {"via": "command"})
    if args.granted:
        told = "，已短信告知来电人" if ticket.citizen_phone else ""
        return (f"已登记：市长热线办同意工单 {ticket.number} 延期至 {fmt_time(call.ctx.calendar, ticket.deadline)}，"
                f"此时限不能再更改{told}。")
    return f"已登记：市长热线办未同意工单 {ticket.number} 延期，按原时限办结。"
