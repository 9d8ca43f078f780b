"""The period reports of the scheduler (``scheduler/period_reports.py``) as a console page.

``/console/reports/period?period=2026-Q2`` (also ``2026-W19``, ``2026-06``, ``2026``; default:
last quarter) shows the period's counts and five rates per unit, the hot spots, the chart and the
.xlsx. Nothing is computed here: the figures, the workbook and the PNG come from
:mod:`scheduler.period_reports`, so the page and the office's message always agree.

The office sees every unit; anyone else sees only the units they may see (the dashboard's rule);
the total and the hot spots then cover those units' tickets only.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from scheduler import period_reports as pr
from web import render
from web.console.login import PERSON
from web.console.report_files import CHART_LOCK, XLSX_TYPE
from web.console.roles import roles_text
from web.console.site import ConsoleSite, visible_units

_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def setup(sub: web.Application, adapter: ConsoleSite) -> None:
    """Add the period page and its files to the reports sub-app (``/console/reports/period…``)."""
    view = PeriodPage(adapter)
    sub.router.add_get("/period", view.page)
    sub.router.add_get("/period.png", view.chart)
    sub.router.add_get("/period.xlsx", view.workbook)


class PeriodPage:
    """Request handlers of the period report page and its files."""

    def __init__(self, adapter: ConsoleSite) -> None:
        self.adapter = adapter
        self.ctx = adapter.ctx

    def _period(self, request: web.Request) -> pr.Period:
        """The ``period`` query parameter, or last quarter; 400 with a Chinese page when malformed."""
        cal = self.ctx.calendar
        text = request.query.get("period", "").strip()
        if not text:
            today = cal.local_date(self.ctx.clock.now())
            quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
            text = pr.period_key("quarter", quarter_start - timedelta(days=1))
        try:
            return pr.parse_period(cal, text)
        except ValueError:
            raise web.HTTPBadRequest(text=render.render_text("console/message.html", {
                "title": "期间有误", "heading": "统计期间格式有误",
                "lines": ["请按“2026-W19”（周）、“2026-06”（月）、“2026-Q2”（季度）或“2026”（年）填写。"],
                "back_href": "/console/reports/period", "back_label": "查看上季度总结"}),
                content_type="text/html") from None

    async def _report(self, request: web.Request) -> tuple[pr.PeriodReport, bool]:
        """The viewer's cut of the period's report, and whether the viewer is the office."""
        period = self._period(request)
        units = visible_units(self.adapter, request[PERSON])
        names = {code: u.name for code, u in self.ctx.directory.units.items() if units is None or code in units}
        weight = pr.weigher(self.ctx.service.rulebook)
        async with self.ctx.sessions() as s:
            report = await pr.build_period_report(s, names, weight, period, self.ctx.clock.now(), units)
        return report, units is None

    async def page(self, request: web.Request) -> web.Response:
        """``/console/reports/period``: the counts and rates per unit, the hot spots, the chart."""
        person = request[PERSON]
        report, office = await self._report(request)
        p = report.period
        rows = [{"unit": u.unit, "cls": "total" if u.unit == "*" else "", "cells": _cells(u)}
                for u in [*(u for u in report.units if u.received), report.total]]
        return render.render(request, "console/period_report.html", {
            "title": f"{pr.KIND_LABELS[p.kind]} {p.title}", "person": person.name,
            "roles": roles_text(person.roles, self.ctx.directory.unit_name),
            "csrf": self.adapter.gate.csrf(request), "active": "period",
            "heading": f"{pr.KIND_LABELS[p.kind]} · {p.title}", "period": p.key,
            "query": urlencode({"period": p.key}),
            "scope": "全部单位" if office else "本单位（仅显示您所在单位的数据）",
            "headers": pr.HEADERS[1:], "rows": rows, "definitions": pr.DEFINITIONS,
            "categories": report.categories, "places": report.places,
            "chart": report.total.received > 0})

    async def chart(self, request: web.Request) -> web.Response:
        """The period's bar chart of the five rates."""
        report, office = await self._report(request)
        data = await asyncio.to_thread(_render, _locked_chart, report, "period.png")
        headers = {}
        if request.query.get("download"):
            headers["Content-Disposition"] = f'attachment; filename="{_stem(report, office)}.png"'
        return web.Response(body=data, content_type="image/png", headers=headers)

    async def workbook(self, request: web.Request) -> web.Response:
        """The period's workbook (the same .xlsx the job writes)."""
        report, office = await self._report(request)
        data = await asyncio.to_thread(_render, pr.write_xlsx, report, "period.xlsx")
        return web.Response(body=data, content_type=XLSX_TYPE, headers={
            "Content-Disposition": f'attachment; filename="{_stem(report, office)}.xlsx"'})


def _cells(u: pr.Figures) -> list[object]:
    return [u.name, u.received, u.urgent, u.on_time, u.overdue, u.supervised, u.urged,
            *("—" if v is None else f"{v:.1f}%" for _, v in u.rates())]


def _stem(report: pr.PeriodReport, office: bool) -> str:
    suffix = "" if office else "".join(f"-{_SAFE.sub('', u.unit)}" for u in report.units)
    return f"hotline-{report.period.kind}-{report.period.key}{suffix}"


def _locked_chart(report: pr.PeriodReport, path: Path) -> Path:
    with CHART_LOCK:
        return pr.write_chart(report, path)


def _render(write: Callable[[pr.PeriodReport, Path], Path], report: pr.PeriodReport, name: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="hotline-console-") as tmp:
        return write(report, Path(tmp) / name).read_bytes()
