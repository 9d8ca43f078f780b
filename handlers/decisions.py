"""The answers to a decided review request, shared by the commands that can decide one (同意, and a
request the rule approves at once because it asks no review)."""

from __future__ import annotations

from bot.commands import Call
from bot.extensions import STEP_LABELS
from bot.notices import fmt_time
from store.models import ReviewRequest, Ticket


def approved(call: Call, ticket: Ticket, req: ReviewRequest, who: str) -> str:
    """The answer to an approval by ``who`` (a leader's 同意, or the system where no review is asked)."""
    if req.kind == "reply":
        return f"{who} 已同意工单 {ticket.number} 的答复，将短信告知来电人。"
    if req.kind == "extension" and req.state == "pending":  # on to the next step of its chain
        return f"{who} 已同意工单 {ticket.number} 的延期申请，已转{STEP_LABELS[req.stage or 'office']}，原时限照常计算。"
    if req.kind == "extension":
        return f"已批准工单 {ticket.number} 延期至 {fmt_time(call.ctx.calendar, req.until)}。"
    when = call.ctx.service.giveback_when(ticket)
    return f"已批准工单 {ticket.number} 退单，已通知办公室{when}在热线系统退回。"
