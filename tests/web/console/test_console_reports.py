"""The monthly report page (/console/reports): a small fixture month computed by hand, who sees
which rows, the chart and the workbook, and one look at the page in headless Chromium."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.conftest import local
from tests.scheduler.conftest import Desk
from tests.web.console.conftest import PASSWORD, console_overrides

NOW = local(2026, 12, 1, 9, 0)  # Tue: December's first working day
PNG = b"\x89PNG\r\n\x1a\n"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
_ROW = re.compile(r'<tr class="[^"]*" data-unit="([^"]*)">(.*?)</tr>', re.S)
_CELL = re.compile(r"<td>(.*?)</td>", re.S)
_TAGS = re.compile(r"<[^>]+>")


async def _fixture_month(desk: Desk) -> None:
    """November 2026 for two units, plus YLK tickets in September and October.

    YLK (2 received): Y1 accepted within the day, answered before its deadline, 满意; Y2 dispatched
    Tue 11-03 and accepted Thu 11-05 (after Wed 17:30: late), answered after its deadline, 不满意,
    one extension. → responded 1/2 = 50.0%, on time 1/(1+1) = 50.0%, 满意 1/2 = 50.0%, score 50.0.
    SHJZK (3 received, all accepted in time): S1 answered in time, 认可; S2 given back; S3 open past
    its deadline of 11-27. → 100.0%, on time 1/(1+1) = 50.0%, 满意 1/1 = 100.0%, score 83.3.
    """
    async def make(number: str, at: datetime, unit: str, **fields: Any) -> None:
        await desk.ticket(number, at=at, unit=unit, accept_by=None)
        await desk.set_fields(number, dispatched_at=at, **fields)

    await make("Y1", local(2026, 11, 2, 10, 0), "YLK", state="answered", accepted_at=local(2026, 11, 2, 11, 0),
               deadline=local(2026, 11, 11, 17, 30), answered_at=local(2026, 11, 10, 9, 0), feedback="满意")
    await make("Y2", local(2026, 11, 3, 10, 0), "YLK", state="answered", accepted_at=local(2026, 11, 5, 9, 0),
               deadline=local(2026, 11, 12, 17, 30), answered_at=local(2026, 11, 13, 10, 0), feedback="不满意",
               extensions_granted=1)
    await make("S1", local(2026, 11, 4, 10, 0), "SHJZK", state="archived", accepted_at=local(2026, 11, 4, 10, 5),
               deadline=local(2026, 11, 13, 17, 30), answered_at=local(2026, 11, 12, 9, 0), feedback="认可")
    await make("S2", local(2026, 11, 5, 10, 0), "SHJZK", state="returned", accepted_at=local(2026, 11, 5, 10, 5),
               deadline=local(2026, 11, 16, 17, 30))
    await make("S3", local(2026, 11, 20, 10, 0), "SHJZK", state="accepted", accepted_at=local(2026, 11, 20, 10, 30),
               deadline=local(2026, 11, 27, 17, 30))
    # YLK alone in September and October; with at most two units ranked nobody is flagged 后3位.
    await make("Y-SEP", local(2026, 9, 15, 10, 0), "YLK", state="accepted")
    await make("Y-OCT", local(2026, 10, 15, 10, 0), "YLK", state="accepted")


async def _setup(make_bot, make_user, clock, *names: str, **console: Any) -> tuple[Any, list[Any]]:
    bot = await make_bot(**console_overrides(**console))
    await _fixture_month(Desk(bot.ctx, clock))
    clock.set(NOW)
    users = []
    for name in names:
        user = make_user(bot)
        assert (await user.login(name)).status == 302
        users.append(user)
    return bot, users


def _rows(page: str) -> dict[str, list[str]]:
    """The figures table: unit code → the cells' text."""
    return {unit: [html.unescape(_TAGS.sub("", c)).strip() for c in _CELL.findall(row)]
            for unit, row in _ROW.findall(page)}


