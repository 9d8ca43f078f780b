"""The office's period reports: the weekly analysis per unit, and the monthly, quarterly and annual
reports with the five rates (docs/reports.md).

Seeds: 信访 “每周对本周信访情况进行小结，每月对本月信访情况进行综合分析，每季度和每年进行全面总结分析”
and its 考核指标 “信访事项受理率…办理时限达标率…办理质量合格率…群众满意度”; 吉林 “市长电话室对各承办单位
全部类别诉求受理量、向诉求人反馈率、群众评价满意度进行统计汇总，其中紧急类诉求办理质量将作为重要考核指标”;
平顶山 周分析 “梳理热点、难点问题及网络单位办理情况”.

Definitions, written once (docs/reports.md repeats them for readers). A period's *cohort* is the
tickets whose ``received_at`` falls in it (local zone), grouped by the ticket's current unit. Each
ticket counts with the weight of its rule (``Rule.report_weight``, 1 unless the preset says
otherwise: 吉林 紧急 counts 2) in every rate's numerator and denominator; counts are plain.

- 受理量 ``received``: tickets of the cohort; 紧急 ``urgent``: those whose weight is above 1.
- 受理率 ``acceptance_rate``: of the dispatched tickets (``dispatched_at`` set), the share accepted
  (签收, ``accepted_at`` set).
- 时限达标率 ``on_time_rate``: on time / (on time + overdue). On time: answered no later than the
  deadline (none set: on time). Overdue: answered after it, or not answered, not returned, with the
  deadline passed before the cut-off (the end of the period, or the moment of the report if
  earlier). Tickets still within time wait (the monthly 通报's reading, ``scheduler/reports.py``).
- 质量合格率 ``quality_rate``: of the tickets whose answer was reviewed (a decided answer review), the
  share whose *first* answer review was approved (accepted at first review).
- 反馈率 ``feedback_rate``: of the answered tickets (``answered_at`` set), the share whose citizen
  was told: an answer or 回访 SMS sent or delivered, or a verdict recorded (``feedback`` set).
- 满意率 ``satisfaction_rate``: (满意 + 认可) / (满意 + 认可 + 不满意); 未评价 is left out.
- 督办 ``supervised``: tickets sent back for a new round (round above 1: each 重办 tells the office's
  督办); 催办 ``urged``: tickets the hotline urged.
- Hot spots: the most frequent categories (``category``, else ``kind``, else 未分类) and places
  (the first 街道/镇/乡/社区/村/小区/路 named in ``address``, else its first 8 characters).

A rate with an empty denominator is "—". The weekly report's week runs Monday to Sunday.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar import WorkCalendar
from bot.context import BotContext
from bot.deadlines import RuleBook, TicketFacts
from bot.lifecycle import State
from scheduler import ledger, reports, timing
from store.queries import reports as reports_q
from store.queries.reports import CohortRow

KINDS = ("week", "month", "quarter", "year")
KIND_LABELS = {"week": "周小结", "month": "月度综合分析", "quarter": "季度总结", "year": "年度总结"}
HOT = 5
_PLACE = re.compile(r"[^\s,，;；]{1,12}?(?:街道|镇|乡|社区|村|小区|路)")
_FORMS = (r"(\d{4})-W(\d{2})", r"(\d{4})-(\d{2})", r"(\d{4})-Q([1-4])", r"(\d{4})")


@dataclass(frozen=True)
class Period:
    """A week, month, quarter or year: its key (``2026-W47``, ``2026-11``, ``2026-Q4``, ``2026``),
    its Chinese title and its local bounds ``[start, end)``."""

    kind: str
    key: str
    title: str
    start: datetime
    end: datetime


def parse_period(cal: WorkCalendar, text: str) -> Period:
    """``2026-W47`` / ``2026-11`` / ``2026-Q4`` / ``2026`` → the period; ValueError otherwise."""
    text = (text or "").strip().upper()
    for kind, form in zip(KINDS, _FORMS, strict=True):
        m = re.fullmatch(form, text)
        if not m:
            continue
        year = int(m.group(1))
        if kind == "week":
            monday = date.fromisocalendar(year, int(m.group(2)), 1)
            start = datetime.combine(monday, datetime.min.time(), tzinfo=cal.tz)
            sunday = monday + timedelta(days=6)
            return Period(kind, text, f"{monday.month}月{monday.day}日—{sunday.month}月{sunday.day}日",
                          start, start + timedelta(days=7))
        if kind == "month":
            start, end = timing.month_bounds(cal, text)
            return Period(kind, text, f"{year}年{int(m.group(2))}月", start, end)
        if kind == "quarter":
            q = int(m.group(2))
            start = timing.month_bounds(cal, f"{year}-{3 * q - 2:02d}")[0]
            end = timing.month_bounds(cal, f"{year}-{3 * q:02d}")[1]
            return Period(kind, text, f"{year}年第{'一二三四'[q - 1]}季度", start, end)
        return Period(kind, text, f"{year}年", datetime(year, 1, 1, tzinfo=cal.tz),
                      datetime(year + 1, 1, 1, tzinfo=cal.tz))
    raise ValueError(f"period must look like 2026-W47, 2026-11, 2026-Q4 or 2026, got {text!r}")


def period_key(kind: str, day: date) -> str:
    """The key of the ``kind`` period containing local ``day``."""
    if kind == "week":
        iso = day.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if kind == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if kind == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


@dataclass
class Figures:
    """One unit's (or the total's) period: plain counts and weighted sums for the rates."""

    unit: str
    name: str
    received: int = 0
    urgent: int = 0
    on_time: int = 0
    overdue: int = 0
    supervised: int = 0
    urged: int = 0
    w_dispatched: float = 0.0
    w_accepted: float = 0.0
    w_on_time: float = 0.0
    w_overdue: float = 0.0
    w_reviewed: float = 0.0
    w_first_pass: float = 0.0
    w_answered: float = 0.0
    w_told: float = 0.0
    w_satisfied: float = 0.0
    w_unsatisfied: float = 0.0

    @property
    def acceptance_rate(self) -> float | None:
        """受理率, percent."""
        return reports.rate(self.w_accepted, self.w_dispatched)

    @property
    def on_time_rate(self) -> float | None:
        """时限达标率, percent."""
        return reports.rate(self.w_on_time, self.w_on_time + self.w_overdue)

    @property
    def quality_rate(self) -> float | None:
        """质量合格率, percent."""
        return reports.rate(self.w_first_pass, self.w_reviewed)

    @property
    def feedback_rate(self) -> float | None:
        """反馈率, percent."""
        return reports.rate(self.w_told, self.w_answered)

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率, percent."""
        return reports.rate(self.w_satisfied, self.w_satisfied + self.w_unsatisfied)

    def rates(self) -> list[tuple[str, float | None]]:
        """The five rates with their names, in the report's order."""
        return [("受理率", self.acceptance_rate), ("时限达标率", self.on_time_rate),
                ("质量合格率", self.quality_rate), ("反馈率", self.feedback_rate),
                ("满意率", self.satisfaction_rate)]

    def add(self, row: CohortRow, weight: float, cutoff: datetime) -> None:
        """Count one ticket of the cohort (module docstring)."""
        self.received += 1
        self.urgent += weight > 1
        self.supervised += row.round > 1
        self.urged += row.urge_count > 0
        if row.dispatched_at is not None:
            self.w_dispatched += weight
            self.w_accepted += weight * (row.accepted_at is not None)
        if row.answered_at is not None:
            late = row.deadline is not None and row.answered_at > row.deadline
            self.on_time += not late
            self.overdue += late
            self.w_on_time += weight * (not late)
            self.w_overdue += weight * late
            self.w_answered += weight
            self.w_told += weight * (row.sms_told or row.feedback is not None)
        elif row.deadline is not None and row.deadline < cutoff and row.state != State.RETURNED.value:
            self.overdue += 1
            self.w_overdue += weight
        if row.first_review is not None:
            self.w_reviewed += weight
            self.w_first_pass += weight * (row.first_review == "approved")
        if row.feedback in reports.SATISFIED:
            self.w_satisfied += weight
        elif row.feedback in reports.UNSATISFIED:
            self.w_unsatisfied += weight


