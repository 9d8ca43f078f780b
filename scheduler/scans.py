"""The scans behind the scheduler's jobs: each reads the store in a few batch queries, works out
which reminders are owed *now*, claims them in the notification ledger and queues the messages in
the outbox, all in one transaction.

Every scan is ``async def scan(ctx, now) -> int`` (the number of reminders queued). A reminder's
key is (``ticket:<id>``, kind, slot); slots are chosen so that a reminder is useful only in its
own slot (a day, a deadline, a dispatch), so a late or repeated scan never floods: it produces
today's slot only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, String, Text, and_, case, func, insert, literal, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import BotContext
from bot.deadlines import TicketFacts, extension_request_by
from bot.directory import Person
from bot.lifecycle import STATE_LABELS, State
from bot.messages import Action, Mention, OutgoingMessage
from bot.notices import SENSITIVE_TAGS, fmt_time
from bot.outbox import Outbox, Target
from scheduler import ledger, texts, timing
from scheduler.ledger import Key, compact
from scheduler.quiet import QuietHours
from store.models import OutboxMessage, Ticket

Scan = Callable[[BotContext, datetime], Awaitable[int]]

ASSIGNED = (State.DISPATCHED.value, State.REOPENED.value)
WORKING = (State.DISPATCHED.value, State.ACCEPTED.value, State.REOPENED.value, State.REPLY_PENDING.value)
# 松江 三.3: “在接收工单之日直到工单办结为止，每日需向办公室报送” — from acceptance until answered,
# i.e. exactly the states in which a 进展 can be reported.
REPORTING = (State.ACCEPTED.value, State.REPLY_PENDING.value)
DIGEST_LINES = 20


@dataclass(frozen=True, slots=True)
class Item:
    """The columns of a ticket a scan needs (no ORM objects: a scan may touch 100,000 tickets)."""

    id: int
    source: str
    number: str
    state: str
    unit_code: str | None
    handler_id: int | None
    tags: list[str] | None
    category: str | None
    kind: str | None
    channel: str | None
    deadline: datetime | None
    internal_due: datetime | None
    first_contact_due: datetime | None
    first_contact_at: datetime | None
    dispatched_at: datetime | None
    last_progress_at: datetime | None
    created_at: datetime
    updated_at: datetime
    round: int
    extensions_granted: int
    max_extensions: int
    extension_state: str | None
    progress: str | None

    @property
    def key(self) -> str:
        """``source/number`` as on a card button."""
        return f"{self.source}/{self.number}"

    @property
    def subject(self) -> str:
        """The ledger subject of this ticket."""
        return f"ticket:{self.id}"

    @property
    def due(self) -> datetime | None:
        """The unit's own deadline: ``internal_due`` where the rule sets one, else the deadline."""
        if self.internal_due is not None and (self.deadline is None or self.internal_due <= self.deadline):
            return self.internal_due
        return self.deadline

    @property
    def sensitive(self) -> bool:
        """涉稳/扬言/涉众, or a rule asking for a daily report."""
        return self.progress == "daily" or bool(SENSITIVE_TAGS & set(self.tags or ()))


_OUTBOX_FIELDS = ("channel", "dest_key", "destination", "payload", "ticket_id", "kind", "state", "attempts",
                  "next_attempt_at", "dedupe_key", "created_at")
COLUMNS = tuple(getattr(Ticket, f) for f in Item.__dataclass_fields__)
SUBJECT = literal("ticket:") + sql_cast(Ticket.id, String)


async def _load(s: AsyncSession, where: Sequence[ColumnElement[bool]], kinds: Sequence[str]
                ) -> tuple[list[Item], set[Key]]:
    """The matching tickets and the ledger keys of ``kinds`` they already have: two queries."""
    conn = await s.connection()  # Core rows: no ORM loading machinery for 100,000 tuples
    rows = await conn.execute(select(*COLUMNS).where(*where))
    items = [Item(*r) for r in rows.all()]
    if not items:
        return [], set()
    subjects: Select[Any] = select(SUBJECT).where(*where)
    return items, await ledger.existing(s, kinds, subjects)


