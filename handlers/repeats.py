"""按重复件答复: the handler answers a 重复件 in one step, with the words 利川 prescribes."""

from __future__ import annotations

from bot.commands import Call
from bot.grammar import GrammarError
from bot.lifecycle import Transition, check
from bot.reading.repeats import ANSWER_COMMAND, earlier_tickets, repeat_answer
from handlers.registry import command


@command(ANSWER_COMMAND, example=f"{ANSWER_COMMAND} 202611230001")
async def answer_as_repeat(call: Call) -> str:
    """按重复件答复 NO: submit "于…回复，该件为重复件" as the ticket's answer (reviewed as any answer)."""
    assert call.ticket is not None
    ctx, ticket = call.ctx, call.ticket
    check(Transition.REPLY, ticket.state, ctx.service.capacities(call.person, ticket))
    found = await earlier_tickets(call.s, ticket)
    if not found:
        raise GrammarError(f"工单 {ticket.number} 没有记为重复件，请用「答复 {ticket.number} 答复内容」。")
    req = await ctx.service.reply(call.s, ticket, call.person, call.raw, repeat_answer(ctx.calendar, found[0]),
                                  "重复件")
    if req.state == "approved":
        return f"工单 {ticket.number} 已按重复件答复：{req.content}"
    return f"工单 {ticket.number} 已按重复件提交答复，等待领导审核：{req.content}"
