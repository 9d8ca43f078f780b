"""The office's dashboard: the ticket list with filters and counts, and one page per ticket.

Everyone sees only the units they may see (the office sees all); another unit's ticket is a 404.
Citizen details are masked unless the viewer is in the office or is the ticket's 承办人 (``docs/design.md``, chat commands).
Actions on a ticket page (签收, 转办, 同意, 驳回) are sent through the inbox as the viewer's own
command in their direct conversation with the bot, so exactly the chat's rules apply.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import func, select
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
from bot.masking import mask_name, mask_phone
from bot.messages import ChatKind, IncomingMessage
from store.models import AuditEvent, OutboxMessage, ReviewRequest, SmsMessage, SmsReplyRecord, Ticket
from web.console.login import PERSON
from web.pages import e, page, roles_text

if TYPE_CHECKING:
    from web.console.adapter import ConsoleAdapter

LIST_LIMIT = 500
ACTION_WAIT_SECONDS = 10.0
URGENT = notices.URGENT_TAGS
NO_UNIT = "-"
"""The ``unit`` filter value of tickets not dispatched to any unit yet (未派单)."""


def setup(console: web.Application, adapter: ConsoleAdapter) -> None:
    """Mount the dashboard (with the printable forms) as the sub-app ``/console/tickets``."""
    from web.console import forms

    board = Dashboard(adapter)
    tickets = web.Application()
    tickets.router.add_get("", board.list_page)
    tickets.router.add_get("/{source}/{number}", board.ticket_page)
    tickets.router.add_post("/{source}/{number}/act", board.act)
    forms.setup(tickets, adapter)
    console.add_subapp("/tickets", tickets)


def visible_units(adapter: ConsoleAdapter, person: Person) -> set[str] | None:
    """Units whose tickets ``person`` may see; None means every unit (the office)."""
    d = adapter.ctx.directory
    if person.is_office:
        return None
    return {code for code in d.units if d.may_see_unit(person, code)}


def sees_citizen(person: Person, ticket: Ticket) -> bool:
    """Full citizen details only to the office and the ticket's 承办人 (``docs/design.md``, chat commands)."""
    return person.is_office or (ticket.handler_id is not None and ticket.handler_id == person.id)


async def load_visible_ticket(adapter: ConsoleAdapter, s: AsyncSession, person: Person,
                              source: str, number: str) -> Ticket:
    """The ticket, or 404 when unknown or not the viewer's (no hint which of the two)."""
    ticket = await adapter.ctx.service.get(s, source, number)
    units = visible_units(adapter, person)
    if ticket is None or (units is not None and ticket.unit_code not in units):
        raise web.HTTPNotFound(text=page("未找到", '<main class="board"><h1>没有找到该工单</h1>'
                                         '<p>工单不存在，或不属于您的单位。</p>'
                                         '<p><a href="/console/tickets">返回工单总览</a></p></main>'),
                               content_type="text/html")
    return ticket


def tag_html(tags: list[str] | None) -> str:
    """Tags as chips; 涉稳/扬言/涉众 in red, urgent ones in orange."""
    out = []
    for t in tags or []:
        cls = "sensitive" if t in notices.SENSITIVE_TAGS else "urgent" if t in URGENT else ""
        out.append(f'<span class="tag {cls}">{e(t)}</span>')
    return "".join(out)