class Notifier:
    """Queues reminder messages in the outbox, holding them through quiet hours."""

    def __init__(self, ctx: BotContext, s: AsyncSession, now: datetime) -> None:
        self.ctx = ctx
        self.s = s
        self.now = now
        self.quiet = QuietHours(ctx.calendar, ctx.config.scheduler.quiet_hours)
        self.people: dict[int, Person] = {p.id: p for p in ctx.directory.people.values() if p.id}
        self._leaders: dict[str, list[Person]] = {}
        self.rows: list[dict[str, Any]] = []
        self.count = 0

    def handler(self, item: Item) -> Person | None:
        """The ticket's 承办人, if it has been accepted."""
        return self.people.get(item.handler_id) if item.handler_id is not None else None

    def leaders(self, unit: str | None) -> list[Person]:
        """The unit's leaders (cached per scan)."""
        if unit is None:
            return []
        if unit not in self._leaders:
            self._leaders[unit] = self.ctx.directory.leaders(unit) if unit in self.ctx.directory.units else []
        return self._leaders[unit]

    def mentions(self, item: Item, *, leaders: bool = False) -> list[Mention]:
        """@承办人, plus the unit's leaders when asked."""
        people = [p for p in [self.handler(item)] if p is not None]
        if leaders:
            people += [p for p in self.leaders(item.unit_code) if p not in people]
        return [p.mention() for p in people]

    def button(self, item: Item, command: str) -> Action:
        """A card button (签收 / 进展) with its signed token."""
        return self.ctx.service.button(command, command, cast(Ticket, item), "primary")

    def send(self, targets: Target | list[Target], text: str, *, kind: str, item: Item | None = None,
             mentions: Iterable[Mention] = (), actions: Iterable[Action] = (),
             tags: Iterable[str] | None = None) -> None:
        """Queue one message; ``not_before`` is the end of quiet hours unless the ticket is exempt."""
        not_before = self.quiet.not_before(
            self.now, tags=item.tags if item else tags, category=item.category if item else None)
        msg = OutgoingMessage(text=text, mentions=tuple(mentions), actions=tuple(actions),
                              ticket=item.key if item else None).to_dict()
        seen: set[str] = set()
        for target in targets if isinstance(targets, list) else [targets]:
            for dest in self.ctx.outbox.resolve(target):
                if dest.key in seen:
                    continue
                seen.add(dest.key)
                row = Outbox.row(dest, msg, channel="chat", ticket_id=item.id if item else None,
                                 kind=f"remind_{kind}", now=self.now, not_before=not_before)
                self.rows.append({c: getattr(row, c) for c in _OUTBOX_FIELDS})
        self.count += 1

    async def flush(self) -> int:
        """Write the queued outbox rows in one executemany; returns the reminder count."""
        if self.rows:
            await self.s.execute(insert(OutboxMessage), self.rows)
            self.rows = []
        return self.count


def _today(ctx: BotContext, now: datetime) -> str:
    return ctx.calendar.local_date(now).isoformat()


# ---- dispatch watch ----------------------------------------------------------------------------

async def dispatch_watch(ctx: BotContext, now: datetime) -> int:
    """Registered tickets still not dispatched after their 16:00 cut-off → the office, once a day."""
    cal = ctx.calendar
    today = _today(ctx, now)
    async with ctx.sessions.begin() as s:
        items, have = await _load(s, [Ticket.state == State.REGISTERED.value], ["dispatch_late"])
        keys = {it.subject: (it.subject, "dispatch_late", today) for it in items
                if timing.dispatch_due(cal, it.created_at) <= now}
        new = await ledger.claim(s, [k for k in keys.values() if k not in have], now)
        late = [it for it in items if keys.get(it.subject) in new]
        if not late:
            return 0
        n = Notifier(ctx, s, now)
        n.send(Target.to_office(), texts.dispatch_late(cal, [(it.number, it.created_at) for it in late]),
               kind="dispatch", tags=[t for it in late for t in it.tags or ()])
        await n.flush()
        return len(late)


# ---- accept watch ------------------------------------------------------------------------------

