"""The bot's short Chinese texts about tickets: assignments, decisions, reminders."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.calendar import WorkCalendar
from bot.deadlines import Rule
from bot.labels import EXTENSION_LABELS, label, rule_label
from bot.privacy import mask_name, mask_phone
from store.models import Ticket

SENSITIVE_TAGS = frozenset({"涉稳", "扬言", "涉众"})
URGENT_TAGS = frozenset({"紧急", "次紧急", "疫情"})


def fmt_time(cal: WorkCalendar, when: datetime | None) -> str:
    """``11月23日 17:30`` in the configured zone, or ``—``."""
    if when is None:
        return "—"
    local = cal.local(when)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def tag_line(ticket: Ticket) -> str:
    """``【涉稳】【紧急】`` for the tags a handler must notice first."""
    marks = [t for t in ticket.tags or [] if t in SENSITIVE_TAGS | URGENT_TAGS | {"市级催办", "重复件"}]
    return "".join(f"【{t}】" for t in marks)


def short_content(text: str, limit: int = 120) -> str:
    """The citizen's words, cut for a chat message."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def assignment(ticket: Ticket, cal: WorkCalendar, unit_name: str) -> str:
    """The message posted into a unit's group when a ticket is dispatched to it."""
    lines = [
        f"{tag_line(ticket)}新工单 {ticket.number} 已派至{unit_name}，请签收。",
        f"类型：{ticket.kind or '—'}　类别：{ticket.category or '—'}　渠道：{ticket.channel or '—'}",
        f"来电人：{mask_name(ticket.citizen_name) or '—'} {mask_phone(ticket.citizen_phone) or ''}".rstrip(),
        f"诉求：{short_content(ticket.content)}",
        f"办结时限：{fmt_time(cal, ticket.deadline)}",
    ]
    if ticket.internal_due and ticket.internal_due != ticket.deadline:
        lines.append(f"内部时限：{fmt_time(cal, ticket.internal_due)}")
    if ticket.first_contact_due:
        lines.append(f"先行联系：{fmt_time(cal, ticket.first_contact_due)} 前")
    if ticket.progress == "daily":
        lines.append("此件需每日报送进展。")
    lines += duty_lines(ticket, cal)
    if ticket.round > 1:
        lines.insert(1, f"（第{ticket.round}轮重办）")
    return "\n".join(lines)


def urgent_report(ticket: Ticket, cal: WorkCalendar, unit_name: str | None) -> str:
    """To the office and the unit's leaders at registration: a 紧急 / A / D / 重大 ticket."""
    what = "、".join(x for x in (ticket.category and f"{ticket.category}类", *(ticket.tags or ())) if x)
    where = f"已派至{unit_name}" if unit_name else "尚未派单，请立即转办"
    return (f"【紧急报告】工单 {ticket.number}（{what or '紧急'}）已登记，{where}。"
            f"办结时限 {fmt_time(cal, ticket.deadline)}，节假日照常计时，请领导立即安排处置。\n"
            f"诉求：{short_content(ticket.content, 80)}")


def summary(ticket: Ticket, cal: WorkCalendar, unit_name: str, state_label: str,
            handler: str | None, show_citizen_full: bool, rules: Iterable[Rule] = ()) -> str:
    """The answer to 查询 (``rules``: the configured rules, to name the ticket's rule)."""
    name = ticket.citizen_name if show_citizen_full else mask_name(ticket.citizen_name)
    phone = ticket.citizen_phone if show_citizen_full else mask_phone(ticket.citizen_phone)
    lines = [
        f"{tag_line(ticket)}工单 {ticket.number}（{ticket.source}）",
        f"状态：{state_label}　承办：{unit_name}{' / ' + handler if handler else ''}",
        f"办结时限：{fmt_time(cal, ticket.deadline)}（规则：{rule_label(ticket.rule, rules)}）",
        f"来电人：{name or '—'} {phone or ''}".rstrip(),
        f"诉求：{short_content(ticket.content, 200)}",
    ]
    if ticket.extension_state:
        ext = label(EXTENSION_LABELS, ticket.extension_state)
        lines.append(f"延期：{ext}，至 {fmt_time(cal, ticket.extension_granted_until or ticket.extension_requested_until)}")
    lines += duty_lines(ticket, cal)
    return "\n".join(lines)


def duty_lines(ticket: Ticket, cal: WorkCalendar) -> list[str]:
    """The 包案 leader, the plan stage, the 督办 level and the give-back deadline, where set (the
    card, 查询 and the ticket page show them)."""
    lines = []
    if ticket.lead_leader:
        lines.append(f"包案领导：{ticket.lead_leader}")
    if ticket.plan_at is not None:
        lines.append(f"办理计划：{fmt_time(cal, ticket.plan_at)} 已报送"
                     + ("，最终时限待办公室确定" if ticket.deadline is None else ""))
    if ticket.supervision_level:
        state = "已完成" if ticket.supervision_met_at else (
            f"时限 {fmt_time(cal, ticket.supervision_due)}" if ticket.supervision_due else "进行中")
        lines.append(f"督办：{ticket.supervision_level}督办（{state}）")
    if ticket.giveback_due is not None:
        lines.append(f"退单时限：{fmt_time(cal, ticket.giveback_due)}")
    return lines


