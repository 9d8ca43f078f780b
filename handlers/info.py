"""Looking things up: 查询, 模板, 待办, 帮助."""

from __future__ import annotations

from bot import notices
from bot.answers import MARK
from bot.commands import Call
from bot.labels import audit_label
from bot.lifecycle import OPEN_STATES, STATE_LABELS, State, values
from bot.messages import ChatKind
from bot.reply_checks import template_text
from bot.sms_trail import sms_lines
from handlers.registry import COMMANDS, command
from store.models import Ticket
from store.queries import tickets as tickets_q

LIST_LIMIT = 10


@command("查询", "查", example="查询 0001（工单号或后4位以上）", read_only=True, office_sees_all=True)
async def query(call: Call) -> str:
    """查询 / 查 NO: summary, deadline, state and the last events."""
    assert call.ticket is not None
    ctx, t = call.ctx, call.ticket
    handler = ctx.directory.person_by_id(t.handler_id)
    # docs/design.md (chat commands): full citizen details only to the 承办人 in a direct message, and to the office.
    full = call.message.chat_kind is ChatKind.DIRECT and (
        call.person.is_office or (t.handler_id is not None and t.handler_id == call.person.id))
    text = notices.summary(t, ctx.calendar, ctx.directory.unit_name(t.unit_code),
                           STATE_LABELS[State(t.state)], handler.name if handler else None, full,
                           ctx.service.rulebook.rules)
    events = await tickets_q.latest_events(call.s, t.id, limit=3)
    text += "".join("\n" + line for line in await sms_lines(call.s, t, ctx.calendar))
    if events:
        text += "\n最近：" + "；".join(
            f"{notices.fmt_time(ctx.calendar, e.at)} {e.actor} {audit_label(e.action)}" for e in events)
    return text


@command("模板", "答复模板", example="模板 202611230001", read_only=True, office_sees_all=True)
async def template(call: Call) -> str:
    """模板 NO: the answer template of the ticket's rule (by preset, source and kind)."""
    assert call.ticket is not None
    t = call.ticket
    lines: list[str] = []
    if t.duplicate_of is not None:
        lines.append(f"此件为重复件，可直接回复「答复 {t.number} {MARK}」，系统会写明原工单的答复时间并附上原答复。")
    check = call.ctx.service.policy(t).reply_check
    if check is not None:
        lines.append(template_text(check, t.number))
    elif not lines:
        lines.append(f"工单 {t.number} 的答复没有固定模板，请写明处理结果及与来电人沟通的情况，例如：\n"
                     f"答复 {t.number} 实际解决。11月24日10时电话联系来电人……来电人表示接受。")
    return "\n".join(lines)


@command("待办", "我的", example="待办", needs_ticket=False, read_only=True)
async def todo(call: Call) -> str:
    """待办 / 我的: own open tickets, then the unit's, sorted by deadline."""
    ctx, person = call.ctx, call.person
    open_states = values(OPEN_STATES)
    mine = await tickets_q.handled_by(call.s, person.id, open_states, limit=LIST_LIMIT)
    units = None if person.is_office else person.units()
    unit_open = await tickets_q.unaccepted(call.s, open_states, units=units, limit=LIST_LIMIT)
    now = ctx.clock.now()
    lines: list[str] = []
    if mine:
        lines.append("我承办的：")
        lines += [_line(ctx, t, now) for t in mine]
    if unit_open:
        lines.append("待签收 / 待派单：")
        lines += [_line(ctx, t, now) for t in unit_open]
    return "\n".join(lines) if lines else "目前没有待办工单。"


def _line(ctx: object, t: Ticket, now: object) -> str:
    cal = ctx.calendar  # type: ignore[attr-defined]
    overdue = "【已超期】" if t.deadline is not None and t.deadline < now else ""  # type: ignore[operator]
    return (f"· {overdue}{notices.tag_line(t)}{t.number} {STATE_LABELS[State(t.state)]}，"
            f"时限 {notices.fmt_time(cal, t.deadline)}")


@command("帮助", "help", "?", "？", example="帮助", needs_ticket=False, read_only=True,
         list_aliases=False)
async def help_command(call: Call) -> str:
    """帮助 / help: the command list with an example each (转办 names a configured unit)."""
    d = call.ctx.directory
    office = set(d.office_units())
    own = set(call.person.units()) if not call.person.is_office else set()
    # A unit one would hand a ticket to: not the office, preferably not the speaker's own.
    codes = sorted(d.units, key=lambda c: (c in office, c in own, list(d.units).index(c)))
    unit = d.units[codes[0]] if codes else None
    return COMMANDS.help_text((unit.code, unit.name) if unit is not None else None)
