"""``hotline-bot`` (the README's command line): help, deadline, check, db upgrade, run in-process or as a subprocess."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from store.migrate import head_revision
from tests.cli.conftest import ROOT, clean_env, cli_command, example_text
from tests.conftest import PG_URL

DEADLINE_KEYS = ["rule", "deadline", "internal_due", "first_contact_due", "progress"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse and config errors exit
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_the_commands() -> None:
    done = subprocess.run([*cli_command(), "--help"], capture_output=True, text=True, env=clean_env(),
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0
    for command in ("serve", "import", "db", "check", "deadline"):
        assert f"\n    {command} " in done.stdout or f"\n    {command}\n" in done.stdout, command


# Hand-computed on the 2026 calendar; received Monday 2026-11-23 09:00 unless said otherwise.
DEADLINE_CASES = [
    # songjiang 普通: 7wd → Wed 12-02, internal 6wd → Tue 12-01; 12345 first contact 1wd → Tue 11-24.
    ((), {"rule": "songjiang-普通", "deadline": "2026-12-02T17:30:00+08:00",
          "internal_due": "2026-12-01T17:30:00+08:00", "first_contact_due": "2026-11-24T17:30:00+08:00",
          "progress": None}),
    # 扬言 → 3wd (Thu 11-26), and progress daily; 市级催办 alone changes nothing.
    (("--tag", "扬言", "--tag", "市级催办"),
     {"rule": "songjiang-3wd", "deadline": "2026-11-26T17:30:00+08:00", "internal_due": None,
      "first_contact_due": "2026-11-24T17:30:00+08:00", "progress": "daily"}),
    # 962200: 5wd → Mon 11-30, internal 4wd → Fri 11-27; the 1wd first contact is for 12345 only.
    (("--source", "962200"),
     {"rule": "songjiang-962200", "deadline": "2026-11-30T17:30:00+08:00",
      "internal_due": "2026-11-27T17:30:00+08:00", "first_contact_due": None, "progress": None}),
    # The example config's own rule comes before the preset's: 咨询 + tag 养老 → 3wd.
    (("--kind", "咨询", "--tag", "养老"),
     {"rule": "民政-养老咨询", "deadline": "2026-11-26T17:30:00+08:00", "internal_due": None,
      "first_contact_due": "2026-11-24T17:30:00+08:00", "progress": None}),
    # jilin 紧急: 24 exact hours, first contact 24h.
    (("--preset", "jilin", "--category", "紧急"),
     {"rule": "jilin-紧急", "deadline": "2026-11-24T09:00:00+08:00", "internal_due": None,
      "first_contact_due": "2026-11-24T09:00:00+08:00", "progress": None}),
    # lichuan 疑难 (no category): 7wd, progress every 3wd.
    (("--preset", "lichuan"),
     {"rule": "lichuan-疑难", "deadline": "2026-12-02T17:30:00+08:00", "internal_due": None,
      "first_contact_due": None, "progress": "3wd"}),
]


@pytest.mark.parametrize(("flags", "expected"), DEADLINE_CASES)
def test_deadline_prints_the_json_of_section_4(capsys: pytest.CaptureFixture[str],
                                               write_config: Callable[..., Path],
                                               flags: tuple[str, ...], expected: dict[str, object]) -> None:
    cfg = write_config()
    code, out, err = run(capsys, "deadline", "-c", str(cfg), "--received", "2026-11-23T09:00:00+08:00", *flags)
    assert code == 0, err
    answer = json.loads(out)
    assert list(answer) == DEADLINE_KEYS
    assert answer == expected


def test_deadline_xinfang_rolls_past_national_day(capsys: pytest.CaptureFixture[str],
                                                  write_config: Callable[..., Path]) -> None:
    # Received Sat 2026-09-05; 复查 30d ends Mon 10-05, inside the National Day holiday (10-01..10-07),
    # so it rolls to the next working day, Thu 10-08.
    code, out, _ = run(capsys, "deadline", "-c", str(write_config()), "--received", "2026-09-05T10:00:00+08:00",
                       "--preset", "xinfang", "--kind", "复查")
    assert code == 0
    assert json.loads(out) == {"rule": "xinfang-复查复核", "deadline": "2026-10-08T17:30:00+08:00",
                               "internal_due": None, "first_contact_due": None, "progress": None}


def test_deadline_without_offset_is_exit_2(capsys: pytest.CaptureFixture[str],
                                           write_config: Callable[..., Path]) -> None:
    code, out, err = run(capsys, "deadline", "-c", str(write_config()), "--received", "2026-11-23T09:00:00")
    assert code == 2
    assert out == ""
    assert "--received" in err and "Traceback" not in err


def test_deadline_subprocess_exit_code(write_config: Callable[..., Path]) -> None:
    cfg = write_config()
    bad = subprocess.run([*cli_command(), "deadline", "-c", str(cfg), "--received", "2026-11-23 09:00"],
                         capture_output=True, text=True, env=clean_env(), cwd=ROOT, timeout=60)
    assert bad.returncode == 2 and bad.stdout == "" and "--received" in bad.stderr
    good = subprocess.run([*cli_command(), "deadline", "-c", str(cfg), "--received", "2026-11-21T10:00:00+08:00"],
                          capture_output=True, text=True, env=clean_env(), cwd=ROOT, timeout=60)
    assert good.returncode == 0, good.stderr
    # A Saturday: Mon 11-23 is the first working day after it, Tue 12-01 the seventh.
    assert json.loads(good.stdout)["deadline"] == "2026-12-01T17:30:00+08:00"


def test_check_passes_on_the_example_and_names_uncovered_years(capsys: pytest.CaptureFixture[str],
                                                               write_config: Callable[..., Path]) -> None:
    import chinese_calendar

    code, out, err = run(capsys, "check", "-c", str(write_config()))
    assert code == 0, err
    assert "config OK" in out
    today = date.today()
    for year in (today.year, today.year + 1):
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            assert f"calendar year {year} is not covered" in out
        else:
            assert f"calendar year {year} " not in out


def test_check_counts_extra_holidays_of_an_uncovered_year(capsys: pytest.CaptureFixture[str],
                                                          write_config: Callable[..., Path],
                                                          tmp_path: Path) -> None:
    text = example_text(f"sqlite+aiosqlite:///{tmp_path / 'h.db'}").replace(
        "extra_holidays = []", 'extra_holidays = ["2027-01-01", "2027-02-08"]', 1)
    code, out, _ = run(capsys, "check", "-c", str(write_config(text)))
    assert code == 0
    if date.today().year + 1 == 2027:
        assert "calendar year 2027 is not covered" in out and "plus 2 extra holiday(s)" in out


INVALID = [
    # (edit of the example text, the key path the error must name)
    (lambda t: t.replace("echo = false", "echo = false\ncolour = 1", 1), "store.colour"),
    (lambda t: t.replace('port = 8080 ', 'port = "eighty" ', 1), "server.port"),
    (lambda t: t.replace('office_day_end = "17:30"', 'office_day_end = "late"', 1), "calendar.office_day_end"),
    (lambda t: t.replace('roles = [{ unit = "SHJZK", role = "handler" }]',
                         'roles = [{ unit = "NOPE", role = "handler" }]', 1), "people[4].roles[0].unit"),
    (lambda t: t.replace('parent = "BGS"', 'parent = "XXX"', 1), "units[1].parent"),
    (lambda t: t.replace('unit = "YLK"                 # unit code', 'unit = "NOPE"', 1),
     "procedure.routing[0].unit"),
    (lambda t: t.replace('preset = "songjiang"  ', 'preset = "shanghai"  ', 1), "procedure.preset"),
    (lambda t: t.replace("${HOTLINE_INTAKE_SECRET:-demo-intake-secret}", "${HOTLINE_NOT_SET_ANYWHERE}", 1),
     "HOTLINE_NOT_SET_ANYWHERE"),
]


@pytest.mark.parametrize(("edit", "key"), INVALID)
def test_invalid_config_is_exit_2_naming_the_key(capsys: pytest.CaptureFixture[str],
                                                 write_config: Callable[..., Path], tmp_path: Path,
                                                 edit: Callable[[str], str], key: str) -> None:
    original = example_text(f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    text = edit(original)
    assert text != original, "the edit did not apply to config.example.toml"
    cfg = write_config(text)
    for command in (["check", "-c", str(cfg)], ["serve", "-c", str(cfg)], ["db", "upgrade", "-c", str(cfg)]):
        code, out, err = run(capsys, *command)
        assert code == 2, command
        assert key in err, err
        assert "Traceback" not in err and out == ""


def test_invalid_config_subprocess_has_no_traceback(write_config: Callable[..., Path], tmp_path: Path) -> None:
    text = example_text(f"sqlite+aiosqlite:///{tmp_path / 'h.db'}").replace(
        'roles = [{ unit = "YLK", role = "leader" }]', 'roles = [{ unit = "YLK", role = "boss" }]', 1)
    done = subprocess.run([*cli_command(), "check", "-c", str(write_config(text))], capture_output=True,
                          text=True, env=clean_env(), cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert "people[1].roles[0].role" in done.stderr and "Traceback" not in done.stderr


def test_missing_and_unparsable_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", "-c", str(tmp_path / "nope.toml"))
    assert code == 2 and "nope.toml" in err
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\nport = 1\n", encoding="utf-8")
    code, _, err = run(capsys, "check", "-c", str(broken))
    assert code == 2 and "not valid TOML" in err


def _db_upgrade_twice(capsys: pytest.CaptureFixture[str], write_config: Callable[..., Path], tmp_path: Path,
                      url: str) -> None:
    import asyncio

    from sqlalchemy import inspect

    from store.db import create_engine

    cfg = write_config(example_text(url), name="db.toml")
    for _ in range(2):
        code, out, err = run(capsys, "db", "upgrade", "-c", str(cfg))
        assert code == 0, err
        assert out.strip() == f"store at revision {head_revision()}"

    async def tables() -> set[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    names = asyncio.run(tables())
    assert {"tickets", "audit_events", "review_requests", "inbox", "outbox", "notifications", "units",
            "people", "roles", "alembic_version"} <= names


def test_db_upgrade_is_idempotent_on_sqlite(capsys: pytest.CaptureFixture[str],
                                            write_config: Callable[..., Path], tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    _db_upgrade_twice(capsys, write_config, tmp_path, f"sqlite+aiosqlite:///{db}")
    assert db.exists()


@pytest.mark.pg
@pytest.mark.skipif(not PG_URL, reason="HOTLINE_TEST_PG_URL is not set")
def test_db_upgrade_is_idempotent_on_postgresql(capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest,
                                                write_config: Callable[..., Path], tmp_path: Path) -> None:
    from tests.conftest import _fresh_pg_database

    _db_upgrade_twice(capsys, write_config, tmp_path, _fresh_pg_database(request))


def test_password_hash_prints_a_hash_the_console_accepts() -> None:
    from web.console.auth import verify_password

    done = subprocess.run([*cli_command(), "password-hash"], input="长城长城1234\n", capture_output=True,
                          text=True, env=clean_env(), cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    stored = done.stdout.strip()
    assert stored.startswith("scrypt$") and "长城长城1234" not in stored
    assert verify_password("长城长城1234", stored) and not verify_password("长城长城123", stored)
    short = subprocess.run([*cli_command(), "password-hash"], input="short\n", capture_output=True,
                           text=True, env=clean_env(), cwd=ROOT, timeout=60)
    assert short.returncode == 2 and short.stdout == "" and "8" in short.stderr
