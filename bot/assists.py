"""One ticket, several units: the lead unit (牵头单位, the ticket's ``unit_code``) owns the deadline
and the answer; assisting units (配合单位) get the assignment in their groups, 签收 and report 进展,
which is relayed to the lead unit; the lead's answer waits until every assisting unit has reported
(or the office waives it); a rule with ``copy_to_parent`` copies every assignment to the unit's
parent unit. A mixin of :class:`bot.tickets.TicketService`.

平顶山 “涉及两个以上地区、部门、单位的问题,由市长热线办公室按照职责就近原则,指定一个牵头单位负责办理,
有关网络单位要切实搞好配合”; 吉林 “同时转至其上级单位督促解决”.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot import notices
from bot.buttons import TicketButtons
from bot.calendar import WorkCalendar
from bot.clock import Clock
from bot.directory import Directory, Person
from bot.lifecycle import Actor, GuardFailed, NotAllowed, State, who_may
from bot.messages import OutgoingMessage
from bot.outbox import Outbox, Target
from store.models import Ticket, TicketUnit
from store.queries import tickets as tickets_q

WAIVE_WORD = "不等配合"
"""``转办 NO 不等配合 理由``: the office lets the lead unit answer without waiting for the assists."""


class Assists:
    """配合单位 and copies to parent units; mixed into TicketService, which provides the attributes
    below and ``audit`` and ``policy``."""

    calendar: WorkCalendar
    clock: Clock
    directory: Directory
    outbox: Outbox
    buttons: TicketButtons
    audit: Any
    policy: Any

    async def assign_units(self, s: AsyncSession, ticket: Ticket, assists: Sequence[str],
                           person: Person | None, *, replace: bool) -> list[TicketUnit]:
        """After the lead's dispatch: the assisting units of this round (``replace``: instead of the
        ones of an earlier dispatch) and, where the rule says so, a copy to the lead's parent unit."""
        lead = ticket.unit_code
        assert lead is not None
        if replace:
            await s.execute(delete(TicketUnit).where(TicketUnit.ticket_id == ticket.id,
                                                     TicketUnit.round == ticket.round))
            ticket.assists_waived = False
        lead_name = self.directory.unit_name(lead)
        rows = self._add_assists(s, ticket, [c for c in dict.fromkeys(assists) if c != lead],
                                 f"【配合办理】工单 {ticket.number} 由{lead_name}牵头办理，请贵单位配合。")
        parent = self.directory.units[lead].parent if lead in self.directory.units else None
        copied = bool(self.policy(ticket).copy_to_parent and parent and parent not in self.directory.office_units())
        if copied:
            # 吉林: “同时转至其上级单位督促解决”
            self._copy_to(s, ticket, parent, f"【抄送】工单 {ticket.number} 已转{lead_name}办理，请督促解决。")
        if rows or copied:
            self.audit(s, ticket, person, "assign_units", None, ticket.state, ticket.state,
                       {"lead": lead, "assists": [r.unit_code for r in rows], "copy_to": parent if copied else None})
        return rows

    def _copy_to(self, s: AsyncSession, ticket: Ticket, parent: str, head: str) -> None:
        """This round's copy of ``ticket`` to the lead's ``parent`` unit, told in its group (``head``
        first, then the assignment)."""
        assert ticket.unit_code is not None
        s.add(TicketUnit(ticket_id=ticket.id, unit_code=parent, role="copy", round=ticket.round,
                         assigned_at=self.clock.now()))
        self.outbox.add(s, Target.to_unit(parent), OutgoingMessage(
            f"{head}\n" + notices.assignment(ticket, self.calendar, self.directory.unit_name(ticket.unit_code)),
            ticket=ticket.key), ticket_id=ticket.id, kind="copy")

    def _add_assists(self, s: AsyncSession, ticket: Ticket, codes: Sequence[str], head: str) -> list[TicketUnit]:
        """This round's rows for the assisting units ``codes``, each told in its group (``head``
        first, then the assignment and a 签收 button), and the lead told who they are."""
        lead = ticket.unit_code
        assert lead is not None
        now = self.clock.now()
        lead_name = self.directory.unit_name(lead)
        rows: list[TicketUnit] = []
        for code in codes:
            row = TicketUnit(ticket_id=ticket.id, unit_code=code, role="assist", round=ticket.round, assigned_at=now)
            s.add(row)
            rows.append(row)
            self.outbox.add(s, Target.to_unit(code), OutgoingMessage(
                f"{head}\n" + notices.assignment(ticket, self.calendar, lead_name)
                + f"\n签收后请用「进展 {ticket.number} 配合情况」报送，会转给牵头单位。",
                title=f"配合办理 {ticket.number}", ticket=ticket.key,
                card_key=f"assist:{ticket.key}:{ticket.round}:{code}",
                actions=(self.buttons.button("签收", "签收", ticket.key, "primary"),)),
                ticket_id=ticket.id, kind="assist")
        if rows:
            names = "、".join(self.directory.unit_name(r.unit_code) for r in rows)
            self.outbox.add(s, Target.to_unit(lead), OutgoingMessage(
                f"工单 {ticket.number} 由本单位牵头办理，配合单位：{names}。配合单位都报送后才能提交答复审核。",
                ticket=ticket.key), ticket_id=ticket.id, kind="assist")
        return rows

    async def carry_assists(self, s: AsyncSession, ticket: Ticket) -> list[TicketUnit]:
        """重办 (a new round, ``ticket.round`` already moved on): the previous round's assisting
        units assist again, with a fresh row each, so they 签收 and report anew and the lead's
        answer waits for them as before (平顶山 “有关网络单位要切实搞好配合”); a parent unit that had
        the copy is told the ticket is back and keeps its copy for the new round (吉林 “同时转至其上级
        单位督促解决”: it supervises until the matter is solved, not only the first answer)."""
        if ticket.unit_code is None or ticket.round < 2:
            return []
        lead_name = self.directory.unit_name(ticket.unit_code)
        before = await tickets_q.ticket_units(s, ticket.id, ticket.round - 1)
        codes = [r.unit_code for r in before if r.role == "assist" and r.unit_code != ticket.unit_code]
        rows = self._add_assists(s, ticket, codes, f"【重办·配合】工单 {ticket.number} 已发回重办（第{ticket.round}轮），"
                                 f"仍由{lead_name}牵头办理，请贵单位重新签收并报送配合情况。")
        copies = [r.unit_code for r in before if r.role == "copy"]
        for parent in copies:
            self._copy_to(s, ticket, parent, f"【抄送·重办】工单 {ticket.number} 已发回重办（第{ticket.round}轮），"
                          f"仍由{lead_name}办理，请督促解决。")
        if rows or copies:
            self.audit(s, ticket, None, "assign_units", None, ticket.state, ticket.state,
                       {"lead": ticket.unit_code, "assists": codes, "copy_to": copies[0] if copies else None,
                        "carried": True}, actor_name="系统")
        return rows

    async def assist_of(self, s: AsyncSession, ticket: Ticket, person: Person) -> TicketUnit | None:
        """The assisting unit ``person`` speaks for on ``ticket`` (never when they belong to the lead)."""
        if ticket.unit_code in person.units():
            return None
        for row in await tickets_q.ticket_units(s, ticket.id, ticket.round, role="assist"):
            if row.unit_code in person.units():
                return row
        return None

    async def assist_accept(self, s: AsyncSession, ticket: Ticket, row: TicketUnit, person: Person,
                            text: str | None) -> None:
        """签收 by an assisting unit: recorded on its row; the ticket's own state does not move."""
        if not (person.has_role("handler", row.unit_code) or person.has_role("leader", row.unit_code)):
            raise NotAllowed(who_may(frozenset({Actor.HANDLER, Actor.LEADER}), "签收"), state=State(ticket.state))
        if row.accepted_at is not None:
            raise GuardFailed(f"本单位已签收工单 {ticket.number} 的配合任务。", state=State(ticket.state),
                              code="already_accepted")
        row.accepted_at = self.clock.now()
        row.accepted_by = person.id
        self.audit(s, ticket, person, "assist_accept", text, ticket.state, ticket.state, {"unit": row.unit_code})

    async def assist_progress(self, s: AsyncSession, ticket: Ticket, row: TicketUnit, person: Person,
                              text: str | None, content: str) -> None:
        """进展 by an assisting unit: recorded and relayed to the lead unit's group."""
        if not content.strip():
            raise GuardFailed(f"请写明配合情况，例如：进展 {ticket.number} 已完成现场核查。",
                              state=State(ticket.state), code="missing_content")
        if row.accepted_at is None:
            raise GuardFailed(f"请先签收工单 {ticket.number} 的配合任务：签收 {ticket.number}",
                              state=State(ticket.state), code="not_accepted")
        row.reported_at = self.clock.now()
        row.report = content
        self.audit(s, ticket, person, "assist_progress", text, ticket.state, ticket.state,
                   {"unit": row.unit_code, "content": content})
        assert ticket.unit_code is not None
        handler = self.directory.person_by_id(ticket.handler_id)
        self.outbox.add(s, Target.to_unit(ticket.unit_code), OutgoingMessage(
            f"【配合单位进展】{self.directory.unit_name(row.unit_code)}（{person.name}）报送工单 {ticket.number}：{content}",
            mentions=(handler.mention(),) if handler else (), ticket=ticket.key),
            ticket_id=ticket.id, kind="assist_progress")

    async def check_assists_reported(self, s: AsyncSession, ticket: Ticket) -> None:
        """The lead's answer goes to review only after every assisting unit has reported."""
        if ticket.assists_waived:
            return
        waiting = [r for r in await tickets_q.ticket_units(s, ticket.id, ticket.round, role="assist")
                   if r.reported_at is None]
        if waiting:
            names = "、".join(self.directory.unit_name(r.unit_code) for r in waiting)
            raise GuardFailed(
                f"配合单位{names}尚未报送配合情况，答复暂不能提交审核。请等其用「进展 {ticket.number} …」报送，"
                f"或请办公室发送：转办 {ticket.number} {WAIVE_WORD} 理由。", state=State(ticket.state),
                code="assists_pending")

    async def waive_assists(self, s: AsyncSession, ticket: Ticket, person: Person, text: str | None,
                            reason: str) -> list[str]:
        """转办 NO 不等配合: the office lets the lead answer now; returns the units not yet reported."""
        waiting = [r.unit_code for r in await tickets_q.ticket_units(s, ticket.id, ticket.round, role="assist")
                   if r.reported_at is None]
        ticket.assists_waived = True
        self.audit(s, ticket, person, "waive_assists", text, ticket.state, ticket.state,
                   {"reason": reason, "waiting": waiting})
        if ticket.unit_code:
            self.outbox.add(s, Target.to_unit(ticket.unit_code), OutgoingMessage(
                f"办公室已同意工单 {ticket.number} 不再等待配合单位报送，可直接提交答复。{reason}".rstrip(),
                ticket=ticket.key), ticket_id=ticket.id)
        return waiting
