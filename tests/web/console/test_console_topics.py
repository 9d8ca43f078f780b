"""The hot topics page (/console/topics): the period's clusters from the store, ranked, labelled,
linked to their tickets; a unit sees only its own units' topics."""

from __future__ import annotations

import html
from typing import Any

from tests.conftest import ticket_body
from tests.web.console.conftest import console_overrides

LIGHTS = ["人民路的路灯坏了好几盏，晚上走路看不见", "人民路路灯晚上不亮，行人容易摔倒", "人民路一段路灯全坏了，夜里一片漆黑"]
RELIEF = ["申请低保很久没有批下来，家里生活困难", "低保申请一直没有结果，生活很困难"]


async def test_topics_page_lists_the_clusters_of_the_period(make_bot: Any, make_user: Any) -> None:
    bot = await make_bot(**console_overrides())
    for i, text in enumerate(LIGHTS):
        body = ticket_body(number=f"L{i}", content=text, unit="YLK", citizen={"name": "张三", "phone": f"1390000000{i}"},
                           tags=["涉众"] if i == 0 else [])
        assert (await bot.post_ticket(body)).status == 201
    for i, text in enumerate(RELIEF):
        body = ticket_body(number=f"R{i}", content=text, unit="SHJZK", citizen={"name": "李四", "phone": f"1370000000{i}"})
        assert (await bot.post_ticket(body)).status == 201
    office = make_user(bot)
    await office.login("王办公")
    page = html.unescape(await office.page("/console/topics?from=2026-11-17&to=2026-11-23"))
    assert page.index("（人民路）") < page.index("低保")  # 3 tickets and a 涉众 tag rank first
    for i in range(3):
        assert f'href="/console/tickets/12345/L{i}"' in page
    unit = make_user(bot)
    await unit.login("赵科长")  # 社会救助科's leader
    mine = html.unescape(await unit.page("/console/topics?from=2026-11-17&to=2026-11-23"))
    assert "低保" in mine and "人民路" not in mine
    empty = await office.page("/console/topics?from=2026-10-01&to=2026-10-07")
    assert "没有成簇的热点" in empty
    bad = await office.get("/console/topics?from=2026-11-30&to=2026-11-01")
    assert bad.status == 400
