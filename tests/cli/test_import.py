"""``hotline-bot import``: .xlsx and GB18030 .csv exports, idempotent, one ticket with the intake API."""

from __future__ import annotations

import asyncio
import csv
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.app import create_app
from bot.cli import main
from bot.clock import SystemClock
from bot.config import load_config
from store.models import AuditEvent, Ticket
from tests.conftest import Bot

HEADER = ["工单编号", "来电人", "联系电话", "诉求内容", "工单类型", "登记时间", "限办时间"]
# line 2 and 3 are good; 4 has a bad phone, 5 no content, 6 an unreadable time; 7 is good again.
ROWS = [
    ["IMP-001", "张三", "13812341234", "路灯坏了三天，晚上出行不便。", "求助", "2026-11-20 09:00", ""],
    ["IMP-002", "李四", "13912345678", "楼下饭店夜间噪音扰民。", "投诉", "2026-11-20 10:30", "2026-11-30 17:30"],
    ["IMP-003", "王五", "电话打不通", "小区绿化带被占用。", "投诉", "2026-11-20 11:00", ""],
    ["IMP-004", "赵六", "13700000001", "", "咨询", "2026-11-20 11:00", ""],
    ["IMP-005", "钱七", "13700000002", "公交站牌破损。", "求助", "上周三", ""],
    ["IMP-006", "孙八", "13700000003", "社区养老服务站何时开放？", "咨询", "2026-11-21 08:15", ""],
]
EXPECTED_REJECTS = [(4, "citizen.phone"), (5, "content"), (6, "received_at")]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def counts(out: str) -> tuple[int, int, int]:
    m = re.search(r"created: (\d+)\s+重复 duplicate: (\d+)\s+拒绝 rejected: (\d+)", out)
    assert m, out
    return int(m[1]), int(m[2]), int(m[3])


def rejected_lines(out: str) -> list[tuple[int, str, str]]:
    """(line, field, reason) of each rejected row, as printed."""
    return [(int(m[1]), m[2], m[3].strip())
            for m in re.finditer(r"line (\d+): ([\w.]+)（[^）]*）— (.+)", out)]


def write_xlsx(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in ROWS:
        cells: list[object] = list(row)
        if re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row[5]):
            cells[5] = datetime.strptime(row[5], "%Y-%m-%d %H:%M")  # a real Excel date cell
        ws.append(cells)
    wb.save(path)
    return path


