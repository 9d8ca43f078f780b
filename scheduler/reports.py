"""The office's figures: the weekly analysis (平顶山 “周分析”) and the monthly report (利川 三率,
吉林 第七条 “每月通报排名，对连续 3 个月排名后 3 位的承办单位…约谈”).

Definitions of the monthly figures, per unit (the ticket's current unit); the month's *cohort* is
the tickets whose ``received_at`` falls in the month (local zone):

- 受理量 ``received``: tickets of the cohort.
- 按期办结 ``on_time``: answered (``answered_at`` set) no later than the deadline (none set: on time).
- 超期 ``overdue``: answered after the deadline, or not answered, not returned, with the deadline
  passed before the cut-off (the end of the month, or the moment of the report if earlier).
- 及时响应率 ``response_rate``: of the cohort's dispatched tickets, the share accepted (签收) within
  1 working day of the dispatch, i.e. by the end of the office day of the first working day after
  the dispatch day (:func:`scheduler.timing.response_due`, the same ``1wd`` reading as ``docs/design.md``, deadlines).
- 按期办结率 ``on_time_rate``: on_time / (on_time + overdue); tickets still within time wait.
- 满意率 ``satisfaction_rate``: (满意 + 认可) / (满意 + 认可 + 不满意); 未评价 is left out.
- 延期 ``extensions``: extensions granted; 退单 ``givebacks``: tickets in state ``returned``.
- Ranking: units with tickets in the month, by ``score`` (the mean of their available rates, in
  percent), then more tickets first, then unit code. Units with nothing received are not ranked.
- Bottom 3: the last three places of the ranking, only when more than three units are ranked; a
  unit there in this month and the two before it is flagged for the office's talk (约谈).

Files: ``write_monthly_report`` writes an .xlsx (openpyxl) and a PNG bar chart (matplotlib, Agg,
with a CJK font found on the system, e.g. ``fonts-noto-cjk``; without one the chart falls back to
unit codes so it stays legible). The monthly job writes them under :func:`reports_dir`: a
``reports`` folder beside a SQLite store file, else ``<tmp>/hotline-reports`` — no new config key.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar import WorkCalendar
from bot.clock import SystemClock
from bot.config import Config
from bot.context import BotContext
from bot.lifecycle import OWING_STATES, State, values
from bot.messages import OutgoingMessage
from bot.notices import fmt_time
from bot.outbox import Target
from bot.reading.service import period_topics, topic_lines
from bot.reading.words import place_words
from scheduler import ledger, timing
from scheduler.quiet import QuietHours
from store.db import create_engine, session_factory
from store.models import Ticket

log = logging.getLogger("hotline.reports")

SATISFIED = frozenset({"满意", "认可"})
UNSATISFIED = frozenset({"不满意"})
NO_UNIT = "—"


def rate(num: float, den: float) -> float | None:
    """``num / den`` as a percentage to one decimal, or None when there is nothing to rate
    (``den == 0``); the one rate of every report (monthly, weekly and the period reports)."""
    return None if den == 0 else round(100.0 * num / den, 1)


def pct(value: float | None) -> str:
    """A rate as the reports print it: ``92.5%``, or ``—`` when there was nothing to rate."""
    return "—" if value is None else f"{value:.1f}%"


@dataclass
class UnitFigures:
    """One unit's month."""

    unit: str
    name: str
    received: int = 0
    dispatched: int = 0
    responded: int = 0
    answered: int = 0
    on_time: int = 0
    overdue: int = 0
    satisfied: int = 0
    unsatisfied: int = 0
    extensions: int = 0
    givebacks: int = 0
    supervised: int = 0  # 督办件: tickets with a 督办 level (平顶山 六、督办机制)
    rank: int | None = None

    @property
    def response_rate(self) -> float | None:
        """及时响应率, percent."""
        return rate(self.responded, self.dispatched)

    @property
    def on_time_rate(self) -> float | None:
        """按期办结率, percent."""
        return rate(self.on_time, self.on_time + self.overdue)

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率, percent."""
        return rate(self.satisfied, self.satisfied + self.unsatisfied)

    @property
    def score(self) -> float | None:
        """The mean of the available rates (None when none is available)."""
        rates = [r for r in (self.response_rate, self.on_time_rate, self.satisfaction_rate) if r is not None]
        return round(sum(rates) / len(rates), 1) if rates else None


@dataclass
class MonthReport:
    """A month's figures for every unit, its ranking and the 3-month bottom-3 list."""

    month: str
    units: list[UnitFigures]
    total: UnitFigures
    ranking: list[UnitFigures] = field(default_factory=list)
    bottom3: list[str] = field(default_factory=list)  # this month's last three places (unit codes)
    bottom3_streak: list[str] = field(default_factory=list)  # in the bottom 3 for 3 months running

    def unit(self, code: str) -> UnitFigures:
        """The figures of one unit."""
        return next(u for u in self.units if u.unit == code)


