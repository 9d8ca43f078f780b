"""``hotline-bot report`` as a real process, and the monthly message's link: a fresh folder is
prepared like ``serve`` does, ``--unit`` takes a code or a name, the figures are printed as a
table, the files go where the README says, and "后3位" needs more than three ranked units."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from scheduler import reports
from store.migrate import head_revision
from tests.cli.conftest import ROOT, clean_env, cli_command, example_text
from tests.conftest import base_config, local
from tests.scheduler.conftest import Desk, monthly_files, reminders, text
from tests.system.world import toml

NOW = local(2026, 12, 1, 9, 0)  # Tue: December's first working day
UNITS = [*base_config("sqlite://")["units"], {"code": "CGK", "name": "城管科", "parent": "BGS"}]


def report(config: Path, *argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``hotline-bot report -c CONFIG ARGV`` as a subprocess."""
    return subprocess.run([*cli_command(), "report", "-c", str(config), *argv], capture_output=True, text=True,
                          env=clean_env(), cwd=cwd, timeout=120)


def written(stdout: str) -> list[Path]:
    """The file paths the command printed."""
    return [Path(m) for m in re.findall(r"written: (.+)$", stdout, re.M)]


async def _four_units_three_months(desk: Desk) -> None:
    """September to November: one ticket a month for each of four units; YLK never signs, the
    others sign within the hour. Ranking each month: BGS, CGK, SHJZK (100 %, by code), YLK (0 %)."""
    for month in (9, 10, 11):
        for code in ("BGS", "CGK", "SHJZK", "YLK"):
            at = local(2026, month, 10, 10, 0)
            number = f"{code}-{month}"
            await desk.ticket(number, at=at, unit=code, accept_by=None)
            fields: dict[str, Any] = {"dispatched_at": at, "state": "dispatched"}
            if code != "YLK":
                fields.update(state="accepted", accepted_at=local(2026, month, 10, 11, 0))
            await desk.set_fields(number, **fields)


def test_report_on_a_fresh_folder_prepares_the_store_and_says_where_the_files_are(tmp_path: Path) -> None:
    db = tmp_path / "data" / "hotline.db"
    db.parent.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(example_text(f"sqlite+aiosqlite:///{db}"), encoding="utf-8")
    done = report(config, "--month", "2026-11", "--unit", "养老服务科", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    header, row = done.stdout.splitlines()[:2]
    assert header.split() == ["排名", "单位", "受理", "按期办结", "超期", "响应率", "按期率", "满意率", "综合"]
    assert row.split() == ["—", "养老服务科", "0", "0", "0", "—", "—", "—", "—"]
    files = written(done.stdout)
    # README, "Reminders and reports": reports/ beside a SQLite store
    assert [f.name for f in files] == ["hotline-report-2026-11-YLK.xlsx", "hotline-report-2026-11-YLK.png"]
    assert all(f.parent == db.parent / "reports" and f.is_file() for f in files)
    with sqlite3.connect(db) as conn:  # migrated as serve would
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (head_revision(),)


async def test_report_prints_the_ranking_and_flags_three_of_four_units(sched, clock, store_url: str,
                                                                       tmp_path: Path) -> None:
    _bot, desk, _ = await sched(units=UNITS)
    await _four_units_three_months(desk)
    doc = base_config(store_url, units=UNITS)
    config = tmp_path / "four.toml"
    config.write_text(toml(doc), encoding="utf-8")
    out = tmp_path / "out"
    done = report(config, "--month", "2026-11", "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    ranks = {cells[1]: cells[0] for cells in (line.split() for line in lines[1:5])}
    assert ranks == {"局办公室": "1", "城管科": "2", "社会救助科": "3", "养老服务科": "4"}
    assert lines[5].split()[:3] == ["合计", "4", "0"]
    # Four units ranked: the last three places, in the bottom three for three months running.
    assert lines[6] == "连续3个月排名后3位：城管科、社会救助科、养老服务科"
    files = written(done.stdout)
    assert [f.parent for f in files] == [out, out]
    flagged = [r[0] for r in load_workbook(files[0])["连续后三位"].iter_rows(min_row=2, values_only=True)]
    assert flagged == ["CGK", "SHJZK", "YLK"]

    one = report(config, "--month", "2026-11", "--unit", "ylk", "--out", str(out))  # a code, any case
    assert one.returncode == 0, one.stderr
    assert one.stdout.splitlines()[1].split()[:2] == ["4", "养老服务科"]
    assert one.stdout.splitlines()[2] == "连续3个月排名后3位：养老服务科"


async def test_monthly_message_links_to_the_console_page_not_a_file(sched, clock) -> None:
    bot, desk, runner = await sched(units=UNITS, server={"secret": "s", "public_url": "https://12345.example.gov.cn/"},
                                    platforms={"console": {"enabled": True}})
    await _four_units_three_months(desk)
    clock.set(NOW)
    assert await runner.run_job("monthly_report") == 1
    body = text((await reminders(bot.ctx, "report_monthly"))[0])
    assert body.splitlines()[-2] == "连续3个月排名后3位：城管科、社会救助科、养老服务科，请按规定约谈。"
    assert body.splitlines()[-1] == "报表和图表：https://12345.example.gov.cn/console/reports?month=2026-11"
    files = monthly_files(bot.ctx.config)
    assert files and all(str(f) not in body and f.name not in body for f in files)


async def test_monthly_message_without_public_url_names_no_path(sched, clock) -> None:
    bot, desk, runner = await sched(units=UNITS)
    await _four_units_three_months(desk)
    clock.set(NOW)
    assert await runner.run_job("monthly_report") == 1
    body = text((await reminders(bot.ctx, "report_monthly"))[0])
    assert body.splitlines()[-1] == "连续3个月排名后3位：城管科、社会救助科、养老服务科，请按规定约谈。"
    assert "报表和图表" not in body and "hotline-report" not in body
    assert all(str(f.parent) not in body for f in monthly_files(bot.ctx.config))


def test_bottom_three_needs_more_than_three_ranked_units() -> None:
    def ranked(*scores: float) -> list[reports.UnitFigures]:
        units = []
        for i, score in enumerate(scores):
            u = reports.UnitFigures(f"U{i}", f"单位{i}", received=1, dispatched=100, responded=int(score))
            units.append(u)
        return reports.rank(units)

    assert reports.bottom(ranked(90, 80, 10)) == []
    assert reports.bottom(ranked(90, 80, 70, 10)) == ["U1", "U2", "U3"]
    assert reports.bottom(ranked(90, 85, 80, 70, 10)) == ["U2", "U3", "U4"]
