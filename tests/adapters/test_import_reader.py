"""A large export is read by a child process; what it yields and raises is what the file gives
when read in-process."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from adapters.import_reader import CHUNK, read_chunks
from tests.cli.test_import import write_csv, write_xlsx

OPTIONS = {"headers": None, "default_source": "12345", "timezone": "Asia/Shanghai", "day_end": time(17, 30)}


async def _read(path: Path, in_child: bool) -> list[list[object]]:
    return [chunk async for chunk in read_chunks(path, in_child=in_child, **OPTIONS)]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
async def test_child_yields_what_the_file_gives_in_process(tmp_path: Path, kind: str) -> None:
    path = write_xlsx(tmp_path / "e.xlsx") if kind == "xlsx" else write_csv(tmp_path / "e.csv", "gb18030")
    here = await _read(path, in_child=False)
    there = await _read(path, in_child=True)
    assert there == here and sum(len(c) for c in here) > 3  # rows and row errors alike


async def test_chunks_keep_file_order(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    lines = ["工单编号,诉求内容,登记时间"] + [f"N{i},路灯坏了{i},2026-11-02 09:00" for i in range(CHUNK + 7)]
    path.write_text("\n".join(lines), encoding="utf-8")
    chunks = await _read(path, in_child=True)
    assert [len(c) for c in chunks] == [CHUNK, 7]
    assert [item.data["number"] for c in chunks for item in c] == [f"N{i}" for i in range(CHUNK + 7)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("name, content", [("broken.xlsx", b"PK\x03\x04 not really a zip"),
                                           ("export.pdf", b"%PDF-1.4")])
async def test_child_raises_what_reading_in_process_raises(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(Exception) as here:
        await _read(path, in_child=False)
    with pytest.raises(Exception) as there:
        await _read(path, in_child=True)
    assert type(there.value) is type(here.value) and str(there.value) == str(here.value)


async def test_stopping_early_ends_the_reading_process(tmp_path: Path) -> None:
    from contextlib import aclosing

    path = tmp_path / "many.csv"
    lines = ["工单编号,诉求内容,登记时间"] + [f"N{i},路灯坏了{i},2026-11-02 09:00" for i in range(CHUNK * 6)]
    path.write_text("\n".join(lines), encoding="utf-8")
    chunks = read_chunks(path, in_child=True, **OPTIONS)
    async with aclosing(chunks):
        async for chunk in chunks:
            assert len(chunk) == CHUNK
            break  # the writer failed, say
    assert _reader_children() == []  # closing killed and reaped it
    assert sum(len(c) for c in await _read(path, in_child=True)) == CHUNK * 6


def _reader_children() -> list[int]:
    """Our child processes running the reader (Linux /proc)."""
    import os

    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"adapters.import_reader" in cmdline:
            found.append(int(entry.name))
    return found
