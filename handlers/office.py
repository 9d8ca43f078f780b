"""What the office does in chat: 转办 / 派单, 按建议派单."""

from __future__ import annotations

from bot.commands import Call
from bot.grammar import GrammarError
from bot.lifecycle import Actor
from bot.reading.cards import NO_MODEL, SUGGEST_COMMAND
from bot.reading.service import suggested_unit
from bot.units import resolve_unit
from handlers.registry import command


def _unit_arg(call: Call) -> str:
    """The unit's code, named by code or by name (full name, or a part that names one unit)."""
    units = call.ctx.directory.units
    wanted = call.command.rest.split()[0] if call.command.rest else ""
    if not wanted:
        raise GrammarError("请写明承办单位。" + call.usage)
    unit = (resolve_unit(units.values(), call.command.rest) or resolve_unit(units.values(), wanted)
            or _unit_by_part(units, wanted))
    if unit is None:
        known = "、".join(f"{u.code}（{u.name}）" for u in units.values())
        raise GrammarError(f"没有找到单位「{wanted}」。可用单位：{known}")
    return unit


@command("转办", "派单", example="转办 202611230001 MZJ（单位代码）", roles=frozenset({Actor.OFFICE}),
         office_sees_all=True, args=_unit_arg,
         help_example=lambda code, name: f"转办 202611230001 {code}（{name}的单位代码）")
async def dispatch(call: Call) -> str:
    """转办 / 派单 NO 单位: hand the ticket to another unit."""
    assert call.ticket is not None
    ctx, unit = call.ctx, call.args
    await ctx.service.dispatch(call.s, call.ticket, unit, call.person, call.raw)
    return f"工单 {call.ticket.number} 已派至{ctx.directory.unit_name(unit)}。"


@command(SUGGEST_COMMAND, example=f"{SUGGEST_COMMAND} 202611230001", roles=frozenset({Actor.OFFICE}),
         office_sees_all=True)
async def dispatch_as_suggested(call: Call) -> str:
    """按建议派单 NO: dispatch the ticket to the unit its suggestion card named."""
    assert call.ticket is not None
    ctx = call.ctx
    unit = await suggested_unit(call.s, ctx.service.reader, call.ticket)
    if unit is None or unit not in ctx.directory.units:
        return NO_MODEL
    await ctx.service.dispatch(call.s, call.ticket, unit, call.person, call.raw)
    return f"工单 {call.ticket.number} 已按建议派至{ctx.directory.unit_name(unit)}。"


def _unit_by_part(units: dict, wanted: str) -> str | None:  # type: ignore[type-arg]
    """The one unit whose name contains ``wanted`` (``住建`` for 区住建局), else None."""
    partial = [code for code, u in units.items() if wanted in u.name]
    return partial[0] if len(partial) == 1 else None
