"""The scans behind the scheduler's jobs: each finds in SQL the reminders owed *now* and not yet
in the notification ledger, claims them there and queues the messages in the outbox, all in one
transaction (:mod:`scheduler.owed`, :mod:`scheduler.notifier`).

Every scan is ``async def scan(ctx, now) -> int`` (the number of reminders queued). A reminder's
key is (``ticket:<id>``, kind, slot); slots are chosen so that a reminder is useful only in its
own slot (a day, a deadline, a dispatch), so a late or repeated scan never floods: it produces
today's slot only. The time rules of :mod:`scheduler.timing` reach SQL as instants computed once
per scan (a ticket is late iff its time is at or before one bound), never as per-row Python.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, String, Text, and_, case, func, literal, not_, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB, array
from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar import EveryDayCalendar, WorkCalendar
from bot.context import BotContext
from bot.deadlines import extension_request_by
from bot.directory import Person
from bot.lifecycle import (
    AWAITING_ACCEPT,
    OWING_STATES,
    REPORTING_STATES,
    STATE_LABELS,
    WORKING_STATES,
    State,
    values,
)
from bot.notices import SENSITIVE_TAGS, fmt_time
from bot.outbox import Target
from bot.registration import CALENDAR_CLOCK
from scheduler import ledger, texts, timing
from scheduler.ledger import compact_sql
from scheduler.notifier import Notifier
from scheduler.owed import CHUNK, COLUMNS, DUE, Item, Owed, claim, owed, pending
from store.models import Ticket, TicketUnit

Scan = Callable[[BotContext, datetime], Awaitable[int]]

ASSIGNED = values(AWAITING_ACCEPT)
WORKING = values(WORKING_STATES)
# 松江 三.3: “在接收工单之日直到工单办结为止，每日需向办公室报送” — from acceptance until answered.
REPORTING = values(REPORTING_STATES)
DIGEST_LINES = 20
ROUND_SLOT = literal("r", String) + sql_cast(Ticket.round, String)  # "r1", as f"r{round}"


def _today(ctx: BotContext, now: datetime) -> str:
    return ctx.calendar.local_date(now).isoformat()


def _day_bounds(ctx: BotContext, now: datetime) -> tuple[datetime, datetime]:
    """The first instants of today and of tomorrow, local zone."""
    today = ctx.calendar.local_date(now)
    tz = ctx.calendar.tz
    return (datetime.combine(today, datetime.min.time(), tzinfo=tz),
            datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=tz))


# ---- clocks ------------------------------------------------------------------------------------

RUNNING = Ticket.clock == CALENDAR_CLOCK
WORKDAY_CLOCK = or_(Ticket.clock.is_(None), Ticket.clock != CALENDAR_CLOCK)


def clocks(ctx: BotContext, now: datetime) -> list[tuple[WorkCalendar, ColumnElement[bool]]]:
    """The clocks a scan of working-day rules runs on at ``now``, as (calendar, which tickets).

    Working-day tickets on working days only, over the working-day calendar; tickets whose clock
    counts hours or natural days every day, over the every-day calendar, at the rungs their own
    clock gives (平顶山 A类 “不得以节假日为由拖延办理”, D类 “不得以节假日为由拖延处理”; 吉林 紧急类
    “24小时响应”)."""
    out: list[tuple[WorkCalendar, ColumnElement[bool]]] = []
    if ctx.calendar.is_workday(ctx.calendar.local_date(now)):
        out.append((ctx.calendar, WORKDAY_CLOCK))
    out.append((EveryDayCalendar(ctx.calendar), RUNNING))
    return out


def _running(item: Item) -> bool:
    return item.clock == CALENDAR_CLOCK


def _calendar(ctx: BotContext, item: Item) -> WorkCalendar:
    """The calendar ``item``'s clock counts on."""
    return EveryDayCalendar(ctx.calendar) if _running(item) else ctx.calendar


