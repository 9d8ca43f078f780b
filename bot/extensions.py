"""延期 along the procedure's chain: who decides an extension, how often one may be asked, and who
is told. A mixin of :class:`bot.tickets.TicketService` (its audit, outbox, SMS and reports).

The chain is the rule's ``extension_chain`` (``bot.deadlines.Rule``): the unit leader, the office,
the hotline, in that order, each step optional. While a step decides, the ticket shows 延期申请中
and its old deadline keeps counting; only the last step's 同意 (or the hotline's decision, by its
``extension_decision`` event or the office's ``延期结果`` command) moves the deadline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import notices
from bot.calendar import WorkCalendar
from bot.citizen_sms import CitizenSms
from bot.clock import Clock
from bot.deadlines import ExtensionStep
from bot.directory import Directory, Person
from bot.hotline_reports import HotlineReports
from bot.lifecycle import Actor, GuardFailed, NotAllowed, State, Transition, check, who_may
from bot.messages import OutgoingMessage
from bot.outbox import Outbox, Target
from store.models import ReviewRequest, Ticket
from store.queries import tickets as tickets_q

STEP_LABELS: dict[str, str] = {"leader": "单位领导", "office": "办公室", "hotline": "市长热线办"}
"""Who decides at each step of an extension chain, as messages name them."""

FINAL_WORDS = "市长热线办确定的延期时限不能再更改"
"""利川's words for a deadline the hotline fixed (refused 延期 quote them)."""


def sms_date(cal_local: datetime) -> str:
    """A date short enough for any provider's template variable: ``12月20日``."""
    return f"{cal_local.month}月{cal_local.day}日"


