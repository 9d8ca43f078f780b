"""Quiet hours (default 21:00–08:00), the one implementation: parsing ``"HH:MM-HH:MM"`` and the
time arithmetic of "when does the window ``now`` falls in end".

``[sms] quiet_hours`` holds citizen SMS (``docs/sms.md`` finds no legal window for 通知 messages but
asks for a configurable one); ``[scheduler] quiet_hours`` holds reminders and digests. A message
queued or retried inside the window waits until it ends.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["parse_quiet_hours", "quiet_until"]

_WINDOW_RE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)-([01]?\d|2[0-3]):([0-5]\d)")


def parse_quiet_hours(value: str) -> tuple[time, time] | None:
    """``"21:00-08:00"`` → (21:00, 08:00); ``""`` → None (no quiet hours); ValueError otherwise.

    >>> parse_quiet_hours("21:00-08:00")
    (datetime.time(21, 0), datetime.time(8, 0))
    >>> parse_quiet_hours("") is None
    True
    """
    if not value:
        return None
    m = _WINDOW_RE.fullmatch(value.strip())
    if not m:
        raise ValueError(f"应写成 21:00-08:00 的形式（或留空），当前为 {value!r}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    return time(h1, m1), time(h2, m2)


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