async def month_figures(s: AsyncSession, cal: WorkCalendar, names: dict[str, str], month: str,
                        now: datetime) -> tuple[list[UnitFigures], UnitFigures]:
    """Per-unit figures of ``month`` (one query over the month's cohort)."""
    start, end = timing.month_bounds(cal, month)
    cutoff = min(end, now)
    rows = await s.execute(
        select(Ticket.unit_code, Ticket.deadline, Ticket.answered_at, Ticket.dispatched_at,
               Ticket.accepted_at, Ticket.state, Ticket.feedback, Ticket.extensions_granted,
               Ticket.supervision_level)
        .where(Ticket.received_at >= start, Ticket.received_at < end))
    figures = {code: UnitFigures(code, name) for code, name in names.items()}
    total = UnitFigures("*", "合计")
    response_due: dict[object, datetime] = {}
    for unit, deadline, answered, dispatched, accepted, state, feedback, extensions, level in rows.all():
        code = unit or NO_UNIT
        f = figures.get(code)
        if f is None:
            f = figures[code] = UnitFigures(code, "（未派单）" if unit is None else code)
        for g in (f, total):
            g.received += 1
            g.extensions += extensions or 0
            g.supervised += level is not None
        if state == State.RETURNED.value:
            f.givebacks += 1
            total.givebacks += 1
        if dispatched is not None:
            day = cal.local_date(dispatched)
            due = response_due.get(day)
            if due is None:
                due = response_due[day] = timing.response_due(cal, dispatched)
            ok = accepted is not None and accepted <= due
            for g in (f, total):
                g.dispatched += 1
                g.responded += ok
        if answered is not None:
            late = deadline is not None and answered > deadline
            for g in (f, total):
                g.answered += 1
                g.on_time += not late
                g.overdue += late
        elif deadline is not None and deadline < cutoff and state != State.RETURNED.value:
            f.overdue += 1
            total.overdue += 1
        if feedback in SATISFIED:
            f.satisfied += 1
            total.satisfied += 1
        elif feedback in UNSATISFIED:
            f.unsatisfied += 1
            total.unsatisfied += 1
    return list(figures.values()), total


def rank(units: list[UnitFigures]) -> list[UnitFigures]:
    """Units with tickets, best first; sets ``rank`` on each."""
    ranked = sorted((u for u in units if u.received and u.unit != NO_UNIT),
                    key=lambda u: (-(u.score if u.score is not None else -1.0), -u.received, u.unit))
    for i, u in enumerate(ranked, 1):
        u.rank = i
    return ranked


def bottom(ranked: list[UnitFigures], n: int = 3) -> list[str]:
    """The unit codes in the last ``n`` places; none when no more than ``n`` units are ranked
    (with three units or fewer, "the last three" would name everyone, the best one included)."""
    if len(ranked) <= n:
        return []
    return [u.unit for u in ranked[-n:]]


async def build_report(s: AsyncSession, cal: WorkCalendar, names: dict[str, str], month: str,
                       now: datetime) -> MonthReport:
    """The month's figures, ranking, and the units in the bottom 3 for 3 months running."""
    units, total = await month_figures(s, cal, names, month, now)
    ranked = rank(units)
    report = MonthReport(month, units, total, ranked, bottom(ranked))
    streak = set(report.bottom3)
    for back in (1, 2):
        if not streak:
            break
        earlier, _ = await month_figures(s, cal, names, timing.previous_month(month, back), now)
        streak &= set(bottom(rank(earlier)))
    report.bottom3_streak = [u for u in report.bottom3 if u in streak]
    return report


def report_link(config: Config, month: str) -> str | None:
    """The console's report page of ``month`` under ``[server] public_url``, or None without one."""
    base = config.server.public_url.rstrip("/")
    if not base or not config.platforms.console.enabled:
        return None
    return f"{base}/console/reports?month={month}"


