"""docs/operations.md, executed: its config snippets validate, its SQLite backup and restore commands
run against a store made by ``hotline-bot db upgrade``, its PostgreSQL ones against a fresh database
(when ``HOTLINE_TEST_PG_URL`` is set), its metric table is the app's ``/metrics``, its log line is
the log format, and its holiday example makes ``check`` report the year covered."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import sqlite3
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import parse_config
from tests.cli.conftest import clean_env, example_text
from tests.conftest import PG_URL
from tests.docs.fenced import Block, fenced_blocks, table_rows

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operations.md"
BLOCKS = fenced_blocks(DOC)
CONFIG_NAME = "hotline.toml"  # the file name every command of the page uses

# What each kind of example is; every block of the page must be one of them.
KINDS: dict[str, Callable[[Block], bool]] = {
    "config": lambda b: b.lang == "toml",
    "sqlite-python-backup": lambda b: b.lang == "python" and ".backup(" in b.text,
    "sqlite-cli-backup": lambda b: b.lang == "bash" and b.text.startswith("sqlite3 hotline.db \".backup"),
    "sqlite-restore": lambda b: b.lang == "bash" and b.text.startswith("rm -f hotline.db-wal"),
    "pg-create": lambda b: b.lang == "bash" and b.text.strip() == "createdb hotline",
    "pg-dump": lambda b: b.lang == "bash" and b.text.startswith("pg_dump "),
    "pg-restore": lambda b: b.lang == "bash" and "pg_restore " in b.text,
    "upgrade": lambda b: b.lang == "bash" and b.text.strip() == f"hotline-bot db upgrade -c {CONFIG_NAME}",
    "check": lambda b: b.lang == "bash" and b.text.strip() == f"hotline-bot check -c {CONFIG_NAME}",
    "log-line": lambda b: b.lang == "text" and " INFO hotline." in b.text,
    "check-output": lambda b: b.lang == "text" and b.text.startswith("日历 / calendar "),
}


def _kind(block: Block) -> str:
    found = [name for name, test in KINDS.items() if test(block)]
    assert len(found) == 1, f"docs/operations.md:{block.line}: example not executed by this test: {block.text!r}"
    return found[0]


def blocks(kind: str) -> list[Block]:
    """The page's examples of one kind, in page order."""
    return [b for b in BLOCKS if _kind(b) == kind]


def one(kind: str) -> Block:
    found = blocks(kind)
    assert len(found) == 1, (kind, found)
    return found[0]


def test_every_example_of_the_page_is_executed_here() -> None:
    kinds = [_kind(b) for b in BLOCKS]
    assert set(kinds) == set(KINDS), f"kinds without an example: {set(KINDS) - set(kinds)}"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.mark.parametrize("block", blocks("config"), ids=lambda b: f"line{b.line}")