async def test_office_sees_every_unit_ranking_and_warning(make_bot, make_user, clock) -> None:
    _bot, (office,) = await _setup(make_bot, make_user, clock, "王办公")
    page = await office.page("/console/reports?month=2026-11")
    assert "月度通报 · 2026年11月" in page
    assert 'href="/console/reports" class="active">月度通报</a>' in page
    rows = _rows(page)
    # 排名, 单位, 受理量, 按期办结, 超期, 及时响应率, 按期办结率, 满意率, 延期, 退单, 督办件, 综合, 提示
    # (提示 stays empty: with two units ranked, "后3位" would name both; it needs more than three)
    assert rows["SHJZK"] == ["1", "社会救助科", "3", "1", "1", "100.0%", "50.0%", "100.0%", "0", "1", "0", "83.3%", ""]
    assert rows["YLK"] == ["2", "养老服务科", "2", "1", "1", "50.0%", "50.0%", "50.0%", "1", "0", "0", "50.0%", ""]
    assert rows["BGS"] == ["—", "局办公室", "0", "0", "0", "—", "—", "—", "0", "0", "0", "—", ""]
    # total: 5 received; responded 4/5; on time 2/(2+2); 满意+认可 2/3; (80.0 + 50.0 + 66.7) / 3 = 65.6
    assert rows["*"] == ["—", "合计", "5", "2", "2", "80.0%", "50.0%", "66.7%", "1", "1", "0", "65.6%", ""]
    assert list(rows) == ["SHJZK", "YLK", "BGS", "*"]
    assert 'id="bottom3-warning"' not in page and "后3位" not in page
    assert '<img src="/console/reports/chart.png?month=2026-11"' in page
    assert 'href="/console/reports/report.xlsx?month=2026-11"' in page


async def test_chart_is_a_png_and_the_workbook_opens(make_bot, make_user, clock) -> None:
    _bot, (office,) = await _setup(make_bot, make_user, clock, "王办公")
    r = await office.get("/console/reports/chart.png?month=2026-11")
    assert r.status == 200 and r.content_type == "image/png"
    data = await r.read()
    assert data[:8] == PNG and len(data) > 5000
    assert "Content-Disposition" not in r.headers  # shown inline on the page
    r = await office.get("/console/reports/chart.png?month=2026-11&download=1")
    assert r.headers["Content-Disposition"] == 'attachment; filename="hotline-report-2026-11.png"'

    r = await office.get("/console/reports/report.xlsx?month=2026-11")
    assert r.status == 200
    assert r.headers["Content-Disposition"] == 'attachment; filename="hotline-report-2026-11.xlsx"'
    wb = load_workbook(BytesIO(await r.read()))
    ws = wb.active
    assert ws.title == "2026-11 通报"
    rows = {row[1]: row for row in ws.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"SHJZK", "YLK", "BGS", "*"}
    # 排名, 代码, 单位, 受理量, 派单, 及时签收, 已办结, 按期办结, 超期, 及时响应率, 按期办结率
    assert rows["YLK"][:11] == (2, "YLK", "养老服务科", 2, 2, 1, 2, 1, 1, 50.0, 50.0)
    assert rows["SHJZK"][:11] == (1, "SHJZK", "社会救助科", 3, 3, 3, 1, 1, 1, 100.0, 50.0)
    assert rows["*"][3] == 5
    assert wb["连续后三位"].max_row == 1  # two units ranked: nobody is flagged


async def test_a_handler_sees_only_their_unit(make_bot, make_user, clock) -> None:
    _bot, (ylk, shjzk) = await _setup(make_bot, make_user, clock, "张承办", "陈承办")
    page = await ylk.page("/console/reports?month=2026-11")
    rows = _rows(page)
    assert list(rows) == ["YLK"]  # no other unit and no bureau total
    assert rows["YLK"][:3] == ["2", "养老服务科", "2"]
    assert "社会救助科" not in page and "局办公室" not in page
    assert 'id="bottom3-warning"' not in page  # two units ranked: nobody is flagged
    wb = load_workbook(BytesIO(await (await ylk.get("/console/reports/report.xlsx?month=2026-11")).read()))
    assert [row[1] for row in wb.active.iter_rows(min_row=2, values_only=True)] == ["YLK"]
    r = await ylk.get("/console/reports/chart.png?month=2026-11&download=1")
    assert (await r.read())[:8] == PNG
    assert r.headers["Content-Disposition"] == 'attachment; filename="hotline-report-2026-11-YLK.png"'

    page = await shjzk.page("/console/reports?month=2026-11")
    assert list(_rows(page)) == ["SHJZK"]
    assert "养老服务科" not in page and 'id="bottom3-warning"' not in page
    r = await shjzk.get("/console/reports/report.xlsx?month=2026-11")
    wb = load_workbook(BytesIO(await r.read()))
    assert [row[1] for row in wb.active.iter_rows(min_row=2, values_only=True)] == ["SHJZK"]
    assert wb["连续后三位"].max_row == 1  # YLK's warning is not SHJZK's business


