"""按重复件答复: the one-tap form of ``答复 NO 重复件`` (the button on a 重复件's card)."""

from __future__ import annotations

from bot.answers import duplicate_text
from bot.commands import Call
from bot.grammar import GrammarError
from bot.lifecycle import Transition, check
from bot.reading.repeats import ANSWER_COMMAND
from handlers.registry import command


@command(ANSWER_COMMAND, example=f"{ANSWER_COMMAND} 202611230001")
async def answer_as_repeat(call: Call) -> str:
    """按重复件答复 NO: submit the 重复件 answer filled in from the earlier ticket (reviewed as any
    answer); the same text as ``答复 NO 重复件`` (``bot.answers``)."""
    assert call.ticket is not None
    ctx, ticket = call.ctx, call.ticket
    check(Transition.REPLY, ticket.state, ctx.service.capacities(call.person, ticket))
    text = await duplicate_text(call.s, ticket, "重复件", ctx.calendar, ctx.config)
    if text is None:
        raise GrammarError(f"工单 {ticket.number} 没有记为重复件，请用「答复 {ticket.number} 答复内容」。")
    req = await ctx.service.reply(call.s, ticket, call.person, call.raw, text, "重复件")
    if req.state == "approved":
        return f"工单 {ticket.number} 已按重复件答复：{req.content}"
    return f"工单 {ticket.number} 已按重复件提交答复，等待领导审核：{req.content}"
