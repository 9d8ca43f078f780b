"""What leaders do: 同意 and 驳回 of a pending reply, extension or giveback."""

from __future__ import annotations

from handlers.registry import Call, Router

router = Router()


@router.command("同意")
async def approve(call: Call) -> str:
    """同意 / 通过 / 批准 NO [意见]."""
    assert call.ticket is not None
    return await call.ctx.service.approve(call.s, call.ticket, call.person, call.raw, call.command.rest)


@router.command("驳回")
async def reject(call: Call) -> str:
    """驳回 / 不同意 NO 意见."""
    assert call.ticket is not None
    return await call.ctx.service.reject(call.s, call.ticket, call.person, call.raw, call.command.rest)
