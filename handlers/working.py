"""What handlers do with a ticket: 签收, 联系, 进展, 答复, 延期, 退单."""

from __future__ import annotations

from bot.grammar import GrammarError, parse_extension, usage
from handlers.registry import Call, Router

router = Router()


@router.command("签收")
async def accept(call: Call) -> str:
    """签收: the sender becomes the 承办人."""
    assert call.ticket is not None
    return await call.ctx.service.accept(call.s, call.ticket, call.person, call.raw)


@router.command("联系")
async def first_contact(call: Call) -> str:
    """联系 / 先行联系: record the first contact with the citizen."""
    assert call.ticket is not None
    return await call.ctx.service.first_contact(call.s, call.ticket, call.person, call.raw, call.command.rest)


@router.command("进展")
async def progress(call: Call) -> str:
    """进展 / 报送: an interim report."""
    assert call.ticket is not None
    if not call.command.rest:
        raise GrammarError("请写明进展内容。" + usage("进展"))
    return await call.ctx.service.progress(call.s, call.ticket, call.person, call.raw, call.command.rest)


@router.command("答复")
async def reply(call: Call) -> str:
    """答复 / 回复 / 办结: the reply draft, checked against the 办结规范."""
    assert call.ticket is not None
    if not call.command.rest:
        raise GrammarError("请写明答复内容。" + usage("答复"))
    return await call.ctx.service.reply(call.s, call.ticket, call.person, call.raw, call.command.rest)


@router.command("延期")
async def extension(call: Call) -> str:
    """延期 NO N天 理由 (or a date)."""
    assert call.ticket is not None
    ctx = call.ctx
    until, reason = parse_extension(call.command.rest, ctx.calendar, ctx.clock.now(), call.ticket.deadline)
    return await ctx.service.request_extension(call.s, call.ticket, call.person, call.raw, until, reason)


@router.command("退单")
async def giveback(call: Call) -> str:
    """退单 / 退回 NO 理由."""
    assert call.ticket is not None
    return await call.ctx.service.request_giveback(call.s, call.ticket, call.person, call.raw,
                                                   call.command.rest)
