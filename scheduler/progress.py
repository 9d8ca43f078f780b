"""The progress duty (进展报送) of each rule, at its own cadence, escalated like a deadline.

A rule's ``progress`` is ``daily`` or a duration (利川 疑难 “需将办理进展情况告知局办公室” every
``3wd``). From acceptance until the answer (``REPORTING_STATES``) a ticket owes a 进展 within the
cadence of its last one (or of its acceptance):

- a duration cadence: on the day the report falls due → @承办人; once it is late → @承办人 and the
  unit's leaders; one working day late → the office (``scheduler.timing.escalate_at``);
- ``daily`` (and every 涉稳/扬言/涉众 ticket, 松江 “每日需向办公室报送”): the morning reminder and the
  17:00 chase are ``scans.sensitive_duty`` / ``sensitive_chase``; a whole day without a 进展 is
  escalated here to the office, once per missed day.

The candidates are the few tickets that owe reports; their due instants are computed in Python
with the same calendar functions as the deadlines, then claimed in the notification ledger so that
each reminder goes once per due instant (or per missed day).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select

from bot.context import BotContext
from bot.deadlines import apply_duration, parse_progress
from bot.lifecycle import REPORTING_STATES, values
from bot.outbox import Target
from scheduler import texts, timing
from scheduler.ledger import compact
from scheduler.notifier import Notifier
from scheduler.owed import claim, owed
from scheduler.scans import is_sensitive
from store.models import Ticket

REPORTING = values(REPORTING_STATES)
Key = tuple[str, str]  # (ledger kind, slot)


def owed_reports(ctx: BotContext, now: datetime, progress: str | None, sensitive: bool,
                 last: datetime | None, accepted: datetime | None) -> list[tuple[str, str, datetime]]:
    """(kind, slot, due) of the progress reminders one ticket owes at ``now`` (not yet deduplicated).

    ``kind`` is ``prog_due`` (due today), ``prog_late`` (late: 承办人 and leaders), ``prog_office``
    (one working day late, or a whole day missed under a daily duty: the office)."""
    if accepted is None:
        return []
    cal = ctx.calendar
    cadence = parse_progress(progress) if progress else ("daily" if sensitive else None)
    if cadence is None:
        return []
    today = cal.local_date(now)
    if cadence == "daily":
        # the day of acceptance already owes its report: “在接收工单之日直到工单办结为止，每日需向办公室报送”
        reported = cal.local_date(last) if last is not None else cal.local_date(accepted) - timedelta(days=1)
        missed = today - timedelta(days=1)
        if reported < missed and cal.local_date(accepted) <= missed:
            return [("prog_office", missed.isoformat(), cal.office_day_end_at(missed))]
        return []
    due = apply_duration(cal, last or accepted, cadence)
    out: list[tuple[str, str, datetime]] = []
    slot = compact(due)
    if now >= timing.escalate_at(cal, due):
        out.append(("prog_office", slot, due))
    if now >= due:
        out.append(("prog_late", slot, due))
    elif cal.local_date(due) == today:
        out.append(("prog_due", slot, due))
    return out


async def progress_duty(ctx: BotContext, now: datetime) -> int:
    """Remind, chase and escalate the progress reports the tickets' rules ask for."""
    cal = ctx.calendar
    sensitive = is_sensitive(ctx.engine.dialect.name)
    where = [Ticket.state.in_(REPORTING), Ticket.unit_code.is_not(None),
             or_(Ticket.progress.is_not(None), sensitive)]
    async with ctx.sessions.begin() as s:
        rows = (await s.execute(select(Ticket.id, Ticket.progress, sensitive, Ticket.last_progress_at,
                                       Ticket.accepted_at).where(*where))).all()
        groups: dict[Key, list[int]] = {}
        dues: dict[tuple[int, str], datetime] = {}
        for tid, cadence, flagged, last, accepted in rows:
            for kind, slot, due in owed_reports(ctx, now, cadence, bool(flagged), last, accepted):
                groups.setdefault((kind, slot), []).append(tid)
                dues[(tid, kind)] = due
        if not groups:
            return 0
        found = await claim(s, [owed([Ticket.id.in_(ids)], kind, slot) for (kind, slot), ids in sorted(groups.items())],
                            now)
        n = Notifier(ctx, s, now)
        for o in found:
            it = o.item
            assert it.unit_code is not None
            due = dues[(it.id, o.kind)]
            if o.kind == "prog_office":
                handler = n.handler(it)
                n.send(Target.to_office(), texts.progress_office(cal, it.number, ctx.directory.unit_name(it.unit_code),
                                                                handler.name if handler else None, due),
                       kind=o.kind, item=it)
                continue
            n.send(Target.to_unit(it.unit_code), texts.progress_reminder(cal, it.number, it.tags, due,
                                                                         late=o.kind == "prog_late"),
                   kind=o.kind, item=it, mentions=n.mentions(it, leaders=o.kind == "prog_late"),
                   actions=[n.button(it, "进展")])
        return await n.flush()


__all__ = ["owed_reports", "progress_duty"]