def write_csv(path: Path, encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    return path


@pytest.mark.parametrize("kind", ["xlsx", "gb18030", "utf-8-sig"])
def test_import_reports_and_is_idempotent(capsys: pytest.CaptureFixture[str], write_config: Callable[..., Path],
                                          tmp_path: Path, kind: str) -> None:
    cfg = write_config()
    data = (write_xlsx(tmp_path / "export.xlsx") if kind == "xlsx"
            else write_csv(tmp_path / "export.csv", kind))
    if kind == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            data.read_bytes().decode("utf-8")  # really not UTF-8
    code, out, err = run_cli(capsys, "import", "-c", str(cfg), str(data))
    assert code == 1, err  # some rows were rejected
    assert counts(out) == (3, 0, 3)
    problems = rejected_lines(out)
    assert [(line, fld) for line, fld, _ in problems] == EXPECTED_REJECTS
    assert all(reason for _, _, reason in problems)

    code, out, _ = run_cli(capsys, "import", "-c", str(cfg), str(data))
    assert counts(out) == (0, 3, 3)

    async def check_store() -> tuple[int, list[str], datetime | None]:
        config = load_config(cfg)
        from bot.bootstrap import build_context

        ctx = build_context(config)
        try:
            async with ctx.sessions() as s:
                n = (await s.execute(select(func.count()).select_from(Ticket))).scalar_one()
                numbers = list((await s.execute(select(Ticket.number).order_by(Ticket.number))).scalars())
                t2 = (await s.execute(select(Ticket).where(Ticket.number == "IMP-002"))).scalar_one()
                regs = (await s.execute(select(func.count()).select_from(AuditEvent)
                                        .where(AuditEvent.action == "register"))).scalar_one()
                assert regs == n
                return n, numbers, t2.deadline
        finally:
            await ctx.engine.dispose()

    n, numbers, deadline = asyncio.run(check_store())
    assert n == 3 and numbers == ["IMP-001", "IMP-002", "IMP-006"]
    # The hotline's 限办时间 wins over the rules: 2026-11-30 17:30 Shanghai = 09:30 UTC.
    assert deadline is not None and deadline.isoformat() == "2026-11-30T09:30:00+00:00"


def test_missing_file_is_exit_2(capsys: pytest.CaptureFixture[str], write_config: Callable[..., Path],
                                tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "import", "-c", str(write_config()), str(tmp_path / "none.xlsx"))
    assert code == 2 and "none.xlsx" in err


async def test_imported_then_posted_is_one_ticket(capsys: pytest.CaptureFixture[str],
                                                  write_config: Callable[..., Path], tmp_path: Path) -> None:
    cfg = write_config()
    data = write_xlsx(tmp_path / "export.xlsx")
    _, out, _ = await asyncio.to_thread(run_cli, capsys, "import", "-c", str(cfg), str(data))
    assert counts(out) == (3, 0, 3)

    clock = SystemClock()
    app = create_app(load_config(cfg), clock=clock, with_background=False)
    async with TestClient(TestServer(app)) as client:
        bot = Bot(client, clock)  # type: ignore[arg-type]
        bot_secret = load_config(cfg).intake.secret
        same = {"source": "12345", "number": "IMP-002", "received_at": "2026-11-20T10:30:00+08:00",
                "content": "楼下饭店夜间噪音扰民。", "kind": "投诉",
                "citizen": {"name": "李四", "phone": "13912345678"},
                "deadline": "2026-11-30T17:30:00+08:00"}
        r = await bot.post_ticket(same, secret=bot_secret)
        assert r.status == 200, await r.text()
        assert (await r.json())["citizen"] == {"name": "李*", "phone": "139****5678"}
        changed = await bot.post_ticket({**same, "content": "另一件事"}, secret=bot_secret)
        assert changed.status == 409
        new = await bot.post_ticket({**same, "number": "IMP-003", "citizen": {"name": "王五"}}, secret=bot_secret)
        assert new.status == 201
        async with bot.ctx.sessions() as s:
            assert (await s.execute(select(func.count()).select_from(Ticket))).scalar_one() == 4


def test_repeats_inside_one_file(capsys: pytest.CaptureFixture[str], write_config: Callable[..., Path],
                                 tmp_path: Path) -> None:
    rows = [
        ["R-1", "张三", "13812341234", "路灯坏了。", "求助", "2026-11-20 09:00", ""],
        ["R-1", "张三", "13812341234", "路灯坏了。", "求助", "2026-11-20 09:00", ""],  # the same again
        ["R-1", "张三", "13812341234", "别的事。", "求助", "2026-11-20 09:00", ""],  # same number, other words
        ["R-2", "张三", "13812341234", "路灯坏了。", "求助", "2026-11-21 09:00", ""],  # 重复件 of R-1
    ]
    data = tmp_path / "repeats.csv"
    with data.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    code, out, _ = run_cli(capsys, "import", "-c", str(write_config()), str(data))
    assert code == 1
    assert counts(out) == (2, 1, 1)
    assert [(line, fld) for line, fld, _ in rejected_lines(out)] == [(4, "number")]

    async def r2_tags() -> list[str]:
        from bot.bootstrap import build_context

        ctx = build_context(load_config(tmp_path / "config.toml"))
        try:
            async with ctx.sessions() as s:
                t = (await s.execute(select(Ticket).where(Ticket.number == "R-2"))).scalar_one()
                return list(t.tags)
        finally:
            await ctx.engine.dispose()

    assert "重复件" in asyncio.run(r2_tags())
