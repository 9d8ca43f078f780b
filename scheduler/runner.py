"""The scheduler's lifecycle: an ``AsyncIOScheduler`` in the configured zone with one cron job per
scan (coalesce, one instance, a misfire grace), started and stopped by an aiohttp cleanup context.

A job run is a thin shell: skip days it does not work on, take the job's advisory lock, record the
run in the ledger (``job:<name>`` / ``run`` / fire time, which also makes two instances firing the
same minute run it once), then ``scan(ctx, now=ctx.clock.now())``. On start, each job whose last
useful fire time passed while the bot was down runs once (catch-up).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.context import CTX, BotContext
from scheduler import jobs, ledger
from scheduler.locks import job_lock

log = logging.getLogger("hotline.scheduler")
MISFIRE_GRACE = 600  # seconds
RUN_HISTORY = timedelta(days=40)


class SchedulerRunner:
    """Runs the configured jobs for one bot instance."""

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self.jobs = {j.name: j for j in jobs.configured_jobs(ctx.config)}
        self.scheduler: AsyncIOScheduler | None = None
        self._catch_up: asyncio.Task[list[str]] | None = None

    async def run_job(self, name: str, fire: datetime | None = None) -> int | None:
        """Run one job now for the fire time ``fire`` (default: now, to the minute).

        Returns the number of reminders queued, or None when the job did not run (a day it does
        not work on, another instance holds its lock, or this fire time already ran).
        """
        job = self.jobs[name]
        now = self.ctx.clock.now()
        fire = fire or now.replace(second=0, microsecond=0)
        cal = self.ctx.calendar
        if not jobs.runs_on(cal, job.spec, cal.local_date(fire)):
            return None
        async with job_lock(self.ctx.engine, name) as held:
            if not held:
                log.info("job %s: another instance is running it", name)
                return None
            async with self.ctx.sessions.begin() as s:
                if not await ledger.record_run(s, name, fire, now):
                    return None
            count = await job.spec.scan(self.ctx, now)
        log.info("job %s (%s): %d queued", name, fire.isoformat(), count)
        return count

    async def catch_up(self) -> list[str]:
        """Run once each job whose last useful fire time passed without a run; returns their names."""
        now = self.ctx.clock.now()
        ran: list[str] = []
        for name, job in self.jobs.items():
            fire = jobs.last_useful_fire(job, self.ctx.calendar, now)
            if fire is None:
                continue
            async with self.ctx.sessions.begin() as s:
                last = await ledger.last_run(s, name)
                await ledger.prune_runs(s, name, now - RUN_HISTORY)
            if last is not None and last >= ledger.compact(fire):
                continue
            if await self.run_job(name, fire) is not None:
                ran.append(name)
        return ran

    async def _fire(self, name: str) -> None:
        try:
            await self.run_job(name)
        except Exception:
            log.exception("job %s failed", name)

    def start(self) -> AsyncIOScheduler:
        """Add every enabled job to a new scheduler, start it, and begin the catch-up."""
        sched = AsyncIOScheduler(timezone=self.ctx.calendar.tz)
        for name, job in self.jobs.items():
            sched.add_job(self._fire, job.trigger, args=[name], id=name, name=name, coalesce=True,
                          max_instances=1, misfire_grace_time=MISFIRE_GRACE, replace_existing=True)
        sched.start()
        self.scheduler = sched
        self._catch_up = asyncio.create_task(self._safe_catch_up())
        return sched

    async def _safe_catch_up(self) -> list[str]:
        try:
            return await self.catch_up()
        except Exception:
            log.exception("scheduler catch-up failed")
            return []

    async def stop(self) -> None:
        """Stop firing; wait for the catch-up to end."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self._catch_up is not None:
            await self._catch_up
            self._catch_up = None


SCHEDULER: web.AppKey[SchedulerRunner] = web.AppKey("hotline_scheduler", SchedulerRunner)


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context: start the scheduler (when ``[scheduler] enabled``), stop it on exit."""
    ctx = app[CTX]
    if not ctx.config.scheduler.enabled:
        yield
        return
    runner = SchedulerRunner(ctx)
    app[SCHEDULER] = runner
    runner.start()
    try:
        yield
    finally:
        await runner.stop()
