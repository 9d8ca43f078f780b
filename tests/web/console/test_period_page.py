"""The period report page (/console/reports/period) over the hand-computed quarter of
tests/scheduler/test_period_reports.py: the same figures on the page, in the .xlsx and the chart;
a unit's people see their unit only."""

from __future__ import annotations

from io import BytesIO

from openpyxl import load_workbook

from tests.conftest import local
from tests.scheduler.conftest import Desk
from tests.scheduler.test_period_reports import JILIN, SHJZK, TOTAL, YLK, quarter
from tests.web.console.conftest import console_overrides
from tests.web.console.test_console_reports import PNG, _rows


async def _setup(make_bot, make_user, clock, *names: str):
    bot = await make_bot(**JILIN, **console_overrides())
    await quarter(Desk(bot.ctx, clock))
    clock.set(local(2026, 7, 20, 10, 0))
    users = []
    for name in names:
        user = make_user(bot)
        assert (await user.login(name)).status == 302
        users.append(user)
    return bot, users


def _pcts(expected: dict) -> list[str]:
    return [f"{v:.1f}%" for v in expected["rates"]]


async def test_office_sees_the_quarter_as_computed_by_hand(make_bot, make_user, clock) -> None:
    _, (office,) = await _setup(make_bot, make_user, clock, "王办公")
    page = await office.page("/console/reports/period")  # default: last quarter (2026-Q2 on 7-20)
    assert "季度总结 · 2026年第二季度" in page
    rows = _rows(page)
    assert list(rows) == ["YLK", "SHJZK", "*"]
    assert rows["YLK"][1:3] == ["4", "1"] and rows["YLK"][-5:] == _pcts(YLK)
    assert rows["SHJZK"][-5:] == _pcts(SHJZK) and rows["*"][-5:] == _pcts(TOTAL)
    assert "岳阳街道<b>3</b>" in page and "质量合格率" in page
    wb = load_workbook(BytesIO(await (await office.get("/console/reports/period.xlsx?period=2026-Q2")).read()))
    total = next(r for r in wb["指标"].iter_rows(min_row=3, values_only=True) if r[0] == "*")
    assert list(total[8:13]) == TOTAL["rates"]
    r = await office.get("/console/reports/period.png?period=2026-Q2&download=1")
    assert r.status == 200 and (await r.read())[:8] == PNG
    assert r.headers["Content-Disposition"] == 'attachment; filename="hotline-quarter-2026-Q2.png"'


async def test_a_handler_sees_only_their_unit(make_bot, make_user, clock) -> None:
    _, (ylk,) = await _setup(make_bot, make_user, clock, "张承办")
    page = await ylk.page("/console/reports/period?period=2026-Q2")
    rows = _rows(page)
    assert list(rows) == ["YLK", "*"] and rows["*"][-5:] == _pcts(YLK)  # the total is YLK's own
    assert "社会救助科" not in page and "方松街道" not in page  # SHJZK's place is not shown either
    wb = load_workbook(BytesIO(await (await ylk.get("/console/reports/period.xlsx?period=2026-Q2")).read()))
    assert [r[0] for r in wb["指标"].iter_rows(min_row=3, values_only=True)] == ["YLK", "*"]


async def test_other_periods_and_a_malformed_one(make_bot, make_user, clock) -> None:
    _, (office,) = await _setup(make_bot, make_user, clock, "王办公")
    assert "年度总结 · 2026年" in await office.page("/console/reports/period?period=2026")
    assert "周小结 · 5月4日—5月10日" in await office.page("/console/reports/period?period=2026-W19")
    for bad in ("2026-Q7", "上季度", "2026-13"):
        r = await office.get(f"/console/reports/period?period={bad}")
        assert r.status == 400 and "统计期间格式有误" in await r.text()
