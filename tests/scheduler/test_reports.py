"""The monthly figures against a small fixture month computed by hand."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from scheduler import reports
from tests.conftest import local
from tests.scheduler.conftest import monthly_files, reminders, text

NOW = local(2026, 12, 1, 9, 0)


async def _fixture_month(desk) -> None:
    """November 2026 (plus one ticket each in September and October), fields written explicitly."""
    async def make(number: str, at, unit: str, **fields) -> None:
        await desk.ticket(number, at=at, unit=unit, accept_by=None)
        await desk.set_fields(number, dispatched_at=at, **fields)

    # YLK: 4 received; responded 3/4; on time 1, overdue 2 (one late answer, one open past due); 满意 1/2
    await make("Y1", local(2026, 11, 2, 10, 0), "YLK", state="answered", accepted_at=local(2026, 11, 2, 11, 0),
               deadline=local(2026, 11, 11, 17, 30), answered_at=local(2026, 11, 10, 9, 0), feedback="满意")
    # dispatched Fri 15:00, accepted Mon 17:00 (before Mon 17:30: in time); answered a day late
    await make("Y2", local(2026, 11, 6, 15, 0), "YLK", state="answered", accepted_at=local(2026, 11, 9, 17, 0),
               deadline=local(2026, 11, 17, 17, 30), answered_at=local(2026, 11, 18, 10, 0), feedback="不满意",
               extensions_granted=1)
    # accepted two working days after dispatch: not in time; still open past its deadline
    await make("Y3", local(2026, 11, 10, 9, 0), "YLK", state="accepted", accepted_at=local(2026, 11, 12, 9, 0),
               deadline=local(2026, 11, 20, 17, 30))
    # within time at the end of the month: neither on time nor overdue yet
    await make("Y4", local(2026, 11, 25, 9, 0), "YLK", state="accepted", accepted_at=local(2026, 11, 25, 9, 30),
               deadline=local(2026, 12, 4, 17, 30))
    # SHJZK: 2 received; responded 2/2; on time 1/1; 认可 1/1; one giveback
    await make("S1", local(2026, 11, 3, 10, 0), "SHJZK", state="archived", accepted_at=local(2026, 11, 3, 10, 5),
               deadline=local(2026, 11, 12, 17, 30), answered_at=local(2026, 11, 11, 9, 0), feedback="认可")
    await make("S2", local(2026, 11, 4, 10, 0), "SHJZK", state="returned", accepted_at=local(2026, 11, 4, 10, 5),
               deadline=local(2026, 11, 13, 17, 30))
    # earlier months, for the 3-month bottom-3 rule
    await make("S-OCT", local(2026, 10, 30, 10, 0), "SHJZK", state="accepted", accepted_at=local(2026, 10, 30, 11, 0))
    await make("Y-OCT", local(2026, 10, 15, 10, 0), "YLK", state="accepted")
    await make("Y-SEP", local(2026, 9, 15, 10, 0), "YLK", state="accepted")


async def test_month_figures_by_hand(sched, clock) -> None:
    bot, desk, _ = await sched()
    await _fixture_month(desk)
    names = {"BGS": "局办公室", "YLK": "养老服务科", "SHJZK": "社会救助科"}
    async with bot.ctx.sessions() as s:
        report = await reports.build_report(s, bot.ctx.calendar, names, "2026-11", NOW)
    y, sh = report.unit("YLK"), report.unit("SHJZK")
    assert (y.received, y.dispatched, y.responded, y.answered, y.on_time, y.overdue) == (4, 4, 3, 2, 1, 2)
    assert (y.satisfied, y.unsatisfied, y.extensions, y.givebacks) == (1, 1, 1, 0)
    assert (y.response_rate, y.on_time_rate, y.satisfaction_rate, y.score) == (75.0, 33.3, 50.0, 52.8)
    assert (sh.received, sh.responded, sh.on_time, sh.overdue, sh.givebacks) == (2, 2, 1, 0, 1)
    assert (sh.response_rate, sh.on_time_rate, sh.satisfaction_rate, sh.score) == (100.0, 100.0, 100.0, 100.0)
    t = report.total
    assert (t.received, t.on_time, t.overdue, t.extensions, t.givebacks) == (6, 2, 2, 1, 1)
    assert (t.response_rate, t.on_time_rate, t.satisfaction_rate) == (83.3, 50.0, 66.7)
    assert [u.unit for u in report.ranking] == ["SHJZK", "YLK"] and report.unit("BGS").rank is None
    # Two units ranked: "the last three" would name both, so nobody is flagged (more than three needed)
    assert report.bottom3 == [] and report.bottom3_streak == []


async def test_monthly_job_posts_to_office_and_writes_files(sched, clock, tmp_path: Path) -> None:
    bot, desk, runner = await sched()
    await _fixture_month(desk)
    clock.set(NOW)  # Tue 12-01: the first working day of December
    assert await runner.run_job("monthly_report") == 1
    assert await runner.run_job("monthly_report") is None
    row = (await reminders(bot.ctx, "report_monthly"))[0]
    body = text(row)
    assert row.dest_key == "console:console:bgs"
    assert body.splitlines()[0] == ("【月度通报】2026年11月热线办理情况：受理 6 件，按期办结 2 件，超期 2 件，延期 1 件，"
                                    "退单 1 件，督办 0 件；及时响应率 83.3%，按期办结率 50.0%，满意率 66.7%。")
    assert "1. 社会救助科 综合 100.0%" in body and "2. 养老服务科 综合 52.8%" in body
    assert "后3位" not in body  # only two units ranked
    files = monthly_files(bot.ctx.config)
    assert str(files[0].parent) not in body  # a chat reader cannot open a server path
    assert [f.suffix for f in files] == [".xlsx", ".png"]
    assert files[0].parent == reports.reports_dir(bot.ctx.config)
    if bot.ctx.config.store.url.startswith("sqlite"):
        assert files[0].parent == tmp_path / "reports"  # beside the SQLite store file
    assert files[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ws = load_workbook(files[0]).active
    rows = {r[1]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["YLK"][:11] == (2, "YLK", "养老服务科", 4, 4, 3, 2, 1, 2, 75.0, 33.3)
    assert rows["*"][3] == 6


async def test_report_command_for_one_unit(sched, clock, make_config, tmp_path: Path) -> None:
    _bot, desk, _ = await sched()
    await _fixture_month(desk)
    out = tmp_path / "out"
    files = await reports.write_monthly_report(make_config(), "2026-11", out, unit="SHJZK", now=NOW)
    assert [f.name for f in files] == ["hotline-report-2026-11-SHJZK.xlsx", "hotline-report-2026-11-SHJZK.png"]
    ws = load_workbook(files[0]).active
    data = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(data) == 1 and data[0][:4] == (1, "SHJZK", "社会救助科", 2)
    assert load_workbook(files[0])["连续后三位"].max_row == 1  # two units ranked: nobody flagged


def test_cjk_font_found_when_installed() -> None:
    import pytest
    from matplotlib import font_manager

    if not any("cjk" in p.lower() for p in font_manager.findSystemFonts()):
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert "CJK" in (reports.cjk_font() or "")
