"""What the office decides about a ticket beside its lifecycle (issue 15 §3–§5): its own 退单 of a
registered ticket, the give-back deadline, the final deadline it sets where the rule leaves it to
the office (``deadline_by_office``), the 主管/包案 leader, the 督办 level and the duties of each.

A mixin of :class:`bot.tickets.TicketService`, whose audit, lifecycle move and outbox it uses; every
method only adds to the caller's transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import notices
from bot.deadlines import SupervisionLevel, apply_duration, parse_duration
from bot.intake import TicketEventIn
from bot.lifecycle import OPEN_STATES, Actor, GuardFailed, NotAllowed, State, Transition
from bot.messages import OutgoingMessage
from bot.outbox import Target
from store.models import Ticket

if TYPE_CHECKING:
    from bot.calendar import WorkCalendar
    from bot.clock import Clock
    from bot.deadlines import Rule
    from bot.directory import Directory, Person
    from bot.hotline_reports import HotlineReports
    from bot.outbox import Outbox


@dataclass(frozen=True, slots=True)
class Level:
    """One 督办 level of 平顶山 六、督办机制: what the unit owes and what meets it.

    ``met_by``: ``"包案"`` (the responsible leader is named), a 进展 marker (``"方案"``: ``进展 NO
    方案：…``), ``"进展"`` (any 进展 after the level was raised), or None (nothing owed by the unit)."""

    name: SupervisionLevel
    duty: str
    met_by: str | None


LEVELS: tuple[Level, ...] = (
    # “(一)书面督办…网络单位按照《市长热线督办通知》要求明确责任领导和责任人，集中力量，按时办结，
    # 并向市长热线办公室书面回复办理结果”
    Level("书面", "明确责任领导和责任人，按时办结并书面回复办理结果", "包案"),
    # “(二)现场督办…网络单位应在现场督办后3个工作日内向市长热线办公室报送办理工作方案”
    Level("现场", "报送办理工作方案", "方案"),
    # “(三)重点督办…编制《市长热线专报》直接报市政府有关领导。领导批示后，交由网络单位办理，并对办理
    # 落实情况及时跟踪了解”
    Level("重点", "按领导批示办理，报送落实情况", "进展"),
    # “(四)移交办理…市长热线办公室应及时移交监察机关或市委干部作风大整顿领导小组办公室处理”
    Level("移交", "已移交监察机关处理", None),
)
BY_NAME: dict[str, Level] = {lv.name: lv for lv in LEVELS}
RANK: dict[str, int] = {lv.name: i for i, lv in enumerate(LEVELS)}

# ``进展 NO 计划：…`` / ``进展 NO 方案：…``: a 进展 that carries the plan (平顶山 C类) or the 方案 (现场督办)
_MARK = re.compile(r"^\s*(计划|方案)\s*[：:]")


def progress_mark(content: str) -> str | None:
    """``"计划"`` / ``"方案"`` when a 进展's words start with that mark, else None."""
    m = _MARK.match(content)
    return m.group(1) if m else None


