"""Quiet hours (``[scheduler] quiet_hours``, default 21:00–08:00): reminders wait until they end.

``docs/configuration.md`` (``[scheduler] quiet_hours``): quiet hours hold only scheduled reminders and digests; 紧急 tickets and 平顶山 D-class
tickets (“不得以节假日为由拖延处理”) are exempt and go out at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.calendar import WorkCalendar
from bot.quiet_hours import parse_quiet_hours, quiet_until

EXEMPT_TAGS = frozenset({"紧急"})
EXEMPT_CATEGORIES = frozenset({"D"})


def is_exempt(tags: Iterable[str] | None, category: str | None) -> bool:
    """Whether a ticket's reminders ignore quiet hours (紧急 tag or D-class)."""
    return bool(EXEMPT_TAGS & set(tags or ())) or category in EXEMPT_CATEGORIES


class QuietHours:
    """The configured quiet hours, asked once per reminder."""

    def __init__(self, cal: WorkCalendar, spec: str) -> None:
        self.cal = cal
        self.window = parse_quiet_hours(spec)

    def not_before(self, now: datetime, *, tags: Iterable[str] | None = None,
                   category: str | None = None) -> datetime | None:
        """When a reminder queued at ``now`` may go out (None: at once)."""
        if is_exempt(tags, category):
            return None
        return quiet_until(now, self.window, self.cal.tz)
