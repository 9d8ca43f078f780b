"""``hotline-bot import`` on .xls exports, units named by code or name, unknown columns, and files
that cannot be read (one Chinese line on stderr, exit 2, no traceback)."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import build_context
from bot.config import load_config
from store.models import Ticket
from tests.adapters.test_importer import write_xls
from tests.cli.conftest import clean_env, cli_command
from tests.cli.test_import import counts, rejected_lines, run_cli, write_xlsx

HEADER = ["序号", "工单编号", "登记时间", "诉求内容", "承办单位", "来电人", "办理情况（内部）"]
ROWS: list[list[Any]] = [
    [1, "X-1", datetime(2026, 11, 20, 9, 0), "养老服务站关门，老人无法就餐（已反映两次）！", "养老服务科", "张三", ""],
    [2, "X-2", datetime(2026, 11, 20, 9, 30), "低保申请进度？", "SHJZK", "李四", "内部备注"],
    [3, "X-3", datetime(2026, 11, 20, 10, 0), "路灯不亮。", "城管局", "王五", ""],
    [4, "X-4", "2026-11-20 10:30", "噪音扰民；夜间施工。", "", "赵六", ""],
]


_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\S* (?:INFO|DEBUG) ")


@pytest.fixture(autouse=True)
def _fresh_log_handlers() -> Iterator[None]:
    """``main`` installs a stderr log handler; drop it so the next test's captured stderr gets its own."""
    before = list(logging.root.handlers)
    logging.root.handlers = []
    yield
    logging.root.handlers = before


def said(stderr: str) -> list[str]:
    """What the command itself wrote to stderr (the store's INFO log lines left out)."""
    return [line for line in stderr.strip().splitlines() if not _LOG_LINE.match(line)]


def stored(cfg: Path) -> dict[str, tuple[str | None, str]]:
    """number → (unit code, content) of every stored ticket."""
    async def read() -> dict[str, tuple[str | None, str]]:
        ctx = build_context(load_config(cfg))
        try:
            async with ctx.sessions() as s:
                return {t.number: (t.unit_code, t.content) for t in (await s.execute(select(Ticket))).scalars()}
        finally:
            await ctx.engine.dispose()

    return asyncio.run(read())


def test_xls_export_with_unit_names(capsys: pytest.CaptureFixture[str], write_config: Callable[..., Path],
                                    tmp_path: Path) -> None:
    cfg = write_config()
    data = write_xls(tmp_path / "export.xls", [HEADER, *ROWS])
    code, out, err = run_cli(capsys, "import", "-c", str(cfg), str(data))
    assert code == 1, err  # the row naming an unknown unit is rejected
    assert counts(out) == (3, 0, 1)
    assert rejected_lines(out) == [(4, "unit", "没有这个承办单位：城管局")]
    unknown = [line for line in out.splitlines() if "未识别的列" in line]
    assert unknown == ["  未识别的列（已忽略）unknown columns, ignored: 序号、办理情况（内部）"]
    tickets = stored(cfg)
    assert {number: unit for number, (unit, _) in tickets.items()} == {"X-1": "YLK", "X-2": "SHJZK", "X-4": None}
    assert tickets["X-1"][1] == ROWS[0][3]  # full-width punctuation as written

    code, out, _ = run_cli(capsys, "import", "-c", str(cfg), str(data))
    assert counts(out) == (0, 3, 1)  # idempotent: named by name, stored by code, the same ticket


def _encrypted(tmp_path: Path) -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = write_xlsx(tmp_path / "plain.xlsx")
    locked = tmp_path / "locked.bin"
    with plain.open("rb") as source, locked.open("wb") as target:
        OOXMLFile(source).encrypt("12345", target)
    return locked.read_bytes()


@pytest.mark.parametrize("name, make, reason", [
    ("corrupt.xls", lambda tmp: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1000, "已损坏"),
    ("export.xlsx", lambda tmp: b"<html><body>not a workbook</body></html>", "不是 Excel 工作簿"),
    ("locked.xlsx", _encrypted, "设有打开密码"),
    ("empty.csv", lambda tmp: b"", "是空的"),
    ("export.pdf", lambda tmp: b"%PDF-1.4", "不支持的文件类型"),
])
def test_unreadable_file_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str],
                                                write_config: Callable[..., Path], tmp_path: Path,
                                                name: str, make: Callable[[Path], bytes], reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(make(tmp_path))
    code, out, err = run_cli(capsys, "import", "-c", str(write_config()), str(path))
    assert code == 2
    assert out == ""
    lines = said(err)
    assert len(lines) == 1 and reason in lines[0] and "Traceback" not in err


def test_unreadable_large_file_read_by_the_child_process(write_config: Callable[..., Path], tmp_path: Path) -> None:
    """A large file is read by a child process; its failure is the same one line, no traceback."""
    path = tmp_path / "big.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * (300 * 1024))
    done = subprocess.run([*cli_command(), "import", "-c", str(write_config()), str(path)],
                          capture_output=True, text=True, env=clean_env(), timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    lines = said(done.stderr)
    assert len(lines) == 1 and "「big.xls」已损坏" in lines[0] and "Traceback" not in done.stderr
