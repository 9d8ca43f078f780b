"""Ticket operations: dispatch and every lifecycle step after registration (``bot.registration``),
each with its audit row and its outbox rows in the caller's transaction.

Callers open the transaction (``async with sessions.begin() as s``); every method here only adds
to it, so a state change, its audit row and the messages it owes commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import notices
from bot.buttons import TicketButtons
from bot.calendar import WorkCalendar
from bot.citizen_sms import CitizenSms
from bot.clock import Clock
from bot.config import Config
from bot.deadlines import Rule, RuleBook, TicketFacts, apply_duration
from bot.directory import Directory, Person
from bot.hotline_reports import HotlineReports
from bot.intake import TicketEventIn
from bot.lifecycle import (
    STATE_LABELS,
    Actor,
    GuardFailed,
    LifecycleError,
    NotAllowed,
    State,
    Transition,
    check,
)
from bot.messages import OutgoingMessage
from bot.outbox import Outbox, Target
from bot.reading.repeats import ANSWER_COMMAND
from bot.reading.service import ModelHolder
from bot.registration import SYSTEM, RegisterResult, Registration
from bot.ticket_rows import AUDIT_ROWS
from store.models import AuditEvent, ReviewRequest, Ticket
from store.queries import tickets as tickets_q

REQUEST_LABELS = {"reply": "答复", "extension": "延期申请", "giveback": "退单申请"}
"""What each kind of review request is called in messages."""


class TicketService(Registration):
    """The ticket lifecycle over the store; platform-neutral."""

    def __init__(self, *, config: Config, directory: Directory, rulebook: RuleBook,
                 calendar: WorkCalendar, clock: Clock, outbox: Outbox) -> None:
        self.config = config
        self.directory = directory
        self.rulebook = rulebook
        self.calendar = calendar
        self.clock = clock
        self.outbox = outbox
        self.reports = HotlineReports(config.hotline, clock)
        self.sms = CitizenSms(config.sms, calendar.tz, clock)
        self.buttons = TicketButtons(config.effective_secret, clock)
        self.reader = ModelHolder()

    # ---- lookups -------------------------------------------------------------------------

    def policy(self, ticket: Ticket) -> Rule:
        """The effective procedure rule of a ticket."""
        return self.rulebook.match(_facts(ticket))

    def capacities(self, person: Person, ticket: Ticket, *, reviewing: bool = False) -> set[Actor]:
        """In which capacities ``person`` speaks about ``ticket``."""
        caps: set[Actor] = set()
        if person.is_office and (not reviewing or self.config.procedure.office_may_review):
            caps.add(Actor.OFFICE)
        unit = ticket.unit_code
        if unit is not None:
            if person.has_role("handler", unit):
                caps.add(Actor.HANDLER)
            if person in self.directory.leaders(unit) or person.has_role("leader", unit):
                caps.add(Actor.LEADER)
        if ticket.handler_id is not None and ticket.handler_id == person.id:
            caps.add(Actor.ASSIGNEE)
        return caps

    # ---- audit ---------------------------------------------------------------------------

    def audit(self, s: AsyncSession, ticket: Ticket | None, person: Person | None, action: str,
              text: str | None, before: str | None, after: str | None,
              detail: dict[str, Any] | None = None, *, outcome: str = "ok",
              actor_name: str | None = None) -> AuditEvent:
        """Append one audit row (痕迹管理) to the session."""
        row = AuditEvent(ticket_id=ticket.id if ticket else None, at=self.clock.now(),
                         actor=actor_name or (person.name if person else SYSTEM),
                         actor_id=person.id if person and person.id else None, action=action,
                         text=text, state_before=str(before) if before else None,
                         state_after=str(after) if after else None, outcome=outcome,
                         detail=detail or {})
        s.add(row)
        s.info.setdefault(AUDIT_ROWS, []).append(row)  # the view of a new ticket reads them from here
        return row

    def _move(self, s: AsyncSession, ticket: Ticket, transition: Transition, person: Person | None,
              text: str | None, caps: set[Actor], detail: dict[str, Any] | None = None, *,
              previous: str | None = None) -> State:
        before = State(ticket.state)
        after = check(transition, before, caps, previous=previous)
        ticket.state = after
        ticket.updated_at = self.clock.now()
        self.audit(s, ticket, person, transition.value, text, before, after, detail)
        return after

    # ---- dispatch and accept -------------------------------------------------------------

    async def dispatch(self, s: AsyncSession, ticket: Ticket, unit: str, person: Person | None,
                       text: str | None) -> None:
        """派单 / 转办: assign to ``unit`` and post the assignment into its group chats."""
        if unit not in self.directory.units:
            raise GuardFailed(f"没有代码为「{unit}」的承办单位。", state=State(ticket.state))
        caps = {Actor.HOTLINE} if person is None else self.capacities(person, ticket)
        previous = ticket.unit_code
        self._move(s, ticket, Transition.DISPATCH, person, text, caps, {"unit": unit, "from": previous})
        ticket.unit_code = unit
        ticket.handler_id = None
        ticket.accepted_at = None
        ticket.dispatched_at = self.clock.now()
        name = self.directory.unit_name(unit)
        msg = OutgoingMessage(
            text=notices.assignment(ticket, self.calendar, name), title=f"新工单 {ticket.number}",
            ticket=ticket.key, card_key=f"assign:{ticket.key}:{ticket.round}",
            actions=(self.buttons.button("签收", "签收", ticket.key, "primary"),
                     *((self.buttons.button(ANSWER_COMMAND, ANSWER_COMMAND, ticket.key),)
                       if ticket.duplicate_of is not None else ())))
        self.outbox.add(s, Target.to_unit(unit), msg, ticket_id=ticket.id, kind="assignment")
        if previous and previous != unit:
            self.outbox.add(s, Target.to_unit(previous), OutgoingMessage(
                f"工单 {ticket.number} 已改派至{name}，本单位无需再办理。"), ticket_id=ticket.id)

    async def accept(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None) -> None:
        """签收: the sender becomes the 承办人."""
        self._move(s, ticket, Transition.ACCEPT, person, text, self.capacities(person, ticket))
        ticket.handler_id = person.id
        ticket.accepted_at = self.clock.now()

    # ---- working the ticket --------------------------------------------------------------

    async def first_contact(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                            note: str) -> None:
        """先行联系: record that the handler reached the citizen, with the time."""
        self._move(s, ticket, Transition.FIRST_CONTACT, person, text, self.capacities(person, ticket),
                   {"note": note})
        ticket.first_contact_at = self.clock.now()

    async def progress(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                       content: str) -> None:
        """进展 / 报送: an interim report; satisfies the daily report duty."""
        if not content.strip():
            raise GuardFailed("请写明进展内容，例如：进展 12345 已联系社区，明日上门核实。",
                              state=State(ticket.state), code="missing_content")
        self._move(s, ticket, Transition.PROGRESS, person, text, self.capacities(person, ticket),
                   {"content": content})
        ticket.last_progress_at = self.clock.now()

    async def reply(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                    content: str, category: str | None) -> ReviewRequest:
        """答复: a draft that waits for the leader's review (or is approved at once where the rule
        asks no review: the request comes back ``approved``).

        ``content`` and its result ``category`` were checked by the 答复 handler."""
        caps = self.capacities(person, ticket)
        before = ticket.state
        self._move(s, ticket, Transition.REPLY, person, text, caps,
                   {"content": content, "category": category})
        req = ReviewRequest(ticket_id=ticket.id, kind="reply", round=ticket.round, requested_by=person.id,
                            requested_at=self.clock.now(), content=content, result_category=category,
                            state_before=before)
        s.add(req)
        if not self.policy(ticket).review:
            await self._approve(s, ticket, req, None, None, "")
            return req
        self._ask_review(s, ticket, f"{person.name} 提交了工单 {ticket.number} 的答复，请审核：\n{content}",
                         "答复")
        return req

    async def request_extension(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                                until: datetime, reason: str) -> ReviewRequest:
        """延期: ask for a new deadline; at most ``max_extensions``; 利川 asks it early enough."""
        caps = self.capacities(person, ticket)
        state = State(ticket.state)
        check(Transition.REQUEST_EXTENSION, state, caps)
        policy = self.policy(ticket)
        if ticket.extension_state == "pending":
            raise GuardFailed("该工单已有延期申请在等待审核。", state=state, code="extension_pending")
        if ticket.extensions_granted >= ticket.max_extensions:
            raise GuardFailed(f"该工单已延期 {ticket.extensions_granted} 次，按规定不能再次延期。",
                              state=state, code="extension_limit")
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
        req = ReviewRequest(ticket_id=ticket.id, kind="extension", round=ticket.round,
                            requested_by=person.id, requested_at=self.clock.now(), content=reason,
                            until=until, state_before=ticket.state)
        s.add(req)
        if not policy.review:
            await self._approve(s, ticket, req, None, None, "")
            return req
        self._ask_review(s, ticket, f"{person.name} 申请工单 {ticket.number} 延期至 "
                         f"{notices.fmt_time(self.calendar, until)}，理由：{reason}", "延期")
        return req

    async def request_giveback(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                               reason: str) -> ReviewRequest:
        """退单: not our duty; returned to the hotline with reasons after approval."""
        caps = self.capacities(person, ticket)
        if not reason.strip():
            raise GuardFailed("请写明退单理由，例如：退单 12345 不属于本单位职责，建议转住建局。",
                              state=State(ticket.state), code="missing_reason")
        before = ticket.state
        self._move(s, ticket, Transition.REQUEST_GIVEBACK, person, text, caps, {"reason": reason})
        req = ReviewRequest(ticket_id=ticket.id, kind="giveback", round=ticket.round,
                            requested_by=person.id, requested_at=self.clock.now(), content=reason,
                            state_before=before)
        s.add(req)
        if not self.policy(ticket).review:
            await self._approve(s, ticket, req, None, None, "")
            return req
        self._ask_review(s, ticket, f"{person.name} 申请退回工单 {ticket.number}，理由：{reason}", "退单")
        return req

    def _ask_review(self, s: AsyncSession, ticket: Ticket, text: str, what: str) -> None:
        assert ticket.unit_code is not None
        leaders = self.directory.leaders(ticket.unit_code)
        msg = OutgoingMessage(
            text=text, title=f"{what}待审核 {ticket.number}", ticket=ticket.key,
            mentions=tuple(p.mention() for p in leaders),
            card_key=f"review:{ticket.key}:{what}:{self.clock.now().timestamp():.0f}",
            actions=(self.buttons.button("同意", "同意", ticket.key, "primary"),
                     self.buttons.button("驳回", "驳回", ticket.key, "danger")))
        self.outbox.add(s, Target.to_unit(ticket.unit_code), msg, ticket_id=ticket.id, kind="review")

    # ---- review --------------------------------------------------------------------------

    async def approve(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                      note: str) -> ReviewRequest:
        """同意: approve whatever waits for review on the ticket; returns the decided request."""
        req = await tickets_q.pending_review(s, ticket.id)
        if req is None:
            raise GuardFailed(f"工单 {ticket.number} 没有待审核的申请（当前：{STATE_LABELS[State(ticket.state)]}）。",
                              state=State(ticket.state), code="nothing_pending")
        await self._approve(s, ticket, req, person, text, note)
        return req

    async def _approve(self, s: AsyncSession, ticket: Ticket, req: ReviewRequest, person: Person | None,
                       text: str | None, note: str) -> None:
        caps = {Actor.SYSTEM, Actor.LEADER} if person is None else self.capacities(person, ticket, reviewing=True)
        now = self.clock.now()
        who = person.name if person else SYSTEM
        if req.kind == "reply":
            self._move(s, ticket, Transition.APPROVE_REPLY, person, text, caps, {"note": note, "request": req.id})
            ticket.answered_at = now
            self._decide(req, person, "approved", note)
            self._owe_answer(s, ticket, req)
            return
        if req.kind == "extension":
            self._move(s, ticket, Transition.APPROVE_EXTENSION, person, text, caps, {"note": note, "until": req.until.isoformat() if req.until else None})
            self._decide(req, person, "approved", note)
            ticket.extension_state = "granted"
            ticket.extension_granted_until = req.until
            ticket.extensions_granted += 1
            ticket.deadline = req.until
            if ticket.internal_due and req.until and ticket.internal_due < req.until:
                ticket.internal_due = None  # the granted date is the unit's own deadline now
            self._tell_assignee(s, ticket, f"{who} 已批准工单 {ticket.number} 延期至 "
                                f"{notices.fmt_time(self.calendar, req.until)}。")
            return
        # giveback
        self._move(s, ticket, Transition.APPROVE_GIVEBACK, person, text, caps, {"note": note})
        self._decide(req, person, "approved", note)
        ticket.closed_at = now
        # The office returns it in the hotline's system within the rule's giveback_within.
        within = self.policy(ticket).duration("giveback_within")
        when = "" if within is None else \
            f"于 {notices.fmt_time(self.calendar, apply_duration(self.calendar, now, within))} 前"
        self.outbox.add(s, Target.to_office(), OutgoingMessage(
            f"工单 {ticket.number} 的退单已获批准（理由：{req.content}），请{when}在热线系统中退回。",
            ticket=ticket.key), ticket_id=ticket.id, kind="giveback_office")
        self.reports.queue(s, ticket, "giveback", {"reason": req.content})

    async def reject(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                     note: str) -> ReviewRequest:
        """驳回: the reason goes back to the 承办人; the ticket returns to where it was; returns the
        decided request."""
        req = await tickets_q.pending_review(s, ticket.id)
        state = State(ticket.state)
        if req is None:
            raise GuardFailed(f"工单 {ticket.number} 没有待审核的申请（当前：{STATE_LABELS[state]}）。",
                              state=state, code="nothing_pending")
        if not note.strip():
            raise GuardFailed("驳回请写明意见，例如：驳回 12345 请补充与来电人沟通的时间。", state=state,
                              code="missing_reason")
        caps = self.capacities(person, ticket, reviewing=True)
        what = REQUEST_LABELS[req.kind]
        if req.kind == "reply":
            self._move(s, ticket, Transition.REJECT_REPLY, person, text, caps, {"note": note})
        elif req.kind == "extension":
            self._move(s, ticket, Transition.REJECT_EXTENSION, person, text, caps, {"note": note})
            ticket.extension_state = "rejected"
        else:
            self._move(s, ticket, Transition.REJECT_GIVEBACK, person, text, caps, {"note": note},
                       previous=req.state_before or State.DISPATCHED)
        self._decide(req, person, "rejected", note)
        self._tell_assignee(s, ticket, f"{person.name} 驳回了工单 {ticket.number} 的{what}：{note}",
                            requester=req.requested_by)
        return req

    def _decide(self, req: ReviewRequest, person: Person | None, state: str, note: str) -> None:
        req.state = state
        req.decided_by = person.id if person else None
        req.decided_at = self.clock.now()
        req.decision_note = note or None

    def _tell_assignee(self, s: AsyncSession, ticket: Ticket, text: str, requester: int | None = None) -> None:
        pid = requester or ticket.handler_id
        person = self.directory.person_by_id(pid)
        mentions = (person.mention(),) if person else ()
        if ticket.unit_code:
            self.outbox.add(s, Target.to_unit(ticket.unit_code),
                            OutgoingMessage(text, mentions=mentions, ticket=ticket.key), ticket_id=ticket.id)

    def _owe_answer(self, s: AsyncSession, ticket: Ticket, req: ReviewRequest) -> None:
        """What an approved reply owes: the group notice, the citizen's SMS, the hotline report."""
        unit = self.directory.unit_name(ticket.unit_code)
        handler = self.directory.person_by_id(ticket.handler_id)
        if ticket.unit_code:
            self.outbox.add(s, Target.to_unit(ticket.unit_code), OutgoingMessage(
                f"工单 {ticket.number} 已审核通过并答复来电人。",
                mentions=(handler.mention(),) if handler else (), ticket=ticket.key),
                ticket_id=ticket.id, kind="answered")
        if ticket.citizen_phone:
            self.sms.queue(s, ticket, "answer", {"number": ticket.number, "unit": unit}, text=req.content)
        self.reports.queue(s, ticket, "answer", {"content": req.content, "category": req.result_category,
                                           "unit": ticket.unit_code})

    # ---- feedback and hotline events -----------------------------------------------------

    async def feedback(self, s: AsyncSession, ticket: Ticket, verdict: str, *, via: str,
                       text: str | None) -> str:
        """回访: 满意/认可 archives; 不满意 reopens with a new round and deadline."""
        actor_caps = {Actor.CITIZEN} if via in ("sms", "citizen_page") else {Actor.HOTLINE}
        if verdict in ("满意", "认可"):
            self._move(s, ticket, Transition.FEEDBACK_SATISFIED, None, text, actor_caps, {"via": via, "verdict": verdict})
            ticket.feedback = verdict  # only once the move is allowed: a refusal leaves the ticket as it was
            ticket.closed_at = self.clock.now()
            return "archived"
        if verdict == "不满意":
            self._move(s, ticket, Transition.FEEDBACK_UNSATISFIED, None, text, actor_caps, {"via": via})
            ticket.feedback = verdict
            self._new_round(ticket, None)
            self._announce_reopen(s, ticket, "来电人对答复不满意")
            return "reopened"
        ticket.feedback = verdict
        self.audit(s, ticket, None, "feedback", text, ticket.state, ticket.state, {"via": via, "verdict": verdict},
                   actor_name="来电人")
        return "recorded"

    def _new_round(self, ticket: Ticket, deadline: datetime | None) -> None:
        """重办: a new round with a new deadline counted from now (or the hotline's date)."""
        now = self.clock.now()
        result = self.rulebook.compute(self.calendar, now, _facts(ticket), deadline)
        ticket.round += 1
        ticket.deadline = result.deadline
        ticket.internal_due = result.internal_due
        ticket.first_contact_due = result.first_contact_due
        ticket.handler_id = None
        ticket.accepted_at = None
        ticket.answered_at = None
        ticket.closed_at = None
        ticket.first_contact_at = None
        ticket.extension_state = None
        ticket.extension_requested_until = None
        ticket.extension_granted_until = None
        ticket.extensions_granted = 0

    def _announce_reopen(self, s: AsyncSession, ticket: Ticket, why: str) -> None:
        if not ticket.unit_code:
            return
        leaders = self.directory.leaders(ticket.unit_code)
        text = (f"【重办】工单 {ticket.number}：{why}，已重新交办（第{ticket.round}轮），"
                f"办结时限 {notices.fmt_time(self.calendar, ticket.deadline)}，请签收。")
        self.outbox.add(s, Target.to_unit(ticket.unit_code), OutgoingMessage(
            text, ticket=ticket.key, mentions=tuple(p.mention() for p in leaders),
            card_key=f"assign:{ticket.key}:{ticket.round}",
            actions=(self.buttons.button("签收", "签收", ticket.key, "primary"),)), ticket_id=ticket.id, kind="reopen")
        self.outbox.add(s, Target.to_office(), OutgoingMessage(
            f"【督办】工单 {ticket.number}（{self.directory.unit_name(ticket.unit_code)}）{why}，已重新交办。",
            ticket=ticket.key), ticket_id=ticket.id, kind="supervise")

    async def hotline_event(self, s: AsyncSession, ticket: Ticket, event: TicketEventIn) -> str:
        """Later news from the hotline: 催办, 重新交办, an extension decision, or closing."""
        caps = {Actor.HOTLINE}
        note = event.note or event.reason or ""
        if event.type == "urge":
            self._move(s, ticket, Transition.URGE, None, note, caps, {"event": event.id})
            ticket.urge_count += 1
            if "市级催办" not in ticket.tags:
                ticket.tags = [*ticket.tags, "市级催办"]
            if ticket.unit_code:
                handler = self.directory.person_by_id(ticket.handler_id)
                self.outbox.add(s, Target.to_unit(ticket.unit_code), OutgoingMessage(
                    f"【市级催办】工单 {ticket.number}，办结时限 "
                    f"{notices.fmt_time(self.calendar, ticket.deadline)}，请抓紧办理。{note}",
                    mentions=(handler.mention(),) if handler else (), ticket=ticket.key),
                    ticket_id=ticket.id, kind="urge")
            return "urged"
        if event.type == "reopen":
            self._move(s, ticket, Transition.REOPEN, None, note, caps, {"event": event.id})
            self._new_round(ticket, event.deadline)
            self._announce_reopen(s, ticket, f"热线退回重办{('：' + note) if note else ''}")
            return "reopened"
        if event.type == "extension_decision":
            self._move(s, ticket, Transition.EXTENSION_DECISION, None, note, caps,
                       {"event": event.id, "granted": event.granted,
                        "deadline": event.deadline.isoformat() if event.deadline else None})
            if event.granted is not False and event.deadline is not None:
                # 利川: 市长热线办确定的延期时限不能再更改 — the hotline's date is final.
                ticket.deadline = event.deadline
                ticket.extension_granted_until = event.deadline
                ticket.extension_state = "granted"
                ticket.internal_due = None
                text = f"热线已确定工单 {ticket.number} 的办结时限为 {notices.fmt_time(self.calendar, event.deadline)}。"
            else:
                ticket.extension_state = "rejected"
                text = f"热线未同意工单 {ticket.number} 延期，请按原时限办结。"
            if ticket.unit_code:
                self.outbox.add(s, Target.to_unit(ticket.unit_code), OutgoingMessage(text, ticket=ticket.key),
                                ticket_id=ticket.id)
            return "decided"
        self._move(s, ticket, Transition.CLOSE, None, note, caps, {"event": event.id})
        ticket.closed_at = self.clock.now()
        return "closed"


def _facts(ticket: Ticket) -> TicketFacts:
    return TicketFacts(source=ticket.source, kind=ticket.kind, category=ticket.category,
                       channel=ticket.channel, tags=frozenset(ticket.tags or ()))


__all__ = ["LifecycleError", "NotAllowed", "RegisterResult", "TicketService"]