class Supervision:
    """The office's decisions about a ticket; mixed into :class:`bot.tickets.TicketService`."""

    calendar: WorkCalendar
    clock: Clock
    directory: Directory
    outbox: Outbox
    reports: HotlineReports

    if TYPE_CHECKING:
        def policy(self, ticket: Ticket) -> Rule: ...
        def audit(self, s: AsyncSession, ticket: Ticket | None, person: Person | None, action: str,
                  text: str | None, before: str | None, after: str | None,
                  detail: dict[str, Any] | None = None, *, outcome: str = "ok",
                  actor_name: str | None = None) -> Any: ...
        def capacities(self, person: Person, ticket: Ticket, *, reviewing: bool = False) -> set[Actor]: ...
        def _move(self, s: AsyncSession, ticket: Ticket, transition: Transition, person: Person | None,
                  text: str | None, caps: set[Actor], detail: dict[str, Any] | None = None, *,
                  previous: str | None = None) -> State: ...

    # ---- 退单 --------------------------------------------------------------------------------

    def giveback_due(self, ticket: Ticket) -> datetime | None:
        """When a give-back must be done under the ticket's rule (``giveback_within``), counted from
        receipt: 利川 “不属于我局受理的事项，需在当天予以退回”, 松江 “退单流程应于1个工作日内完成”."""
        within = self.policy(ticket).duration("giveback_within")
        return None if within is None else apply_duration(self.calendar, ticket.received_at, within)

    def giveback_when(self, ticket: Ticket) -> str:
        """``于 10月9日 17:30 前`` for the answers, or ``""`` when the rule sets no window."""
        return "" if ticket.giveback_due is None else f"于 {notices.fmt_time(self.calendar, ticket.giveback_due)} 前"

    async def office_giveback(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                              reason: str) -> None:
        """退单 by the office itself, before any dispatch: 松江 “明显不属于我局职权范围内的，由办公室及时
        联系有关部门说明理由，从原渠道退回”."""
        if not reason.strip():
            raise GuardFailed("请写明退单理由，例如：退单 202611230001 不属于本局职责，建议转住建局。",
                              state=State(ticket.state), code="missing_reason")
        self._move(s, ticket, Transition.OFFICE_GIVEBACK, person, text, self.capacities(person, ticket),
                   {"reason": reason})
        ticket.giveback_due = self.giveback_due(ticket)
        ticket.closed_at = self.clock.now()
        self.reports.queue(s, ticket, "giveback", {"reason": reason})

    async def office_event(self, s: AsyncSession, ticket: Ticket, event: TicketEventIn, note: str) -> str:
        """The hotline's ``deadline`` (the final deadline) or ``supervise`` (a 督办 level) event."""
        if event.type == "deadline":
            if event.deadline is None:
                raise GuardFailed("确定时限须写明 deadline。", state=State(ticket.state), code="guard")
            await self.set_final_deadline(s, ticket, None, note or None, event.deadline, event=event.id)
            return "deadline_set"
        if event.level is None:
            raise GuardFailed("督办须写明 level。", state=State(ticket.state), code="guard")
        await self.supervise(s, ticket, None, note or None, event.level, note, event=event.id)
        return "supervised"

    # ---- the final deadline (平顶山 C类) --------------------------------------------------------

    async def set_final_deadline(self, s: AsyncSession, ticket: Ticket, person: Person | None,
                                 text: str | None, day: date | datetime, *, event: str | None = None) -> datetime:
        """时限 / the hotline's ``deadline`` event: the final deadline of a ticket whose rule leaves it
        to the office (平顶山 C类 “待事项办结后以书面形式回复市长热线办公室”, the date set by the office)."""
        state = State(ticket.state)
        if not self.policy(ticket).deadline_by_office:
            raise GuardFailed(f"工单 {ticket.number} 的办结时限由办理规则确定，不能另行设定。", state=state,
                              code="deadline_by_rule")
        if state not in OPEN_STATES:
            raise GuardFailed(f"工单 {ticket.number} 已办结，不能再设定时限。", state=state, code="wrong_state")
        when = day if isinstance(day, datetime) else self.calendar.office_day_end_at(day)
        if when <= self.clock.now():
            raise GuardFailed("最终办结时限须晚于现在。", state=state, code="deadline_past")
        before = ticket.deadline
        ticket.deadline = when
        ticket.internal_due = None
        self.audit(s, ticket, person, "set_deadline", text, ticket.state, ticket.state,
                   {"deadline": when.isoformat(), "before": before.isoformat() if before else None, "event": event},
                   actor_name=None if person else "热线系统")
        self._tell_unit(s, ticket, f"工单 {ticket.number} 的最终办结时限已确定为 "
                        f"{notices.fmt_time(self.calendar, when)}，请按期办结并书面回复。", kind="deadline_set")
        return when

    # ---- the 包案 leader -----------------------------------------------------------------------

    async def set_lead_leader(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                              name: str) -> None:
        """包案: the ticket's 主管/包案 leader (平顶山 C/D类 “要确定1名主管领导”); meets a 书面督办."""
        state = State(ticket.state)
        if state not in OPEN_STATES:
            raise GuardFailed(f"工单 {ticket.number} 已办结，无需再指定包案领导。", state=state, code="wrong_state")
        ticket.lead_leader = name
        self.audit(s, ticket, person, "lead_leader", text, ticket.state, ticket.state, {"leader": name})
        self._meet(s, ticket, person, {"包案"})

    def lead_mention(self, ticket: Ticket) -> list[Person]:
        """The 包案 leader, when they are a person of the config (to @mention)."""
        found = self.directory.people.get(ticket.lead_leader or "")
        return [found] if found is not None else []

    # ---- 督办 ----------------------------------------------------------------------------------

    async def supervise(self, s: AsyncSession, ticket: Ticket, person: Person | None, text: str | None,
                        level: str, note: str, *, event: str | None = None) -> Level:
        """Raise the ticket's 督办 level (never lower it); the level's clock comes from the rule's
        ``supervision``. The unit is told its duty, with the leaders and the 包案 leader @mentioned."""
        state = State(ticket.state)
        lv = BY_NAME[level]
        if state not in OPEN_STATES:
            raise GuardFailed(f"工单 {ticket.number} 已办结，不能督办。", state=state, code="wrong_state")
        if person is not None and not person.is_office:
            raise NotAllowed("只有办公室可以督办。", state=state)
        if ticket.supervision_level is not None and RANK[ticket.supervision_level] >= RANK[level]:
            raise GuardFailed(f"工单 {ticket.number} 已是{ticket.supervision_level}督办，督办只能升级"
                              f"（书面 → 现场 → 重点 → 移交）。", state=state, code="supervision_level")
        now = self.clock.now()
        clock = (self.policy(ticket).supervision or {}).get(lv.name)
        due = None if clock is None or lv.met_by is None else \
            apply_duration(self.calendar, now, parse_duration(clock))
        ticket.supervision_level = lv.name
        ticket.supervision_at = now
        ticket.supervision_due = due
        met = lv.met_by is None or (lv.met_by == "包案" and ticket.lead_leader is not None)
        ticket.supervision_met_at = now if met else None
        self.audit(s, ticket, person, "supervise", text, ticket.state, ticket.state,
                   {"level": lv.name, "note": note, "due": due.isoformat() if due else None, "event": event},
                   actor_name=None if person else "热线系统")
        self._tell_unit(s, ticket, supervision_notice(self.calendar, ticket, lv, due, note, met),
                        kind="supervise", leaders=True)
        return lv

    def supervision_progress(self, s: AsyncSession, ticket: Ticket, person: Person, content: str) -> None:
        """A 进展 that meets the plan stage (``计划：``) or a 督办 duty (``方案：``, or any 进展 for 重点)."""
        mark = progress_mark(content)
        if mark == "计划" and ticket.plan_at is None:
            ticket.plan_at = self.clock.now()
            if self.policy(ticket).deadline_by_office:
                # 平顶山 C类 “在5个工作日内…回复前期处理情况及办理计划”: the stage is met; the final
                # deadline is the office's to set (时限), so nothing is overdue until it does
                ticket.deadline = None
                ticket.internal_due = None
        self._meet(s, ticket, person, {"进展", *([mark] if mark else [])})

    def _meet(self, s: AsyncSession, ticket: Ticket, person: Person, done: set[str]) -> None:
        """Mark the current 督办 level's duty met when ``done`` (what was just reported) meets it."""
        lv = BY_NAME.get(ticket.supervision_level or "")
        if lv is None or ticket.supervision_met_at is not None or lv.met_by not in done:
            return
        ticket.supervision_met_at = self.clock.now()
        self.audit(s, ticket, person, "supervision_met", None, ticket.state, ticket.state, {"level": lv.name})
        self.outbox.add(s, Target.to_office(), OutgoingMessage(
            f"工单 {ticket.number}（{self.directory.unit_name(ticket.unit_code)}）已完成{lv.name}督办要求："
            f"{lv.duty}。", ticket=ticket.key), ticket_id=ticket.id, kind="supervise")

    def _tell_unit(self, s: AsyncSession, ticket: Ticket, text: str, *, kind: str, leaders: bool = False) -> None:
        """To the ticket's unit, @承办人 and the 包案 leader (and the unit's leaders when asked)."""
        if ticket.unit_code is None:
            return
        people = [p for p in [self.directory.person_by_id(ticket.handler_id)] if p is not None]
        people += [p for p in self.lead_mention(ticket) if p not in people]
        if leaders:
            people += [p for p in self.directory.leaders(ticket.unit_code) if p not in people]
        self.outbox.add(s, Target.to_unit(ticket.unit_code), OutgoingMessage(
            text, ticket=ticket.key, mentions=tuple(p.mention() for p in people)), ticket_id=ticket.id, kind=kind)


def supervision_notice(cal: WorkCalendar, ticket: Ticket, lv: Level, due: datetime | None, note: str,
                       met: bool) -> str:
    """To the unit: the ticket's new 督办 level, its duty and its clock."""
    head = f"【{lv.name}督办】工单 {ticket.number}" + (f"：{note}" if note else "") + "。"
    if lv.met_by is None:
        return head + f"{lv.duty}。"
    if met:
        return head + f"要求：{lv.duty}（责任领导已明确：{ticket.lead_leader}）。"
    how = {"包案": f"请回复「包案 {ticket.number} 领导姓名」明确责任领导",
           "方案": f"请回复「进展 {ticket.number} 方案：……」报送",
           "进展": f"请回复「进展 {ticket.number} 落实情况」报送"}[lv.met_by]
    when = f"，须于 {notices.fmt_time(cal, due)} 前完成" if due else ""
    return head + f"要求：{lv.duty}{when}。{how}。"
