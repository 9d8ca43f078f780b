"""Scans of the duties the office sets (issue 15 §3, §5): a 退单 that must be done before its
give-back deadline, and a 督办 level's duty (the 方案 of a 现场督办 …) before its clock runs out.

Each is ``async def scan(ctx, now) -> int`` like those of :mod:`scheduler.scans`, keyed in the
notification ledger so a repeated or late scan sends each reminder once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, case, literal

from bot.context import BotContext
from bot.lifecycle import OWING_STATES, State, values
from bot.notices import fmt_time
from bot.outbox import Target
from bot.supervision import BY_NAME
from scheduler import timing
from scheduler.ledger import compact_sql
from scheduler.notifier import Notifier
from scheduler.owed import claim, owed
from store.models import Ticket

SOON = timedelta(hours=2)
OWING = values(OWING_STATES)


async def giveback_watch(ctx: BotContext, now: datetime) -> int:
    """A 退单 still waiting for the leader's decision 2 hours before its give-back deadline (the
    rule's ``giveback_within``, counted from receipt), and once past it → the office and the unit's
    leaders: 利川 “不属于我局受理的事项，需在当天予以退回”; 松江 “退单流程应于1个工作日内完成”."""
    cal = ctx.calendar
    due = Ticket.giveback_due
    where = [Ticket.state == State.GIVEBACK_PENDING.value, due.is_not(None), due <= now + SOON]
    kind = case((due <= now, literal("gb_late", String)), else_=literal("gb_soon", String))
    slot = literal("r", String) + compact_sql(due)
    async with ctx.sessions.begin() as s:
        found = await claim(s, [owed(where, kind, slot, blocked_by=["gb_late"])], now)
        n = Notifier(ctx, s, now)
        for o in found:
            it = o.item
            assert it.giveback_due is not None
            late = o.kind == "gb_late"
            text = (f"【退单提醒】工单 {it.number}（{ctx.directory.unit_name(it.unit_code)}）的退单"
                    + ("已超过" if late else "须于") + f" {fmt_time(cal, it.giveback_due)}"
                    + ("，" if late else " 前完成，") + "目前仍待领导审核：请领导回复「同意」或「驳回」，"
                    "办公室及时在热线系统中退回。")
            n.send([Target.to_office(), *([Target.to_unit(it.unit_code)] if it.unit_code else [])], text,
                   kind=o.kind, item=it, mentions=[n.mention(p) for p in n.leaders(it.unit_code)])
        return await n.flush()


async def supervision_watch(ctx: BotContext, now: datetime) -> int:
    """A 督办 duty not yet met: due by the end of the next working day → @承办人, the 包案 leader and
    the unit's leaders; past due → them again, and one working day past → the office (平顶山 六、
    督办机制: “(二)现场督办…网络单位应在现场督办后3个工作日内向市长热线办公室报送办理工作方案”)."""
    cal = ctx.calendar
    due = Ticket.supervision_due
    bounds = timing.ladder_bounds(cal, now)
    stages = dict(bounds.stages)
    soon = stages.get("due1") or stages.get("today")
    if soon is None:
        return 0
    base = [Ticket.state.in_(OWING), Ticket.unit_code.is_not(None), due.is_not(None),
            Ticket.supervision_met_at.is_(None)]
    kind = case((due <= now, literal("sup_late", String)), else_=literal("sup_soon", String))
    slot = Ticket.supervision_level + literal(":", String) + compact_sql(due)
    selects = [owed([*base, due <= soon], kind, slot, blocked_by=["sup_late"])]
    if bounds.escalate is not None:
        selects.append(owed([*base, due <= bounds.escalate], "sup_office", slot))
    async with ctx.sessions.begin() as s:
        found = await claim(s, selects, now)
        n = Notifier(ctx, s, now)
        for o in found:
            it = o.item
            assert it.supervision_due is not None and it.unit_code is not None
            level = BY_NAME[it.supervision_level or ""]
            when = fmt_time(cal, it.supervision_due)
            unit = ctx.directory.unit_name(it.unit_code)
            if o.kind == "sup_office":
                n.send(Target.to_office(), f"【督办超期】工单 {it.number}（{unit}）{level.name}督办要求"
                       f"“{level.duty}”已超过时限 {when}，请督办。", kind=o.kind, item=it)
                continue
            head = "已超过时限" if o.kind == "sup_late" else "时限"
            n.send(Target.to_unit(it.unit_code),
                   f"【{level.name}督办】工单 {it.number} 须{level.duty}，{head} {when}。"
                   f"请回复「进展 {it.number} 方案：……」报送。" if level.met_by == "方案" else
                   f"【{level.name}督办】工单 {it.number} 须{level.duty}，{head} {when}。",
                   kind=o.kind, item=it, mentions=n.mentions(it, leaders=True))
        return await n.flush()