# ---- assisting units (配合单位, bot.assists) ------------------------------------------------------
#
# 平顶山 “有关网络单位要切实搞好配合”: an assisting unit of the current round that has not signed is
# reminded in its own group, and one that has not reported a working day before the lead's own
# deadline is reminded and named to the lead. The ledger key is the ticket's, the slot
# ``<unit>:<local date>``: once a day per assisting unit. Not once the office waived the wait.

def _assist_owed(ctx: BotContext, now: datetime, kind: str, unit_where: list[ColumnElement[bool]],
                 ticket_where: list[ColumnElement[bool]]) -> Select[Any]:
    """The ``kind`` reminders owed today to the assisting units of the current rounds matching
    ``unit_where`` whose open tickets match ``ticket_where``. The query runs over the few
    ticket_units rows, each ticket looked up by its key (driven from the tickets, SQLite would
    probe ticket_units once per open ticket)."""
    ticket_ok = select(Ticket.id).where(
        Ticket.id == TicketUnit.ticket_id, Ticket.round == TicketUnit.round, Ticket.state.in_(WORKING),
        Ticket.unit_code.is_not(None), not_(Ticket.assists_waived), *ticket_where).exists()
    slot = TicketUnit.unit_code + literal(":" + _today(ctx, now), String)
    return owed([TicketUnit.role == "assist", *unit_where, ticket_ok], kind, slot, ticket=TicketUnit.ticket_id)


def _assist_unit(o: Owed) -> str:
    """The assisting unit an ``assist_*`` reminder is about (its slot is ``<unit>:<date>``)."""
    return o.slot.rpartition(":")[0]


async def _assist_rows(s: AsyncSession, found: list[Owed]) -> dict[tuple[int, str], TicketUnit]:
    """The current round's assisting-unit rows the ``assist_*`` reminders in ``found`` are about
    (one query, none when there are none)."""
    wanted = {o.item.id: o.item.round for o in found if o.kind.startswith("assist_")}
    if not wanted:
        return {}
    rows = (await s.execute(select(TicketUnit).where(TicketUnit.ticket_id.in_(sorted(wanted)),
                                                     TicketUnit.role == "assist"))).scalars()
    return {(r.ticket_id, r.unit_code): r for r in rows if r.round == wanted[r.ticket_id]}


# ---- dispatch watch ----------------------------------------------------------------------------

async def dispatch_watch(ctx: BotContext, now: datetime) -> int:
    """Registered tickets still not dispatched after their 16:00 cut-off → the office, once a day."""
    cal = ctx.calendar
    selects = []
    for clock_cal, which in clocks(ctx, now):
        late_until = timing.dispatch_late_until(clock_cal, now)
        if late_until is not None:
            where = [Ticket.state == State.REGISTERED.value, Ticket.created_at <= late_until, which]
            selects.append(owed(where, "dispatch_late", _today(ctx, now)))
    if not selects:
        return 0
    async with ctx.sessions.begin() as s:
        late = [o.item for o in await claim(s, selects, now)]
        if not late:
            return 0
        late.sort(key=lambda it: (it.created_at, it.id))
        n = Notifier(ctx, s, now)
        n.send(Target.to_office(), texts.dispatch_late(cal, [(it.number, it.created_at) for it in late]),
               kind="dispatch", about=late)
        await n.flush()
        return len(late)


# ---- accept watch ------------------------------------------------------------------------------

