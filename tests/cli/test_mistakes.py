"""Mistakes get one clear line, never a traceback: ``check``, ``serve``, ``report`` and ``db upgrade``
run as real processes on broken configs, stores and ports; each exits with 2 and writes exactly one
line on stderr naming the key or argument to fix."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, clean_env, cli_command, example_text
from tests.conftest import PG_URL
from tests.system.world import WECOM_AES_KEY

ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


def cli(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``hotline-bot ARGV`` as a subprocess, without HOTLINE_* variables."""
    return subprocess.run([*cli_command(), *argv], capture_output=True, text=True, env=clean_env(), cwd=cwd,
                          timeout=90)


def refused(*argv: str, cwd: Path = ROOT) -> str:
    """Run a command that must refuse: exit 2, one line on stderr, nothing on stdout; the line."""
    done = cli(*argv, cwd=cwd)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert done.stdout == "", done.stdout
    return lines[0]


def closed_port() -> int:
    """A TCP port nothing listens on (taken and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_file(tmp_path: Path, store_url: str | None = None, *, console: bool = False, extra: str = "",
                edit: tuple[str, str] | None = None, name: str = "config.toml") -> Path:
    """The example config on ``store_url`` (a SQLite file in ``tmp_path`` by default)."""
    text = example_text(store_url or f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}", console=console)
    if edit is not None:
        assert edit[0] in text, edit
        text = text.replace(edit[0], edit[1], 1)
    path = tmp_path / name
    path.write_text(text + extra, encoding="utf-8")
    return path


# ---- check: the store URL --------------------------------------------------------------------------

STORE_MISTAKES = [
    # (store url template, words the line must hold); {tmp} is the test's folder, {port} a closed port
    ("sqlite:///{tmp}/hotline.db", ["store.url", "sqlite+aiosqlite:///"]),
    ("postgresql://hotline@127.0.0.1/hotline", ["store.url", "postgresql+asyncpg://"]),
    ("postgresql+psycopg2://hotline@127.0.0.1/hotline", ["store.url", "postgresql+asyncpg://"]),
    ("mysql+aiomysql://hotline@127.0.0.1/hotline", ["store.url", "SQLite", "PostgreSQL"]),
    ("hotline.db", ["store.url", "sqlite+aiosqlite:///hotline.db"]),
    ("postgresql+asyncpg://hotline@127.0.0.1:{port}/hotline", ["store.url", "127.0.0.1:{port}", "无法连接"]),
    ("sqlite+aiosqlite:///{tmp}/no/such/folder/hotline.db", ["store.url", "{tmp}/no/such/folder", "不存在"]),
]


@pytest.mark.parametrize(("url", "words"), STORE_MISTAKES)
def test_check_names_a_wrong_store_url_and_the_fix(tmp_path: Path, url: str, words: list[str]) -> None:
    port = closed_port()
    url = url.format(tmp=tmp_path, port=port)
    line = refused("check", "-c", str(config_file(tmp_path, url)))
    for word in words:
        assert word.format(tmp=tmp_path, port=port) in line, line


def test_check_refuses_a_file_that_is_not_a_sqlite_database(tmp_path: Path) -> None:
    db = tmp_path / "hotline.db"
    db.write_text("这不是数据库" * 200, encoding="utf-8")
    line = refused("check", "-c", str(config_file(tmp_path)))
    assert "store.url" in line and str(db) in line


@pytest.mark.skipif(ROOT_USER, reason="root may write into any folder")
def test_check_refuses_a_read_only_sqlite_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        line = refused("check", "-c", str(config_file(tmp_path, f"sqlite+aiosqlite:///{folder}/hotline.db")))
    finally:
        folder.chmod(0o700)
    assert "store.url" in line and str(folder) in line


@pytest.mark.pg
@pytest.mark.skipif(not PG_URL, reason="HOTLINE_TEST_PG_URL is not set")
def test_check_names_a_missing_postgresql_database(tmp_path: Path) -> None:
    head, _, _ = PG_URL.rpartition("/")
    missing = f"hotline_missing_{uuid.uuid4().hex[:8]}"
    line = refused("check", "-c", str(config_file(tmp_path, f"{head}/{missing}")))
    assert "store.url" in line and missing in line and "不存在" in line


def test_check_reports_the_store_of_a_good_config(tmp_path: Path) -> None:
    done = cli("check", "-c", str(config_file(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert "store OK" in done.stdout and "serve creates the tables" in done.stdout
    assert not (tmp_path / "hotline.db").exists()  # check looks, it does not create the store


# ---- check: platform and SMS credentials -------------------------------------------------------------

WECOM = (f'[platforms.wecom.main]\nmode = "webhook"\ntoken = "tok"\naes_key = "{WECOM_AES_KEY}"\n'
         'corp_id = "wwcorp"\nagent_id = 1000002\napp_secret = "s"\n')

CREDENTIAL_MISTAKES = [
    (WECOM.replace(WECOM_AES_KEY, WECOM_AES_KEY[:40]), "platforms.wecom.main.aes_key"),
    (WECOM.replace(WECOM_AES_KEY, "!" * 43), "platforms.wecom.main.aes_key"),
    (WECOM.replace("agent_id = 1000002", 'agent_id = "AgentId"'), "platforms.wecom.main.agent_id"),
    ('[platforms.wecom.main]\nmode = "longconn"\n', "platforms.wecom.main.bot_id"),
    ('[platforms.dingtalk.main]\nmode = "stream"\napp_key = "ding-key"\n', "platforms.dingtalk.main.app_secret"),
    ('[platforms.feishu.main]\nmode = "longconn"\napp_secret = "s"\n', "platforms.feishu.main.app_id"),
]


@pytest.mark.parametrize(("section", "key"), CREDENTIAL_MISTAKES)
def test_check_names_the_credential_key(tmp_path: Path, section: str, key: str) -> None:
    line = refused("check", "-c", str(config_file(tmp_path, extra="\n" + section)))
    assert key in line, line


def test_check_names_the_sms_key(tmp_path: Path) -> None:
    path = config_file(tmp_path, edit=('provider = "log"', 'provider = "tencent"'),
                       extra='\n[sms.tencent]\nsecret_id = "id"\nsecret_key = "key"\n'
                             'sdk_app_id = "SmsSdkAppId"\nsign_name = "某局"\n')
    line = refused("check", "-c", str(path))
    assert "sms.tencent.sdk_app_id" in line


# ---- serve ---------------------------------------------------------------------------------------------

def test_serve_refuses_a_wrong_store_url_with_the_same_line_as_check(tmp_path: Path) -> None:
    path = config_file(tmp_path, f"sqlite:///{tmp_path}/hotline.db")
    line = refused("serve", "-c", str(path), "--port", str(closed_port()))
    assert line == refused("check", "-c", str(path))
    assert "store.url" in line and "sqlite+aiosqlite" in line


def test_serve_on_a_port_in_use_refuses_before_touching_the_store(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = refused("serve", "-c", str(config_file(tmp_path, console=True)), "--port", str(port))
    assert "server.port" in line and str(port) in line
    # The socket is taken before the store is migrated or the demo tickets are seeded.
    assert not (tmp_path / "hotline.db").exists()


@pytest.mark.parametrize("mistake", ["missing", "folder", "not-toml", "not-utf8"])
def test_serve_refuses_an_unreadable_or_invalid_config_file(tmp_path: Path, mistake: str) -> None:
    path = tmp_path / "config.toml"
    if mistake == "folder":
        path.mkdir()
    elif mistake == "not-toml":
        path.write_text('[server\nport = 8080\n', encoding="utf-8")
    elif mistake == "not-utf8":
        path.write_bytes("[server]\nhost = \"值\"\n".encode("utf-16"))
    line = refused("serve", "-c", str(path))
    assert str(path) in line
    if mistake.startswith("not"):
        assert "TOML" in line


@pytest.mark.skipif(ROOT_USER, reason="root may read any file")
def test_serve_refuses_a_config_it_may_not_read(tmp_path: Path) -> None:
    path = config_file(tmp_path)
    path.chmod(0)
    try:
        line = refused("serve", "-c", str(path))
    finally:
        path.chmod(0o600)
    assert str(path) in line


def test_serve_refuses_an_open_console_off_loopback(tmp_path: Path) -> None:
    line = refused("serve", "-c", str(config_file(tmp_path, console=True)), "--host", "0.0.0.0",
                   "--port", str(closed_port()))
    assert "platforms.console.require_login" in line
    assert not (tmp_path / "hotline.db").exists()


def test_serve_refuses_example_secrets_off_loopback(tmp_path: Path) -> None:
    path = config_file(tmp_path, console=True, edit=("require_login = false", "require_login = true"))
    line = refused("serve", "-c", str(path), "--host", "0.0.0.0", "--port", str(closed_port()))
    assert "platforms.console.require_login" not in line
    for key in ("server.secret", "intake.secret", "api.tokens[0]", "hotline.report_secret", "sms.callback_token"):
        assert key in line, line


# ---- report and db upgrade -------------------------------------------------------------------------------

@pytest.mark.parametrize("month", ["2026-13", "2026/11", "下个月"])
def test_report_refuses_a_bad_month(tmp_path: Path, month: str) -> None:
    line = refused("report", "-c", str(config_file(tmp_path)), "--month", month)
    assert "--month" in line and "2026-11" in line
    assert not (tmp_path / "hotline.db").exists()


def test_report_refuses_an_unknown_unit(tmp_path: Path) -> None:
    line = refused("report", "-c", str(config_file(tmp_path)), "--month", "2026-11", "--unit", "城管局")
    assert "--unit" in line and "城管局" in line and "YLK" in line  # names the units it knows


def test_report_into_a_file_instead_of_a_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    line = refused("report", "-c", str(config_file(tmp_path)), "--month", "2026-11", "--out", str(blocker / "sub"))
    assert str(blocker) in line


def test_db_upgrade_refuses_a_wrong_store_url(tmp_path: Path) -> None:
    line = refused("db", "upgrade", "-c", str(config_file(tmp_path, f"postgresql://u@127.0.0.1:{closed_port()}/x")))
    assert "store.url" in line and "postgresql+asyncpg://" in line


def test_a_config_with_several_mistakes_is_still_one_line(tmp_path: Path) -> None:
    path = config_file(tmp_path, edit=('port = 8080 ', 'port = "eighty" '))
    path.write_text(path.read_text(encoding="utf-8").replace('office_day_end = "17:30"', 'office_day_end = "late"'),
                    encoding="utf-8")
    line = refused("check", "-c", str(path))
    assert "server.port" in line and "calendar.office_day_end" in line


def test_import_refuses_a_wrong_store_url(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("工单编号,受理时间,诉求内容\n", encoding="utf-8")
    line = refused("import", "-c", str(config_file(tmp_path, f"sqlite:///{tmp_path}/hotline.db")), str(export))
    assert "store.url" in line and "sqlite+aiosqlite" in line
