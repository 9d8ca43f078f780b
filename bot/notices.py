"""The bot's short Chinese texts about tickets: assignments, decisions, reminders."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from bot.calendar import WorkCalendar
from bot.deadlines import Rule
from bot.labels import EXTENSION_LABELS, label, rule_label
from bot.privacy import excerpt, mask_in_text, mask_name, mask_phone
from store.models import Ticket, TicketUnit

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


def short_content(text: str, limit: int = 120, *, mask: bool = True) -> str:
    """The citizen's words, cut for a chat message, with the numbers written in them masked."""
    return excerpt(text, limit, mask=mask)


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
    if ticket.extension_state == "pending":  # 转办 while it waits: the new unit works to the old deadline
        lines.append(f"延期：{extension_line(ticket, cal)}")
    if ticket.progress == "daily":
        lines.append("此件需每日报送进展。")
    if ticket.duplicate_of is not None:
        lines.append(f"此件为重复件：原件答复后，可回复「答复 {ticket.number} 重复件」一步答复。")
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
        f"诉求：{short_content(ticket.content, 200, mask=not show_citizen_full)}",
    ]
    if ticket.reconsider_until:
        lines.append(f"复查期限：来电人可于 {fmt_time(cal, ticket.reconsider_until)} 前申请复查")
    if ticket.extension_state:
        lines.append(f"延期：{extension_line(ticket, cal)}")
    lines += duty_lines(ticket, cal)
    return "\n".join(lines)


def progress_report(ticket: Ticket, cal: WorkCalendar, unit_name: str, who: str, content: str,
                    link: str | None) -> str:
    """A 进展 as the office chat gets it: the ticket's summary with the citizen masked, the
    report, and the ticket page."""
    lines = [
        f"【进展报送】{tag_line(ticket)}工单 {ticket.number}（{unit_name} {who}）",
        f"来电人：{mask_name(ticket.citizen_name) or '—'} {mask_phone(ticket.citizen_phone) or ''}".rstrip(),
        f"诉求：{short_content(mask_in_text(ticket.content, ticket.citizen_name), 60)}",
        f"进展：{short_content(mask_in_text(content, ticket.citizen_name), 200)}",
        f"办结时限：{fmt_time(cal, ticket.deadline)}",
    ]
    if link:
        lines.append(f"详情：{link}")
    return "\n".join(lines)


def extension_line(ticket: Ticket, cal: WorkCalendar) -> str:
    """Where a ticket's extension stands: 延期申请中 (the old deadline still counts), granted (and
    final when the hotline fixed it) or refused."""
    ext = label(EXTENSION_LABELS, ticket.extension_state or "")
    if ticket.extension_state == "pending":
        return f"{ext}（申请延至 {fmt_time(cal, ticket.extension_requested_until)}，原办结时限照常计算）"
    if ticket.extension_state == "granted":
        final = "，市长热线办确定，不能再更改" if ticket.extension_final else ""
        return f"{ext}，至 {fmt_time(cal, ticket.extension_granted_until)}{final}"
    return ext


def assists_line(ticket: Ticket, rows: Iterable[TicketUnit], unit_name: Callable[[str | None], str]) -> str:
    """The lead unit and this round's assisting and copied units, for the console and the forms:
    ``养老服务科（牵头）；配合：社会救助科（已报送）；抄送：民政局``; "" for a one-unit ticket."""
    current = [r for r in rows if r.round == ticket.round]
    assists = [r for r in current if r.role == "assist"]
    copies = [r for r in current if r.role == "copy"]
    if not current:
        return ""
    parts = [f"{unit_name(ticket.unit_code)}（牵头）" if assists else unit_name(ticket.unit_code)]
    if assists:
        def status(r: TicketUnit) -> str:
            return "已报送" if r.reported_at else ("已签收" if r.accepted_at else "未签收")
        waived = "，办公室已同意不等配合" if ticket.assists_waived else ""
        parts.append("配合：" + "、".join(f"{unit_name(r.unit_code)}（{status(r)}）" for r in assists) + waived)
    if copies:
        parts.append("抄送：" + "、".join(unit_name(r.unit_code) for r in copies))
    return "；".join(parts)


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


