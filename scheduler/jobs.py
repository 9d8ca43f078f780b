"""The job table: a handful of scan jobs with default cron schedules in the configured zone.

``[scheduler.jobs.<job>] enabled / cron`` override a default. Cron knows no holidays, so
working-day jobs are scheduled every day and filtered with the working-day calendar when they
fire: they stay silent on holidays and run on 调休 working weekends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.calendar import WorkCalendar
from bot.config import Config
from scheduler import delays, duties, followups, period_reports, progress, reading, reports, scans, timing
from scheduler.scans import Scan

Days = Literal["all", "work", "first_workday"]


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One job: its default schedule, the scan it runs, on which days, and how long a fire missed
    while the bot was down stays worth running (None: only on the same local day)."""

    name: str
    cron: str
    scan: Scan
    days: Days = "all"
    keep: timedelta | None = None


JOBS: tuple[JobSpec, ...] = (
    # every day: a ticket whose clock runs on holidays (24h, 紧急, natural days) is watched on them
    # too; the scans leave working-day tickets alone on days off (scans.clocks)
    JobSpec("dispatch_watch", "*/15 8-17 * * *", scans.dispatch_watch, "all"),
    JobSpec("accept_watch", "*/15 8-17 * * *", scans.accept_watch, "all"),
    JobSpec("first_contact", "*/15 * * * *", scans.first_contact, "all", timedelta(days=1)),
    JobSpec("deadline_ladder", "0 9,14 * * *", scans.deadline_ladder, "all"),
    JobSpec("extension_window", "0 9 * * *", scans.extension_window, "work"),
    JobSpec("giveback_watch", "*/15 8-17 * * *", duties.giveback_watch, "all"),
    JobSpec("supervision_watch", "0 9,14 * * *", duties.supervision_watch, "work"),
    JobSpec("sensitive_duty", "0 9 * * *", scans.sensitive_duty, "all"),
    JobSpec("sensitive_chase", "0 17 * * *", scans.sensitive_chase, "all"),
    JobSpec("progress_duty", "0 9,14 * * *", progress.progress_duty, "all"),
    JobSpec("delay_sms", "*/30 * * * *", delays.delay_sms, "all", timedelta(days=1)),
    JobSpec("unit_digest", "0 9 * * *", scans.unit_digest, "work"),
    JobSpec("verdict_watch", "30 9 * * *", followups.verdict_watch, "work"),
    JobSpec("weekly_analysis", "0 9 * * mon", reports.weekly_analysis, "all", timedelta(days=6)),
    JobSpec("monthly_report", "0 9 * * *", reports.monthly_report, "first_workday", timedelta(days=20)),
    JobSpec("weekly_units", "0 9 * * mon", period_reports.weekly_units, "all", timedelta(days=6)),
    JobSpec("period_reports", "0 9 * * *", period_reports.period_reports, "first_workday", timedelta(days=20)),
    JobSpec("model_retrain", "30 2 * * *", reading.model_retrain, "all"),
)
BY_NAME = {j.name: j for j in JOBS}


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A job as configured: its spec and its trigger."""

    spec: JobSpec
    cron: str
    trigger: CronTrigger

    @property
    def name(self) -> str:
        """The job's name."""
        return self.spec.name


def configured_jobs(config: Config) -> list[ScheduledJob]:
    """The enabled jobs with their triggers; an unknown job name or a bad cron is a ValueError."""
    unknown = sorted(set(config.scheduler.jobs) - set(BY_NAME))
    if unknown:
        raise ValueError(f"scheduler.jobs: unknown job(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    zone = ZoneInfo(config.calendar.timezone)
    out: list[ScheduledJob] = []
    for spec in JOBS:
        cfg = config.scheduler.jobs.get(spec.name)
        if cfg is not None and not cfg.enabled:
            continue
        cron = (cfg.cron if cfg is not None else "") or spec.cron
        try:
            trigger = CronTrigger.from_crontab(cron, timezone=zone)
        except ValueError as exc:
            raise ValueError(f"scheduler.jobs.{spec.name}.cron: {exc}") from None
        out.append(ScheduledJob(spec, cron, trigger))
    return out


def runs_on(cal: WorkCalendar, spec: JobSpec, day: date) -> bool:
    """Whether the job does its work on local ``day``."""
    if spec.days == "work":
        return cal.is_workday(day)
    if spec.days == "first_workday":
        return timing.is_first_workday_of_month(cal, day)
    return True


def fire_times(job: ScheduledJob, cal: WorkCalendar, start: datetime, end: datetime) -> list[datetime]:
    """The trigger's fire times in ``[start, end]`` on which the job does its work."""
    out: list[datetime] = []
    t = start
    while True:
        nxt = job.trigger.get_next_fire_time(None, t)
        if nxt is None or nxt > end:
            return out
        if runs_on(cal, job.spec, cal.local_date(nxt)):
            out.append(nxt)
        t = nxt + timedelta(seconds=1)


def last_useful_fire(job: ScheduledJob, cal: WorkCalendar, now: datetime) -> datetime | None:
    """The latest working fire time at or before ``now`` still worth running now: on today's local
    date, or within the job's ``keep``. Older fires are dropped, not flooded."""
    keep = job.spec.keep
    if keep is None:
        local = cal.local(now)
        start = datetime.combine(local.date(), datetime.min.time(), tzinfo=cal.tz)
    else:
        start = now - keep
    fires = fire_times(job, cal, start, now)
    return fires[-1] if fires else None