async def accept_watch(ctx: BotContext, now: datetime) -> int:
    """Dispatched, not accepted: after 2 office hours → @unit again; after 1 working day → leaders."""
    cal, cc = ctx.calendar, ctx.config.calendar
    slot = Ticket.unit_code + literal(":", String) + compact_sql(Ticket.dispatched_at)
    selects = []
    for clock_cal, which in clocks(ctx, now):
        one_day, two_hours = timing.accept_late_until(clock_cal, now, cc.office_day_start, cc.office_day_end)
        bounds = [(b, k) for b, k in ((one_day, "accept_1wd"), (two_hours, "accept_2h")) if b is not None]
        if not bounds:
            continue
        kind = case(*((Ticket.dispatched_at <= b, literal(k, String)) for b, k in bounds))
        where = [Ticket.state.in_(ASSIGNED), Ticket.unit_code.is_not(None), Ticket.dispatched_at.is_not(None),
                 Ticket.dispatched_at <= max(b for b, _ in bounds), which]
        selects.append(owed(where, kind, slot))
        if two_hours is not None:  # an assisting unit that has not signed: once a day in its own group
            selects.append(_assist_owed(ctx, now, "assist_accept",
                                        [TicketUnit.accepted_at.is_(None), TicketUnit.assigned_at <= two_hours], [which]))
    if not selects:
        return 0
    async with ctx.sessions.begin() as s:
        found = await claim(s, selects, now)
        n = Notifier(ctx, s, now)
        assists = await _assist_rows(s, found)
        for o in found:
            it = o.item
            if o.kind == "assist_accept":
                row = assists[(it.id, _assist_unit(o))]
                assert it.unit_code is not None
                escalated = timing.response_due(_calendar(ctx, it), row.assigned_at) <= now
                n.send(Target.to_unit(row.unit_code),
                       texts.assist_accept_late(cal, it.number, ctx.directory.unit_name(row.unit_code),
                                                ctx.directory.unit_name(it.unit_code), row.assigned_at),
                       kind=o.kind, item=it, actions=[n.button(it, "签收")],
                       mentions=[n.mention(p) for p in n.leaders(row.unit_code)] if escalated else ())
                continue
            escalated = o.kind == "accept_1wd"
            assert it.dispatched_at is not None and it.unit_code is not None
            n.send(Target.to_unit(it.unit_code),
                   texts.accept_late(cal, it.number, ctx.directory.unit_name(it.unit_code), it.dispatched_at,
                                     it.deadline, escalated, _running(it)),
                   kind=o.kind, item=it, mentions=[n.mention(p) for p in n.leaders(it.unit_code)] if escalated else (),
                   actions=[n.button(it, "签收")])
        return await n.flush()


# ---- first contact -----------------------------------------------------------------------------

async def first_contact(ctx: BotContext, now: datetime) -> int:
    """先行联系 due within 2 hours, or past due, and not recorded → @承办人 (each once per round)."""
    cal = ctx.calendar
    where = [Ticket.state.in_((*ASSIGNED, State.ACCEPTED.value)), Ticket.first_contact_at.is_(None),
             Ticket.first_contact_due.is_not(None), Ticket.first_contact_due <= now + timedelta(hours=2)]
    kind = case((Ticket.first_contact_due <= now, literal("fc_late", String)), else_=literal("fc_soon", String))
    async with ctx.sessions.begin() as s:
        # once the late reminder went out, the "soon" one has nothing left to say
        found = await claim(s, [owed(where, kind, ROUND_SLOT, blocked_by=["fc_late"])], now)
        n = Notifier(ctx, s, now)
        for o in found:
            it = o.item
            assert it.first_contact_due is not None and it.unit_code is not None
            n.send(Target.to_unit(it.unit_code),
                   texts.first_contact(cal, it.number, it.first_contact_due, o.kind == "fc_late"),
                   kind=o.kind, item=it, mentions=n.mentions(it),
                   actions=[n.button(it, "签收")] if it.state in ASSIGNED else ())
        return await n.flush()


# ---- deadline ladder ---------------------------------------------------------------------------

