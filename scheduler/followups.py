"""The 回访 watch: answered tickets still without a verdict after ``[procedure] verdict_wait_wd``
working days.

松江 “办公室对反馈不满意和未回复工单进行核查” → every working morning the office gets one list of
them (the dashboard shows the same list under the filter 「待回访核查」); where the ticket's rule
asks a 回访 by SMS (``Rule.feedback`` all or sampled, ``feedback_via = sms``) and the citizen left
a number, the 回访 SMS ("您的工单…已办结，请回复1满意，2不满意") is sent once per round first, since the
answer SMS went unanswered.
"""

from __future__ import annotations

from datetime import datetime

from bot.calendar import WorkCalendar
from bot.context import BotContext
from bot.followup import wants_followup
from bot.lifecycle import State
from bot.messages import OutgoingMessage
from bot.notices import fmt_time
from bot.outbox import Target
from scheduler import ledger
from scheduler.quiet import QuietHours
from store.queries import followups as followups_q

LIST_LINES = 20


def verdict_cutoff(cal: WorkCalendar, now: datetime, wait_wd: int) -> datetime:
    """Tickets answered before this instant have waited ``wait_wd`` working days by today: the end
    of the office day ``wait_wd`` working days before today's local date."""
    return cal.office_day_end_at(cal.subtract_workdays(cal.local_date(now), wait_wd))


async def verdict_watch(ctx: BotContext, now: datetime) -> int:
    """Working mornings: the 回访 SMS where it is owed, then the list of answered tickets still
    without a verdict → the office (once a day)."""
    cal, wait = ctx.calendar, ctx.config.procedure.verdict_wait_wd
    async with ctx.sessions.begin() as s:
        if not await ledger.claim(s, [("office", "verdict_watch", cal.local_date(now).isoformat())], now):
            return 0
        tickets = await followups_q.awaiting_verdict(s, State.ANSWERED.value, verdict_cutoff(cal, now, wait))
        if not tickets:
            return 0
        sent = await followups_q.sms_queued(s, [t.id for t in tickets], "feedback")
        texted = []
        for t in tickets:
            rule = ctx.service.policy(t)
            if (rule.feedback_via == "sms" and t.citizen_phone and f"t{t.id}-feedback-r{t.round}" not in sent
                    and wants_followup(rule, ctx.config.procedure.feedback_seed, t)):
                ctx.service.sms.queue(s, t, "feedback", {"number": t.number})
                texted.append(t.number)
        lines = [f"【待回访核查】已答复超过 {wait} 个工作日仍无满意度评价的工单 {len(tickets)} 件"
                 "（请电话回访后用「回访」登记）："]
        for i, t in enumerate(tickets[:LIST_LINES], 1):
            mark = "（已发回访短信）" if t.number in texted else ""
            lines.append(f"{i}. {t.number} {ctx.directory.unit_name(t.unit_code)} 答复于 "
                         f"{fmt_time(cal, t.answered_at)}{mark}")
        if len(tickets) > LIST_LINES:
            lines.append(f"……另有 {len(tickets) - LIST_LINES} 件，请在工作台「待回访核查」中查看。")
        not_before = QuietHours(cal, ctx.config.scheduler.quiet_hours).not_before(now)
        ctx.outbox.add(s, Target.to_office(), OutgoingMessage("\n".join(lines)), kind="report_verdicts",
                       not_before=not_before)
    return 1
