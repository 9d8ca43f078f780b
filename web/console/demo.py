"""A few fictional tickets for a first run (``demo_tickets = true`` and an empty store), so the
console shows a working bot at once. Names, numbers and addresses are invented."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.context import BotContext
from bot.intake import TicketIn
from store.queries.dashboard import count_tickets

log = logging.getLogger("hotline.console")

DEMO = (
    # (days before now, hours before now, unit index or None, fields)
    (0, 1, 0, {"kind": "求助", "title": "养老服务站长期关门",
               "content": "（演示）小区门口的养老服务站已关门两周，独居老人无法就餐，请尽快恢复助餐服务。",
               "citizen": {"name": "林小梅", "phone": "13900001111", "address": "示例区幸福路1号"}}),
    (0, 2, 1, {"kind": "投诉", "tags": ["涉稳"], "title": "低保待遇停发",
               "content": "（演示）家中低保待遇本月突然停发，多次询问无人答复，情绪激动，表示将去上级部门反映。",
               "citizen": {"name": "周大山", "phone": "13900002222", "address": "示例区和平街8号"}}),
    (16, 0, 0, {"kind": "咨询", "title": "高龄津贴申领",
                "content": "（演示）父亲今年满80周岁，想咨询高龄津贴如何申领、需要哪些材料。",
                "citizen": {"name": "吴晓", "phone": "13900003333"}}),
    (0, 0, None, {"kind": "建议", "title": "社区食堂增加晚餐",
                  "content": "（演示）建议社区长者食堂增加晚餐供应，方便行动不便的老人。",
                  "citizen": {"name": "郑和平", "phone": "13900004444"}}),
)


async def seed_demo_tickets(ctx: BotContext) -> int:
    """Register the demo tickets when the store has none; returns how many were created."""
    async with ctx.sessions() as s:
        if await count_tickets(s):
            return 0
    d = ctx.directory
    office = set(d.office_units())
    units = [c for c, u in d.units.items()
             if c not in office and any(ch.platform == "console" for ch in u.chats)] or list(d.units)
    now = ctx.clock.now()
    day = ctx.calendar.local(now).strftime("%Y%m%d")
    created = 0
    async with ctx.sessions.begin() as s:
        for i, (days, hours, unit_index, fields) in enumerate(DEMO, start=1):
            unit = units[unit_index % len(units)] if unit_index is not None and units else None
            received = ctx.calendar.local(now - timedelta(days=days, hours=hours))
            data = TicketIn(source="12345", number=f"DEMO{day}{i:04d}", received_at=received,
                            unit=unit, **fields)
            result = await ctx.service.register(s, data, via="demo")
            created += int(result.created)
    log.info("console: seeded %d demo tickets", created)
    return created