async def deadline_ladder(ctx: BotContext, now: datetime) -> int:
    """2 working days before, 1 before, due today, overdue → @承办人 (overdue: and the leaders);
    one working day overdue → the office. The unit's ``internal_due`` is used where set."""
    cal = ctx.calendar
    today = _today(ctx, now)
    selects = []
    for clock_cal, which in clocks(ctx, now):
        bounds = timing.ladder_bounds(clock_cal, now)
        if not bounds.stages:
            continue
        base = [Ticket.state.in_(WORKING), Ticket.unit_code.is_not(None), DUE.is_not(None), which]
        # one pass over the working tickets: the stage is the first bound the due is at or before
        # (the overdue bound is ``now`` itself)
        stage = case(*((DUE <= upto, literal(f"ladder_{st}", String)) for st, upto in bounds.stages))
        # a stage is reached on one day per deadline; an overdue ticket is chased every working day
        slot = case((DUE <= now, literal(today, String)),
                    else_=case(*((DUE <= upto, literal(f"{st}:", String)) for st, upto in bounds.stages[1:]))
                    + compact_sql(DUE))
        selects.append(owed([*base, DUE <= bounds.stages[-1][1]], stage, slot))
        if bounds.escalate is not None:
            office_slot = ROUND_SLOT + literal(":", String) + compact_sql(DUE)
            selects.append(owed([*base, DUE <= bounds.escalate], "ladder_office", office_slot))
        report_by = timing.assist_report_late_until(clock_cal, now)
        if report_by is not None:  # an assisting unit not reported a working day before the lead's due
            selects.append(_assist_owed(ctx, now, "assist_report", [TicketUnit.reported_at.is_(None)],
                                        [DUE.is_not(None), DUE <= report_by, which]))
    if not selects:
        return 0
    async with ctx.sessions.begin() as s:
        found = await claim(s, selects, now)
        n = Notifier(ctx, s, now)
        assists = await _assist_rows(s, found)
        late_assists: dict[int, tuple[Item, list[str]]] = {}
        for o in found:
            it = o.item
            due = it.due
            assert due is not None and it.unit_code is not None
            if o.kind == "assist_report":
                row = assists[(it.id, _assist_unit(o))]
                who = n.people.get(row.accepted_by) if row.accepted_by is not None else None
                n.send(Target.to_unit(row.unit_code),
                       texts.assist_report_late(cal, it.number, ctx.directory.unit_name(it.unit_code), due),
                       kind=o.kind, item=it, actions=[n.button(it, "签收" if who is None else "进展")],
                       mentions=[n.mention(p) for p in [*([who] if who else []), *n.leaders(row.unit_code)]])
                late_assists.setdefault(it.id, (it, []))[1].append(ctx.directory.unit_name(row.unit_code))
                continue
            if o.kind == "ladder_office":
                handler = n.handler(it)
                n.send(Target.to_office(), texts.escalation(cal, it.number, ctx.directory.unit_name(it.unit_code),
                                                           due, handler.name if handler else None, _running(it)),
                       kind="escalation", item=it)
                continue
            st = o.kind.removeprefix("ladder_")
            button = "签收" if it.state in ASSIGNED else ("进展" if it.state == State.ACCEPTED.value else None)
            n.send(Target.to_unit(it.unit_code),
                   texts.ladder(cal, it.number, it.tags, st, due, due != it.deadline, it.state, _running(it)),
                   kind=o.kind, item=it,
                   mentions=n.mentions(it, leaders=st == "overdue" or it.state == State.REPLY_PENDING.value),
                   actions=[n.button(it, button)] if button else ())
        for it, names in late_assists.values():  # the lead hears which assists are late, once per ticket
            assert it.unit_code is not None and it.due is not None
            n.send(Target.to_unit(it.unit_code), texts.assist_late_to_lead(cal, it.number, names, it.due),
                   kind="assist_lead", item=it, mentions=n.mentions(it))
        return await n.flush()


# ---- extension window (利川) --------------------------------------------------------------------

