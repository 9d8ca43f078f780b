"""Quiet hours (``[scheduler] quiet_hours``, default 21:00–08:00): reminders wait until they end.

Quiet hours hold only scheduled reminders and digests. A ticket whose rule announces it at
registration (``Rule.announce``, “登记即报告办公室和承办单位领导（不受免打扰时段限制）”: 紧急 by tag or
category in every preset, 平顶山 A类 and D类 “不得以节假日为由拖延”, 松江 紧急/次紧急/疫情, 信访 重大) is
exempt: its reminders go out at once. The rule decides, through :meth:`bot.deadlines.Rule.is_announced`, the
predicate registration asks too; there is no list of urgent tags here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.calendar import WorkCalendar
from bot.deadlines import RuleBook, TicketFacts
from bot.quiet_hours import parse_quiet_hours, quiet_until


def is_exempt(book: RuleBook, facts: Iterable[TicketFacts]) -> bool:
    """Whether a reminder about these tickets ignores quiet hours: one of them is announced at
    registration under its rule."""
    return any(book.match(f).is_announced() for f in facts)


class QuietHours:
    """The configured quiet hours, asked once per scan or report."""

    def __init__(self, cal: WorkCalendar, spec: str) -> None:
        self.cal = cal
        self.window = parse_quiet_hours(spec)

    def not_before(self, now: datetime) -> datetime | None:
        """When a message queued at ``now`` may go out (None: at once)."""
        return quiet_until(now, self.window, self.cal.tz)
