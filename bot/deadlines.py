"""Deadline rules: durations, rule matching and what a ticket is due (``docs/design.md``, deadlines).

Counting follows the law for periods: the day of receipt is not counted (民法典 第二百零一条);
a rule with ``roll`` moves a natural-day period that ends on a day off to the next working day
(民法典 第二百零三条). All computing happens in the calendar's zone, and every datetime returned
here is aware and expressed in the calendar's zone (``cal.tz``); convert to UTC to store it.

Pure code: no I/O, no clock; the time of receipt is an argument.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.calendar import WorkCalendar

__all__ = [
    "DeadlineResult",
    "Duration",
    "Rule",
    "RuleBook",
    "TicketFacts",
    "apply_duration",
    "evaluate",
    "extension_request_by",
    "parse_duration",
    "parse_progress",
]

DurationKind = Literal["wd", "d", "h", "same-day"]
ReplyCheckName = Literal["songjiang", "songjiang-consult", "xinfang"]
ExtensionStep = Literal["leader", "office", "hotline"]
"""Who decides an extension, in order: the unit leader, the office, the hotline."""
SupervisionLevel = Literal["书面", "现场", "重点", "移交"]
"""The 督办 levels (平顶山 六), lowest first (``bot.supervision.LEVELS``)."""
"""The answer checks a rule may name (``bot.reply_checks.REPLY_CHECKS``)."""

#: Largest ``n`` a duration may have: a typo such as ``7000wd`` is a config error, not a scan.
MAX_N = 999

_SIMPLE = re.compile(r"([0-9]{1,6})(wd|d|h)", re.ASCII)
_SAME_DAY = re.compile(r"same-day@([0-9]{1,2}):([0-9]{2})", re.ASCII)
_EXAMPLES = "'7wd' (working days), '3d' (natural days), '24h' (hours) or 'same-day@16:00'"


# -- durations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Duration:
    """A period: ``n`` working days, natural days or hours, or "same day" with a cutoff time."""

    kind: DurationKind
    n: int
    cutoff: time | None = None

    def __post_init__(self) -> None:
        if self.kind == "same-day":
            if self.cutoff is None or self.n != 0:
                raise ValueError("a same-day duration has n == 0 and a cutoff time")
        elif self.kind in ("wd", "d", "h"):
            if self.cutoff is not None:
                raise ValueError(f"a {self.kind!r} duration has no cutoff")
            if not 1 <= self.n <= MAX_N:
                raise ValueError(f"duration must be between 1 and {MAX_N}, got {self.n}")
        else:
            raise ValueError(f"unknown duration kind {self.kind!r}")

    def __str__(self) -> str:
        if self.kind == "same-day":
            assert self.cutoff is not None
            return f"same-day@{self.cutoff.strftime('%H:%M')}"
        return f"{self.n}{self.kind}"


@functools.lru_cache(maxsize=256)
def parse_duration(text: str) -> Duration:
    """Parse ``"7wd"``, ``"3d"``, ``"24h"`` or ``"same-day@16:00"`` (case and outer spaces ignored).

    >>> parse_duration("7wd")
    Duration(kind='wd', n=7, cutoff=None)
    >>> parse_duration("same-day@16:00")
    Duration(kind='same-day', n=0, cutoff=datetime.time(16, 0))

    Raises ``ValueError`` naming the text and the accepted forms.
    """
    if not isinstance(text, str):
        raise ValueError(f"a duration is text such as {_EXAMPLES}, got {text!r}")
    s = text.strip().lower()
    m = _SIMPLE.fullmatch(s)
    if m:
        n = int(m.group(1))
        if not 1 <= n <= MAX_N:
            raise ValueError(f"invalid duration {text!r}: the number must be between 1 and {MAX_N}")
        kind: DurationKind = m.group(2)  # type: ignore[assignment]
        return Duration(kind, n)
    m = _SAME_DAY.fullmatch(s)
    if m:
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 23 or minute > 59:
            raise ValueError(
                f"invalid duration {text!r}: the cutoff must be a time HH:MM from 00:00 to 23:59"
            )
        return Duration("same-day", 0, time(hour, minute))
    if s.startswith("same-day"):
        raise ValueError(f"invalid duration {text!r}: write the cutoff time, e.g. 'same-day@16:00'")
    raise ValueError(f"invalid duration {text!r}: expected {_EXAMPLES}")


def parse_progress(text: str) -> Duration | Literal["daily"]:
    """Parse a ``progress`` setting: ``"daily"`` or a duration."""
    if isinstance(text, str) and text.strip().lower() == "daily":
        return "daily"
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"{exc}, or 'daily'") from None


def apply_duration(cal: WorkCalendar, start: datetime, dur: Duration, roll: bool = False) -> datetime:
    """When a period of ``dur`` starting at ``start`` (aware) ends, in ``cal.tz``.

    - ``Nwd``: the N-th working day after the local day of ``start``, at ``office_day_end``.
    - ``Nd``: the N-th natural day after it, at ``office_day_end``; with ``roll`` a last day that
      is not a working day moves to the next working day (民法典 第二百零三条).
    - ``Nh``: exactly ``start + N hours`` (elapsed time, whatever the zone does).
    - ``same-day@HH:MM``: the local day of ``start`` at ``office_day_end``, or the next natural
      day when ``start`` is at or after the cutoff. ``roll`` does not apply to it.
    """
    local = cal.local(start)
    day = local.date()
    if dur.kind == "wd":
        return cal.office_day_end_at(cal.add_workdays(day, dur.n))
    if dur.kind == "d":
        end = day + timedelta(days=dur.n)
        if roll:
            end = cal.next_workday(end, include_self=True)
        return cal.office_day_end_at(end)
    if dur.kind == "h":
        return (start.astimezone(UTC) + timedelta(hours=dur.n)).astimezone(cal.tz)
    assert dur.cutoff is not None
    if local.time().replace(tzinfo=None) >= dur.cutoff:
        day += timedelta(days=1)
    return cal.office_day_end_at(day)


# -- ticket facts and rules ---------------------------------------------------------------------


@dataclass(frozen=True)
class TicketFacts:
    """What a rule can match on. ``tags`` may be given as any iterable of strings."""

    source: str = "12345"
    kind: str | None = None
    category: str | None = None
    channel: str | None = None
    tags: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not isinstance(self.tags, frozenset):
            tags: Iterable[str] = self.tags
            if isinstance(tags, str):
                raise TypeError("tags is a collection of strings, not one string")
            object.__setattr__(self, "tags", frozenset(tags))


MatchValue = str | list[str] | None

_MATCH_FIELDS = ("source", "kind", "category", "channel", "tags")
_NOT_MERGED = frozenset({"name", "overlay", *_MATCH_FIELDS})


def _one_of(value: MatchValue) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


class Rule(BaseModel):
    """One deadline rule: what it matches and what it sets. Immutable.

    Match fields (``source``, ``kind``, ``category``, ``channel``, ``tags``) are ``None`` for
    "any", a string, or a list meaning "any of"; ``tags`` matches when the ticket has ANY of the
    listed tags. Comparison is exact. Duration fields are validated on construction, so a bad
    config value is reported with its field name.

    An ``overlay`` rule never wins a match; when it matches it fills the fields the winning
    rule left unset (see ``RuleBook.match``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="规则名称，唯一；与预设规则同名则替换它")
    label: str | None = Field(None, description="给人看的规则名称，如 松江·普通件（不填则显示 name）")
    source: MatchValue = Field(None, description="只匹配此来源（字符串或列表，任一即可）")
    kind: MatchValue = Field(None, description="只匹配此类型，如 咨询、投诉")
    category: MatchValue = Field(None, description="只匹配此分类，如 紧急、A")
    channel: MatchValue = Field(None, description="只匹配此渠道，如 随申拍")
    tags: MatchValue = Field(None, description="工单带有其中任一标签即匹配")
    deadline: str | None = Field(None, description="办理时限，如 7wd（工作日）、3d（自然日）、24h、same-day@16:00")
    internal_due: str | None = Field(None, description="单位内部时限（早于办理时限，留出审核时间）")
    first_contact: str | None = Field(None, description="先行联系时限")
    progress: str | None = Field(None, description="进展报送周期：daily（每天）或一个时长")
    max_extensions: int = Field(default=1, ge=0, description="最多可申请延期的次数（按申请计，被驳回的也算）")
    extension_chain: tuple[ExtensionStep, ...] = Field(
        default=("leader",), min_length=1,
        description="延期审批链，按顺序：leader 单位领导、office 办公室、hotline 市长热线办（热线决定前原时限照常计算）")
    extension_notice_wd: int | None = Field(default=None, ge=1, description="延期须在期满前至少这么多个工作日申请")
    roll: bool = Field(False, description="自然日期限的最后一天不是工作日时顺延到下一个工作日")
    review: bool = Field(True, description="答复须经分管领导审核")
    giveback_within: str | None = Field(
        None, description="退单时限：自收到工单起算，须在此时限内完成退单并在热线系统中退回"
        "（答复和提醒里显示；不写则不提示时限）")
    reply_check: ReplyCheckName | None = Field(
        None, description="答复内容检查：songjiang（松江求助/投诉类）、songjiang-consult（松江咨询/建议类）、xinfang（信访答复模板，含复查告知）")
    reconsider_days: int | None = Field(
        None, ge=1, description="答复后来电人可申请复查的天数（信访：30），记在工单上并显示")
    delay_sms: bool = Field(False, description="超过办结时限仍未答复时短信告知来电人（有新承诺日期的写明日期），每次超期一条")
    progress_to_office: bool = Field(False, description="每次进展同时报送办公室群（摘要、脱敏、工单链接）")
    feedback: Literal["all", "sampled", "none"] = Field("all", description="回访：all 全部、sampled 抽样、none 不回访")
    feedback_share: float = Field(0.2, ge=0, le=1, description="抽样回访（feedback = sampled）的比例，0–1；按工单号可重复抽取")
    feedback_via: Literal["sms", "office"] = Field(
        "sms", description="回访方式：sms 有来电号码时发回访短信，office 给办公室派电话回访任务（无号码时也派任务）")
    followup_by_unit: bool = Field(False, description="承办单位也可以用「回访」命令登记电话回访（默认仅办公室）")
    report_weight: float = Field(1.0, gt=0, le=10, description="报表考核权重：本规则的工单在各项比率中按此权重计（如紧急类 2）")
    receipt_sms: bool = Field(False, description="受理后给来电人发受理短信")
    duplicate_window_days: int | None = Field(
        None, ge=0, description="同一来电人基本一致的诉求在这么多天内再来，记为重复件；不设用 [procedure] duplicate_window_days")
    leader_at_accept: bool = Field(False, description="签收时须指定负责领导")
    deadline_by_office: bool = Field(False, description="最终时限由办公室另行确定")
    copy_to_parent: bool = Field(False, description="转办时同时抄送承办单位的上级单位（units 的 parent）")
    clock: Literal["workdays", "calendar"] | None = Field(
        None, description="计时方式：calendar 按自然时间（节假日照常派单、签收、先行联系和时限提醒），"
        "workdays 按工作日（节假日不提醒）；不写则由办理时限推断：h、d、same-day 为 calendar")
    announce: bool = Field(False, description="登记即报告办公室和承办单位领导（不受免打扰时段限制）")
    supervision: dict[SupervisionLevel, str] | None = Field(
        None, description="督办级别 → 承办单位完成该级督办要求的时限，如 {现场 = \"3wd\"}；"
        "级别：书面、现场、重点、移交；未列出的级别没有时限")
    overlay: bool = Field(False, description="叠加规则：不单独胜出，只补全胜出规则未设的字段")

    @field_validator(*_MATCH_FIELDS)
    @classmethod
    def _check_match(cls, value: MatchValue) -> MatchValue:
        if value is None:
            return None
        for item in _one_of(value):
            if not item.strip():
                raise ValueError("match values must be non-empty strings")
        if isinstance(value, list) and not value:
            raise ValueError("an empty list matches nothing; leave the field out to match any")
        return value

    @field_validator("deadline", "internal_due", "first_contact", "giveback_within")
    @classmethod
    def _check_duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("extension_chain")
    @classmethod
    def _check_chain(cls, value: tuple[ExtensionStep, ...]) -> tuple[ExtensionStep, ...]:
        order = ("leader", "office", "hotline")
        if list(value) != sorted(set(value), key=order.index):
            raise ValueError("extension_chain lists each of leader, office, hotline at most once, in that order")
        return value

    @field_validator("progress")
    @classmethod
    def _check_progress(cls, value: str | None) -> str | None:
        if value is not None:
            parse_progress(value)
        return value

    @field_validator("supervision")
    @classmethod
    def _check_supervision(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for duration in (value or {}).values():
            parse_duration(duration)
        return value

    def is_announced(self) -> bool:
        """Whether this rule's tickets are urgent in the procedure's sense: announced at
        registration and reminded through quiet hours (``announce``: “登记即报告办公室和承办单位领导
        （不受免打扰时段限制）”).

        The one predicate both the registration announcement and the scheduler's quiet hours ask,
        so a preset that announces a ticket never has its reminders held overnight, and no second
        list of urgent tags or categories exists to drift from the presets.
        """
        return bool(self.announce)

    def runs_every_day(self) -> bool:
        """Whether this rule's clock counts hours or natural days (``clock``, else the deadline's
        kind): its tickets are reminded on every calendar day, holidays included."""
        if self.clock is not None:
            return self.clock == "calendar"
        dur = self.duration("deadline")
        return dur is not None and dur.kind != "wd"

    def matches(self, facts: TicketFacts) -> bool:
        """Whether every match field set on this rule accepts ``facts``."""
        for name in ("source", "kind", "category", "channel"):
            wanted = _one_of(getattr(self, name))
            if wanted and getattr(facts, name) not in wanted:
                return False
        wanted_tags = _one_of(self.tags)
        return not wanted_tags or not facts.tags.isdisjoint(wanted_tags)

    def duration(
        self, field_name: Literal["deadline", "internal_due", "first_contact", "giveback_within"]
    ) -> Duration | None:
        """The parsed duration of one duration field, or ``None`` when it is unset."""
        value = getattr(self, field_name)
        return None if value is None else parse_duration(value)


DEFAULT_RULE = Rule(name="default")


def _merge(winner: Rule, overlays: Sequence[Rule]) -> Rule:
    """Fill each field ``winner`` left unset (not given, or ``None``) from the first overlay
    that sets it."""
    update: dict[str, Any] = {}
    for name in Rule.model_fields:
        if name in _NOT_MERGED:
            continue
        if name in winner.model_fields_set and getattr(winner, name) is not None:
            continue
        for ov in overlays:
            if name in ov.model_fields_set and getattr(ov, name) is not None:
                update[name] = getattr(ov, name)
                break
    return winner.model_copy(update=update) if update else winner


# -- results ------------------------------------------------------------------------------------


def _iso(cal: WorkCalendar, dt: datetime | None) -> str | None:
    return None if dt is None else cal.local(dt).isoformat()


@dataclass(frozen=True)
class DeadlineResult:
    """What the rules give for one ticket. Times are aware, in the calendar's zone."""

    rule: str
    deadline: datetime | None
    internal_due: datetime | None
    first_contact_due: datetime | None
    progress: str | None
    max_extensions: int
    policy: Rule

    def to_json(self, cal: WorkCalendar) -> dict[str, str | None]:
        """``{"rule", "deadline", "internal_due", "first_contact_due", "progress"}`` with times as
        ISO 8601 in the calendar's zone (``2026-10-15T17:30:00+08:00``) and ``None`` for unset."""
        return {
            "rule": self.rule,
            "deadline": _iso(cal, self.deadline),
            "internal_due": _iso(cal, self.internal_due),
            "first_contact_due": _iso(cal, self.first_contact_due),
            "progress": self.progress,
        }


def evaluate(
    cal: WorkCalendar,
    rule: Rule,
    received_at: datetime,
    hotline_deadline: datetime | None = None,
) -> DeadlineResult:
    """Apply one (already merged) rule to a ticket received at ``received_at``.

    ``hotline_deadline`` replaces the rule's deadline; ``internal_due`` and ``first_contact_due``
    are never later than the deadline, whichever it is.
    """
    received_at = cal.local(received_at)

    def due(name: Literal["deadline", "internal_due", "first_contact"]) -> datetime | None:
        dur = rule.duration(name)
        return None if dur is None else apply_duration(cal, received_at, dur, roll=rule.roll)

    deadline = cal.local(hotline_deadline) if hotline_deadline is not None else due("deadline")
    internal = due("internal_due")
    if internal is not None and deadline is not None and internal > deadline:
        internal = deadline
    first_contact = due("first_contact")
    # a first contact owed after the ticket is due would come too late to matter (松江 紧急 at
    # 16:30 before National Day: due 10-01, a 1-working-day contact would be 10-08)
    if first_contact is not None and deadline is not None and first_contact > deadline:
        first_contact = deadline
    return DeadlineResult(
        rule=rule.name,
        deadline=deadline,
        internal_due=internal,
        first_contact_due=first_contact,
        progress=rule.progress,
        max_extensions=rule.max_extensions,
        policy=rule,
    )


def extension_request_by(cal: WorkCalendar, deadline: datetime, rule: Rule) -> datetime | None:
    """The last moment an extension may be asked for under ``rule`` (利川: at least N working
    days before the deadline), or ``None`` when the rule sets no notice.

    It is the end of the office day ``extension_notice_wd`` working days before the deadline's
    local date, so that at least that many working days remain.
    """
    if rule.extension_notice_wd is None:
        return None
    last_day = cal.subtract_workdays(cal.local_date(deadline), rule.extension_notice_wd)
    return cal.office_day_end_at(last_day)


_MATCH_MEMO = 4096  # distinct TicketFacts remembered by RuleBook.match


class RuleBook:
    """An ordered list of rules: the first matching non-overlay rule wins."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}; rule names must be unique")
            seen.add(rule.name)
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._matched: dict[TicketFacts, Rule] = {}

    def __repr__(self) -> str:
        return f"RuleBook({[r.name for r in self.rules]!r})"

    def match(self, facts: TicketFacts) -> Rule:
        """The effective rule for ``facts``.

        The first matching non-overlay rule wins (the built-in ``default`` rule, with no
        deadline, when none matches); every matching overlay rule, in order, then fills the
        fields the winner leaves unset. The result keeps the winner's name and match fields.

        Results are memoized per ``facts`` (rules and facts are both immutable): registering a
        batch matches the same few kinds of ticket over and over.
        """
        found = self._matched.get(facts)
        if found is None:
            winner = next((r for r in self.rules if not r.overlay and r.matches(facts)), DEFAULT_RULE)
            overlays = [r for r in self.rules if r.overlay and r.matches(facts)]
            found = _merge(winner, overlays)
            if len(self._matched) >= _MATCH_MEMO:
                self._matched.clear()
            self._matched[facts] = found
        return found

    def compute(
        self,
        cal: WorkCalendar,
        received_at: datetime,
        facts: TicketFacts,
        hotline_deadline: datetime | None = None,
    ) -> DeadlineResult:
        """Match ``facts`` and compute the ticket's due times (see ``evaluate``)."""
        return evaluate(cal, self.match(facts), received_at, hotline_deadline)