async def accept_watch(ctx: BotContext, now: datetime) -> int:
    """Dispatched, not accepted: after 2 office hours → @unit again; after 1 working day → leaders."""
    cal, cc = ctx.calendar, ctx.config.calendar
    where = [Ticket.state.in_(ASSIGNED), Ticket.dispatched_at.is_not(None),
             Ticket.dispatched_at <= now - timedelta(hours=2)]
    async with ctx.sessions.begin() as s:
        items, have = await _load(s, where, ["accept_2h", "accept_1wd"])
        wanted: dict[Key, Item] = {}
        for it in items:
            assert it.dispatched_at is not None
            slot = f"{it.unit_code}:{compact(it.dispatched_at)}"
            if now >= timing.response_due(cal, it.dispatched_at):
                wanted[(it.subject, "accept_1wd", slot)] = it
            elif now >= timing.add_office_hours(cal, it.dispatched_at, 2, cc.office_day_start, cc.office_day_end):
                wanted[(it.subject, "accept_2h", slot)] = it
        new = await ledger.claim(s, [k for k in wanted if k not in have], now)
        n = Notifier(ctx, s, now)
        for key in sorted(new):
            it = wanted[key]
            escalated = key[1] == "accept_1wd"
            assert it.dispatched_at is not None and it.unit_code is not None
            n.send(Target.to_unit(it.unit_code),
                   texts.accept_late(cal, it.number, ctx.directory.unit_name(it.unit_code), it.dispatched_at,
                                     it.deadline, escalated),
                   kind=key[1], item=it, mentions=[p.mention() for p in n.leaders(it.unit_code)] if escalated else (),
                   actions=[n.button(it, "签收")])
        return await n.flush()


# ---- first contact -----------------------------------------------------------------------------

async def first_contact(ctx: BotContext, now: datetime) -> int:
    """先行联系 due within 2 hours, or past due, and not recorded → @承办人 (each once per round)."""
    cal = ctx.calendar
    where = [Ticket.state.in_((*ASSIGNED, State.ACCEPTED.value)), Ticket.first_contact_at.is_(None),
             Ticket.first_contact_due.is_not(None), Ticket.first_contact_due <= now + timedelta(hours=2)]
    async with ctx.sessions.begin() as s:
        items, have = await _load(s, where, ["fc_soon", "fc_late"])
        wanted: dict[Key, Item] = {}
        for it in items:
            assert it.first_contact_due is not None
            slot = f"r{it.round}"
            if (it.subject, "fc_late", slot) in have:
                continue
            kind = "fc_late" if now >= it.first_contact_due else "fc_soon"
            wanted[(it.subject, kind, slot)] = it
        new = await ledger.claim(s, [k for k in wanted if k not in have], now)
        n = Notifier(ctx, s, now)
        for key in sorted(new):
            it = wanted[key]
            assert it.first_contact_due is not None and it.unit_code is not None
            n.send(Target.to_unit(it.unit_code),
                   texts.first_contact(cal, it.number, it.first_contact_due, key[1] == "fc_late"),
                   kind=key[1], item=it, mentions=n.mentions(it),
                   actions=[n.button(it, "签收")] if it.state in ASSIGNED else ())
        return await n.flush()


# ---- deadline ladder ---------------------------------------------------------------------------

LADDER_KINDS = ("ladder_due2", "ladder_due1", "ladder_today", "ladder_overdue", "ladder_office")
LADDER_HORIZON = timedelta(days=21)  # 2 working days never span more, even over the Spring Festival


async def deadline_ladder(ctx: BotContext, now: datetime) -> int:
    """2 working days before, 1 before, due today, overdue → @承办人 (overdue: and the leaders);
    one working day overdue → the office. The unit's ``internal_due`` is used where set."""
    cal = ctx.calendar
    today = _today(ctx, now)
    due_col = func.coalesce(Ticket.internal_due, Ticket.deadline)
    where = [Ticket.state.in_(WORKING), Ticket.unit_code.is_not(None), due_col.is_not(None),
             due_col <= now + LADDER_HORIZON]
    async with ctx.sessions.begin() as s:
        items, have = await _load(s, where, LADDER_KINDS)
        wanted: dict[Key, tuple[Item, str]] = {}
        for it in items:
            due = it.due
            assert due is not None
            stage = timing.ladder_stage(cal, due, now)
            if stage is None:
                continue
            # a stage is reached on one day per deadline; an overdue ticket is chased every working day
            slot = today if stage == "overdue" else f"{stage}:{compact(due)}"
            wanted[(it.subject, f"ladder_{stage}", slot)] = (it, stage)
            if stage == "overdue" and now >= timing.escalate_at(cal, due):
                wanted[(it.subject, "ladder_office", f"r{it.round}:{compact(due)}")] = (it, "office")
        new = await ledger.claim(s, [k for k in wanted if k not in have], now)
        n = Notifier(ctx, s, now)
        for key in sorted(new):
            it, stage = wanted[key]
            due = it.due
            assert due is not None and it.unit_code is not None
            if stage == "office":
                handler = n.handler(it)
                n.send(Target.to_office(), texts.escalation(cal, it.number, ctx.directory.unit_name(it.unit_code),
                                                           due, handler.name if handler else None),
                       kind="escalation", item=it)
                continue
            button = "签收" if it.state in ASSIGNED else ("进展" if it.state == State.ACCEPTED.value else None)
            n.send(Target.to_unit(it.unit_code),
                   texts.ladder(cal, it.number, it.tags, stage, due, due != it.deadline, it.state),
                   kind=key[1], item=it,
                   mentions=n.mentions(it, leaders=stage == "overdue" or it.state == State.REPLY_PENDING.value),
                   actions=[n.button(it, button)] if button else ())
        return await n.flush()


