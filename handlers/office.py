"""What the office does in chat: 转办 / 派单."""

from __future__ import annotations

from bot.grammar import GrammarError, usage
from bot.lifecycle import NotAllowed
from handlers.registry import Call, Router

router = Router()


@router.command("转办")
async def dispatch(call: Call) -> str:
    """转办 / 派单 NO 单位 — the unit by code or by name."""
    assert call.ticket is not None
    ctx = call.ctx
    if not call.person.is_office:
        raise NotAllowed("只有办公室可以派单或转办。")
    wanted = call.command.rest.split()[0] if call.command.rest else ""
    if not wanted:
        raise GrammarError("请写明承办单位。" + usage("转办"))
    unit = _unit_code(ctx.directory.units, wanted)
    if unit is None:
        known = "、".join(f"{u.code}（{u.name}）" for u in ctx.directory.units.values())
        raise GrammarError(f"没有找到单位「{wanted}」。可用单位：{known}")
    await ctx.service.dispatch(call.s, call.ticket, unit, call.person, call.raw)
    return f"工单 {call.ticket.number} 已派至{ctx.directory.unit_name(unit)}。"


def _unit_code(units: dict, wanted: str) -> str | None:  # type: ignore[type-arg]
    if wanted in units:
        return wanted
    by_name = [code for code, u in units.items() if u.name == wanted]
    if len(by_name) == 1:
        return by_name[0]
    partial = [code for code, u in units.items() if wanted in u.name]
    return partial[0] if len(partial) == 1 else None