class Dashboard:
    """Request handlers of the dashboard."""

    def __init__(self, adapter: ConsoleAdapter) -> None:
        self.adapter = adapter
        self.ctx = adapter.ctx

    def _chrome(self, request: web.Request, title: str, body: str) -> web.Response:
        person = request[PERSON]
        return web.Response(text=page(title, body, person=person.name,
                                      roles=roles_text(person.roles, self.ctx.directory.unit_name),
                                      csrf=self.adapter.gate.csrf(request), active="tickets"),
                            content_type="text/html")

    # ---- list ----------------------------------------------------------------------------

    async def list_page(self, request: web.Request) -> web.Response:
        """``/console/tickets``: counts, filters, and the tickets sorted by deadline."""
        person = request[PERSON]
        q = request.query
        ctx = self.ctx
        now = ctx.clock.now()
        units = visible_units(self.adapter, person)
        base = select(Ticket)
        if units is not None:
            base = base.where(Ticket.unit_code.in_(units))
        async with ctx.sessions() as s:
            state_counts = await _counts(s, units, Ticket.state)
            unit_counts = await _counts(s, units, Ticket.unit_code)
            open_q = select(func.count()).select_from(Ticket).where(
                Ticket.state.in_([str(x) for x in OPEN_STATES]), Ticket.deadline < now)
            if units is not None:
                open_q = open_q.where(Ticket.unit_code.in_(units))
            overdue_count = (await s.execute(open_q)).scalar_one()
            stmt = base
            if q.get("state"):
                stmt = stmt.where(Ticket.state == q["state"])
            if q.get("unit") == NO_UNIT:
                stmt = stmt.where(Ticket.unit_code.is_(None))
            elif q.get("unit"):
                stmt = stmt.where(Ticket.unit_code == q["unit"])
            if q.get("source"):
                stmt = stmt.where(Ticket.source == q["source"])
            if q.get("overdue") or q.get("due"):
                stmt = stmt.where(Ticket.state.in_([str(x) for x in OPEN_STATES]))
            if q.get("overdue"):
                stmt = stmt.where(Ticket.deadline < now)
            if q.get("due") == "today":
                start, end = self._today(now)
                stmt = stmt.where(Ticket.deadline >= start, Ticket.deadline < end)
            stmt = stmt.order_by(Ticket.deadline.is_(None), Ticket.deadline, Ticket.id).limit(LIST_LIMIT)
            tickets = list((await s.execute(stmt)).scalars())
            sources = sorted({x for x in (await s.execute(select(Ticket.source).distinct())).scalars()})
            tags = await _tags_in_use(s, units)
        if q.get("tag"):
            tickets = [t for t in tickets if q["tag"] in (t.tags or [])]
        d = ctx.directory
        people = {p.id: p.name for p in d.people.values()}
        rulebook = ctx.service.rulebook.rules

        def count_link(label: str, n: int, params: dict[str, str], cls: str = "") -> str:
            return f'<a class="{cls}" href="/console/tickets?{e(urlencode(params))}">{e(label)}<b>{n}</b></a>'

        by_state = "".join(count_link(STATE_LABELS[st], state_counts.get(st.value, 0), {"state": st.value})
                           for st in State if state_counts.get(st.value))
        by_unit = "".join(count_link(d.unit_name(code), n, {"unit": code or NO_UNIT})
                          for code, n in sorted(unit_counts.items(), key=lambda x: str(x[0])))
        rows = []
        for t in tickets:
            is_open = State(t.state) in OPEN_STATES
            overdue = is_open and t.deadline is not None and t.deadline < now
            citizen = t.citizen_name if sees_citizen(person, t) else mask_name(t.citizen_name)
            rows.append(
                f'<tr class="{"overdue" if overdue else ""}" data-number="{e(t.number)}">'
                f'<td><a href="/console/tickets/{e(t.source)}/{e(t.number)}">{e(t.number)}</a>'
                f'<div class="muted">{e(source_label(t.source))}</div></td>'
                f'<td>{tag_html(t.tags)}{e(t.title or notices.short_content(t.content, 40))}</td>'
                f'<td>{e(citizen or "—")}</td>'
                f'<td class="state">{e(STATE_LABELS[State(t.state)])}</td>'
                f'<td>{e(d.unit_name(t.unit_code))}<div class="muted">{e(people.get(t.handler_id, ""))}</div></td>'
                f'<td class="deadline">{e(notices.fmt_time(ctx.calendar, t.deadline))}'
                f'{"<div>已超期</div>" if overdue else ""}</td>'
                f'<td class="muted">{e(rule_label(t.rule, rulebook))}</td></tr>')
        table = ('<table class="tickets"><thead><tr><th>工单号</th><th>标题 / 诉求</th><th>来电人</th>'
                 '<th>状态</th><th>承办单位 / 承办人</th><th>办结时限</th><th>规则</th></tr></thead>'
                 f'<tbody>{"".join(rows) or "<tr><td colspan=7 class=muted>没有符合条件的工单。</td></tr>"}'
                 '</tbody></table>')
        body = (
            '<main class="board"><h1>工单总览</h1>'
            f'<div class="counts"><span class="label">按状态</span>{by_state}'
            f'{count_link("已超期", overdue_count, {"overdue": "1"}, "overdue")}'
            f'{count_link("今日到期", await self._due_today_count(units, now), {"due": "today"})}</div>'
            f'<div class="counts"><span class="label">按单位</span>{by_unit}</div>'
            f'{self._filters(q, units, sources, tags)}'
            f'<p class="muted">共 {len(tickets)} 件，按办结时限排序。</p>{table}</main>')
        return self._chrome(request, "工单总览", body)

    def _today(self, now: datetime) -> tuple[datetime, datetime]:
        cal = self.ctx.calendar
        local = cal.local(now)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)

    async def _due_today_count(self, units: set[str] | None, now: datetime) -> int:
        start, end = self._today(now)
        stmt = select(func.count()).select_from(Ticket).where(
            Ticket.state.in_([str(x) for x in OPEN_STATES]), Ticket.deadline >= start, Ticket.deadline < end)
        if units is not None:
            stmt = stmt.where(Ticket.unit_code.in_(units))
        async with self.ctx.sessions() as s:
            return int((await s.execute(stmt)).scalar_one())

    def _filters(self, q: Any, units: set[str] | None, sources: list[str], tags: list[str]) -> str:
        d = self.ctx.directory

        def options(pairs: list[tuple[str, str]], current: str) -> str:
            return '<option value="">全部</option>' + "".join(
                f'<option value="{e(v)}"{" selected" if v == current else ""}>{e(label)}</option>'
                for v, label in pairs)

        unit_pairs = [(c, u.name) for c, u in d.units.items() if units is None or c in units]
        if units is None:
            unit_pairs.append((NO_UNIT, d.unit_name(None)))
        return (
            '<form class="filters" method="get" action="/console/tickets">'
            f'<label>状态 <select name="state">{options([(s.value, STATE_LABELS[s]) for s in State], q.get("state", ""))}</select></label>'
            f'<label>单位 <select name="unit">{options(unit_pairs, q.get("unit", ""))}</select></label>'
            f'<label>标签 <select name="tag">{options([(t, t) for t in tags], q.get("tag", ""))}</select></label>'
            f'<label>来源 <select name="source">{options([(x, source_label(x)) for x in sources], q.get("source", ""))}</select></label>'
            f'<label><input type="checkbox" name="overdue" value="1"{" checked" if q.get("overdue") else ""}> 已超期</label>'
            f'<label><input type="checkbox" name="due" value="today"{" checked" if q.get("due") == "today" else ""}> 今日到期</label>'
            '<button type="submit" class="primary">筛选</button> <a href="/console/tickets">清除</a></form>')

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
            events = list((await s.execute(select(AuditEvent).where(AuditEvent.ticket_id == t.id)
                                           .order_by(AuditEvent.id))).scalars())
            reviews = list((await s.execute(select(ReviewRequest).where(ReviewRequest.ticket_id == t.id)
                                            .order_by(ReviewRequest.id))).scalars())
            sms = list((await s.execute(select(SmsMessage).where(SmsMessage.ticket_id == t.id)
                                        .order_by(SmsMessage.id))).scalars())
            replies = list((await s.execute(select(SmsReplyRecord).where(SmsReplyRecord.ticket_id == t.id)
                                            .order_by(SmsReplyRecord.id))).scalars())
            flash = await self._flash(s, person, request.query.get("msg", ""))
        full = sees_citizen(person, t)
        phone = t.citizen_phone if full else mask_phone(t.citizen_phone)
        name = t.citizen_name if full else mask_name(t.citizen_name)
        handler = d.person_by_id(t.handler_id)
        now = ctx.clock.now()
        overdue = State(t.state) in OPEN_STATES and t.deadline is not None and t.deadline < now
        ft = lambda when: notices.fmt_time(cal, when)  # noqa: E731
        policy = ctx.service.policy(t)
        ext = label(EXTENSION_LABELS, t.extension_state)

        def fields(pairs: list[tuple[str, object]]) -> str:
            return '<dl class="fields">' + "".join(
                f"<dt>{e(k)}</dt><dd>{v if isinstance(v, _Html) else e(v if v not in (None, '') else '—')}</dd>"
                for k, v in pairs) + "</dl>"

        info = fields([
            ("工单号", t.number), ("来源", source_label(t.source)), ("标题", t.title), ("标签", _Html(tag_html(t.tags) or "—")),
            ("类型", t.kind), ("类别", t.category), ("渠道", t.channel),
            ("状态", STATE_LABELS[State(t.state)]), ("承办单位", d.unit_name(t.unit_code)),
            ("承办人", handler.name if handler else None), ("轮次", f"第{t.round}轮"),
            ("登记时间", ft(t.received_at)), ("派单时间", ft(t.dispatched_at)),
            ("签收时间", ft(t.accepted_at)), ("先行联系", ft(t.first_contact_at)),
            ("来电人", name), ("联系电话", phone), ("联系地址", t.citizen_address if full else ("已隐藏" if t.citizen_address else None)),
            ("事发地址", t.address), ("诉求内容", t.content), ("回访结果", t.feedback),
            ("催办次数", t.urge_count),
        ])
        deadline = fields([
            ("办结时限", _Html(f'<b class="{"error" if overdue else ""}">{e(ft(t.deadline))}</b>'
                              + (" 已超期" if overdue else ""))),
            ("计算规则", rule_label(t.rule, ctx.service.rulebook.rules)
             + ("（热线指定时限）" if t.hotline_deadline else "")),
            ("内部时限", ft(t.internal_due)), ("先行联系时限", ft(t.first_contact_due)),
            ("进展报送", "每日报送" if t.progress == "daily" else t.progress),
            ("延期", f"{ext}（已延期 {t.extensions_granted}/{t.max_extensions} 次）"
                     + (f"，至 {ft(t.extension_granted_until or t.extension_requested_until)}"
                        if t.extension_state else "")),
            ("需领导审核", "是" if policy.review else "否"),
        ])
        timeline = "".join(
            f'<li class="{e(ev.outcome)}"><b>{e(ft(ev.at))}</b> {e(ev.actor)} · '
            f'{e(audit_label(ev.action))}'
            f'{"（未通过）" if ev.outcome != "ok" else ""}'
            f'{" · " + e(STATE_LABELS[State(ev.state_after)]) if ev.state_after and ev.state_after != ev.state_before else ""}'
            f'{"<div class=cmd>" + e(ev.text) + "</div>" if ev.text else ""}</li>' for ev in events)
        review_rows = "".join(
            f"<tr><td>{e(label(REVIEW_KIND_LABELS, r.kind))}</td><td>{e(label(REVIEW_STATE_LABELS, r.state))}</td>"
            f"<td>{e(_pname(d, r.requested_by))} {e(ft(r.requested_at))}</td><td>{e(r.content)}</td>"
            f"<td>{e(_pname(d, r.decided_by))} {e(ft(r.decided_at))}<div class=muted>{e(r.decision_note or '')}</div></td></tr>"
            for r in reviews)
        sms_rows = "".join(
            f"<tr><td>{e(ft(m.created_at))}</td><td>{e(label(SMS_KIND_LABELS, m.kind))}</td>"
            f"<td>{e(m.phone if full else mask_phone(m.phone))}</td><td>{e(label(SMS_STATE_LABELS, m.state))}"
            f"{'（' + e(error_label(m.code)) + '）' if m.code and m.state in ('failed', 'unknown') else ''}</td>"
            f"<td>{e(m.text or '')}</td></tr>" for m in sms)
        reply_rows = "".join(
            f"<tr><td>{e(ft(r.received_at))}</td><td>{e(r.phone if full else mask_phone(r.phone))}</td>"
            f"<td>{e(r.text)}</td><td>{e(r.verdict or '—')}</td></tr>" for r in replies)
        forms = "".join(
            f'<a href="/console/tickets/{e(t.source)}/{e(t.number)}/forms/{key}" target="_blank">{e(label)}</a>'
            f'<a href="/console/tickets/{e(t.source)}/{e(t.number)}/forms/{key}.docx" class="muted">(.docx)</a>'
            for key, label in _form_links())
        body = (
            f'<main class="board"><p><a href="/console/tickets">← 工单总览</a></p>'
            f'<h1>工单 {e(t.number)} {tag_html(t.tags)}</h1>'
            + (f'<p class="flash">{e(flash)}</p>' if flash else "")
            + '<div class="grid2"><div>'
            f'<section class="panel"><h2>工单信息</h2>{info}</section>'
            f'<section class="panel"><h2>审核记录</h2>{_table(["事项", "结果", "提交", "内容", "审核"], review_rows)}</section>'
            f'<section class="panel"><h2>短信</h2>{_table(["时间", "类型", "号码", "状态", "内容"], sms_rows)}</section>'
            f'<section class="panel"><h2>来电人回复</h2>{_table(["时间", "号码", "内容", "评价"], reply_rows)}</section>'
            '</div><div>'
            f'<section class="panel"><h2>可执行操作</h2>{await self._actions(person, t, reviews, self.adapter.gate.csrf(request))}</section>'
            f'<section class="panel"><h2>时限</h2>{deadline}</section>'
            f'<section class="panel forms"><h2>打印表单</h2>{forms}</section>'
            f'<section class="panel"><h2>办理痕迹</h2><ol class="timeline">{timeline}</ol></section>'
            '</div></div></main>')
        return self._chrome(request, f"工单 {t.number}", body)

    async def _actions(self, person: Person, t: Ticket, reviews: list[ReviewRequest], csrf: str) -> str:
        """Buttons for what the viewer's role allows now, by asking the lifecycle table."""
        svc = self.ctx.service
        caps = svc.capacities(person, t)
        review_caps = svc.capacities(person, t, reviewing=True)
        csrf_field = f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        out: list[str] = []

        def allowed(tr: Transition, who: set[Any]) -> bool:
            try:
                check(tr, t.state, who)
            except LifecycleError:
                return False
            return True

        def form(cmd: str, label: str, extra: str = "", cls: str = "primary") -> str:
            return (f'<form method="post" class="act" action="/console/tickets/{e(t.source)}/{e(t.number)}/act">'
                    f'{csrf_field}<input type="hidden" name="cmd" value="{e(cmd)}">'
                    f'<input type="hidden" name="event_id" value="{uuid.uuid4().hex}">'
                    f'{extra}<button type="submit" class="{cls}">{e(label)}</button></form>')

        if allowed(Transition.ACCEPT, caps):
            out.append(form("签收", "签收"))
        if allowed(Transition.DISPATCH, caps):
            d = self.ctx.directory
            opts = "".join(f'<option value="{e(c)}"{" selected" if c == t.unit_code else ""}>{e(u.name)}</option>'
                           for c, u in d.units.items() if c not in d.office_units())
            out.append(form("转办", "派单 / 转办", f'<select name="unit">{opts}</select>'))
        pending = next((r for r in reviews if r.state == "pending"), None)
        if pending is not None:
            approve = {"reply": Transition.APPROVE_REPLY, "extension": Transition.APPROVE_EXTENSION,
                       "giveback": Transition.APPROVE_GIVEBACK}[pending.kind]
            if allowed(approve, review_caps):
                what = REVIEW_KIND_LABELS.get(pending.kind, "")
                out.append(form("同意", f"同意{what}", '<input type="text" name="note" placeholder="审核意见（可不填）">'))
                out.append(form("驳回", f"驳回{what}",
                                '<input type="text" name="note" required placeholder="驳回意见（必填）">', "danger"))
        if not out:
            return '<p class="muted">您当前没有可对此工单执行的操作。</p>'
        return "".join(out) + '<p class="muted">操作会以您的名义发给机器人，结果也会出现在您与机器人的私聊中。</p>'

    async def _flash(self, s: AsyncSession, person: Person, msg: str) -> str:
        """The bot's answer to the viewer's last action (only an answer sent to the viewer)."""
        if not msg.isdigit():
            return ""
        row = await s.get(OutboxMessage, int(msg))
        if row is None or row.dest_key != f"console:console:dm:{person.name}":
            return ""
        return str(row.payload.get("text", ""))

    async def act(self, request: web.Request) -> web.StreamResponse:
        """An action button: the viewer's command goes through the inbox like a chat message."""
        person = request[PERSON]
        ctx = self.ctx
        form = await request.post()
        source, number = request.match_info["source"], request.match_info["number"]
        async with ctx.sessions() as s:
            t = await load_visible_ticket(self.adapter, s, person, source, number)
            before = (await s.execute(select(func.max(OutboxMessage.id)))).scalar_one() or 0
        cmd = str(form.get("cmd", ""))
        note = " ".join(str(form.get("note", "")).split())
        if cmd == "转办":
            text = f"转办 {t.number} {form.get('unit', '')}"
        elif cmd in ("签收", "同意", "驳回"):
            text = f"{cmd} {t.number} {note}".strip()
        else:
            raise web.HTTPBadRequest(text="unknown action")
        event_id = str(form.get("event_id", "")) or uuid.uuid4().hex
        message = IncomingMessage(platform="console", bot="console", chat_id=f"dm:{person.name}",
                                  chat_kind=ChatKind.DIRECT, sender_id=person.name, text=text,
                                  event_id=f"{person.name}:web:{event_id[:64]}")
        if self.adapter.inbox is None:
            raise web.HTTPServiceUnavailable(text="starting")
        await self.adapter.inbox(message)
        drain = getattr(self.adapter.inbox, "drain", None)
        if drain is not None:
            try:
                await asyncio.wait_for(drain(), ACTION_WAIT_SECONDS)
            except TimeoutError:
                pass
        async with ctx.sessions() as s:
            answer = (await s.execute(select(OutboxMessage.id).where(
                OutboxMessage.id > before, OutboxMessage.dest_key == f"console:console:dm:{person.name}")
                .order_by(OutboxMessage.id).limit(1))).scalar_one_or_none()
        target = f"/console/tickets/{t.source}/{t.number}" + (f"?msg={answer}" if answer else "")
        raise web.HTTPSeeOther(target)