# ---- extension window (利川) --------------------------------------------------------------------

async def extension_window(ctx: BotContext, now: datetime) -> int:
    """利川 三(三)4: “应在办结时限前2天将情况书面反馈至局办公室” — on the last day an extension may
    still be asked, remind the 承办人 of a ticket that could still have one."""
    cal = ctx.calendar
    if not any(r.extension_notice_wd for r in ctx.rulebook.rules):
        return 0
    today = cal.local_date(now)
    where = [Ticket.state == State.ACCEPTED.value, Ticket.deadline.is_not(None), Ticket.deadline > now,
             Ticket.deadline <= now + LADDER_HORIZON,
             or_(Ticket.extension_state.is_(None), Ticket.extension_state != "pending"),
             Ticket.extensions_granted < Ticket.max_extensions]
    async with ctx.sessions.begin() as s:
        items, have = await _load(s, where, ["ext_window"])
        wanted: dict[Key, tuple[Item, datetime]] = {}
        for it in items:
            assert it.deadline is not None
            rule = ctx.rulebook.match(TicketFacts(source=it.source, kind=it.kind, category=it.category,
                                                  channel=it.channel, tags=frozenset(it.tags or ())))
            last = extension_request_by(cal, it.deadline, rule)
            if last is not None and cal.local_date(last) == today and now <= last:
                wanted[(it.subject, "ext_window", f"r{it.round}:{compact(it.deadline)}")] = (it, last)
        new = await ledger.claim(s, [k for k in wanted if k not in have], now)
        n = Notifier(ctx, s, now)
        for key in sorted(new):
            it, last = wanted[key]
            assert it.deadline is not None and it.unit_code is not None
            n.send(Target.to_unit(it.unit_code), texts.extension_window(cal, it.number, it.deadline, last),
                   kind="ext_window", item=it, mentions=n.mentions(it))
        return await n.flush()


# ---- sensitive duty ----------------------------------------------------------------------------

def _maybe_sensitive() -> ColumnElement[bool]:
    """A cheap SQL pre-filter (tags are JSON text); the exact test is ``Item.sensitive``."""
    text = sql_cast(Ticket.tags, Text)
    likes = []
    for tag in sorted(SENSITIVE_TAGS):
        likes.append(text.like(f"%{tag}%"))
        likes.append(text.like("%" + tag.encode("unicode_escape").decode() + "%", escape="!"))
    return or_(Ticket.progress == "daily", *likes)


async def _sensitive(ctx: BotContext, now: datetime, kind: str, chase: bool) -> int:
    today = _today(ctx, now)
    where = [Ticket.state.in_(REPORTING), Ticket.unit_code.is_not(None), _maybe_sensitive()]
    async with ctx.sessions.begin() as s:
        items, have = await _load(s, where, [kind])
        wanted: dict[Key, Item] = {}
        for it in items:
            if not it.sensitive:
                continue
            if chase and it.last_progress_at is not None and ctx.calendar.local_date(it.last_progress_at).isoformat() == today:
                continue
            wanted[(it.subject, kind, today)] = it
        new = await ledger.claim(s, [k for k in wanted if k not in have], now)
        n = Notifier(ctx, s, now)
        for key in sorted(new):
            it = wanted[key]
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
    open_where = and_(Ticket.state.in_((*WORKING, State.GIVEBACK_PENDING.value)), Ticket.unit_code.is_not(None))
    async with ctx.sessions.begin() as s:
        counts = await _unit_counts(s, open_where, now)
        units = [u for u in counts if u in ctx.directory.units]
        if not units:
            return 0
        have = await ledger.existing_for(s, ["digest"], "unit:%", today)
        keys = [(f"unit:{u}", "digest", today) for u in units]
        new = await ledger.claim(s, [k for k in keys if k not in have], now)
        if not new:
            return 0
        rank = func.row_number().over(partition_by=Ticket.unit_code,
                                      order_by=(Ticket.deadline.is_(None), Ticket.deadline, Ticket.id)).label("rn")
        inner = select(*COLUMNS, rank).where(open_where).subquery()
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
