"""Chinese labels for every internal code a person could otherwise see.

States, audit actions, SMS kinds and states, review and extension states, outbox kinds and
channels, error codes, roles, ticket sources and deadline rules are stored as short English
codes; chats, the console and the printed forms show them only through the functions here.
The JSON read API is for machines and keeps the codes.

Each label is defined once: ticket states and transitions live beside the lifecycle table
(:mod:`bot.lifecycle`) and are re-exported here keyed by their string values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.deadlines import Rule, parse_duration
from bot.lifecycle import STATE_LABELS as _STATES
from bot.lifecycle import TRANSITION_LABELS as _TRANSITIONS
from bot.presets import PRESETS

__all__ = [
    "AUDIT_LABELS", "CHANNEL_LABELS", "ERROR_LABELS", "EXTENSION_LABELS", "OUTBOX_KIND_LABELS",
    "OUTBOX_STATE_LABELS", "PRESET_LABELS", "REVIEW_KIND_LABELS", "REVIEW_STATE_LABELS", "ROLE_LABELS",
    "RULE_LABELS", "SMS_KIND_LABELS", "SMS_STATE_LABELS", "SOURCE_LABELS", "STATE_LABELS",
    "all_tables", "audit_label", "duration_label", "error_label", "label", "rule_label",
    "source_label", "state_label",
]

STATE_LABELS: dict[str, str] = {s.value: text for s, text in _STATES.items()}
"""Ticket states (``registered`` → 已登记（待派单）…)."""

AUDIT_LABELS: dict[str, str] = {
    **{t.value: text for t, text in _TRANSITIONS.items()},
    "register": "登记",
    "duplicate": "判定重复件",
    "related": "标记涉众",
    "suggest": "派单建议",
    "feedback": "登记回访结果",
    "sms_sent": "短信已发出",
    "sms_failed": "短信未发出",
    "sms_receipt": "短信回执",
    "sms_opt_out": "来电人退订短信",
    "citizen_reply": "来电人回复",
    "attach": "附上附件",
    "explanation": "情况说明",
    "assign_units": "指定牵头与配合单位",
    "assist_accept": "配合单位签收",
    "assist_progress": "配合单位报送",
    "waive_assists": "不等配合单位",
    "set_deadline": "确定最终时限",
    "lead_leader": "指定包案领导",
    "supervise": "督办",
    "supervision_met": "完成督办要求",
}
"""Audit (痕迹) actions; ``command:<名称>`` rows are labelled by :func:`audit_label`."""

SMS_KIND_LABELS: dict[str, str] = {"answer": "答复", "receipt": "受理告知", "feedback": "回访", "delay": "延迟告知",
                                   "extension": "延期告知"}
SMS_STATE_LABELS: dict[str, str] = {
    "queued": "待发送", "sending": "发送中", "sent": "已发出", "delivered": "已送达",
    "failed": "发送失败", "unknown": "结果未知",
}
REVIEW_KIND_LABELS: dict[str, str] = {"reply": "答复", "extension": "延期", "giveback": "退单"}
REVIEW_STATE_LABELS: dict[str, str] = {"pending": "待审核", "approved": "已同意", "rejected": "已驳回"}
EXTENSION_LABELS: dict[str, str] = {"pending": "延期申请中", "granted": "已批准", "rejected": "已驳回"}
ROLE_LABELS: dict[str, str] = {"office": "办公室", "leader": "领导", "handler": "承办人"}
CHANNEL_LABELS: dict[str, str] = {"chat": "群消息", "sms": "短信", "report": "结果回传"}
OUTBOX_STATE_LABELS: dict[str, str] = {"pending": "待发送", "sent": "已发送", "dead": "已停止重试"}

OUTBOX_KIND_LABELS: dict[str, str] = {
    "notice": "通知",
    "answer": "机器人回复",
    "assignment": "派单通知",
    "suggestion": "派单建议",
    "repeat": "重复件提示",
    "related": "涉众提示",
    "dispatch": "派单通知",
    "review": "待审核卡片",
    "card_update": "卡片更新",
    "answered": "答复办结通知",
    "reply": "答复通知",
    "extension": "延期通知",
    "giveback": "退单通知",
    "giveback_office": "退单告知办公室",
    "reopen": "重办通知",
    "urge": "催办通知",
    "escalation": "逐级提醒",
    "supervise": "督办提醒",
    "announce": "紧急件登记报告",
    "deadline_set": "最终时限通知",
    "ext_window": "延期申请期限提醒",
    "digest": "每日待办汇总",
    "citizen_reply": "来电人回复通知",
    "dead_letter_alert": "发送失败告警",
    "sms_notice": "短信情况通知",
    "sms_unmatched": "无法对应工单的短信",
    "sms_balance_alert": "短信余额告警",
    "sms_no_balance": "短信余额不足",
    "sms_answer": "答复短信",
    "sms_receipt": "受理告知短信",
    "sms_feedback": "回访短信",
    "sms_delay": "超期告知短信",
    "progress_office": "进展报送办公室",
    "followup_task": "回访任务",
    "followup_unclear": "回访待定（回复无法判断）",
    "report_verdicts": "待回访核查清单",
    "sms_extension": "延期告知短信",
    "extension_office": "延期报热线告知办公室",
    "assist": "配合单位通知",
    "assist_progress": "配合单位进展转告",
    "assist_lead": "配合单位未报送告知牵头单位",
    "copy": "抄送上级单位",
    "report_extension_request": "延期申请报热线",
}
"""Kinds of the messages the bot owes (outbox rows)."""

ERROR_LABELS: dict[str, str] = {
    # the lifecycle's refusals
    "wrong_state": "当前状态不允许",
    "forbidden": "无权操作",
    "guard": "不符合办理规定",
    "illegal": "不允许的操作",
    "extension_late": "已过延期申请期限",
    "extension_limit": "延期次数已用完",
    "extension_not_later": "延期日期不晚于原时限",
    "extension_pending": "已有待审核的延期申请",
    "extension_final": "热线确定的时限不能再更改",
    "extension_at_hotline": "延期申请等待热线决定",
    "stale_card": "卡片不是当前版本",
    "assists_pending": "配合单位尚未报送",
    "deadline_by_rule": "时限由办理规则确定",
    "deadline_past": "时限早于现在",
    "supervision_level": "督办只能升级",
    "missing_reason": "缺少理由",
    "missing_content": "缺少内容",
    "nothing_pending": "没有待审核的申请",
    "reply_incomplete": "答复不符合办结规范",
    "duplicate_unanswered": "重复件的原件尚未答复",
    # sending (SMS and chat platforms)
    "template_missing": "未配置短信模板",
    "template_variable": "短信变量不符合平台要求",
    "phone_invalid": "号码无效",
    "opted_out": "来电人已退订",
    "quiet_hours": "夜间免打扰时段",
    "outcome_unknown": "发送结果未知",
    "network": "网络故障",
    "network_unknown": "网络中断，结果未知",
    "timeout": "通道响应超时",
    "bad_response": "通道应答异常",
    "deliver_failed": "投递失败",
    "local_rate_limit": "发送过于频繁",
    "local_number_daily_limit": "超过单个号码每日条数上限",
    "out_id_too_long": "流水号过长",
    "sms_missing": "短信记录缺失",
    "too_long": "内容过长",
    "too_large": "内容过大",
    "no_target": "没有发送对象",
    "unsupported": "平台不支持",
    "update_failed": "卡片更新失败",
    "not_connected": "长连接未连接",
    "no_token": "缺少平台凭据",
    "no_app": "未配置应用",
    "unknown_bot": "未配置的机器人",
}
"""Error codes our own code raises (a provider's own codes are shown as 错误码 …)."""

SOURCE_LABELS: dict[str, str] = {"xinfang": "信访"}
"""Ticket sources that are codes; numeric sources (12345, 962200) are what people call them."""

PRESET_LABELS: dict[str, str] = {p.name: p.label for p in PRESETS.values()}
"""The registered procedure presets, by the place (or kind of work) they come from."""

RULE_LABELS: dict[str, str] = {
    "default": "未匹配规则",
    **{r.name: r.label for p in PRESETS.values() for r in p.rules if r.label},
}
"""The registered presets' rules; a rule the config names itself is shown by its label or its name."""

_UNITS = {"wd": "个工作日", "d": "个自然日", "h": "小时"}
_PRESET_RULES: dict[str, Rule] = {r.name: r for p in PRESETS.values() for r in p.rules}


def all_tables() -> dict[str, Mapping[str, str]]:
    """Every code → label table, by name (tests scan rendered pages for these codes)."""
    return {
        "STATE_LABELS": STATE_LABELS, "AUDIT_LABELS": AUDIT_LABELS, "SMS_KIND_LABELS": SMS_KIND_LABELS,
        "SMS_STATE_LABELS": SMS_STATE_LABELS, "REVIEW_KIND_LABELS": REVIEW_KIND_LABELS,
        "REVIEW_STATE_LABELS": REVIEW_STATE_LABELS, "EXTENSION_LABELS": EXTENSION_LABELS,
        "ROLE_LABELS": ROLE_LABELS, "CHANNEL_LABELS": CHANNEL_LABELS,
        "OUTBOX_STATE_LABELS": OUTBOX_STATE_LABELS, "OUTBOX_KIND_LABELS": OUTBOX_KIND_LABELS,
        "ERROR_LABELS": ERROR_LABELS, "SOURCE_LABELS": SOURCE_LABELS, "PRESET_LABELS": PRESET_LABELS,
        "RULE_LABELS": RULE_LABELS,
    }


def label(table: Mapping[str, str], code: str | None, default: str = "—") -> str:
    """``table[code]``; an empty code gives ``default``, an unknown one 其他（code）."""
    if not code:
        return default
    return table.get(code) or f"其他（{code}）"


def state_label(state: str | None) -> str:
    """A ticket state in Chinese."""
    return label(STATE_LABELS, str(state) if state else None)


def audit_label(action: str) -> str:
    """An audit action in Chinese; ``command:签收`` (a refused or unmatched command) → 命令「签收」."""
    if action.startswith("command:"):
        name = action.removeprefix("command:")
        return "无法识别的消息" if name in ("", "-") else f"命令「{name}」"
    return label(AUDIT_LABELS, action)


def error_label(code: str | None) -> str:
    """Our error codes in Chinese; a provider's own code stays visible for its support desk."""
    if not code:
        return ""
    return ERROR_LABELS.get(code) or f"错误码 {code}"


def source_label(source: str | None) -> str:
    """A ticket source as people call it."""
    return SOURCE_LABELS.get(source or "", source or "—")


def duration_label(text: str | None) -> str:
    """``7wd`` → 7个工作日, ``3d`` → 3个自然日, ``24h`` → 24小时, ``same-day@16:00`` → 当日办结（16:00后次日）."""
    if not text:
        return ""
    try:
        d = parse_duration(text)
    except ValueError:
        return text
    if d.kind == "same-day":
        assert d.cutoff is not None
        return f"当日办结（{d.cutoff:%H:%M}后次日）"
    return f"{d.n}{_UNITS[d.kind]}"


def rule_label(name: str | None, rules: Iterable[Rule] = ()) -> str:
    """A deadline rule as people say it: ``songjiang-普通`` → 松江·普通件 7个工作日.

    ``rules`` are the configured rules (a config may redefine a preset rule or add its own); the
    shipped presets are looked up otherwise.
    """
    if not name:
        return "—"
    rule = next((r for r in rules if r.name == name), None) or _PRESET_RULES.get(name)
    text = (rule.label if rule is not None and rule.label else None) or RULE_LABELS.get(name, name)
    period = duration_label(rule.deadline) if rule is not None else ""
    return f"{text} {period}" if period else text