async def extension_window(ctx: BotContext, now: datetime) -> int:
    """利川 三(三)4: “应在办结时限前2天将情况书面反馈至局办公室” — on the last day an extension may
    still be asked, remind the 承办人 of a ticket that could still have one."""
    cal = ctx.calendar
    notices = sorted({r.extension_notice_wd for r in ctx.rulebook.rules if r.extension_notice_wd})
    windows = [w for w in (timing.request_day_bounds(cal, now, wd) for wd in notices) if w is not None]
    if not windows:
        return 0
    today = cal.local_date(now)
    # SQL narrows to deadlines whose last extension day is today under *some* rule; the ticket's
    # own rule decides below (few rows: one day of deadlines)
    where = [Ticket.state == State.ACCEPTED.value, Ticket.deadline.is_not(None), Ticket.deadline > now,
             or_(*(and_(Ticket.deadline > lo, Ticket.deadline <= hi) for lo, hi in windows)),
             or_(Ticket.extension_state.is_(None), Ticket.extension_state != "pending"),
             Ticket.extensions_granted < Ticket.max_extensions]
    slot = ROUND_SLOT + literal(":", String) + compact_sql(Ticket.deadline)
    async with ctx.sessions.begin() as s:
        wanted: dict[int, datetime] = {}
        for o in await pending(s, [owed(where, "ext_window", slot)]):
            it = o.item
            assert it.deadline is not None
            rule = ctx.rulebook.match(it.facts)
            last = extension_request_by(cal, it.deadline, rule)
            if last is not None and cal.local_date(last) == today and now <= last:
                wanted[it.id] = last
        ids = sorted(wanted)
        found: list[Owed] = []
        for i in range(0, len(ids), CHUNK):
            found += await claim(s, [owed([*where, Ticket.id.in_(ids[i:i + CHUNK])], "ext_window", slot)], now)
        n = Notifier(ctx, s, now)
        for o in found:
            it = o.item
            assert it.deadline is not None and it.unit_code is not None
            n.send(Target.to_unit(it.unit_code), texts.extension_window(cal, it.number, it.deadline, wanted[it.id]),
                   kind="ext_window", item=it, mentions=n.mentions(it))
        return await n.flush()


# ---- sensitive duty ----------------------------------------------------------------------------

def is_sensitive(dialect: str) -> ColumnElement[bool]:
    """SQL twin of ``Item.sensitive``: a cheap LIKE on the tags' JSON text first, then the exact
    test on the JSON array (a tag such as "非涉稳" passes the LIKE, not the test)."""
    text = sql_cast(Ticket.tags, Text)
    likes = []
    for tag in sorted(SENSITIVE_TAGS):
        likes.append(text.like(f"%{tag}%"))
        likes.append(text.like("%" + tag.encode("unicode_escape").decode() + "%", escape="!"))
    wanted = sorted(SENSITIVE_TAGS)
    if dialect == "postgresql":
        exact: ColumnElement[bool] = sql_cast(Ticket.tags, JSONB).has_any(array(wanted))
    else:
        each = func.json_each(Ticket.tags).table_valued("value")
        exact = select(literal(1)).select_from(each).where(each.c.value.in_(wanted)).exists()
    return or_(Ticket.progress == "daily", and_(or_(*likes), exact))


async def _sensitive(ctx: BotContext, now: datetime, kind: str, chase: bool) -> int:
    where = [Ticket.state.in_(REPORTING), Ticket.unit_code.is_not(None), is_sensitive(ctx.engine.dialect.name)]
    if chase:  # no 进展 yet today (local)
        start, end = _day_bounds(ctx, now)
        where.append(or_(Ticket.last_progress_at.is_(None),
                         not_(and_(Ticket.last_progress_at >= start, Ticket.last_progress_at < end))))
    async with ctx.sessions.begin() as s:
        found = await claim(s, [owed(where, kind, _today(ctx, now))], now)
        n = Notifier(ctx, s, now)
        for o in found:
            it = o.item
            assert it.unit_code is not None
            text = texts.sensitive_chase(it.number, it.tags) if chase else texts.sensitive_duty(it.number, it.tags)
            n.send(Target.to_unit(it.unit_code), text, kind=kind, item=it,
                   mentions=n.mentions(it, leaders=chase), actions=[n.button(it, "进展")])
        return await n.flush()


