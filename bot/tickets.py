"""Ticket operations: dispatch and every lifecycle step after registration (``bot.registration``),
each with its audit row and its outbox rows in the caller's transaction.

Callers open the transaction (``async with sessions.begin() as s``); every method here only adds
to it, so a state change, its audit row and the messages it owes commit together or not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import notices
from bot.assists import Assists
from bot.buttons import TicketButtons
from bot.calendar import WorkCalendar
from bot.citizen_sms import CitizenSms
from bot.clock import Clock
from bot.config import Config
from bot.deadlines import Duration, Rule, RuleBook, TicketFacts, apply_duration
from bot.directory import Directory, Person
from bot.extensions import Extensions
from bot.followup import ARCHIVE, FollowupRecord, followup_caps, owe_followup
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
from bot.links import ticket_page
from bot.messages import Destination, OutgoingMessage
from bot.outbox import Outbox, Target
from bot.privacy import mask_text
from bot.reading.repeats import ANSWER_COMMAND
from bot.reading.service import ModelHolder
from bot.registration import SYSTEM, RegisterResult, Registration
from bot.supervision import Supervision
from bot.ticket_rows import AUDIT_ROWS
from store.models import AuditEvent, NotificationLedger, ReviewRequest, Ticket, TicketUnit
from store.queries import tickets as tickets_q

REQUEST_LABELS = {"reply": "答复", "extension": "延期申请", "giveback": "退单申请"}
"""What each kind of review request is called in messages."""


class TicketService(Registration, Extensions, Assists, Supervision):
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
                       text: str | None, assists: Sequence[str] = ()) -> None:
        """派单 / 转办: assign to ``unit`` (the lead unit when ``assists`` are named) and post the
        assignment into its group chats; the assisting units get theirs (``bot.assists``)."""
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
        await self.assign_units(s, ticket, assists, person, replace=previous is not None)

    async def accept(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None) -> TicketUnit | None:
        """签收: the sender becomes the 承办人; from an assisting unit, that unit takes its part
        (returned)."""
        assist = await self.assist_of(s, ticket, person)
        if assist is not None:
            await self.assist_accept(s, ticket, assist, person, text)
            return assist
        self._move(s, ticket, Transition.ACCEPT, person, text, self.capacities(person, ticket))
        ticket.handler_id = person.id
        ticket.accepted_at = self.clock.now()
        return None

    # ---- working the ticket --------------------------------------------------------------

    async def first_contact(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                            note: str) -> None:
        """先行联系: record that the handler reached the citizen, with the time."""
        self._move(s, ticket, Transition.FIRST_CONTACT, person, text, self.capacities(person, ticket),
                   {"note": note})
        ticket.first_contact_at = self.clock.now()

    async def progress(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                       content: str) -> TicketUnit | None:
        """进展 / 报送: an interim report; satisfies the daily report duty. From an assisting unit it
        is that unit's report, relayed to the lead unit (its row is returned)."""
        assist = await self.assist_of(s, ticket, person)
        if assist is not None:
            await self.assist_progress(s, ticket, assist, person, text, content)
            return assist
        if not content.strip():
            raise GuardFailed("请写明进展内容，例如：进展 12345 已联系社区，明日上门核实。",
                              state=State(ticket.state), code="missing_content")
        self._move(s, ticket, Transition.PROGRESS, person, text, self.capacities(person, ticket),
                   {"content": content})
        ticket.last_progress_at = self.clock.now()
        if self.policy(ticket).progress_to_office:
            self.outbox.add(s, Target.to_office(), OutgoingMessage(
                notices.progress_report(ticket, self.calendar, self.directory.unit_name(ticket.unit_code),
                                        person.name, content, ticket_page(self.config, ticket)),
                ticket=ticket.key), ticket_id=ticket.id, kind="progress_office")
        self.supervision_progress(s, ticket, person, content)
        return None

    async def reply(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                    content: str, category: str | None) -> ReviewRequest:
        """答复: a draft that waits for the leader's review (or is approved at once where the rule
        asks no review: the request comes back ``approved``).

        ``content`` and its result ``category`` were checked by the 答复 handler."""
        caps = self.capacities(person, ticket)
        before = ticket.state
        check(Transition.REPLY, before, caps)
        await self.check_assists_reported(s, ticket)
        self._move(s, ticket, Transition.REPLY, person, text, caps,
                   {"content": content, "category": category})
        req = ReviewRequest(ticket_id=ticket.id, kind="reply", round=ticket.round, requested_by=person.id,
                            requested_at=self.clock.now(), content=content, result_category=category,
                            state_before=before)
        s.add(req)
        if not self.policy(ticket).review:
            await self._approve(s, ticket, req, None, None, "")
            return req
        await self._ask_review(s, ticket, f"{person.name} 提交了工单 {ticket.number} 的答复，请审核：\n{mask_text(content)}",
                               "答复", req)
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
        ticket.giveback_due = self.giveback_due(ticket)
        req = ReviewRequest(ticket_id=ticket.id, kind="giveback", round=ticket.round,
                            requested_by=person.id, requested_at=self.clock.now(), content=reason,
                            state_before=before)
        s.add(req)
        if not self.policy(ticket).review:
            await self._approve(s, ticket, req, None, None, "")
            return req
        await self._ask_review(s, ticket, f"{person.name} 申请退回工单 {ticket.number}，理由：{reason}", "退单", req)
        return req

    async def _ask_review(self, s: AsyncSession, ticket: Ticket, text: str, what: str, req: ReviewRequest, *,
                          office: bool = False) -> None:
        """Post the review card of ``req`` to the unit's leaders (or the office): its buttons are
        bound to this request and its version, so a click decides only what the card shows."""
        assert ticket.unit_code is not None
        await s.flush()  # the request's id
        version = await tickets_q.request_version(s, req)
        leaders = () if office else self.directory.leaders(ticket.unit_code)
        bound = {"req": str(req.id), "ver": str(version), "step": req.stage or ""}
        msg = OutgoingMessage(
            text=text, title=f"{what}待审核 {ticket.number}（第{version}版）", ticket=ticket.key,
            mentions=tuple(p.mention() for p in leaders), card_key=review_card_key(ticket, req),
            actions=(self.buttons.button("同意", "同意", ticket.key, "primary", bound),
                     self.buttons.button("驳回", "驳回", ticket.key, "danger", bound)))
        target = Target.to_office() if office else Target.to_unit(ticket.unit_code)
        self.outbox.add(s, target, msg, ticket_id=ticket.id, kind="review")

    async def _pending_for(self, s: AsyncSession, ticket: Ticket, bound: dict[str, str] | None) -> ReviewRequest:
        """The request a 同意 / 驳回 decides: the pending one, and from a card only the very
        request and version the card showed (a click on an older version is refused)."""
        req = await tickets_q.pending_review(s, ticket.id)
        state = State(ticket.state)
        wanted = int(bound["req"]) if bound and bound.get("req", "").isdigit() else None
        if wanted is not None and (req is None or req.id != wanted):
            shown = await s.get(ReviewRequest, wanted)
            what = REQUEST_LABELS[shown.kind] if shown else "申请"
            old = f"第{bound['ver']}版" if bound and bound.get("ver") else "旧版本"  # type: ignore[index]
            if req is None:
                raise GuardFailed(f"该卡片上的{what}（{old}）已处理，工单 {ticket.number} 现在没有待审核的申请。",
                                  state=state, code="stale_card")
            current = await tickets_q.request_version(s, req)
            raise GuardFailed(
                f"该卡片上的{what}是{old}，已不是当前版本；工单 {ticket.number} 当前待审核的是"
                f"{REQUEST_LABELS[req.kind]}第{current}版，请在最新卡片上操作或发送文字命令。",
                state=state, code="stale_card")
        if req is None:
            raise GuardFailed(f"工单 {ticket.number} 没有待审核的申请（当前：{STATE_LABELS[state]}）。",
                              state=state, code="nothing_pending")
        if bound and "step" in bound and bound["step"] != (req.stage or ""):
            raise GuardFailed(f"该卡片上的审批步骤已处理，工单 {ticket.number} 的{REQUEST_LABELS[req.kind]}"
                              "已转下一步审核。", state=state, code="stale_card")
        return req

    async def _close_cards(self, s: AsyncSession, ticket: Ticket, req: ReviewRequest, verdict: str,
                           who: str, clicked: str | None) -> None:
        """Mark every open card of ``req`` as handled: sent cards are updated where the platform
        can update them (the clicked one is updated by the dispatcher); cards not sent yet go out
        without buttons."""
        key = review_card_key(ticket, req)
        version = await tickets_q.request_version(s, req)
        text = f"【已处理】{who} 已{verdict}工单 {ticket.number} 的{REQUEST_LABELS[req.kind]}（第{version}版）。"
        for row in await tickets_q.review_cards(s, ticket.id, key):
            if row.state == "pending":
                row.payload = {**row.payload, "actions": [], "text": f"{text}\n{row.payload.get('text', '')}"}
            elif row.state == "sent" and row.provider_message_id and row.provider_message_id != clicked:
                payload = OutgoingMessage(text, ticket=ticket.key, card_key=key).to_dict()
                payload["update_message_id"] = row.provider_message_id
                payload["update_only"] = True
                s.add(Outbox.row(Destination.from_dict(row.destination), payload, channel="chat",
                                 ticket_id=ticket.id, kind="card_update", now=self.clock.now()))

    # ---- review ---    # ---- review --------------------------------------------------------------------------

    async def approve(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                      note: str, bound: dict[str, str] | None = None, clicked: str | None = None
                      ) -> ReviewRequest:
        """同意: approve what waits for review on the ticket (from a card: only the request the card
        shows, ``clicked`` being that card's message); returns the decided request (still pending
        when an extension goes to its next step)."""
        req = await self._pending_for(s, ticket, bound)
        await self._close_cards(s, ticket, req, "同意", person.name, clicked)
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
            days = self.policy(ticket).reconsider_days
            if days:  # 信访: “自收到处理意见之日起30日内…提出复查申请”
                ticket.reconsider_until = apply_duration(self.calendar, now, Duration("d", days), roll=True)
            self._decide(req, person, "approved", note)
            self._owe_answer(s, ticket, req)
            return
        if req.kind == "extension":
            self.check_step(ticket, req, person, caps)
            self._move(s, ticket, Transition.APPROVE_EXTENSION, person, text, caps,
                       {"note": note, "until": req.until.isoformat() if req.until else None, "step": req.stage})
            step = self.next_step(ticket, req)
            if step is not None:
                await self.forward(s, ticket, req, step, person)
                return
            self._decide(req, person, "approved", note)
            assert req.until is not None
            self.grant_extension(s, ticket, req.until, who, final=False)
            return
        # giveback
        self._move(s, ticket, Transition.APPROVE_GIVEBACK, person, text, caps, {"note": note})
        self._decide(req, person, "approved", note)
        ticket.closed_at = now
        # The office returns it in the hotline's system within the rule's giveback_within.
        when = self.giveback_when(ticket)
        self.outbox.add(s, Target.to_office(), OutgoingMessage(
            f"工单 {ticket.number} 的退单已获批准（理由：{mask_text(req.content)}），请{when}在热线系统中退回。",
            ticket=ticket.key), ticket_id=ticket.id, kind="giveback_office")
        self.reports.queue(s, ticket, "giveback", {"reason": req.content})

    async def reject(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                     note: str, bound: dict[str, str] | None = None, clicked: str | None = None
                     ) -> ReviewRequest:
        """驳回: the reason goes back to the 承办人; the ticket returns to where it was; returns the
        decided request."""
        req = await self._pending_for(s, ticket, bound)
        state = State(ticket.state)
        if not note.strip():
            raise GuardFailed("驳回请写明意见，例如：驳回 12345 请补充与来电人沟通的时间。", state=state,
                              code="missing_reason")
        caps = self.capacities(person, ticket, reviewing=True)
        what = REQUEST_LABELS[req.kind]
        if req.kind == "reply":
            self._move(s, ticket, Transition.REJECT_REPLY, person, text, caps, {"note": note})
        elif req.kind == "extension":
            self.check_step(ticket, req, person, caps)
            self._move(s, ticket, Transition.REJECT_EXTENSION, person, text, caps, {"note": note, "step": req.stage})
            ticket.extension_state = "rejected"
        else:
            self._move(s, ticket, Transition.REJECT_GIVEBACK, person, text, caps, {"note": note},
                       previous=req.state_before or State.DISPATCHED)
        self._decide(req, person, "rejected", note)
        await self._close_cards(s, ticket, req, "驳回", person.name, clicked)
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
        # the preset's 回访 policy (Rule.feedback)
        owe_followup(self.policy(ticket), self.config.procedure.feedback_seed, self.outbox, self.directory, s, ticket)

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
            await self.carry_assists(s, ticket)
            return "reopened"
        ticket.feedback = verdict
        self.audit(s, ticket, None, "feedback", text, ticket.state, ticket.state, {"via": via, "verdict": verdict},
                   actor_name="来电人")
        return "recorded"

    async def phone_followup(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                             record: FollowupRecord) -> str:
        """电话回访 recorded by the office (or the unit, ``Rule.followup_by_unit``): ``"archived"``, or
        ``"reopened"`` with a new round (平顶山 “对回访中发现办理结果不属实的事项，发回责任单位重新办理”)."""
        caps = followup_caps(self.capacities(person, ticket), self.policy(ticket), ticket)
        detail = {"via": "phone", "process": record.process, "result": record.result, "opinion": record.opinion,
                  "outcome": record.outcome, "reason": record.reason, "verdict": record.verdict}
        if record.outcome == ARCHIVE:
            self._move(s, ticket, Transition.FEEDBACK_SATISFIED, person, text, caps, detail)
            ticket.feedback = record.verdict
            ticket.closed_at = self.clock.now()
            return "archived"
        self._move(s, ticket, Transition.FEEDBACK_UNSATISFIED, person, text, caps, detail)
        ticket.feedback = record.verdict
        self._new_round(ticket, None)
        self._announce_reopen(s, ticket, f"电话回访{'不满意' if record.verdict == '不满意' else ''}，重办原因：{record.reason}")
        await self.carry_assists(s, ticket)
        return "reopened"

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
        ticket.extension_applications = 0  # a new round, a new deadline: its own extension
        ticket.extension_final = False
        ticket.assists_waived = False

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

    async def hotline_event_once(self, s: AsyncSession, ticket: Ticket, event: TicketEventIn) -> str | None:
        """Apply a hotline event unless its id was applied to the ticket before (then None).

        The id takes a row in the notifications ledger, whose unique key settles two concurrent
        deliveries: the second waits for the first's commit and then finds the key taken.
        """
        if event.id:
            try:
                async with s.begin_nested():
                    s.add(NotificationLedger(subject=f"ticket:{ticket.id}", kind=HOTLINE_EVENT,
                                             slot=hotline_event_slot(event.id), created_at=self.clock.now()))
            except IntegrityError:
                return None
        return await self.hotline_event(s, ticket, event)

    async def hotline_event(self, s: AsyncSession, ticket: Ticket, event: TicketEventIn) -> str:
        """Later news from the hotline: 催办, 重新交办, an extension decision, or closing."""
        caps = {Actor.HOTLINE}
        note = event.note or event.reason or ""
        if event.type in ("deadline", "supervise"):
            return await self.office_event(s, ticket, event, note)
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
            await self.carry_assists(s, ticket)
            return "reopened"
        if event.type == "extension_decision":
            await self.extension_decision(s, ticket, None, note, event.granted is not False, event.deadline,
                                          note, {"event": event.id})
            return "decided"
        self._move(s, ticket, Transition.CLOSE, None, note, caps, {"event": event.id})
        ticket.closed_at = self.clock.now()
        return "closed"


def review_card_key(ticket: Ticket, req: ReviewRequest) -> str:
    """The card key of a request's review cards: one per request (and step of an extension's
    chain), whatever the platform."""
    return f"review:{ticket.key}:{req.id}" + (f":{req.stage}" if req.stage else "")


HOTLINE_EVENT = "hotline_event"
"""The ledger kind of an applied hotline event (subject ``ticket:<id>``, slot its id's digest)."""


def hotline_event_slot(event_id: str) -> str:
    """The ledger slot of a hotline event id (ids run to 100 characters, slots to 40)."""
    return hashlib.sha256(event_id.encode()).hexdigest()[:40]


def _facts(ticket: Ticket) -> TicketFacts:
    return TicketFacts(source=ticket.source, kind=ticket.kind, category=ticket.category,
                       channel=ticket.channel, tags=frozenset(ticket.tags or ()))


__all__ = ["LifecycleError", "NotAllowed", "RegisterResult", "TicketService"]
