"""What the office does in chat: 转办 / 派单, with assisting units (配合) or without waiting for them;
按建议派单."""

from __future__ import annotations

from dataclasses import dataclass

from bot.assists import WAIVE_WORD
from bot.commands import Call
from bot.grammar import GrammarError
from bot.lifecycle import Actor
from bot.reading.cards import NO_MODEL, SUGGEST_COMMAND
from bot.reading.service import suggested_unit
from bot.units import resolve_unit
from handlers.registry import command

ASSIST_WORD = "配合"
"""``转办 NO 牵头单位 配合 单位1 单位2``: the units after this word assist the lead unit."""


@dataclass(frozen=True)
class DispatchArgs:
    """转办's arguments: the (lead) unit and the assisting units, or the office's 不等配合."""

    unit: str | None
    assists: tuple[str, ...] = ()
    waive: str | None = None  # the reason of a 不等配合


def _unit_code(call: Call, wanted: str, whole: str | None = None) -> str:
    """A unit's code, named by code or by name (full name, or a part that names one unit)."""
    units = call.ctx.directory.units
    unit = ((resolve_unit(units.values(), whole) if whole else None) or resolve_unit(units.values(), wanted)
            or _unit_by_part(units, wanted))
    if unit is None:
        known = "、".join(f"{u.code}（{u.name}）" for u in units.values())
        raise GrammarError(f"没有找到单位「{wanted}」。可用单位：{known}")
    return unit


def _dispatch_args(call: Call) -> DispatchArgs:
    """``单位`` / ``牵头单位 配合 单位1 单位2`` / ``不等配合 理由``."""
    rest = call.command.rest.strip()
    words = rest.split()
    if not words:
        raise GrammarError("请写明承办单位。" + call.usage)
    if words[0] == WAIVE_WORD:
        return DispatchArgs(None, waive=rest[len(WAIVE_WORD):].strip())
    if ASSIST_WORD in words[1:]:
        at = words.index(ASSIST_WORD, 1)
        if at != 1 or len(words) == 2:
            raise GrammarError(f"请这样写：转办 工单号 牵头单位 {ASSIST_WORD} 单位1 单位2。" + call.usage)
        return DispatchArgs(_unit_code(call, words[0]), tuple(_unit_code(call, w) for w in words[2:]))
    return DispatchArgs(_unit_code(call, words[0], rest))


@command("转办", "派单", example="转办 202611230001 MZJ（单位代码）", roles=frozenset({Actor.OFFICE}),
         office_sees_all=True, args=_dispatch_args,
         help_example=lambda code, name: f"转办 202611230001 {code}（{name}的单位代码）")
async def dispatch(call: Call) -> str:
    """转办 / 派单 NO 单位 [配合 单位1 单位2]; 转办 NO 不等配合 理由."""
    assert call.ticket is not None
    ctx, args = call.ctx, call.args
    ticket = call.ticket
    if args.unit is None:
        waiting = await ctx.service.waive_assists(call.s, ticket, call.person, call.raw, args.waive or "")
        names = "、".join(ctx.directory.unit_name(u) for u in waiting) or "无"
        return f"工单 {ticket.number} 不再等待配合单位报送（未报送：{names}），牵头单位可直接提交答复。"
    await ctx.service.dispatch(call.s, ticket, args.unit, call.person, call.raw, args.assists)
    if args.assists:
        names = "、".join(ctx.directory.unit_name(u) for u in args.assists if u != args.unit)
        return f"工单 {ticket.number} 已派至{ctx.directory.unit_name(args.unit)}牵头办理，配合单位：{names}。"
    return f"工单 {ticket.number} 已派至{ctx.directory.unit_name(args.unit)}。"


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
