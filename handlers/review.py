"""What leaders do: 同意 and 驳回 of a pending reply, extension or giveback, and the answers."""

from __future__ import annotations

from bot.commands import Call
from bot.tickets import REQUEST_LABELS
from handlers.decisions import approved
from handlers.registry import command


@command("同意", "通过", "批准", example="同意 202611230001 （可附意见）")
async def approve(call: Call) -> str:
    """同意 / 通过 / 批准 NO [意见]."""
    assert call.ticket is not None
    req = await call.ctx.service.approve(call.s, call.ticket, call.person, call.raw, call.command.rest,
                                             call.bound, _clicked(call))
    return approved(call, call.ticket, req, call.person.name)


@command("驳回", "不同意", example="驳回 202611230001 请补充与来电人沟通的时间", button_note=True)
async def reject(call: Call) -> str:
    """驳回 / 不同意 NO 意见."""
    assert call.ticket is not None
    req = await call.ctx.service.reject(call.s, call.ticket, call.person, call.raw, call.command.rest,
                                            call.bound, _clicked(call))
    return f"已驳回工单 {call.ticket.number} 的{REQUEST_LABELS[req.kind]}。"


def _clicked(call: Call) -> str | None:
    """The clicked card's message (the dispatcher updates that one itself), or None when typed."""
    return call.message.message_id if call.via_button else None