@dataclass
class PeriodReport:
    """A period's figures per unit and in total, and its hot spots."""

    period: Period
    units: list[Figures]
    total: Figures
    categories: list[tuple[str, int]] = field(default_factory=list)
    places: list[tuple[str, int]] = field(default_factory=list)

    def unit(self, code: str) -> Figures:
        """The figures of one unit."""
        return next(u for u in self.units if u.unit == code)


def place_of(address: str | None) -> str | None:
    """The place a ticket is counted under (module docstring), or None without an address."""
    if not address or not address.strip():
        return None
    m = _PLACE.search(address)
    return m.group(0) if m else address.strip()[:8]


def weigher(rulebook: RuleBook) -> Callable[[CohortRow], float]:
    """The weight of a ticket: ``report_weight`` of the rule it matches (overlays included)."""
    def weight(row: CohortRow) -> float:
        facts = TicketFacts(source=row.source, kind=row.kind, category=row.category, channel=row.channel,
                            tags=frozenset(row.tags or ()))
        return rulebook.match(facts).report_weight
    return weight


async def build_period_report(s: AsyncSession, names: dict[str, str], weight: Callable[[CohortRow], float],
                              period: Period, now: datetime, units: set[str] | None = None) -> PeriodReport:
    """The period's figures (one cohort read); ``names`` maps unit codes to names; ``units``: only
    those units' tickets count (None: every ticket)."""
    cutoff = min(period.end, now)
    figures = {code: Figures(code, name) for code, name in names.items()}
    total = Figures("*", "合计")
    categories: Counter[str] = Counter()
    places: Counter[str] = Counter()
    for row in await reports_q.cohort(s, period.start, period.end):
        if units is not None and row.unit_code not in units:
            continue
        code = row.unit_code or reports.NO_UNIT
        f = figures.get(code)
        if f is None:
            f = figures[code] = Figures(code, "（未派单）" if row.unit_code is None else code)
        w = weight(row)
        f.add(row, w, cutoff)
        total.add(row, w, cutoff)
        categories[row.category or row.kind or "未分类"] += 1
        place = place_of(row.address)
        if place:
            places[place] += 1
    return PeriodReport(period, list(figures.values()), total, categories.most_common(HOT), places.most_common(HOT))


