"""The office's dashboard: the ticket list with filters and counts, and one page per ticket.

Everyone sees only the units they may see (the office sees all); another unit's ticket is a 404.
Citizen details are masked unless the viewer is in the office or is the ticket's 承办人 (``docs/design.md``, chat commands).
Actions on a ticket page (签收, 转办, 同意, 驳回) are sent through the inbox as the viewer's own
command in their direct conversation with the bot, so exactly the chat's rules apply.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import notices
from bot.directory import Person
from bot.labels import (
    EXTENSION_LABELS,
    REVIEW_KIND_LABELS,
    REVIEW_STATE_LABELS,
    SMS_KIND_LABELS,
    SMS_STATE_LABELS,
    audit_label,
    error_label,
    label,
    rule_label,
    source_label,
)
from bot.lifecycle import OPEN_STATES, STATE_LABELS, LifecycleError, State, Transition, check
from bot.privacy import mask_name, mask_phone
from bot.reading.repeats import earlier_tickets
from scheduler.followups import verdict_cutoff
from store.models import ReviewRequest, Ticket
from store.queries import dashboard as queries
from store.queries import followups as followups_q
from store.queries.views import load_record
from web import render
from web.console import evidence, forms
from web.console.login import PERSON
from web.console.roles import roles_text
from web.console.site import ConsoleSite, load_visible_ticket, run_command, sees_citizen, visible_units
from web.edge import read_form

LIST_LIMIT = 500
URGENT = notices.URGENT_TAGS
NO_UNIT = "-"
"""The ``unit`` filter value of tickets not dispatched to any unit yet (未派单)."""


def setup(console: web.Application, adapter: ConsoleSite) -> None:
    """Mount the dashboard (with the printable forms) as the sub-app ``/console/tickets``."""
    board = Dashboard(adapter)
    tickets = web.Application()
    tickets.router.add_get("", board.list_page)
    tickets.router.add_get("/{source}/{number}", board.ticket_page)
    tickets.router.add_post("/{source}/{number}/act", board.act)
    forms.setup(tickets, adapter)
    evidence.setup(tickets, adapter)
    console.add_subapp("/tickets", tickets)


def tag_chips(tags: list[str] | None) -> list[tuple[str, str]]:
    """(tag, chip class) of each tag: 涉稳/扬言/涉众 in red, urgent ones in orange."""
    return [(t, "sensitive" if t in notices.SENSITIVE_TAGS else "urgent" if t in URGENT else "")
            for t in tags or []]


class Dashboard:
    """Request handlers of the dashboard."""

    def __init__(self, adapter: ConsoleSite) -> None:
        self.adapter = adapter
        self.ctx = adapter.ctx

    def _chrome(self, request: web.Request, template: str, title: str, context: dict[str, Any]) -> web.Response:
        person = request[PERSON]
        return render.render(request, template, {
            "title": title, "person": person.name, "csrf": self.adapter.gate.csrf(request),
            "roles": roles_text(person.roles, self.ctx.directory.unit_name), "active": "tickets", **context})

    # ---- list ----------------------------------------------------------------------------

    async def list_page(self, request: web.Request) -> web.Response:
        """``/console/tickets``: counts, filters, and the tickets sorted by deadline."""
        person = request[PERSON]
        q = request.query
        ctx = self.ctx
        now = ctx.clock.now()
        units = visible_units(self.adapter, person)
        open_states = [str(x) for x in OPEN_STATES]
        due = q.get("due") == "today"
        start, end = self._today(now)
        # 松江 “办公室对反馈不满意和未回复工单进行核查”: answered, no verdict after the wait (scheduler/followups.py)
        verdicts = bool(q.get("verdict"))
        cutoff = verdict_cutoff(ctx.calendar, now, ctx.config.procedure.verdict_wait_wd)
        wanted = queries.TicketFilter(
            state=State.ANSWERED.value if verdicts else q.get("state", ""), answered_before=cutoff if verdicts else None,
            unit=q.get("unit", ""), unassigned=q.get("unit") == NO_UNIT,
            source=q.get("source", ""), open_only=bool(q.get("overdue") or q.get("due")),
            deadline_before=now if q.get("overdue") else None,
            deadline_from=start if due else None, deadline_until=end if due else None)
        async with ctx.sessions() as s:
            state_counts = await queries.counts_by(s, units, Ticket.state)
            unit_counts = await queries.counts_by(s, units, Ticket.unit_code)
            overdue_count = await queries.count_open_due(s, units, open_states, before=now)
            due_today_count = await queries.count_open_due(s, units, open_states, before=end, since=start)
            verdict_count = len(await followups_q.awaiting_verdict(s, State.ANSWERED.value, cutoff, units))
            tickets = await queries.list_tickets(s, units, wanted, open_states, LIST_LIMIT)
            sources = await queries.sources(s)
            tags = _sensitive_first(await queries.tags_in_use(s, units))
        if q.get("tag"):
            tickets = [t for t in tickets if q["tag"] in (t.tags or [])]
        d = ctx.directory
        people = {p.id: p.name for p in d.people.values()}
        rulebook = ctx.service.rulebook.rules

        rows = []
        for t in tickets:
            is_open = State(t.state) in OPEN_STATES
            rows.append({
                "overdue": is_open and t.deadline is not None and t.deadline < now,
                "number": t.number, "source": t.source, "source_label": source_label(t.source),
                "tags": tag_chips([*(t.tags or []), *([f"{t.supervision_level}督办"] if t.supervision_level else [])]),
                "title": t.title or notices.short_content(t.content, 40),
                "citizen": t.citizen_name if sees_citizen(person, t) else mask_name(t.citizen_name),
                "state": STATE_LABELS[State(t.state)], "unit": d.unit_name(t.unit_code),
                "extension": label(EXTENSION_LABELS, "pending") if t.extension_state == "pending" else "",
                "handler": people.get(t.handler_id, ""),
                "deadline": notices.fmt_time(ctx.calendar, t.deadline), "rule": rule_label(t.rule, rulebook)})
        unit_pairs = [(c, u.name) for c, u in d.units.items() if units is None or c in units]
        if units is None:
            unit_pairs.append((NO_UNIT, d.unit_name(None)))
        return self._chrome(request, "console/tickets.html", "工单总览", {
            "by_state": [(STATE_LABELS[st], state_counts[st.value], urlencode({"state": st.value}))
                         for st in State if state_counts.get(st.value)],
            "by_unit": [(d.unit_name(code), n, urlencode({"unit": code or NO_UNIT}))
                        for code, n in sorted(unit_counts.items(), key=lambda x: str(x[0]))],
            "overdue_count": overdue_count, "overdue_query": urlencode({"overdue": "1"}),
            "due_today_count": due_today_count,
            "due_query": urlencode({"due": "today"}),
            "verdict_count": verdict_count, "verdict_query": urlencode({"verdict": "1"}),
            "q": {k: q.get(k, "") for k in ("state", "unit", "tag", "source", "overdue", "due", "verdict")},
            "state_pairs": [(st.value, STATE_LABELS[st]) for st in State], "unit_pairs": unit_pairs,
            "tag_pairs": [(t, t) for t in tags], "source_pairs": [(x, source_label(x)) for x in sources],
            "rows": rows})

    def _today(self, now: datetime) -> tuple[datetime, datetime]:
        cal = self.ctx.calendar
        local = cal.local(now)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)

    # ---- one ticket ----------------------------------------------------------------------

    async def ticket_page(self, request: web.Request) -> web.Response:
        """``/console/tickets/{source}/{number}``: fields, deadline, timeline, SMS, actions, forms."""
        person = request[PERSON]
        ctx = self.ctx
        cal = ctx.calendar
        d = ctx.directory
        async with ctx.sessions() as s:
            t = await load_visible_ticket(self.adapter, s, person, request.match_info["source"],
                                          request.match_info["number"])
            record = await load_record(s, t, reviews=True)
            flash = await self._flash(s, person, request.query.get("msg", ""))
            files = await evidence.listing(ctx, s, t)
            repeats = [{"key": f"{e.ticket.source}/{e.ticket.number}", "number": e.ticket.number,
                        "received": notices.fmt_time(ctx.calendar, e.ticket.received_at), "answer": e.answer or "尚未答复",
                        "answered": notices.fmt_time(ctx.calendar, e.answered_at)} for e in await earlier_tickets(s, t)]
        events, reviews, sms, replies = record.events, record.reviews, record.sms, record.replies
        related = next(([{"key": key, "number": key.partition("/")[2]} for key in e.detail.get("related", [])]
                        for e in reversed(events) if e.action == "related" and e.detail), [])
        full = sees_citizen(person, t)
        phone = t.citizen_phone if full else mask_phone(t.citizen_phone)
        name = t.citizen_name if full else mask_name(t.citizen_name)
        handler = d.person_by_id(t.handler_id)
        now = ctx.clock.now()
        overdue = State(t.state) in OPEN_STATES and t.deadline is not None and t.deadline < now
        ft = lambda when: notices.fmt_time(cal, when)  # noqa: E731
        policy = ctx.service.policy(t)
        ext = label(EXTENSION_LABELS, t.extension_state)

        info = [
            ("工单号", t.number), ("来源", source_label(t.source)), ("标题", t.title),
            ("标签", {"tags": tag_chips(t.tags)}),
            ("类型", t.kind), ("类别", t.category), ("渠道", t.channel),
            ("状态", STATE_LABELS[State(t.state)]),
            ("承办单位", notices.assists_line(t, record.units, d.unit_name) or d.unit_name(t.unit_code)),
            ("承办人", handler.name if handler else None), ("轮次", f"第{t.round}轮"),
            ("登记时间", ft(t.received_at)), ("派单时间", ft(t.dispatched_at)),
            ("签收时间", ft(t.accepted_at)), ("先行联系", ft(t.first_contact_at)),
            ("来电人", name), ("联系电话", phone),
            ("联系地址", t.citizen_address if full else ("已隐藏" if t.citizen_address else None)),
            ("事发地址", t.address), ("诉求内容", t.content), ("回访结果", t.feedback),
            ("催办次数", t.urge_count), ("包案领导", t.lead_leader),
            ("督办", _supervision(cal, t)),
        ]
        deadline = [
            ("办结时限", {"deadline": ft(t.deadline), "overdue": overdue}),
            ("计算规则", rule_label(t.rule, ctx.service.rulebook.rules)
             + ("（热线指定时限）" if t.hotline_deadline else "")),
            ("内部时限", ft(t.internal_due)), ("先行联系时限", ft(t.first_contact_due)),
            ("进展报送", "每日报送" if t.progress == "daily" else t.progress),
            ("延期", (notices.extension_line(t, cal) if t.extension_state else ext)
                     + f"（已申请 {t.extension_applications}/{t.max_extensions} 次）"),
            ("需领导审核", "是" if policy.review else "否"),
            ("计时", "节假日照常计时" if policy.runs_every_day() else "按工作日计时"),
            ("办理计划", ft(t.plan_at) if t.plan_at else None),
            ("退单时限", ft(t.giveback_due) if t.giveback_due else None),
        ]
        if t.reconsider_until:  # 信访: the 复查 window of the approved answer
            deadline.append(("复查期限", f"{ft(t.reconsider_until)} 前可申请复查"))
        timeline = [{
            "outcome": ev.outcome, "at": ft(ev.at), "actor": ev.actor, "action": audit_label(ev.action),
            "failed": ev.outcome != "ok",
            "state": STATE_LABELS[State(ev.state_after)]
            if ev.state_after and ev.state_after != ev.state_before else "",
            "text": ev.text} for ev in events]
        review_rows = [{
            "kind": label(REVIEW_KIND_LABELS, r.kind), "state": label(REVIEW_STATE_LABELS, r.state),
            "requested_by": _pname(d, r.requested_by), "requested_at": ft(r.requested_at), "content": r.content,
            "decided_by": _pname(d, r.decided_by), "decided_at": ft(r.decided_at),
            "note": r.decision_note or ""} for r in reviews]
        sms_rows = [{
            "at": ft(m.created_at), "kind": label(SMS_KIND_LABELS, m.kind),
            "phone": m.phone if full else mask_phone(m.phone), "state": label(SMS_STATE_LABELS, m.state),
            "error": error_label(m.code) if m.code and m.state in ("failed", "unknown") else "",
            "text": m.text or ""} for m in sms]
        reply_rows = [{
            "at": ft(r.received_at), "phone": r.phone if full else mask_phone(r.phone), "text": r.text,
            "verdict": r.verdict} for r in replies]
        return self._chrome(request, "console/ticket.html", f"工单 {t.number}", {
            "number": t.number, "source": t.source, "unit_code": t.unit_code, "tags": tag_chips(t.tags),
            "flash": flash, "info": info, "deadline": deadline, "timeline": timeline,
            "reviews": review_rows, "repeats": repeats, "related": related, "sms": sms_rows, "replies": reply_rows,
            "forms": _form_links(), "files": files, "evidence_commands": evidence.COMMANDS,
            "actions": self._actions(person, t, reviews),
            "dispatch_units": [(c, u.name) for c, u in d.units.items() if c not in d.office_units()]})

    def _actions(self, person: Person, t: Ticket, reviews: list[ReviewRequest]) -> list[dict[str, str]]:
        """Buttons for what the viewer's role allows now, by asking the lifecycle table."""
        svc = self.ctx.service
        caps = svc.capacities(person, t)
        review_caps = svc.capacities(person, t, reviewing=True)
        out: list[dict[str, str]] = []

        def allowed(tr: Transition, who: set[Any]) -> bool:
            try:
                check(tr, t.state, who)
            except LifecycleError:
                return False
            return True

        def form(cmd: str, label: str, extra: str = "", cls: str = "primary") -> dict[str, str]:
            return {"cmd": cmd, "label": label, "extra": extra, "cls": cls, "event_id": uuid.uuid4().hex}

        if allowed(Transition.ACCEPT, caps):
            out.append(form("签收", "签收"))
        if allowed(Transition.DISPATCH, caps):
            out.append(form("转办", "派单 / 转办", "unit"))
        pending = next((r for r in reviews if r.state == "pending"), None)
        if pending is not None:
            approve = {"reply": Transition.APPROVE_REPLY, "extension": Transition.APPROVE_EXTENSION,
                       "giveback": Transition.APPROVE_GIVEBACK}[pending.kind]
            if allowed(approve, review_caps):
                what = REVIEW_KIND_LABELS.get(pending.kind, "")
                out.append(form("同意", f"同意{what}", "note"))
                out.append(form("驳回", f"驳回{what}", "required_note", "danger"))
        return out

    async def _flash(self, s: AsyncSession, person: Person, msg: str) -> str:
        """The bot's answer to the viewer's last action (only an answer sent to the viewer)."""
        if not msg.isdigit():
            return ""
        return await queries.outbox_text(s, int(msg), f"console:console:dm:{person.name}")

    async def act(self, request: web.Request) -> web.StreamResponse:
        """An action button: the viewer's command goes through the inbox like a chat message."""
        person = request[PERSON]
        ctx = self.ctx
        form = await read_form(request)
        source, number = request.match_info["source"], request.match_info["number"]
        async with ctx.sessions() as s:
            t = await load_visible_ticket(self.adapter, s, person, source, number)
            before = await queries.last_outbox_id(s)
        cmd = str(form.get("cmd", ""))
        note = " ".join(str(form.get("note", "")).split())
        if cmd == "转办":
            text = f"转办 {t.number} {form.get('unit', '')}"
        elif cmd in ("签收", "同意", "驳回"):
            text = f"{cmd} {t.number} {note}".strip()
        else:
            raise web.HTTPBadRequest(text="unknown action")
        await run_command(self.adapter, person, t, text, str(form.get("event_id", "")), before)



def _sensitive_first(found: set[str]) -> list[str]:
    """Tags with 涉稳/扬言/涉众 and urgent ones first, then the others sorted."""
    first = [t for t in [*sorted(notices.SENSITIVE_TAGS), *sorted(URGENT)] if t in found]
    return first + sorted(found - set(first))


def _supervision(cal: Any, t: Ticket) -> str | None:
    """``现场督办（时限 10月13日 17:30）`` / ``…（已完成）``, or None without a 督办 level."""
    if not t.supervision_level:
        return None
    if t.supervision_met_at is not None:
        return f"{t.supervision_level}督办（已完成）"
    due = f"（时限 {notices.fmt_time(cal, t.supervision_due)}）" if t.supervision_due else ""
    return f"{t.supervision_level}督办{due}"


def _pname(d: Any, pid: int | None) -> str:
    p = d.person_by_id(pid)
    return p.name if p else ""


def _form_links() -> list[tuple[str, str]]:
    return [(key, f.title) for key, f in forms.FORMS.items()]