class _Html(str):
    """Already-escaped HTML."""


async def _tags_in_use(s: AsyncSession, units: set[str] | None) -> list[str]:
    """Every tag on a ticket the viewer may see, 涉稳/扬言/涉众 and urgent ones first."""
    stmt = select(Ticket.tags)
    if units is not None:
        stmt = stmt.where(Ticket.unit_code.in_(units))
    found = {str(tag) for tags in (await s.execute(stmt)).scalars() for tag in tags or []}
    first = [t for t in [*sorted(notices.SENSITIVE_TAGS), *sorted(URGENT)] if t in found]
    return first + sorted(found - set(first))


async def _counts(s: AsyncSession, units: set[str] | None, column: Any) -> dict[Any, int]:
    stmt = select(column, func.count()).group_by(column)
    if units is not None:
        stmt = stmt.where(Ticket.unit_code.in_(units))
    return {k: int(n) for k, n in (await s.execute(stmt)).all()}


def _pname(d: Any, pid: int | None) -> str:
    p = d.person_by_id(pid)
    return p.name if p else ""


def _table(headers: list[str], rows: str) -> str:
    if not rows:
        return '<p class="muted">暂无。</p>'
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    return f'<table class="tickets"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _form_links() -> list[tuple[str, str]]:
    from web.console.forms import FORMS

    return [(key, f.title) for key, f in FORMS.items()]
