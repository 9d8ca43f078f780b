"""回访: the phone 回访 the office (or the unit, where the rule allows it) records, and the
preset's feedback policy applied when an answer goes out.

Seeds (docs/procedures.md, 回访):

- 平顶山 “回访内容包括：反映诉求是否得到解决，服务过程满意度，办理结果满意度，是否有意见和建议等，
  并做好详细记录。对回访中发现办理结果不属实的事项，发回责任单位重新办理。” → the 回访 records process
  and result satisfaction and the opinion; its outcome is 归档 or 重办 with a reason (a new round).
- 吉林 “紧急类诉求实行全过程跟踪回访，一般类诉求抽查回访，由诉求人做出满意度评价，评价结果为满意的
  归档，评价结果为不满意的列入督办。” → ``Rule.feedback`` (all / sampled / none) and
  ``Rule.feedback_share``; an unsatisfied result reopens the ticket and tells the office (督办).
- 平顶山 “市长热线一级、二级网络单位要对反映人进行回访” → ``Rule.followup_by_unit``.

Sampling is reproducible: a ticket is in the sample when the first 32 bits of
``sha256(seed | source/number)`` fall below ``share`` × 2³² (``[procedure] feedback_seed``), so
the same ticket is chosen again on every run, on every node.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.deadlines import Rule
from bot.directory import Directory
from bot.grammar import GrammarError
from bot.lifecycle import Actor, NotAllowed, State
from bot.messages import OutgoingMessage
from bot.outbox import Outbox, Target
from bot.privacy import mask_phone
from store.models import Ticket

__all__ = ["FollowupRecord", "followup_caps", "in_sample", "owe_followup", "parse_followup", "wants_followup"]

LEVELS = ("满意", "基本满意", "不满意")
"""How satisfied the citizen says they are, with the process and with the result."""
ARCHIVE, REDO = "归档", "重办"
EXAMPLE = "回访 202611230001 过程满意 结果不满意 重办 敬老院仍未整改 意见：希望尽快整改"

_LEVEL = "|".join(sorted(LEVELS, key=len, reverse=True))
_PROCESS = re.compile(rf"过程\s*[:：]?\s*({_LEVEL})")
_RESULT = re.compile(rf"结果\s*[:：]?\s*({_LEVEL})")
_BARE = re.compile(rf"^\s*({_LEVEL})")
_OPINION = re.compile(r"(?:意见|建议|意见和建议)\s*[:：]\s*(.*)$", re.S)
_REDO = re.compile(r"重办\s*[:：]?\s*(.*)$", re.S)


@dataclass(frozen=True, slots=True)
class FollowupRecord:
    """One phone 回访 as the command wrote it."""

    process: str
    result: str
    opinion: str
    outcome: str  # 归档 | 重办
    reason: str  # why 重办 (empty for 归档)

    @property
    def verdict(self) -> str:
        """The ticket's ``feedback``: the result satisfaction, 基本满意 counting as 满意."""
        return "不满意" if self.result == "不满意" else "满意"


def parse_followup(text: str, usage: str) -> FollowupRecord:
    """Read ``过程满意 结果不满意 重办 原因 意见：…`` (or just ``满意`` / ``不满意 原因``).

    A bare level sets both satisfactions; the outcome is 重办 when written or when the result is
    不满意, else 归档; 重办 needs a reason. GrammarError (with ``usage``) when a part is missing.
    """
    body = text.strip()
    opinion = ""
    m = _OPINION.search(body)
    if m:
        opinion, body = m.group(1).strip(), body[:m.start()].strip()
    bare = _BARE.match(body)
    process = _PROCESS.search(body)
    result = _RESULT.search(body)
    if result is None and bare is None:
        raise GrammarError("请写明办理结果满意度（满意、基本满意或不满意）。" + usage)
    result_level = result.group(1) if result else bare.group(1)  # type: ignore[union-attr]
    process_level = process.group(1) if process else (bare.group(1) if bare else result_level)
    redo = _REDO.search(body)
    reason = ""
    if redo is not None:
        reason = redo.group(1).strip()
    elif result_level == "不满意":
        rest = _RESULT.sub("", _PROCESS.sub("", _BARE.sub("", body, count=1))).replace(ARCHIVE, "").strip()
        reason = rest.strip(" ，,。；;")
    if ARCHIVE in body and redo is None:
        return FollowupRecord(process_level, result_level, opinion, ARCHIVE, "")
    if (redo is not None or result_level == "不满意") and not reason:
        raise GrammarError("重办请写明原因，如：" + EXAMPLE)
    outcome = REDO if reason else ARCHIVE
    return FollowupRecord(process_level, result_level, opinion, outcome, reason)


def in_sample(seed: str, ticket: Ticket, share: float) -> bool:
    """Whether ``ticket`` is in the 抽查 sample of ``share`` (reproducible; module docstring)."""
    digest = hashlib.sha256(f"{seed}|{ticket.source}/{ticket.number}".encode()).digest()
    return int.from_bytes(digest[:4], "big") < share * 2**32


def wants_followup(rule: Rule, seed: str, ticket: Ticket) -> bool:
    """Whether the rule's feedback policy asks a 回访 of ``ticket``."""
    if rule.feedback == "all":
        return True
    return rule.feedback == "sampled" and in_sample(seed, ticket, rule.feedback_share)


def owe_followup(rule: Rule, seed: str, outbox: Outbox, directory: Directory, s: AsyncSession,
                 ticket: Ticket) -> str | None:
    """On an approved answer: the office's 回访 task when the policy asks a 回访 by phone (or the
    citizen left no number); ``"sms"`` when the answer SMS carries the question; None: no 回访."""
    if not wants_followup(rule, seed, ticket):
        return None
    if rule.feedback_via == "sms" and ticket.citizen_phone:
        # The answer SMS asks 满意 / 不满意 already; the 回访 SMS follows when no verdict came
        # (scheduler/followups.py), so the citizen is not sent two questions at once.
        return "sms"
    phone = mask_phone(ticket.citizen_phone) if ticket.citizen_phone else "（无号码）"
    outbox.add(s, Target.to_office(), OutgoingMessage(
        f"【回访任务】工单 {ticket.number}（{directory.unit_name(ticket.unit_code)}）已答复，"
        f"请电话回访来电人 {phone}，并发送「回访 {ticket.number} 过程满意 结果满意」或"
        f"「回访 {ticket.number} 不满意 原因」登记。", ticket=ticket.key),
        ticket_id=ticket.id, kind="followup_task")
    return "task"


def followup_caps(caps: set[Actor], rule: Rule, ticket: Ticket) -> set[Actor]:
    """The capacities (of ``caps``, the speaker's) in which a 回访 of ``ticket`` is recorded: the
    office always, the unit's handlers and leaders where the rule sets ``followup_by_unit``."""
    mine = caps & {Actor.OFFICE, Actor.HANDLER, Actor.LEADER}
    if Actor.OFFICE in mine or (rule.followup_by_unit and mine):
        return mine
    raise NotAllowed("本工单的回访由办公室负责。", state=State(ticket.state))