async def test_refused_without_login(make_bot, make_user, clock) -> None:
    bot, _ = await _setup(make_bot, make_user, clock)
    anon = make_user(bot)
    for path in ("/console/reports?month=2026-11", "/console/reports/chart.png?month=2026-11",
                 "/console/reports/report.xlsx?month=2026-11"):
        r = await anon.get(path, allow_redirects=False)
        assert r.status == 302 and r.headers["Location"].startswith("/console/login"), path
        assert r.headers.get("Content-Type", "").split(";")[0] not in ("image/png", "application/vnd."
                                                                        "openxmlformats-officedocument.spreadsheetml.sheet")


async def test_default_month_is_last_month_in_the_configured_zone(make_bot, make_user, clock) -> None:
    _bot, (office,) = await _setup(make_bot, make_user, clock, "王办公")
    page = await office.page("/console/reports")
    assert "月度通报 · 2026年11月" in page  # 2026-12-01 09:00 in Shanghai
    assert _rows(page)["YLK"][2] == "2"
    # 2026-11-30 16:30 UTC is already 2026-12-01 00:30 in Shanghai: still November's report.
    clock.set(datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    assert "月度通报 · 2026年11月" in await office.page("/console/reports")
    clock.set(datetime(2026, 11, 30, 15, 30, tzinfo=UTC))  # 23:30 on the 30th: October's
    page = await office.page("/console/reports")
    assert "月度通报 · 2026年10月" in page
    assert _rows(page)["YLK"][:3] == ["1", "养老服务科", "1"]
    assert 'href="/console/reports?month=2026-09"' in page and 'href="/console/reports?month=2026-11"' in page


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "abc", "2026-11-01"])
async def test_malformed_month_is_a_polite_400(make_bot, make_user, clock, month: str) -> None:
    _bot, (office,) = await _setup(make_bot, make_user, clock, "王办公")
    for path in ("/console/reports", "/console/reports/chart.png", "/console/reports/report.xlsx"):
        r = await office.get(f"{path}?month={month}")
        assert r.status == 400, (path, month)
        assert "月份格式有误" in await r.text()


async def test_a_month_without_tickets_shows_no_chart(make_bot, make_user, clock) -> None:
    _bot, (office,) = await _setup(make_bot, make_user, clock, "王办公")
    page = await office.page("/console/reports?month=2026-08")
    assert "chart.png" not in page.split('class="downloads"')[0]
    assert _rows(page)["*"][2] == "0"


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium: apt-get install -y chromium")
async def test_report_page_in_chromium(make_bot, make_user, clock) -> None:
    from playwright.async_api import async_playwright, expect

    from tests.web.console.test_console_browser import ARGS

    bot, _ = await _setup(make_bot, make_user, clock)
    base = str(bot.client.make_url("")).rstrip("/")
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
            page = await context.new_page()
            await page.goto(f"{base}/console/reports?month=2026-11")
            await page.fill("input[name=person]", "王办公")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/console/reports?month=2026-11")
            await expect(page.locator("#bottom3-warning")).to_have_count(0)  # only two units ranked
            await expect(page.locator("tr[data-unit=SHJZK] td").first).to_have_text("1")
            img = page.locator("figure.chart img")
            await expect(img).to_be_visible()
            await page.wait_for_function("document.querySelector('figure.chart img').complete")
            assert await img.evaluate("el => el.naturalWidth") > 300  # the PNG arrived and decoded
            await page.screenshot(path=str(ARTIFACTS / "console-reports.png"), full_page=True)
        finally:
            await browser.close()
