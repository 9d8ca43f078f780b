"""Queueing an SMS to a ticket's citizen: the ``SmsMessage`` record and its outbox row, in the
caller's transaction. The SMS gateway (``bot/sms_gateway.py``) delivers it from the outbox.

Quiet hours (``docs/configuration.md``, ``[sms] quiet_hours``): a message owed inside the window
gets the outbox row's ``next_attempt_at`` at the window's end, so it simply is not due before.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar import WorkCalendar
from bot.clock import Clock
from bot.config import SmsConfig
from bot.messages import Destination
from bot.outbox import Outbox
from bot.quiet_hours import quiet_until
from bot.ticket_rows import SMS_ROWS
from store.models import SmsMessage, Ticket


class CitizenSms:
    """Queues citizen SMS for the configured provider, held through quiet hours."""

    def __init__(self, config: SmsConfig, tz: tzinfo, clock: Clock) -> None:
        self._config = config
        self._tz = tz
        self._clock = clock

    def queue(self, s: AsyncSession, ticket: Ticket, kind: str, params: dict[str, str],
              text: str = "", *, event: str = "") -> SmsMessage | None:
        """Queue the ``kind`` SMS of the ticket's current round (one per ``event`` of the round where
        a kind may come more than once, such as a granted extension); None when it has no phone."""
        if not ticket.citizen_phone:
            return None
        now = self._clock.now()
        out_id = f"t{ticket.id}-{kind}-r{ticket.round}" + (f"-{event}" if event else "")
        sms = SmsMessage(ticket_id=ticket.id, phone=ticket.citizen_phone, kind=kind, params=params,
                         text=text, provider=self._config.provider, out_id=out_id,
                         state="queued", created_at=now, updated_at=now)
        s.add(sms)
        s.info.setdefault(SMS_ROWS, []).append(sms)
        dest = Destination(platform="sms", bot=sms.provider, user_id=ticket.citizen_phone)
        release = quiet_until(now, self._config.quiet_window, self._tz)
        s.add(Outbox.row(dest, {"out_id": out_id, "kind": kind, "params": params, "text": text},
                         channel="sms", ticket_id=ticket.id, kind=f"sms_{kind}", now=now,
                         not_before=release, dedupe_key=f"sms:{out_id}"))
        return sms


UNKNOWN_DATE = "另行告知"
"""The ``due`` of a receipt or delay SMS when no date is known yet."""


def sms_date(cal: WorkCalendar, when: datetime | None) -> str:
    """A date as a citizen's SMS says it (``12月2日``: short enough for every provider's variable)."""
    if when is None:
        return UNKNOWN_DATE
    local = cal.local(when)
    return f"{local.month}月{local.day}日"


def receipt_params(cal: WorkCalendar, ticket: Ticket) -> dict[str, str]:
    """The receipt SMS: the number and the expected answer date (the deadline, else the unit's own
    date). 信访: “告知其处理程序和预計辦理時間”."""
    return {"number": ticket.number, "due": sms_date(cal, ticket.deadline or ticket.internal_due)}


def delay_promise(ticket: Ticket, now: datetime) -> datetime | None:
    """The new date a passed deadline can promise: an extension granted or asked for that is still
    ahead, else None (吉林 “未在规定时限内解决的…并承诺办结时限”)."""
    for when in (ticket.extension_granted_until, ticket.extension_requested_until):
        if when is not None and when > now:
            return when
    return None