def test_config_snippet_validates(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_DB_PASSWORD", "pw")
    monkeypatch.setenv("HOTLINE_SECRET", "s" * 32)
    snippet = tomllib.loads(block.text)
    config = parse_config(_merge(tomllib.loads(example_text("sqlite+aiosqlite:///x.db")), snippet))
    if "store" in snippet:
        assert config.store.url.startswith("postgresql+asyncpg://hotline:pw@")
    for year in snippet.get("calendar", {}).get("years", {}):
        assert config.calendar.work_calendar().is_covered(int(year))


def _bash(script: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a block of the page with bash in ``cwd``, ``hotline-bot`` being this checkout's CLI."""
    prelude = "set -euo pipefail\n"
    if shutil.which("hotline-bot") is None:
        prelude += f'hotline-bot() {{ "{sys.executable}" -m bot.cli "$@"; }}\n'
    done = subprocess.run(["bash", "-c", prelude + script], cwd=cwd, env={**clean_env(), **(env or {})},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{script!r} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _office(tmp_path: Path, store_url: str = "sqlite+aiosqlite:///hotline.db", extra: str = "") -> Path:
    """A working directory holding ``hotline.toml``: the example config on ``store_url``."""
    (tmp_path / CONFIG_NAME).write_text(example_text(store_url) + extra, encoding="utf-8")
    return tmp_path


def _markers(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return {name for (name,) in conn.execute("SELECT name FROM leases WHERE name LIKE 'doc-%'")}
    finally:
        conn.close()


@pytest.mark.parametrize("backup", ["sqlite-cli-backup", "sqlite-python-backup"])
def test_sqlite_online_backup_and_restore(tmp_path: Path, backup: str) -> None:
    block = one(backup)
    if backup == "sqlite-cli-backup" and shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 command is not installed (apt-get install sqlite3); the Python way is tested")
    office = _office(tmp_path)
    for upgrade in blocks("upgrade"):  # §1 and §4 give the same command; the second run is a no-op
        assert "store at revision" in _bash(upgrade.text, office).stdout
    db = office / "hotline.db"
    # A live writer: the row is committed but still only in the WAL when the backup runs.
    live = sqlite3.connect(db, isolation_level=None)
    try:
        assert live.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        live.execute("PRAGMA wal_autocheckpoint=0")
        live.execute("INSERT INTO leases (name, holder, expires_at) VALUES ('doc-before', 'x', '2026-12-06 00:00:00')")
        assert (office / "hotline.db-wal").stat().st_size > 0
        if backup == "sqlite-python-backup":
            done = subprocess.run([sys.executable, "-c", block.text], cwd=office, capture_output=True, text=True,
                                  timeout=60)
            assert done.returncode == 0, done.stderr
        else:
            _bash(block.text, office)
        live.execute("INSERT INTO leases (name, holder, expires_at) VALUES ('doc-after', 'x', '2026-12-06 00:00:00')")
    finally:
        live.close()
    backup_file = office / "hotline-backup.db"
    assert _markers(backup_file) == {"doc-before"}
    assert not (office / "hotline-backup.db-wal").exists() or (office / "hotline-backup.db-wal").stat().st_size == 0

    # Restore over the newer store (the bot is stopped), then upgrade as the page says.
    _bash(one("sqlite-restore").text, office)
    assert _markers(db) == {"doc-before"}


def _pg_env(url: str) -> dict[str, str]:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    env = {"PGHOST": u.host or "127.0.0.1", "PGPORT": str(u.port or 5432), "PGUSER": u.username or "postgres"}
    if u.password:
        env["PGPASSWORD"] = u.password
    return env


def _pg_run(sql: str, database: str = "postgres") -> Any:
    import asyncpg

    head, _, _ = PG_URL.replace("postgresql+asyncpg://", "postgresql://").rpartition("/")

    async def run() -> Any:
        conn = await asyncpg.connect(f"{head}/{database}")
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()

    return asyncio.run(run())


def _with_names(script: str, db: str, restored: str) -> str:
    """The page's commands on the test's own databases instead of ``hotline`` / ``hotline_restored``."""
    script = re.sub(r"\bhotline_restored\b", restored, script)
    return re.sub(r"\bhotline\b(?![.\-_])", db, script)


@pytest.mark.pg
def test_postgresql_create_dump_and_restore(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if not PG_URL:
        pytest.skip("HOTLINE_TEST_PG_URL is not set: the pg_dump / pg_restore example is not run")
    missing = [tool for tool in ("createdb", "pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"PostgreSQL client tools missing: {', '.join(missing)} (apt-get install postgresql-client)")
    db = f"hotline_doc_{uuid.uuid4().hex[:10]}"
    restored = f"{db}_r"
    for name in (restored, db):
        request.addfinalizer(lambda name=name: _pg_run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    env = _pg_env(PG_URL)
    office = _office(tmp_path, PG_URL.rpartition("/")[0] + f"/{db}")

    _bash(_with_names(one("pg-create").text, db, restored), office, env)
    for upgrade in blocks("upgrade"):
        _bash(upgrade.text, office, env)
    _pg_run("INSERT INTO leases (name, holder, expires_at) VALUES ('doc-pg', 'x', now())", db)
    _bash(_with_names(one("pg-dump").text, db, restored), office, env)
    assert (office / "hotline.dump").stat().st_size > 0
    _bash(_with_names(one("pg-restore").text, db, restored), office, env)
    rows = _pg_run("SELECT name FROM leases WHERE name = 'doc-pg'", restored)
    assert [r["name"] for r in rows] == ["doc-pg"]
    tables = {r["tablename"] for r in _pg_run("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", restored)}
    assert {"tickets", "inbox", "outbox", "notifications", "alembic_version"} <= tables


async def test_metric_table_is_the_metrics_endpoint(make_bot: Callable[..., Any]) -> None:
    bot = await make_bot()
    resp = await bot.get("/metrics", token=None)
    assert resp.status == 200
    text = await resp.text()
    exported = dict(re.findall(r"^# TYPE (hotline_\w+) (\w+)$", text, re.M))
    documented = {row[0].strip("`"): row[1] for row in table_rows(DOC, "指标 metric")}
    # prometheus_client names a counter's family without ``_total`` in its TYPE line.
    exported = {name if kind != "counter" or name.endswith("_total") else f"{name}_total": kind
                for name, kind in exported.items()}
    assert documented == exported


def test_log_line_is_the_log_format() -> None:
    from bot.logs import ZoneFormatter

    line = one("log-line").text.strip()
    m = re.fullmatch(r"(\S+ \S+) INFO ([\w.]+): (.*)", line)
    assert m, line
    record = logging.LogRecord(m.group(2), logging.INFO, __file__, 1, m.group(3), None, None)
    record.created = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S%z").timestamp()
    assert ZoneFormatter(zone="Asia/Shanghai").format(record) == line


def test_holiday_example_makes_check_report_the_year_covered(tmp_path: Path) -> None:
    years = [b for b in blocks("config") if "[calendar.years." in b.text]
    assert len(years) == 1
    office = _office(tmp_path, extra="\n" + years[0].text)
    done = _bash(one("check").text, office)
    expected = one("check-output").text.strip()
    year = re.search(r"calendar (\d{4})", expected).group(1)  # type: ignore[union-attr]
    assert expected in done.stdout.splitlines(), done.stdout
    assert f"calendar year {year} is not covered" not in done.stdout
    # Without the block the same check warns about that year (when it is this or next year).
    (tmp_path / "plain").mkdir()
    plain = _bash(one("check").text, _office(tmp_path / "plain"))
    if str(datetime.now().year) == year or str(datetime.now().year + 1) == year:
        assert f"calendar year {year} is not covered" in plain.stdout


def test_pg_url_snippet_names_the_env_password() -> None:
    # The password comes from the environment, never from the file (the snippet is also validated above).
    urls = [tomllib.loads(b.text)["store"]["url"] for b in blocks("config") if "[store]" in b.text]
    assert urls and all("${HOTLINE_DB_PASSWORD}" in u for u in urls)