async def sensitive_duty(ctx: BotContext, now: datetime) -> int:
    """09:00 every calendar day: each open 涉稳/扬言/涉众 ticket owes today's progress report."""
    return await _sensitive(ctx, now, "sens_duty", chase=False)


async def sensitive_chase(ctx: BotContext, now: datetime) -> int:
    """17:00 every calendar day: those without a 进展 today → @承办人 and the leaders."""
    return await _sensitive(ctx, now, "sens_chase", chase=True)


# ---- unit digest -------------------------------------------------------------------------------

async def unit_digest(ctx: BotContext, now: datetime) -> int:
    """One message per unit chat: its open tickets by deadline (overdue first), each 承办人 once."""
    cal = ctx.calendar
    today = _today(ctx, now)
    open_where = and_(Ticket.state.in_(values(OWING_STATES)), Ticket.unit_code.is_not(None))
    async with ctx.sessions.begin() as s:
        keys = {u: (f"unit:{u}", "digest", today) for u in ctx.directory.units}
        have = await ledger.existing(s, list(keys.values()))
        pending = [u for u, key in keys.items() if key not in have]
        if not pending:
            return 0
        counts = await _unit_counts(s, and_(open_where, Ticket.unit_code.in_(pending)), now)
        new = await ledger.claim(s, [keys[u] for u in pending if u in counts], now)
        if not new:
            return 0
        rank = func.row_number().over(partition_by=Ticket.unit_code,
                                      order_by=(Ticket.deadline.is_(None), Ticket.deadline, Ticket.id)).label("rn")
        chosen = sorted(subject.removeprefix("unit:") for subject, _, _ in new)
        inner = select(*COLUMNS, rank).where(open_where, Ticket.unit_code.in_(chosen)).subquery()
        rows = (await s.execute(select(*(inner.c[f] for f in Item.__dataclass_fields__))
                                .where(inner.c.rn <= DIGEST_LINES).order_by(inner.c.unit_code, inner.c.rn))).all()
        by_unit: dict[str, list[Item]] = {}
        for r in rows:
            it = Item(*r)
            by_unit.setdefault(str(it.unit_code), []).append(it)
        n = Notifier(ctx, s, now)
        for subject, _, _ in sorted(new):
            unit = subject.removeprefix("unit:")
            total, overdue = counts[unit]
            lines = [f"【每日待办】{ctx.directory.unit_name(unit)} 在办工单 {total} 件"
                     + (f"，其中超期 {overdue} 件" if overdue else "") + "（按时限排序）："]
            mentioned: list[Person] = []
            for i, it in enumerate(by_unit.get(unit, []), 1):
                late = " 【超期】" if it.deadline is not None and it.deadline < now else ""
                handler = n.handler(it)
                who = f" {handler.name}" if handler else ""
                lines.append(f"{i}. {texts.marks(it.tags)}{it.number} {STATE_LABELS[State(it.state)]}{who}"
                             f" 时限 {fmt_time(cal, it.deadline)}{late}")
                if handler and handler not in mentioned:
                    mentioned.append(handler)
            if total > DIGEST_LINES:
                lines.append(f"……另有 {total - DIGEST_LINES} 件，请回复「待办」查看全部。")
            n.send(Target.to_unit(unit), "\n".join(lines), kind="digest", mentions=[p.mention() for p in mentioned])
        return await n.flush()


async def _unit_counts(s: AsyncSession, where: ColumnElement[bool], now: datetime) -> dict[str, tuple[int, int]]:
    overdue = func.sum(case((and_(Ticket.deadline.is_not(None), Ticket.deadline < now), 1), else_=0))
    rows = await s.execute(select(Ticket.unit_code, func.count(), overdue).where(where).group_by(Ticket.unit_code))
    return {str(u): (int(total), int(late or 0)) for u, total, late in rows.all()}
