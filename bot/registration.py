"""Registering tickets: one at a time (``register``) or a batch with a fixed number of statements
(``register_many``), idempotent on (source, number), with 重复件 detection and dispatch by the
routing rules. A mixin of :class:`bot.tickets.TicketService`, whose audit, SMS and dispatch
operations it uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import notices
from bot.citizen_sms import receipt_params
from bot.deadlines import TicketFacts
from bot.intake import TicketIn
from bot.lifecycle import State
from bot.messages import OutgoingMessage
from bot.outbox import Target
from bot.reading.advice import advise, mark_related, tell_office_of_repeat
from bot.reading.related import CANDIDATES as RELATED_CANDIDATES
from bot.reading.related import alike as related_alike
from bot.reading.similar import similarity
from bot.ticket_rows import AUDIT_ROWS, TicketRow, take_pending
from store.bulk import insert_rows
from store.models import AuditEvent, Ticket, twin_key
from store.queries import tickets as tickets_q

if TYPE_CHECKING:
    from bot.calendar import WorkCalendar
    from bot.citizen_sms import CitizenSms
    from bot.clock import Clock
    from bot.config import Config
    from bot.deadlines import RuleBook
    from bot.directory import Directory
    from bot.outbox import Outbox
    from bot.reading.service import ModelHolder

SYSTEM = "系统"
CALENDAR_CLOCK = "calendar"
"""``Ticket.clock`` of a ticket whose clock counts hours or natural days (``Rule.runs_every_day``)."""


class _Lookup:
    """Marker: ``_after_register`` queries the earlier 重复件 itself."""


@dataclass(frozen=True, slots=True)
class RegisterResult:
    """What ``register`` did: created, the identical ticket again, or a conflict."""

    ticket: Ticket | TicketRow
    created: bool
    conflict: bool = False


@dataclass(frozen=True, slots=True)
class PreparedTicket:
    """A ticket body with its digest and new-ticket column values computed (see ``prepare``)."""

    data: TicketIn
    digest: str
    values: dict[str, Any]


class Registration:
    """Ticket registration; mixed into :class:`bot.tickets.TicketService`, which provides the
    operations it calls on a new ticket (``audit``, ``sms.queue``, ``dispatch``, ``policy``,
    ``get``) and the attributes below."""

    config: Config
    directory: Directory
    rulebook: RuleBook
    calendar: WorkCalendar
    clock: Clock
    outbox: Outbox
    sms: CitizenSms
    reader: ModelHolder

    async def register(self, s: AsyncSession, data: TicketIn, *, via: str = "api",
                       savepoint: bool = True) -> RegisterResult:
        """Create the ticket once; the same ticket again is a no-op; different content conflicts.

        Idempotency comes from the unique constraint on (source, number), not from a read before
        the write: the INSERT is tried and a conflict is caught. With ``savepoint`` (several
        tickets in one transaction, as the import does) it is tried in a SAVEPOINT and a duplicate
        comes back as ``created=False``. Without it (one ticket per transaction, the intake API)
        a duplicate raises ``IntegrityError`` out of the transaction, and the caller answers with
        :meth:`existing` in a new one; that saves a SAVEPOINT round trip per ticket.
        """
        digest = data.content_hash()
        ticket = self._new_ticket(data, digest)
        if savepoint:
            try:
                async with s.begin_nested():
                    s.add(ticket)
            except IntegrityError:
                found = await self.existing(s, data)
                if found is None:
                    raise
                return found
        else:
            s.add(ticket)
            await s.flush()
        await self._after_register(s, ticket, data, via, earlier=_Lookup)
        return RegisterResult(ticket, created=True)

    async def existing(self, s: AsyncSession, data: TicketIn) -> RegisterResult | None:
        """The stored ticket of ``data`` as a not-created result (a conflict when it differs), or None."""
        found = await tickets_q.by_key(s, data.source, data.number)
        if found is None:
            return None
        return RegisterResult(found, created=False, conflict=found.content_hash != data.content_hash())

    def _new_ticket(self, data: TicketIn, digest: str) -> Ticket:
        return Ticket(**self._ticket_values(data, digest))

    def _ticket_values(self, data: TicketIn, digest: str) -> dict[str, Any]:
        """The column values of a new ticket (the same keys for every ticket)."""
        now = self.clock.now()
        facts = TicketFacts(source=data.source, kind=data.kind, category=data.category,
                            channel=data.channel, tags=frozenset(data.tags))
        result = self.rulebook.compute(self.calendar, data.received_at, facts, data.deadline)
        citizen = data.citizen
        return dict(
            source=data.source, number=data.number, content_hash=digest,
            received_at=data.received_at, content=data.content,
            twin_key=twin_key(citizen.phone if citizen else None, data.content), kind=data.kind,
            category=data.category, channel=data.channel, tags=list(dict.fromkeys(data.tags)),
            title=data.title, address=data.address,
            citizen_name=citizen.name if citizen else None,
            citizen_phone=citizen.phone if citizen else None,
            citizen_address=citizen.address if citizen else None,
            state=State.REGISTERED, rule=result.rule, hotline_deadline=data.deadline,
            deadline=result.deadline, internal_due=result.internal_due,
            first_contact_due=result.first_contact_due, progress=result.progress,
            max_extensions=result.max_extensions, round=1, created_at=now, updated_at=now,
            clock=CALENDAR_CLOCK if result.policy.runs_every_day() else None)

    def prepare(self, data: TicketIn) -> PreparedTicket:
        """The part of registering that needs no store (digest, deadlines, column values): the
        intake does it before its batch's transaction, so the transaction holds SQLite's single
        write lock for the statements only."""
        digest = data.content_hash()
        return PreparedTicket(data, digest, self._ticket_values(data, digest))

    async def register_many(self, s: AsyncSession, items: Sequence[TicketIn | PreparedTicket], *,
                            via: str = "import") -> list[RegisterResult]:
        """Register a batch in the caller's transaction with a fixed number of statements, not a
        few per ticket: one INSERT … ON CONFLICT DO NOTHING … RETURNING adds the new tickets (no
        ORM objects, no SELECT back), one SELECT loads those that were already stored (only when
        some were) and one looks for earlier 重复件; one SELECT loads the new tickets that need more
        than a register audit row (dispatch, SMS, 重复件) as ORM objects, and one INSERT per table
        adds the audit, SMS and outbox rows. Results are in the order of ``items``; a number
        repeated inside the batch is a duplicate (or a conflict) of its first row. A new ticket
        comes back as a :class:`TicketRow` or, when it needed more, as a :class:`Ticket` attached
        to ``s``; their new audit and SMS rows are in :func:`session_rows`.

        Idempotency comes from the unique constraint on (source, number), not from a read before
        the write: a ticket another writer registered meanwhile is skipped by the INSERT and
        answered from the store like one stored before.
        """
        results: list[RegisterResult | None] = [None] * len(items)
        already_pending = {id(o) for o in s.new}
        firsts: dict[tuple[str, str], tuple[int, TicketIn, str]] = {}
        repeats: list[tuple[int, tuple[str, str], str]] = []  # a number already earlier in the batch
        prepared = [item if isinstance(item, PreparedTicket) else self.prepare(item) for item in items]
        for i, p in enumerate(prepared):
            key = (p.data.source, p.data.number)
            if key in firsts:
                repeats.append((i, key, p.digest))
            else:
                firsts[key] = (i, p.data, p.digest)
        if firsts:
            values = {key: prepared[i].values for key, (i, _, _) in firsts.items()}
            returned = await insert_rows(await s.connection(), Ticket.__table__, list(values.values()),
                                         returning=("id", "source", "number"),
                                         skip_conflicts_on=("source", "number"))
            ids = {(source, number): ticket_id for ticket_id, source, number in returned}
            missing = [key for key in firsts if key not in ids]
            by_source: dict[str, list[str]] = {}
            for source, number in missing:  # per source, so the unique index answers (a row-value
                by_source.setdefault(source, []).append(number)  # IN list scans the table on SQLite)
            for source, numbers in by_source.items():
                q = select(Ticket).where(Ticket.source == source, Ticket.number.in_(numbers))
                for found in (await s.execute(q)).scalars():
                    i, _, digest = firsts[(found.source, found.number)]
                    results[i] = RegisterResult(found, created=False, conflict=found.content_hash != digest)
            fresh = {key: (firsts[key][0], firsts[key][1], values[key]) for key in firsts if key in ids}
            if fresh:
                rows = {key: TicketRow.new(v, ids[key]) for key, (_, _, v) in fresh.items()}
                twins = await self._stored_twins(s, list(rows.values()), set(ids.values()))
                earlier = self._earlier_duplicates(list(rows.values()), twins)
                await self._after_register_many(s, fresh, rows, earlier, via, already_pending)
                for key, (i, _, _) in fresh.items():
                    results[i] = RegisterResult(rows[key], created=True)
        for i, key, digest in repeats:
            first = results[firsts[key][0]]
            assert first is not None
            results[i] = RegisterResult(first.ticket, created=False, conflict=first.ticket.content_hash != digest)
        return [r for r in results if r is not None]

    def _window(self, ticket: Any) -> int:
        """Days within which a citizen's 基本一致 request is a 重复件: the ticket's rule's
        ``duplicate_window_days``, else ``[procedure] duplicate_window_days``."""
        own = self.policy(ticket).duplicate_window_days
        return self.config.procedure.duplicate_window_days if own is None else own

    def _is_repeat(self, earlier: Any, ticket: Any) -> bool:
        """利川: "对同一来信人反映的基本一致的诉求，可以在重复件上回复“于什么时间回复，该件为重复件”" —
        the same phone, words similar enough (``[intelligence] near_duplicate_similarity``),
        received within the ticket's window; not the very same body (that is the ticket again)."""
        return (earlier.citizen_phone == ticket.citizen_phone and earlier.content_hash != ticket.content_hash
                and earlier.received_at >= ticket.received_at - timedelta(days=self._window(ticket))
                and similarity(earlier.content, ticket.content)
                >= self.config.intelligence.near_duplicate_similarity)

    async def _stored_twins(self, s: AsyncSession, new: Sequence[Any], new_ids: set[int]) -> list[TicketRow]:
        """Stored tickets that may be earlier 重复件 of the ``new`` tickets (the batch itself,
        ``new_ids``, left out): the same phones, received within the longest window."""
        with_phone = [t for t in new if t.citizen_phone and self._window(t)]
        if not with_phone:
            return []
        since = min(t.received_at - timedelta(days=self._window(t)) for t in with_phone)
        phones = list({t.citizen_phone for t in with_phone})
        found = await (await s.connection()).execute(_TWINS, {"phones": phones, "since": since,
                                                              "limit": _CANDIDATES * len(phones)})
        return [TicketRow(dict(row)) for row in found.mappings() if row["id"] not in new_ids]

    async def _may_be_related(self, s: AsyncSession, new: Sequence[Any]) -> set[int]:
        """Ids of the ``new`` tickets that may be 涉众 (:func:`bot.reading.advice.mark_related` decides):
        one read of the tickets at their addresses within the longest window, so a batch whose
        tickets have no such neighbour stays on the plain path."""
        addressed = [t for t in new if t.address and self._window(t)]
        if not addressed:
            return set()
        since = min(t.received_at - timedelta(days=self._window(t)) for t in addressed)
        addresses = list({t.address for t in addressed})
        q = (select(Ticket.id, Ticket.address, Ticket.citizen_phone, Ticket.content, Ticket.received_at)
             .where(Ticket.address.in_(addresses), Ticket.received_at >= since)
             .order_by(Ticket.received_at.desc()).limit(RELATED_CANDIDATES * len(addresses)))
        by_address: dict[str, list[Any]] = {}
        for row in (await s.execute(q)).all():
            by_address.setdefault(row.address, []).append(row)
        threshold = self.config.intelligence.related_similarity
        return {t.id for t in addressed if any(
            c.id != t.id and c.citizen_phone != t.citizen_phone
            and c.received_at >= t.received_at - timedelta(days=self._window(t))
            and related_alike(c.content, t.content, t.address, threshold) for c in by_address.get(t.address, []))}

    def _earlier_duplicates(self, tickets: Sequence[Any], stored: Sequence[Any]) -> dict[int, Any]:
        """:meth:`_earlier_open_duplicate` for new ``tickets`` (in registration order) at once:
        ticket id → the earlier one. As when they are registered one by one, each sees the
        ``stored`` candidates and the new tickets registered before it, not those after it."""
        order = {t.id: i for i, t in enumerate(tickets)}
        by_phone: dict[str, list[Any]] = {}
        for c in [*stored, *tickets]:
            if c.citizen_phone:
                by_phone.setdefault(c.citizen_phone, []).append(c)
        out: dict[int, Ticket] = {}
        for t in tickets:
            group = by_phone.get(t.citizen_phone or "", [])
            if len(group) < 2:
                continue
            match = next((c for c in sorted(group, key=lambda c: (c.received_at, c.id))
                          if order.get(c.id, -1) < order[t.id] and self._is_repeat(c, t)), None)
            if match is not None:
                out[t.id] = match
        return out

    async def _after_register_many(self, s: AsyncSession,
                                   fresh: dict[tuple[str, str], tuple[int, TicketIn, dict[str, Any]]],
                                   rows: dict[tuple[str, str], TicketRow], earlier: dict[int, Any],
                                   via: str, already_pending: set[int]) -> None:
        """:meth:`_after_register` for the batch just inserted, with one INSERT per table.

        A ticket that only needs its register audit row (no 重复件, no unit, no receipt SMS) stays a
        plain :class:`TicketRow`; the others are loaded as ORM tickets (one SELECT) and go through
        :meth:`_after_register`, which dispatches them or queues their SMS. ``rows`` is updated
        with those ORM tickets. Audit rows are written in registration order."""
        plain: set[tuple[str, str]] = set()
        reading = self.config.intelligence.suggest and await self.reader.current(s) is not None
        related = await self._may_be_related(s, list(rows.values()))
        for key, row in rows.items():
            data = fresh[key][1]
            if (row.id not in earlier and data.unit is None and self._route(row) is None  # type: ignore[arg-type]
                    and not reading and row.id not in related
                    and not (row.citizen_phone and self.policy(row).receipt_sms)  # type: ignore[arg-type]
                    and not self.policy(row).is_announced()):  # type: ignore[arg-type]
                plain.add(key)
        loaded: dict[int, Ticket] = {}
        if len(plain) < len(rows):
            q = select(Ticket).where(Ticket.id.in_([r.id for k, r in rows.items() if k not in plain]))
            loaded = {t.id: t for t in (await s.execute(q)).scalars()}
        by_table: dict[type, list[dict[str, Any]]] = {}
        audit_rows = s.info.setdefault(AUDIT_ROWS, [])
        actor = "热线系统" if via == "api" else "导入"
        now = self.clock.now()
        for key, (_, data, _) in fresh.items():
            row = rows[key]
            if key in plain:
                values = dict(ticket_id=row.id, at=now, actor=actor, actor_id=None, action="register",
                              text=None, state_before=None, state_after=str(State.REGISTERED), outcome="ok",
                              detail={"via": via, "rule": row.rule})
                by_table.setdefault(AuditEvent, []).append(values)
                audit_rows.append(TicketRow(values))
            else:
                ticket = loaded[row.id]
                await self._after_register(s, ticket, data, via, earlier=earlier.get(row.id))
                take_pending(s, already_pending, by_table)
                rows[key] = ticket  # type: ignore[assignment]
        conn = await s.connection()
        for model, values_list in by_table.items():
            await insert_rows(conn, model.__table__, values_list)  # type: ignore[attr-defined]

    async def _after_register(self, s: AsyncSession, ticket: Ticket, data: TicketIn, via: str,
                              *, earlier: Ticket | TicketRow | type[_Lookup] | None = None) -> None:
        if ticket.id is None:
            await s.flush()
        self.audit(s, ticket, None, "register", None, None, State.REGISTERED,
                   {"via": via, "rule": ticket.rule}, actor_name="热线系统" if via == "api" else "导入")
        if earlier is _Lookup:
            earlier = await self._earlier_open_duplicate(s, ticket)
        if earlier is not None:
            # 利川: repeat tickets from the same citizen are answered as 重复件 pointing at the earlier one.
            ticket.duplicate_of = earlier.id
            if "重复件" not in ticket.tags:
                ticket.tags = [*ticket.tags, "重复件"]
            self.audit(s, ticket, None, "duplicate", None, ticket.state, ticket.state,
                       {"of": earlier.key}, actor_name=SYSTEM)
            await tell_office_of_repeat(self, s, ticket)  # type: ignore[arg-type]
        elif ticket.address:
            await mark_related(self, s, ticket, self._window(ticket))  # type: ignore[arg-type]
        policy = self.policy(ticket)
        if policy.receipt_sms and ticket.citizen_phone:
            self.sms.queue(s, ticket, "receipt", receipt_params(self.calendar, ticket))
        unit = data.unit or self._route(ticket)
        if unit is not None:
            if unit not in self.directory.units:
                self.audit(s, ticket, None, "dispatch", None, ticket.state, ticket.state,
                           {"unit": unit, "error": "unknown unit"}, outcome="refused", actor_name=SYSTEM)
                self.outbox.add(s, Target.to_office(), OutgoingMessage(
                    f"工单 {ticket.number} 指定的承办单位「{unit}」不存在，请人工派单。"), ticket_id=ticket.id)
            else:
                await self.dispatch(s, ticket, unit, None, None)
        elif self.config.intelligence.suggest:
            await advise(self, s, ticket)  # type: ignore[arg-type]
        if policy.is_announced():
            self._announce(s, ticket)

    def _announce(self, s: AsyncSession, ticket: Ticket) -> None:
        """平顶山 A/D “不得以节假日为由拖延”; 信访 “重大、紧急信访事项，要及时向市政府办领导报告”: the
        office and the unit's leaders hear of the ticket at registration, whatever the hour (a
        message queued here is never held by quiet hours, which only the scheduler applies)."""
        unit = ticket.unit_code
        text = notices.urgent_report(ticket, self.calendar, self.directory.unit_name(unit) if unit else None)
        self.outbox.add(s, Target.to_office(), OutgoingMessage(text, ticket=ticket.key),
                        ticket_id=ticket.id, kind="announce")
        if unit is not None:
            leaders = self.directory.leaders(unit)
            self.outbox.add(s, Target.to_unit(unit), OutgoingMessage(
                text, ticket=ticket.key, mentions=tuple(p.mention() for p in leaders)),
                ticket_id=ticket.id, kind="announce")

    async def _earlier_open_duplicate(self, s: AsyncSession, ticket: Ticket) -> Ticket | None:
        """The earliest ticket of the same citizen within the window that this one repeats."""
        window = self._window(ticket)
        if not ticket.citizen_phone or window == 0:
            return None
        q = (select(Ticket).where(Ticket.citizen_phone == ticket.citizen_phone, Ticket.id != ticket.id,
                                  Ticket.received_at >= ticket.received_at - timedelta(days=window))
             .order_by(Ticket.received_at.desc(), Ticket.id.desc()).limit(_CANDIDATES))
        found = sorted((await s.execute(q)).scalars(), key=lambda c: (c.received_at, c.id))
        return next((c for c in found if self._is_repeat(c, ticket)), None)

    def _route(self, ticket: Ticket) -> str | None:
        for r in self.config.procedure.routing:
            if r.source and r.source != ticket.source:
                continue
            if r.kind and r.kind != ticket.kind:
                continue
            if r.category and r.category != ticket.category:
                continue
            if r.tags and not set(r.tags) & set(ticket.tags or []):
                continue
            if r.keywords and not any(k in ticket.content for k in r.keywords):
                continue
            return r.unit
        return None


_CANDIDATES = 200  # a citizen's newest tickets compared with a new one (the earliest match wins)
_TWIN_COLUMNS = ("id", "source", "number", "citizen_phone", "content", "content_hash", "received_at")
_TWINS = select(Ticket.__table__.c[*_TWIN_COLUMNS]).where(
    Ticket.citizen_phone.in_(bindparam("phones", expanding=True)),
    Ticket.received_at >= bindparam("since")).order_by(Ticket.received_at.desc()).limit(bindparam("limit"))
"""Candidate earlier 重复件: the same citizens' newest tickets received since a moment (at most
:data:`_CANDIDATES` per citizen in the batch, so a frequent caller costs a bounded read), found through
``ix_ticket_phone_received`` (plain rows, not ORM objects); their words are compared by the caller."""