class Extensions:
    """延期, its chain of deciders and the hotline's decision; mixed into
    :class:`bot.tickets.TicketService`, which provides the attributes below and the operations
    called here (``policy``, ``capacities``, ``_move``, ``_ask_review``, ``_approve``,
    ``_decide``, ``_tell_assignee``)."""

    calendar: WorkCalendar
    clock: Clock
    directory: Directory
    outbox: Outbox
    reports: HotlineReports
    sms: CitizenSms
    policy: Any
    capacities: Any
    _move: Any
    _ask_review: Any
    _approve: Any
    _decide: Any
    _tell_assignee: Any

    def steps(self, ticket: Ticket) -> tuple[ExtensionStep, ...]:
        """The deciders of an extension of ``ticket``, in order; the leader's step is skipped where
        the rule asks no review (``review = false``)."""
        policy = self.policy(ticket)
        return tuple(step for step in policy.extension_chain if step != "leader" or policy.review)

    async def request_extension(self, s: AsyncSession, ticket: Ticket, person: Person,
                                text: str | None, until: datetime, reason: str) -> ReviewRequest:
        """延期: ask for a new deadline; refused once the hotline fixed one, after ``max_extensions``
        applications, or (利川) too close to the deadline."""
        caps = self.capacities(person, ticket)
        state = State(ticket.state)
        check(Transition.REQUEST_EXTENSION, state, caps)
        policy = self.policy(ticket)
        if ticket.extension_final:
            # 利川: “市长热线办确定的延期时限不能再更改”
            raise GuardFailed(
                f"工单 {ticket.number} 的办结时限 {notices.fmt_time(self.calendar, ticket.deadline)} "
                f"由市长热线办确定，{FINAL_WORDS}。", state=state, code="extension_final")
        if ticket.extension_state == "pending":
            raise GuardFailed("该工单已有延期申请在等待审核。", state=state, code="extension_pending")
        if ticket.extension_applications >= ticket.max_extensions:
            # 平顶山: “原则上每件事项只能提出1次延期申请” — applications count, a refused one too.
            raise GuardFailed(
                f"该工单已提出 {ticket.extension_applications} 次延期申请，按规定不能再次延期"
                f"（原则上每件事项只能提出{ticket.max_extensions}次延期申请）。", state=state,
                code="extension_limit")
        if not reason.strip():
            raise GuardFailed("请写明延期理由，例如：延期 12345 5天 需协调街道现场核实。", state=state,
                              code="missing_reason")
        if ticket.deadline is not None:
            if until <= ticket.deadline:
                raise GuardFailed("延期后的时限必须晚于当前时限。", state=state, code="extension_not_later")
            notice = policy.extension_notice_wd
            if notice:
                # 利川 三(三)4: 承办单位不能在7天内办结的应在办结时限前2天将情况书面反馈至局办公室
                today = self.calendar.local_date(self.clock.now())
                due_day = self.calendar.local_date(ticket.deadline)
                if self.calendar.workdays_between(today, due_day) < notice:
                    raise GuardFailed(
                        f"延期须在办结时限前 {notice} 个工作日提出，本工单已过申请期限。",
                        state=state, code="extension_late")
        self._move(s, ticket, Transition.REQUEST_EXTENSION, person, text, caps,
                   {"until": until.isoformat(), "reason": reason})
        ticket.extension_state = "pending"
        ticket.extension_requested_until = until
        ticket.extension_applications += 1
        steps = self.steps(ticket)
        req = ReviewRequest(ticket_id=ticket.id, kind="extension", round=ticket.round,
                            requested_by=person.id, requested_at=self.clock.now(), content=reason,
                            until=until, state_before=ticket.state, stage=steps[0] if steps else None)
        s.add(req)
        await s.flush()  # the request's id goes into the card buttons
        if not steps:
            await self._approve(s, ticket, req, None, None, "")
            return req
        await self._enter_step(s, ticket, req, person.name)
        return req

    async def _enter_step(self, s: AsyncSession, ticket: Ticket, req: ReviewRequest, who: str) -> None:
        """Put ``req`` before the decider of its stage."""
        until = notices.fmt_time(self.calendar, req.until)
        unit = self.directory.unit_name(ticket.unit_code)
        if req.stage == "leader":
            await self._ask_review(s, ticket, f"{who} 申请工单 {ticket.number} 延期至 {until}，理由：{req.content}",
                             "延期", req)
            return
        if req.stage == "office":
            await self._ask_review(s, ticket, f"{unit}申请工单 {ticket.number} 延期至 {until}，理由：{req.content}。"
                             "请办公室审核。", "延期", req, office=True)
            return
        # the hotline decides: it is told, the office records its answer, the old deadline counts.
        self.reports.queue(s, ticket, "extension_request", {"until": self.calendar.local(req.until).isoformat() if req.until else None,
                                                            "reason": req.content, "unit": ticket.unit_code},
                           seq=ticket.extension_applications)
        old = notices.fmt_time(self.calendar, ticket.deadline)
        self.outbox.add(s, Target.to_office(), OutgoingMessage(
            f"工单 {ticket.number}（{unit}）申请延期至 {until}，理由：{req.content}。已报市长热线办，"
            f"收到热线决定后请发送：延期结果 {ticket.number} 同意 日期（或：延期结果 {ticket.number} 不同意 理由）。",
            ticket=ticket.key), ticket_id=ticket.id, kind="extension_office")
        if ticket.unit_code:
            self.outbox.add(s, Target.to_unit(ticket.unit_code), OutgoingMessage(
                f"工单 {ticket.number} 延期申请中：已报市长热线办决定，决定前原办结时限 {old} 照常计算。",
                ticket=ticket.key), ticket_id=ticket.id)

    def check_step(self, ticket: Ticket, req: ReviewRequest, person: Person | None,
                   caps: set[Actor]) -> None:
        """Refuse a 同意 / 驳回 of an extension by someone who is not its current step's decider."""
        if person is None or req.kind != "extension":
            return
        state = State(ticket.state)
        if req.stage == "hotline":
            raise GuardFailed(
                f"工单 {ticket.number} 的延期申请正由市长热线办决定；办公室收到决定后请发送："
                f"延期结果 {ticket.number} 同意 日期（或 不同意 理由）。", state=state, code="extension_at_hotline")
        if req.stage == "office" and Actor.OFFICE not in caps:
            raise NotAllowed(who_may(frozenset({Actor.OFFICE}), "审核这一步的延期申请"), state=state)

    def next_step(self, ticket: Ticket, req: ReviewRequest) -> ExtensionStep | None:
        """The decider after ``req``'s current one, or None when the current one is the last."""
        steps = self.steps(ticket)
        if req.stage not in steps:
            return None
        later = steps[steps.index(req.stage) + 1:]  # type: ignore[arg-type]
        return later[0] if later else None

    async def forward(self, s: AsyncSession, ticket: Ticket, req: ReviewRequest, step: ExtensionStep,
                person: Person | None) -> None:
        """Hand an approved step's request on to the next decider."""
        req.stage = step
        await self._enter_step(s, ticket, req, person.name if person else "")

    def grant_extension(self, s: AsyncSession, ticket: Ticket, until: datetime, who: str, *,
                        final: bool) -> None:
        """Move the deadline to ``until``; the unit and the citizen are told."""
        ticket.extension_state = "granted"
        ticket.extension_granted_until = until
        ticket.extensions_granted += 1
        ticket.deadline = until
        ticket.extension_final = ticket.extension_final or final
        if ticket.internal_due and ticket.internal_due < until:
            ticket.internal_due = None  # the granted date is the unit's own deadline now
        self._tell_assignee(s, ticket, f"{who} 已批准工单 {ticket.number} 延期至 "
                            f"{notices.fmt_time(self.calendar, until)}。")
        # 吉林: “未在规定时限内解决的，要向诉求人做好解释说明，取得理解，并承诺办结时限”
        self.sms.queue(s, ticket, "extension", {"number": ticket.number,
                                                "date": sms_date(self.calendar.local(until))},
                       event=str(ticket.extensions_granted))

    async def extension_decision(self, s: AsyncSession, ticket: Ticket, person: Person | None,
                                 text: str | None, granted: bool, until: datetime | None, note: str,
                                 detail: dict[str, object]) -> ReviewRequest | None:
        """The hotline's decision on an extension (its event, or the office's ``延期结果``): a
        granted date is final (利川 “市长热线办确定的延期时限不能再更改”)."""
        caps = {Actor.HOTLINE} if person is None else self.capacities(person, ticket)
        self._move(s, ticket, Transition.EXTENSION_DECISION, person, text, caps,
                   {**detail, "granted": granted, "deadline": until.isoformat() if until else None})
        req = await tickets_q.pending_review(s, ticket.id, kind="extension")
        if granted and until is not None:
            if req is not None:
                self._decide(req, person, "approved", note)
            self.grant_extension(s, ticket, until, "市长热线办", final=True)
            return req
        if req is not None:
            self._decide(req, person, "rejected", note)
        ticket.extension_state = "rejected"
        self._tell_assignee(s, ticket, f"市长热线办未同意工单 {ticket.number} 延期，请按原时限 "
                            f"{notices.fmt_time(self.calendar, ticket.deadline)} 办结。{note}".rstrip())
        return req
