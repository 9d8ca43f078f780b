"""The monthly figures of the scheduler (``scheduler/reports.py``) as a console page.

``/console/reports?month=YYYY-MM`` (default: last month in the configured zone) shows each unit's
received, on-time and overdue tickets, the three rates, extensions, givebacks, the ranking and the
bottom-3 warning (吉林 第七条 “每月通报排名，对连续 3 个月排名后 3 位的承办单位…约谈”), with the
chart and the .xlsx of the monthly report. Nothing is computed here: the figures, the workbook and
the PNG come from :mod:`scheduler.reports`, so the page and the office's monthly 通报 always agree.

The office sees every unit; anyone else sees only the rows of the units they may see (the same
rule as the dashboard), in the page and in both files.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from scheduler import reports, timing
from scheduler.reports import MonthReport, UnitFigures
from web import render
from web.console import period_reports
from web.console.login import PERSON
from web.console.report_files import CHART_LOCK, XLSX_TYPE
from web.console.roles import roles_text
from web.console.site import ConsoleSite, visible_units

_MONTH = re.compile(r"^\d{4}-\d{2}$")
_SAFE = re.compile(r"[^A-Za-z0-9_-]")  # file names in a header stay ASCII
_COUNTS = ("received", "dispatched", "responded", "answered", "on_time", "overdue", "satisfied",
           "unsatisfied", "extensions", "givebacks", "supervised")


def setup(console: web.Application, adapter: ConsoleSite) -> None:
    """Mount the report page and its files as the sub-app ``/console/reports``."""
    view = ReportsPage(adapter)
    sub = web.Application()
    sub.router.add_get("", view.page)
    sub.router.add_get("/chart.png", view.chart)
    sub.router.add_get("/report.xlsx", view.workbook)
    period_reports.setup(sub, adapter)  # /console/reports/period: week, month, quarter, year
    console.add_subapp("/reports", sub)


def for_viewer(report: MonthReport, units: set[str] | None) -> MonthReport:
    """``report`` cut down to ``units`` (None: unchanged); the total covers those units only."""
    if units is None:
        return report
    mine = [u for u in report.units if u.unit in units]
    total = UnitFigures("*", "合计")
    for name in _COUNTS:
        setattr(total, name, sum(getattr(u, name) for u in mine))
    return dataclasses.replace(
        report, units=mine, total=total, ranking=[u for u in report.ranking if u.unit in units],
        bottom3=[c for c in report.bottom3 if c in units],
        bottom3_streak=[c for c in report.bottom3_streak if c in units])


def month_label(month: str) -> str:
    """``2026-11`` → ``2026年11月``."""
    year, mon = month.split("-")
    return f"{year}年{int(mon)}月"


class ReportsPage:
    """Request handlers of the monthly report page and its files."""

    def __init__(self, adapter: ConsoleSite) -> None:
        self.adapter = adapter
        self.ctx = adapter.ctx

    def _month(self, request: web.Request) -> str:
        """The ``month`` query parameter, or last month in the configured zone; 400 when malformed."""
        month = request.query.get("month", "").strip()
        if not month:
            local = self.ctx.calendar.local(self.ctx.clock.now())
            return timing.previous_month(f"{local.year:04d}-{local.month:02d}")
        try:
            if not _MONTH.match(month):
                raise ValueError(month)
            timing.month_bounds(self.ctx.calendar, month)
        except ValueError:
            raise web.HTTPBadRequest(text=render.render_text("console/message.html", {
                "title": "月份有误", "heading": "月份格式有误", "lines": ["请按“2026-11”的格式填写月份。"],
                "back_href": "/console/reports", "back_label": "查看上月通报"}),
                content_type="text/html") from None
        return month

    async def _report(self, request: web.Request) -> tuple[str, MonthReport, bool]:
        """(month, the viewer's cut of the month's report, whether the viewer is the office)."""
        month = self._month(request)
        person = request[PERSON]
        names = {code: u.name for code, u in self.ctx.directory.units.items()}
        async with self.ctx.sessions() as s:
            report = await reports.build_report(s, self.ctx.calendar, names, month, self.ctx.clock.now())
        units = visible_units(self.adapter, person)
        return month, for_viewer(report, units), units is None

    # ---- the page ------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.Response:
        """``/console/reports``: the month's figures per unit, the ranking, the warning, the chart."""
        person = request[PERSON]
        month, report, office = await self._report(request)
        t = report.total
        bottom, streak = set(report.bottom3), set(report.bottom3_streak)
        rows = [self._row(u, u.unit in bottom, u.unit in streak)
                for u in sorted(report.units, key=lambda u: (u.rank is None, u.rank or 0, u.unit))]
        if len(report.units) > 1:
            rows.append(self._row(t, False, False, total=True))
        prev_m, next_m = timing.previous_month(month), timing.previous_month(month, -1)
        return render.render(request, "console/reports.html", {
            "title": f"月度通报 {month_label(month)}", "person": person.name,
            "roles": roles_text(person.roles, self.ctx.directory.unit_name),
            "csrf": self.adapter.gate.csrf(request), "active": "reports",
            "month": month, "month_label": month_label(month), "query": urlencode({"month": month}),
            "scope": "全部单位" if office else "本单位（仅显示您所在单位的数据）",
            "ranked_count": len(report.ranking),
            "prev_query": urlencode({"month": prev_m}), "prev_label": month_label(prev_m),
            "next_query": urlencode({"month": next_m}), "next_label": month_label(next_m),
            "summary_label": "合计" if office or len(report.units) > 1 else "本单位",
            "summary": [
                ("受理", t.received), ("按期办结", t.on_time), ("超期", t.overdue), ("延期", t.extensions),
                ("退单", t.givebacks), ("督办", t.supervised), ("及时响应率", reports.pct(t.response_rate)),
                ("按期办结率", reports.pct(t.on_time_rate)), ("满意率", reports.pct(t.satisfaction_rate))],
            "warning": "、".join(report.unit(c).name for c in report.bottom3_streak) if streak else "",
            "headers": ("排名", "单位", "受理量", "按期办结", "超期", "及时响应率", "按期办结率", "满意率",
                        "延期", "退单", "督办件", "综合", "提示"),
            "rows": rows, "chart": any(u.received for u in report.units)})

    @staticmethod
    def _row(u: UnitFigures, in_bottom: bool, in_streak: bool, *, total: bool = False) -> dict[str, object]:
        """One unit's line of the table: its class, code, cells and warning chip."""
        return {
            "cls": "total" if total else "streak" if in_streak else "", "unit": u.unit,
            "note": "streak" if in_streak else "bottom" if in_bottom else "",
            "cells": ("—" if u.rank is None else u.rank, u.name, u.received, u.on_time, u.overdue,
                      reports.pct(u.response_rate), reports.pct(u.on_time_rate), reports.pct(u.satisfaction_rate),
                      u.extensions, u.givebacks, u.supervised, reports.pct(u.score))}

    # ---- the files -----------------------------------------------------------------------

    async def chart(self, request: web.Request) -> web.Response:
        """The report's bar chart (the same PNG the monthly job writes)."""
        month, report, office = await self._report(request)
        data = await asyncio.to_thread(_render, _locked_chart, report, f"chart-{month}.png")
        headers = {}
        if request.query.get("download"):
            headers["Content-Disposition"] = f'attachment; filename="{_stem(month, report, office)}.png"'
        return web.Response(body=data, content_type="image/png", headers=headers)

    async def workbook(self, request: web.Request) -> web.Response:
        """The report's workbook (the same .xlsx the monthly job writes)."""
        month, report, office = await self._report(request)
        data = await asyncio.to_thread(_render, reports.write_xlsx, report, f"report-{month}.xlsx")
        return web.Response(body=data, content_type=XLSX_TYPE, headers={
            "Content-Disposition": f'attachment; filename="{_stem(month, report, office)}.xlsx"'})


def _stem(month: str, report: MonthReport, office: bool) -> str:
    """``hotline-report-2026-11`` (with the unit codes when the viewer is not the office)."""
    suffix = "" if office else "".join(f"-{_SAFE.sub('', u.unit)}" for u in report.units)
    return f"hotline-report-{month}{suffix}"


def _locked_chart(report: MonthReport, path: Path, units: list[UnitFigures]) -> Path:
    with CHART_LOCK:
        return reports.write_chart(report, path, units)


def _render(write: Callable[[MonthReport, Path, list[UnitFigures]], Path], report: MonthReport,
            name: str) -> bytes:
    """Run one of the report's file writers into a scratch folder and return the bytes."""
    with tempfile.TemporaryDirectory(prefix="hotline-console-") as tmp:
        return write(report, Path(tmp) / name, report.units).read_bytes()
