"""Short Chinese texts of the reminders, digests and reports (the ticket number, the deadline in
local time and the next step, always)."""

from __future__ import annotations

from datetime import datetime

from bot.calendar import WorkCalendar
from bot.notices import SENSITIVE_TAGS, URGENT_TAGS, fmt_time


def marks(tags: list[str] | None) -> str:
    """``【涉稳】【紧急】`` for the tags a handler must see first."""
    return "".join(f"【{t}】" for t in tags or () if t in SENSITIVE_TAGS | URGENT_TAGS | {"市级催办"})


def dispatch_late(cal: WorkCalendar, lines: list[tuple[str, datetime]]) -> str:
    """To the office: tickets registered but not dispatched by the cut-off."""
    body = "\n".join(f"{n}（登记 {fmt_time(cal, at)}）" for n, at in lines)
    return (f"【派单提醒】以下 {len(lines)} 件工单已登记尚未派单，请及时转办（当天登记、当天派发，事不过夜）：\n"
            f"{body}\n请回复「转办 工单号 单位代码」。")


def accept_late(cal: WorkCalendar, number: str, unit: str, dispatched: datetime, deadline: datetime | None,
                escalated: bool, running: bool = False) -> str:
    """To the unit: a ticket not accepted in time (``running``: its clock counts every day)."""
    late = ("已超过1天" if running else "已超过1个工作日") if escalated else "已超过2个办公小时"
    tail = "请领导督促承办人员立即签收。" if escalated else "请尽快签收。"
    return (f"【签收提醒】工单 {number} 于 {fmt_time(cal, dispatched)} 派至{unit}，{late}仍未签收，{tail}"
            f"办结时限 {fmt_time(cal, deadline)}。")


def first_contact(cal: WorkCalendar, number: str, due: datetime, late: bool) -> str:
    """To the 承办人: first contact with the citizen is due (or past due)."""
    if late:
        return (f"【先行联系】工单 {number} 已超过先行联系时限 {fmt_time(cal, due)}，"
                f"请立即联系来电人，并回复「联系 {number} 联系情况」。")
    return (f"【先行联系】工单 {number} 须在 {fmt_time(cal, due)} 前先行联系来电人，"
            f"联系后请回复「联系 {number} 联系情况」。")


RUNNING_HEADS = {
    "due2": "还有2天到期（节假日照常计时）",
    "due1": "明天到期（节假日照常计时）",
}
"""The ladder's words for a ticket whose clock counts every day (hours, natural days)."""

LADDER_HEADS = {
    "due2": "还有2个工作日到期",
    "due1": "明天（下一个工作日）到期",
    "today": "今天到期",
    "overdue": "已超期",
}


def ladder(cal: WorkCalendar, number: str, tags: list[str] | None, stage: str, due: datetime,
           internal: bool, state: str, running: bool = False) -> str:
    """To the 承办人 (and, when overdue, the leader): where the ticket stands on the ladder."""
    head = RUNNING_HEADS.get(stage, LADDER_HEADS[stage]) if running else LADDER_HEADS[stage]
    which = "内部办结时限" if internal else "办结时限"
    if state == "dispatched" or state == "reopened":
        step = f"请先签收：回复「签收 {number}」。"
    elif state == "reply_pending":
        step = "答复已提交，请领导尽快审核。"
    elif stage == "overdue":
        step = f"请立即办结并回复「答复 {number} 答复内容」，说明超期原因。"
    else:
        step = f"请按期办结，回复「答复 {number} 答复内容」；确需延期请回复「延期 {number} 日期 理由」。"
    return f"【办结提醒】{marks(tags)}工单 {number} {head}，{which} {fmt_time(cal, due)}。{step}"


def escalation(cal: WorkCalendar, number: str, unit: str, due: datetime, handler: str | None,
               running: bool = False) -> str:
    """To the office: a ticket one working day (a running clock: one day) or more past its deadline."""
    who = f"，承办人 {handler}" if handler else ""
    return (f"【超期督办】工单 {number}（{unit}{who}）已超过时限 {fmt_time(cal, due)} "
            f"{'1天' if running else '1个工作日'}以上，请督办。")


def extension_window(cal: WorkCalendar, number: str, deadline: datetime, last: datetime) -> str:
    """To the 承办人 (利川): today is the last day to ask for an extension."""
    return (f"【延期提醒】工单 {number} 办结时限 {fmt_time(cal, deadline)}。如不能按期办结，须在时限前2个工作日"
            f"提出延期，今天（{fmt_time(cal, last)} 前）是最后期限：回复「延期 {number} 日期 理由」。")


def sensitive_duty(number: str, tags: list[str] | None) -> str:
    """To the 承办人: the daily progress report of a 涉稳/扬言/涉众 ticket is due today."""
    return (f"【每日报送】{marks(tags)}工单 {number} 须每日向办公室报送处置情况（直至办结），"
            f"请今天回复「进展 {number} 今日进展」。")


def sensitive_chase(number: str, tags: list[str] | None) -> str:
    """To the 承办人 and the leader: no 进展 yet today."""
    return (f"【报送催办】{marks(tags)}工单 {number} 今天尚未报送进展，请立即回复「进展 {number} 今日进展」。")


def progress_reminder(cal: WorkCalendar, number: str, tags: list[str] | None, due: datetime, late: bool) -> str:
    """To the 承办人 (late: and the leaders): the next progress report of the rule's cadence."""
    if late:
        return (f"【报送逾期】{marks(tags)}工单 {number} 应于 {fmt_time(cal, due)} 前向办公室报送的进展尚未报送，"
                f"请立即回复「进展 {number} 办理进展」。")
    return (f"【进展报送】{marks(tags)}工单 {number} 须于 {fmt_time(cal, due)} 前向办公室报送办理进展，"
            f"请回复「进展 {number} 办理进展」。")


def progress_office(cal: WorkCalendar, number: str, unit: str, handler: str | None, due: datetime) -> str:
    """To the office: a progress report one working day late (or a day missed under a daily duty)."""
    who = f"，承办人 {handler}" if handler else ""
    return f"【报送督办】工单 {number}（{unit}{who}）应于 {fmt_time(cal, due)} 前报送的进展逾期未报，请督办。"


def assist_accept_late(cal: WorkCalendar, number: str, unit: str, lead: str, assigned: datetime) -> str:
    """To an assisting unit: its part of a ticket not yet accepted."""
    return (f"【配合签收提醒】工单 {number} 于 {fmt_time(cal, assigned)} 请{unit}配合{lead}办理，贵单位尚未签收，"
            f"请回复「签收 {number}」。")


def assist_report_late(cal: WorkCalendar, number: str, lead: str, due: datetime) -> str:
    """To an assisting unit: its report is due a working day before the lead's deadline."""
    return (f"【配合报送提醒】工单 {number} 的牵头单位{lead}须于 {fmt_time(cal, due)} 前办结，贵单位尚未报送配合情况，"
            f"请立即回复「进展 {number} 配合情况」。")


def assist_late_to_lead(cal: WorkCalendar, number: str, units: list[str], due: datetime) -> str:
    """To the lead unit: which assisting units have not reported."""
    return (f"【配合单位未报送】工单 {number}（时限 {fmt_time(cal, due)}）的配合单位{'、'.join(units)}尚未报送配合情况，"
            f"已提醒其报送；如不再等待，请办公室发送「转办 {number} 不等配合 理由」。")
