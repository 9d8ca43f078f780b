"""A year given in full in the config (``[calendar.years.<year>]``) is covered: no Monday–Friday
fallback warning, ``check`` says so, and its 放假 / 调休 dates decide the working days."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from bot.bootstrap import build_calendar
from bot.calendar import PACKAGE_YEARS, WorkCalendar
from bot.cli import main
from bot.config import load_config

YEAR = PACKAGE_YEARS[1] + 1  # the first year the installed chinesecalendar does not know

CONFIG = f"""
[intake]
secret = "s"

[api]
tokens = ["t"]

[calendar.years.{YEAR}]
holidays = ["{YEAR}-01-01", "{YEAR}-10-01", "{YEAR}-10-04", "{YEAR}-10-05"]
workdays = ["{YEAR}-10-09"]
"""


def _first(weekday: int, month: int) -> date:
    d = date(YEAR, month, 1)
    while d.weekday() != weekday:
        d = d.replace(day=d.day + 1)
    return d


def test_a_year_in_the_config_is_covered_and_decides_working_days(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text(CONFIG, encoding="utf-8")
    cal = build_calendar(load_config(path))
    assert cal.is_covered(YEAR) and not cal.is_covered(YEAR + 1)
    assert cal.uncovered_years(date(YEAR, 1, 1), date(YEAR + 1, 1, 1)) == [YEAR + 1]
    with caplog.at_level(logging.WARNING, logger="hotline.calendar"):
        listed_holiday = date(YEAR, 10, 5)
        assert cal.is_workday(listed_holiday) is False
        assert cal.is_workday(date(YEAR, 10, 9)) is (True)  # listed 调休 working day
        monday = _first(0, 3)
        saturday = _first(5, 3)
        assert cal.is_workday(monday) and not cal.is_workday(saturday)
    assert not [r for r in caplog.records if str(YEAR) in r.getMessage()], "a covered year warned"
    with caplog.at_level(logging.WARNING, logger="hotline.calendar"):
        cal.is_workday(date(YEAR + 1, 3, 1))
    assert any(str(YEAR + 1) in r.getMessage() for r in caplog.records)


def test_uncovered_days_lists_the_days_of_unknown_years() -> None:
    start = date(YEAR - 1, 12, 20)
    bare = WorkCalendar()
    gap = bare.uncovered_days(start, 30)
    assert gap[0] == date(YEAR, 1, 1) and gap[-1] == date(YEAR, 1, 18) and len(gap) == 18
    assert WorkCalendar(official_years=[YEAR]).uncovered_days(start, 30) == []
    assert bare.uncovered_days(date(YEAR - 1, 6, 1), 60) == []
    assert bare.uncovered_days(start, 0) == []


def test_check_reports_the_configured_year_covered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hotline.toml"
    db = tmp_path / "h.db"
    store = f'[store]\nurl = "sqlite+aiosqlite:///{db}"\n'
    path.write_text(CONFIG + store, encoding="utf-8")
    assert main(["check", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"calendar {YEAR}: 已覆盖 / covered by [calendar.years.{YEAR}] (4 holidays, 1 workdays)" in out
    assert f"calendar year {YEAR} is not covered" not in out


@pytest.mark.parametrize(("table", "line"), [
    (f'holidays = ["{YEAR}-01-01"]\nworkdays = ["{YEAR}-01-01"]',
     f"calendar.years.{YEAR}: 同一天既放假又上班：{YEAR}-01-01"),
    (f'holidays = ["{YEAR + 1}-01-01"]', f"calendar.years.{YEAR}.holidays[0]: {YEAR + 1}-01-01 不在 {YEAR} 年"),
])
def test_a_wrong_year_table_names_its_key(tmp_path: Path, table: str, line: str) -> None:
    from bot.config import ConfigError

    path = tmp_path / "hotline.toml"
    path.write_text(CONFIG.split("[calendar")[0] + f"[calendar.years.{YEAR}]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).splitlines() == [line]
