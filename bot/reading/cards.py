"""The office's texts about the reader's findings: the dispatch suggestion of an unrouted ticket
and the earlier tickets a new one repeats."""

from __future__ import annotations

from bot.notices import short_content
from bot.reading.service import Suggestion
from store.models import Ticket

SUGGEST_COMMAND = "按建议派单"
NO_MODEL = "暂无派单建议：已派单的历史工单还不够，机器人学会后会给出建议。请先人工转办。"


def percent(confidence: float) -> str:
    """``87%``."""
    return f"{round(confidence * 100)}%"


def suggestion_text(ticket: Ticket, found: Suggestion, unit_name: str, similar: list[str]) -> str:
    """The card: the ticket, the suggested category and unit with confidence, similar past tickets."""
    lines = [f"工单 {ticket.number} 未匹配派单规则：{short_content(ticket.content, 80)}"]
    if found.category is not None:
        lines.append(f"建议类别：{found.category.label}（置信度 {percent(found.category.confidence)}）")
    assert found.unit is not None
    lines.append(f"建议承办：{unit_name}（置信度 {percent(found.unit.confidence)}）")
    if similar:
        lines.append("相似的历史工单：" + "；".join(similar))
    lines.append(f"点「{SUGGEST_COMMAND}」或回复「{SUGGEST_COMMAND} {ticket.number}」即派出；"
                 f"也可回复「转办 {ticket.number} 单位代码」。")
    return "\n".join(lines)


def auto_dispatched_text(ticket: Ticket, found: Suggestion, unit_name: str) -> str:
    """To the office: the bot dispatched by itself, and why."""
    assert found.unit is not None
    return (f"工单 {ticket.number} 未匹配派单规则，按模型建议（置信度 {percent(found.unit.confidence)}）"
            f"已自动派至{unit_name}。如派错，请回复「转办 {ticket.number} 单位代码」改派。")
