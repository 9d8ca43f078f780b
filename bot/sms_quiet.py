"""Quiet hours for citizen SMS (``[sms] quiet_hours``, default 21:00–08:00): pure time arithmetic.

``docs/configuration.md``: quiet hours hold citizen SMS (and scheduled reminders); ``docs/sms.md`` finds no legal window
for 通知 messages but asks for a configurable one. A citizen SMS queued or retried inside the window
waits until it ends.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def quiet_until(now: datetime, window: tuple[time, time] | None, tz: ZoneInfo) -> datetime | None:
    """The end of the quiet window ``now`` falls in, or None when ``now`` is outside it.

    ``window`` is (start, end) in local time ``tz``; a start after the end wraps midnight.

    >>> from datetime import UTC
    >>> sh = ZoneInfo("Asia/Shanghai")
    >>> quiet_until(datetime(2026, 11, 23, 14, 30, tzinfo=UTC), (time(21), time(8)), sh).isoformat()
    '2026-11-24T08:00:00+08:00'
    >>> quiet_until(datetime(2026, 11, 23, 23, 0, tzinfo=UTC), (time(21), time(8)), sh).isoformat()
    '2026-11-24T08:00:00+08:00'
    >>> quiet_until(datetime(2026, 11, 23, 2, 0, tzinfo=UTC), (time(21), time(8)), sh) is None
    True
    >>> quiet_until(datetime(2026, 11, 23, 4, 30, tzinfo=UTC), (time(12), time(13)), sh).isoformat()
    '2026-11-23T13:00:00+08:00'
    """
    if window is None:
        return None
    start, end = window
    if start == end:
        return None
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    today = local.date()
    if start < end:
        return datetime.combine(today, end, tzinfo=tz) if start <= t < end else None
    if t >= start:
        return datetime.combine(today + timedelta(days=1), end, tzinfo=tz)
    if t < end:
        return datetime.combine(today, end, tzinfo=tz)
    return None