# ---- chat text ----------------------------------------------------------------------------------


def period_text(report: PeriodReport, link: str | None = None) -> str:
    """The report as the office's chat message: the totals, each unit's line, the hot spots."""
    p, t = report.period, report.total
    lines = [f"【{KIND_LABELS[p.kind]}】{p.title}：受理 {t.received} 件（紧急 {t.urgent} 件），按期办结 {t.on_time} 件，"
             f"超期 {t.overdue} 件，督办 {t.supervised} 件，催办 {t.urged} 件。"]
    if p.kind != "week":
        lines.append("；".join(f"{name} {reports.pct(v)}" for name, v in t.rates()) + "（紧急类按规则权重计）。")
    lines.append("各单位办理情况：")
    for u in report.units:
        if not u.received:
            continue
        line = f"{u.name}：受理 {u.received}，按期 {u.on_time}，超期 {u.overdue}，督办 {u.supervised}"
        if p.kind != "week":
            line += "，" + "，".join(f"{name} {reports.pct(v)}" for name, v in u.rates())
        lines.append(line)
    if report.categories:
        lines.append("热点类别：" + "、".join(f"{k} {n}" for k, n in report.categories))
    if report.places:
        lines.append("热点地点：" + "、".join(f"{k} {n}" for k, n in report.places))
    if link:
        lines.append(f"报表和图表：{link}")
    return "\n".join(lines)


# ---- files --------------------------------------------------------------------------------------

HEADERS = ("单位代码", "单位", "受理量", "紧急", "按期办结", "超期", "督办", "催办",
           "受理率", "时限达标率", "质量合格率", "反馈率", "满意率")
DEFINITIONS = (
    ("受理率", "已签收 / 已派单（按规则权重）"),
    ("时限达标率", "按期办结 / (按期办结 + 超期)（按规则权重）"),
    ("质量合格率", "首次审核即通过的答复 / 经审核的答复（按规则权重）"),
    ("反馈率", "已告知来电人（答复或回访短信已发出，或已有评价） / 已答复（按规则权重）"),
    ("满意率", "(满意 + 认可) / (满意 + 认可 + 不满意)（按规则权重）"),
    ("督办", "被发回重办（第2轮及以后）的工单数"),
)


def _row(u: Figures) -> list[object]:
    return [u.unit, u.name, u.received, u.urgent, u.on_time, u.overdue, u.supervised, u.urged,
            *(v for _, v in u.rates())]


