"""The citizen hears about delays: a passed deadline sends one short SMS (吉林 “未在规定时限内解决的，
要向诉求人做好解释说明，取得理解，并承诺办结时限”).

Tickets whose rule sets ``delay_sms``, still not answered when their deadline has passed, get the
``delay`` SMS with the new promised date where one exists (an extension granted or asked for that is
still ahead, ``bot.citizen_sms.delay_promise``), else "另行告知". The ledger key is the deadline itself,
so each passed deadline sends once, and a later deadline (a granted extension) that passes again
sends again. Quiet hours hold it (``CitizenSms.queue``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.citizen_sms import delay_promise, sms_date
from bot.context import BotContext
from bot.lifecycle import WORKING_STATES, values
from scheduler.ledger import compact_sql
from scheduler.owed import CHUNK, Owed, claim, owed, pending
from store.models import Ticket

UNANSWERED = values(WORKING_STATES)  # assigned and not yet answered


async def delay_sms(ctx: BotContext, now: datetime) -> int:
    """Queue the ``delay`` SMS of every unanswered ticket past its deadline whose rule asks for it."""
    if not any(r.delay_sms for r in ctx.rulebook.rules):
        return 0
    where = [Ticket.state.in_(UNANSWERED), Ticket.deadline.is_not(None), Ticket.deadline <= now,
             Ticket.citizen_phone.is_not(None)]
    slot = compact_sql(Ticket.deadline)
    async with ctx.sessions.begin() as s:
        # the ticket's own rule decides (few rows: the overdue tickets not told yet)
        wanted = sorted(o.item.id for o in await pending(s, [owed(where, "sms_delay", slot)])
                        if ctx.rulebook.match(o.item.facts).delay_sms)
        found: list[Owed] = []
        for i in range(0, len(wanted), CHUNK):
            found += await claim(s, [owed([*where, Ticket.id.in_(wanted[i:i + CHUNK])], "sms_delay", slot)], now)
        if not found:
            return 0
        q = select(Ticket).where(Ticket.id.in_([o.item.id for o in found])).order_by(Ticket.id)
        sent = 0
        for t in (await s.execute(q)).scalars():
            assert t.deadline is not None
            params = {"number": t.number, "due": sms_date(ctx.calendar, delay_promise(t, now))}
            if ctx.service.sms.queue(s, t, "delay", params, event=f"d{int(t.deadline.timestamp())}") is not None:
                sent += 1
        return sent

