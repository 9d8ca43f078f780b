"""Log timestamps are in the configured zone with the offset shown, whatever the machine's zone;
the CLI's handler writes to the stderr of the moment."""

from __future__ import annotations

import io
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import cli
from bot.logs import ZoneFormatter, setup_logging
from tests.cli.conftest import example_text

# 2026-12-06 03:49:02 UTC
INSTANT = datetime(2026, 12, 6, 3, 49, 2, tzinfo=UTC).timestamp()


@pytest.fixture
def root_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Restore the root logger after the test; run as if the machine were on UTC."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    monkeypatch.setenv("TZ", "UTC")
    if hasattr(time, "tzset"):
        time.tzset()
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)
    monkeypatch.delenv("TZ")
    if hasattr(time, "tzset"):
        time.tzset()


def _formatted(handler: logging.Handler) -> str:
    record = logging.LogRecord("hotline.test", logging.INFO, __file__, 1, "工单 %s 已派单", ("0001",), None)
    record.created = INSTANT
    return handler.format(record)


def _config(write_config: Callable[..., Path], tmp_path: Path, zone: str | None) -> Path:
    text = example_text(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    line = 'timezone = "Asia/Shanghai"'
    assert line in text
    text = text.replace(line, f'timezone = "{zone}"' if zone else "")
    return write_config(text)


def test_log_time_is_in_the_default_zone_with_offset(root_logging: None, write_config: Callable[..., Path],
                                                     tmp_path: Path) -> None:
    handler = setup_logging()
    cli._load(str(_config(write_config, tmp_path, None)))  # no [calendar] timezone: Asia/Shanghai
    assert os.environ["TZ"] == "UTC"
    assert _formatted(handler) == "2026-12-06 11:49:02+0800 INFO hotline.test: 工单 0001 已派单"


def test_log_time_follows_the_configured_zone(root_logging: None, write_config: Callable[..., Path],
                                             tmp_path: Path) -> None:
    handler = setup_logging()
    cli._load(str(_config(write_config, tmp_path, "Asia/Urumqi")))
    assert _formatted(handler).startswith("2026-12-06 09:49:02+0600 INFO ")
    cli._load(str(_config(write_config, tmp_path, "Asia/Shanghai")))
    assert _formatted(handler).startswith("2026-12-06 11:49:02+0800 INFO ")


def test_cli_main_logs_in_the_configured_zone(root_logging: None, write_config: Callable[..., Path],
                                             tmp_path: Path) -> None:
    cli.main(["check", "-c", str(_config(write_config, tmp_path, "Asia/Urumqi"))])
    [handler] = [h for h in logging.getLogger().handlers if isinstance(h.formatter, ZoneFormatter)]
    assert _formatted(handler).startswith("2026-12-06 09:49:02+0600 INFO ")
    assert setup_logging() is handler, "a second set-up reuses the handler instead of doubling lines"


def test_the_cli_handler_follows_stderr_after_its_stream_is_closed(root_logging: None, monkeypatch: pytest.MonkeyPatch,
                                                                  write_config: Callable[..., Path],
                                                                  tmp_path: Path) -> None:
    # The CLI tests run main() in-process under a capture that is closed when the test ends; a
    # handler bound to that stream printed "--- Logging error ---" for every later record.
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    cli.main(["check", "-c", str(_config(write_config, tmp_path, None))])
    log = logging.getLogger("hotline.test")
    log.warning("第一条")
    assert "第一条" in first.getvalue()
    first.close()

    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    log.warning("第二条")
    assert "第二条" in second.getvalue()
    assert "Logging error" not in second.getvalue()