def write_xlsx(report: PeriodReport, path: Path) -> Path:
    """The report as a workbook: the figures, the hot spots and the definitions, one sheet each."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "指标"
    ws.append([f"{report.period.title} {KIND_LABELS[report.period.kind]}"])
    ws.append(list(HEADERS))
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for u in report.units:
        if u.received:
            ws.append(_row(u))
    ws.append(_row(report.total))
    ws.freeze_panes = "A3"
    hot = wb.create_sheet("热点")
    hot.append(["类别", "件数", "地点", "件数"])
    for i in range(max(len(report.categories), len(report.places))):
        c = report.categories[i] if i < len(report.categories) else ("", None)
        p = report.places[i] if i < len(report.places) else ("", None)
        hot.append([c[0], c[1], p[0], p[1]])
    defs = wb.create_sheet("口径")
    defs.append(["指标", "计算方法"])
    for name, text in DEFINITIONS:
        defs.append([name, text])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_chart(report: PeriodReport, path: Path) -> Path:
    """A grouped bar chart of the five rates per unit (PNG, rendered here)."""
    shown = [u for u in report.units if u.received]
    plain = ("accepted", "on time", "quality", "feedback", "satisfied")
    series = [(name, plain[i], [u.rates()[i][1] for u in shown]) for i, (name, _) in enumerate(report.total.rates())]
    return reports.bar_chart(path, f"{report.period.title} {KIND_LABELS[report.period.kind]}",
                             f"{report.period.key} rates", [(u.name, u.unit) for u in shown], series)


def write_files(report: PeriodReport, out_dir: Path) -> list[Path]:
    """The .xlsx and .png of ``report``."""
    stem = out_dir / f"hotline-{report.period.kind}-{report.period.key}"
    return [write_xlsx(report, stem.with_suffix(".xlsx")), write_chart(report, stem.with_suffix(".png"))]


def report_link(ctx: BotContext, period: Period) -> str | None:
    """The console page of ``period`` under ``[server] public_url``, or None without one."""
    base = ctx.config.server.public_url.rstrip("/")
    if not base or not ctx.config.platforms.console.enabled:
        return None
    return f"{base}/console/reports/period?period={period.key}"


# ---- the job ------------------------------------------------------------------------------------


def due_periods(cal: WorkCalendar, now: datetime) -> list[str]:
    """The periods whose report is due on the first working day of a month: last month, and last
    quarter / last year when the month starts one."""
    today = cal.local_date(now)
    last = today.replace(day=1) - timedelta(days=1)
    keys = [period_key("month", last)]
    if today.month in (1, 4, 7, 10):
        keys.append(period_key("quarter", last))
    if today.month == 1:
        keys.append(period_key("year", last))
    return keys


async def period_reports(ctx: BotContext, now: datetime) -> int:
    """First working day of a month: last month's 综合分析, and the quarter's and the year's 总结
    when one has ended → the office, with the .xlsx and the chart written beside the monthly files."""
    names = {code: u.name for code, u in ctx.directory.units.items()}
    weight = weigher(ctx.service.rulebook)
    sent = 0
    for key in due_periods(ctx.calendar, now):
        period = parse_period(ctx.calendar, key)
        async with ctx.sessions.begin() as s:
            if not await ledger.claim(s, [("office", f"period_{period.kind}", key)], now):
                continue
            report = await build_period_report(s, names, weight, period, now)
            try:
                await asyncio.to_thread(write_files, report, reports.reports_dir(ctx.config))
            except OSError as exc:
                reports.log.error("period report files not written: %s", exc)
            reports.to_office(ctx, s, now, period_text(report, report_link(ctx, period)), period.kind)
        sent += 1
    return sent


async def weekly_units(ctx: BotContext, now: datetime) -> int:
    """Monday: last week's 小结 per unit (volumes, on time, overdue, 督办, hot spots) → the office."""
    last_week = ctx.calendar.local_date(now) - timedelta(days=7)
    period = parse_period(ctx.calendar, period_key("week", last_week))
    names = {code: u.name for code, u in ctx.directory.units.items()}
    async with ctx.sessions.begin() as s:
        if not await ledger.claim(s, [("office", "period_week", period.key)], now):
            return 0
        report = await build_period_report(s, names, weigher(ctx.service.rulebook), period, now)
        reports.to_office(ctx, s, now, period_text(report, report_link(ctx, period)), "week")
    return 1