def month_text(report: MonthReport, link: str | None = None, hot: Sequence[str] = ()) -> str:
    """The office's monthly 通报 as chat text; ``hot`` the month's hot-topic lines
    (:func:`hot_topic_lines`); ``link`` is the console page with the files (a chat reader cannot
    open a path on the server, so none is ever named)."""
    t = report.total
    year, mon = report.month.split("-")
    lines = [f"【月度通报】{year}年{int(mon)}月热线办理情况：受理 {t.received} 件，按期办结 {t.on_time} 件，"
             f"超期 {t.overdue} 件，延期 {t.extensions} 件，退单 {t.givebacks} 件，督办 {t.supervised} 件；"
             f"及时响应率 {pct(t.response_rate)}，按期办结率 {pct(t.on_time_rate)}，满意率 {pct(t.satisfaction_rate)}。"]
    if report.ranking:
        lines.append("单位排名：")
        for u in report.ranking:
            lines.append(f"{u.rank}. {u.name} 综合 {pct(u.score)}（受理 {u.received}，超期 {u.overdue}，"
                         f"响应 {pct(u.response_rate)}，按期 {pct(u.on_time_rate)}，满意 {pct(u.satisfaction_rate)}）")
    lines += hot
    if report.bottom3_streak:
        names = "、".join(report.unit(c).name for c in report.bottom3_streak)
        lines.append(f"连续3个月排名后3位：{names}，请按规定约谈。")
    if link:
        lines.append(f"报表和图表：{link}")
    return "\n".join(lines)


# ---- files -------------------------------------------------------------------------------------

HEADERS = ("排名", "单位代码", "单位", "受理量", "派单", "及时签收", "已办结", "按期办结", "超期",
           "及时响应率", "按期办结率", "满意", "不满意", "满意率", "延期", "退单", "综合", "督办件")


def _row(u: UnitFigures) -> list[object]:
    return [u.rank, u.unit, u.name, u.received, u.dispatched, u.responded, u.answered, u.on_time, u.overdue,
            u.response_rate, u.on_time_rate, u.satisfied, u.unsatisfied, u.satisfaction_rate, u.extensions,
            u.givebacks, u.score, u.supervised]


def write_xlsx(report: MonthReport, path: Path, units: list[UnitFigures]) -> Path:
    """The figures as a workbook: one sheet per unit row plus the bottom-3 sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = f"{report.month} 通报"
    ws.append(list(HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for u in sorted(units, key=lambda u: (u.rank is None, u.rank or 0, u.unit)):
        ws.append(_row(u))
    if len(units) > 1:
        ws.append(_row(report.total))
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDEFGHIJKLMNOPQ", (6, 12, 18, *([10] * 14)), strict=True):
        ws.column_dimensions[col].width = width
    ws2 = wb.create_sheet("连续后三位")
    ws2.append(["单位代码", "单位", "说明"])
    for code in report.bottom3_streak:
        ws2.append([code, report.unit(code).name, "连续3个月排名后3位"])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


_CJK_HINTS = ("Noto Sans CJK", "Noto Serif CJK", "Source Han", "WenQuanYi", "SimHei", "Microsoft YaHei",
              "PingFang", "Droid Sans Fallback", "AR PL")


def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, or None."""
    from matplotlib import font_manager

    def known() -> str | None:
        names = sorted({f.name for f in font_manager.fontManager.ttflist})
        for hint in _CJK_HINTS:
            for name in names:
                if name.startswith(hint):
                    return name
        return None

    found = known()
    if found:
        return found
    for path in font_manager.findSystemFonts():  # a font installed after matplotlib built its cache
        low = path.lower()
        if any(k in low for k in ("notosanscjk", "notoserifcjk", "noto-cjk", "wqy", "sourcehan", "droidsansfallback")):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    return known()


def write_chart(report: MonthReport, path: Path, units: list[UnitFigures]) -> Path:
    """A grouped bar chart of the three rates per unit."""
    shown = [u for u in units if u.received]
    year, mon = report.month.split("-")
    return bar_chart(path, f"{year}年{int(mon)}月 热线办理三率", f"{report.month} rates",
                     [(u.name, u.unit) for u in shown],
                     [("及时响应率", "response", [u.response_rate for u in shown]),
                      ("按期办结率", "on time", [u.on_time_rate for u in shown]),
                      ("满意率", "satisfied", [u.satisfaction_rate for u in shown])])


def bar_chart(path: Path, title: str, plain_title: str, labels: list[tuple[str, str]],
              series: list[tuple[str, str, list[float | None]]]) -> Path:
    """A grouped bar chart of rates (percent) written as a PNG, rendered here (Agg, no network).

    ``labels`` and ``series`` carry a Chinese and a plain name each: without a CJK font on the
    system the plain ones are drawn, so the chart stays legible.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    font = cjk_font()
    if font is None:
        log.warning("no CJK font found (install fonts-noto-cjk); the chart uses unit codes")
    rc = {"font.family": [font, "sans-serif"], "axes.unicode_minus": False} if font else {}
    with plt.rc_context(rc):
        fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(labels) + 2), 4.5), dpi=110)
        width = 0.8 / max(1, len(series))
        xs = range(len(labels))
        for i, (name, plain, values) in enumerate(series):
            offset = (i - (len(series) - 1) / 2) * width
            ax.bar([x + offset for x in xs], [v or 0 for v in values], width, label=name if font else plain)
        ax.set_xticks(list(xs), [zh if font else plain for zh, plain in labels], rotation=20 if len(labels) > 6 else 0)
        ax.set_ylim(0, 125)  # headroom above 100 % for the legend
        ax.set_ylabel("%")
        ax.set_title(title if font else plain_title)
        ax.legend(loc="upper center", ncol=len(series), frameon=False)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        plt.close(fig)
    return path


def write_files(report: MonthReport, out_dir: Path, unit: str | None = None) -> list[Path]:
    """The .xlsx and .png of ``report`` (one unit's only, when ``unit`` is given)."""
    units = [u for u in report.units if unit is None or u.unit == unit]
    stem = f"hotline-report-{report.month}" + (f"-{unit}" if unit else "")
    return [write_xlsx(report, out_dir / f"{stem}.xlsx", units), write_chart(report, out_dir / f"{stem}.png", units)]


def reports_dir(config: Config) -> Path:
    """Where the monthly job writes its files: beside a SQLite store, else the temp dir."""
    url = make_url(config.store.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / "reports"
    return Path(tempfile.gettempdir()) / "hotline-reports"


def parse_month(cal: WorkCalendar, month: str) -> str:
    """``month`` when it reads ``YYYY-MM`` (a real month); ValueError otherwise."""
    import re

    if not re.fullmatch(r"\d{4}-\d{2}", month or ""):
        raise ValueError(f"month must look like 2026-11, got {month!r}")
    timing.month_bounds(cal, month)
    return month


async def monthly_report_files(config: Config, month: str, out_dir: Path | None = None,
                               unit: str | None = None, *,
                               now: datetime | None = None) -> tuple[MonthReport, list[Path]]:
    """``hotline-bot report``: compute ``month`` (``YYYY-MM``) from the store and write the files
    (to :func:`reports_dir` unless ``out_dir`` is given); the report and the files.

    The store must be ready (see :func:`bot.preflight.ready_store`); ``unit`` is a unit code.
    """
    cal = config.calendar.work_calendar()
    parse_month(cal, month)
    if unit is not None and unit not in {u.code for u in config.units}:
        raise ValueError(f"unknown unit {unit!r}")
    engine = create_engine(config.store.url)
    try:
        async with session_factory(engine)() as s:
            report = await build_report(s, cal, {u.code: u.name for u in config.units}, month,
                                        now or SystemClock().now())
    finally:
        await engine.dispose()
    files = await asyncio.to_thread(write_files, report, out_dir or reports_dir(config), unit)
    return report, files


async def write_monthly_report(config: Config, month: str, out_dir: Path | None = None, unit: str | None = None,
                               *, now: datetime | None = None) -> list[Path]:
    """The files of :func:`monthly_report_files`."""
    return (await monthly_report_files(config, month, out_dir, unit, now=now))[1]


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def figures_table(report: MonthReport, unit: str | None = None) -> str:
    """The month's figures as a short plain-text table (the CLI prints it)."""
    rows = [["排名", "单位", "受理", "按期办结", "超期", "响应率", "按期率", "满意率", "综合"]]
    shown = [u for u in report.units if unit is None or u.unit == unit]
    for u in sorted(shown, key=lambda u: (u.rank is None, u.rank or 0, u.unit)):
        rows.append(["—" if u.rank is None else str(u.rank), u.name, str(u.received), str(u.on_time),
                     str(u.overdue), pct(u.response_rate), pct(u.on_time_rate), pct(u.satisfaction_rate),
                     pct(u.score)])
    if unit is None and len(shown) > 1:
        t = report.total
        rows.append(["", t.name, str(t.received), str(t.on_time), str(t.overdue), pct(t.response_rate),
                     pct(t.on_time_rate), pct(t.satisfaction_rate), ""])
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    streak = [c for c in report.bottom3_streak if unit is None or c == unit]
    if streak:
        lines.append("连续3个月排名后3位：" + "、".join(report.unit(c).name for c in streak))
    return "\n".join(lines)


# ---- the jobs ----------------------------------------------------------------------------------

async def monthly_report(ctx: BotContext, now: datetime) -> int:
    """1st working day: last month's 通报 to the office, with the .xlsx and the chart written."""
    local = ctx.calendar.local(now)
    month = timing.previous_month(f"{local.year:04d}-{local.month:02d}")
    names = {code: u.name for code, u in ctx.directory.units.items()}
    async with ctx.sessions.begin() as s:
        if not await ledger.claim(s, [("office", "monthly", month)], now):
            return 0
        report = await build_report(s, ctx.calendar, names, month, now)
        try:
            await asyncio.to_thread(write_files, report, reports_dir(ctx.config))
        except OSError as exc:
            log.error("monthly report files not written: %s", exc)
        hot = await hot_topic_lines(s, names, *timing.month_bounds(ctx.calendar, month), place_words(ctx.config))
        to_office(ctx, s, now, month_text(report, report_link(ctx.config, month), hot), "monthly")
    return 1


async def hot_topic_lines(s: AsyncSession, names: dict[str, str], start: datetime, end: datetime,
                          places: Sequence[str] = ()) -> list[str]:
    """平顶山 周分析 “梳理热点、难点问题”: the period's top topics (clusters of tickets about one
    matter, ranked by heat; ``bot.reading``) as report lines, none when nothing repeats."""
    found = await period_topics(s, start, end, names, top=5, places=places)
    return ["热点问题：", *topic_lines(found)] if found else []


async def weekly_analysis(ctx: BotContext, now: datetime) -> int:
    """Monday: last week's intake, on-time rate, the overdue list and hot topics → the office."""
    cal = ctx.calendar
    this_monday = timing.week_start(cal.local_date(now))
    last_monday = this_monday - timedelta(days=7)
    start = datetime.combine(last_monday, datetime.min.time(), tzinfo=cal.tz)
    end = datetime.combine(this_monday, datetime.min.time(), tzinfo=cal.tz)
    iso = last_monday.isocalendar()
    slot = f"{iso.year}-W{iso.week:02d}"
    async with ctx.sessions.begin() as s:
        if not await ledger.claim(s, [("office", "weekly", slot)], now):
            return 0
        intake = (await s.execute(select(Ticket.kind, Ticket.tags)
                                  .where(Ticket.received_at >= start, Ticket.received_at < end))).all()
        answered = (await s.execute(select(Ticket.answered_at, Ticket.deadline)
                                    .where(Ticket.answered_at >= start, Ticket.answered_at < end))).all()
        overdue = (await s.execute(
            select(Ticket.number, Ticket.unit_code, Ticket.deadline)
            .where(Ticket.state.in_(OVERDUE_STATES), Ticket.deadline.is_not(None), Ticket.deadline < now)
            .order_by(Ticket.deadline))).all()
        kinds = Counter(k or "未分类" for k, _ in intake)
        tags = Counter(t for _, ts in intake for t in ts or ())
        on_time = sum(1 for a, d in answered if d is None or a <= d)
        lines = [f"【周分析】{last_monday.month}月{last_monday.day}日—{(this_monday - timedelta(days=1)).month}月"
                 f"{(this_monday - timedelta(days=1)).day}日：受理 {len(intake)} 件；办结 {len(answered)} 件，"
                 f"其中按期 {on_time} 件（按期率 {pct(rate(on_time, len(answered)))}）。"]
        if overdue:
            shown = "；".join(f"{n}（{ctx.directory.unit_name(u)}，时限 {fmt_time(cal, d)}）" for n, u, d in overdue[:10])
            more = f" 等 {len(overdue)} 件" if len(overdue) > 10 else ""
            lines.append(f"当前超期 {len(overdue)} 件：{shown}{more}。")
        else:
            lines.append("当前无超期工单。")
        if kinds:
            lines.append("热点类型：" + "、".join(f"{k} {c}" for k, c in kinds.most_common(5)))
        if tags:
            lines.append("热点标签：" + "、".join(f"{k} {c}" for k, c in tags.most_common(5)))
        lines += await hot_topic_lines(s, {code: u.name for code, u in ctx.directory.units.items()}, start, end,
                                      place_words(ctx.config))
        to_office(ctx, s, now, "\n".join(lines), "weekly")
    return 1


OVERDUE_STATES = values(OWING_STATES)


def to_office(ctx: BotContext, s: AsyncSession, now: datetime, text: str, kind: str) -> None:
    """Queue a report for the office chat (held through quiet hours)."""
    not_before = QuietHours(ctx.calendar, ctx.config.scheduler.quiet_hours).not_before(now)
    ctx.outbox.add(s, Target.to_office(), OutgoingMessage(text), kind=f"report_{kind}", not_before=not_before)
