"""docs/import.md is executed: its column table is the importer's own (both directions), its
example command runs on its example file and prints exactly the page's output, twice, and its
TOML snippet loads and maps headers as it says."""

from __future__ import annotations

import shlex
import subprocess
import tomllib
from pathlib import Path

from adapters.importer import DEFAULT_HEADERS, INTAKE_KEYS, REQUIRED_KEYS, ImportRow, read_tickets
from bot.config import parse_config
from bot.intake import FIELD_NAMES
from tests.cli.conftest import clean_env, cli_command, example_text
from tests.conftest import base_config
from tests.docs.fenced import fenced_blocks, table_rows

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "import.md"


def blocks(lang: str) -> list[str]:
    return [b.text for b in fenced_blocks(DOC) if b.lang == lang]


def test_every_block_is_checked() -> None:
    assert sorted(b.lang for b in fenced_blocks(DOC)) == ["bash", "csv", "text", "text", "toml"]


def test_column_table_is_the_importers_table() -> None:
    documented: dict[str, str] = {}
    for field, name, headers in table_rows(DOC, "字段 field"):
        key = field.strip("`")
        assert key in INTAKE_KEYS, key
        if "." not in key:  # the page names a field as the import output does
            assert name.split("（")[0] == FIELD_NAMES[key], key
        assert ("必需列" in name) == (key in REQUIRED_KEYS), key
        for header in headers.split("、"):
            assert header not in documented, f"{header} listed twice"
            documented[header] = key
    assert documented == DEFAULT_HEADERS  # every documented header is read, every read header documented


def test_example_command_prints_the_documented_output(tmp_path: Path) -> None:
    [csv_text] = blocks("csv")
    [command] = blocks("bash")
    first, second = blocks("text")
    (tmp_path / "export.csv").write_text(csv_text, encoding="utf-8")
    (tmp_path / "config.toml").write_text(example_text(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"),
                                          encoding="utf-8")
    argv = shlex.split(command)
    assert argv[0] == "hotline-bot"
    for expected in (first, second):
        done = subprocess.run([*cli_command(), *argv[1:]], cwd=tmp_path, capture_output=True, text=True,
                              env=clean_env(), timeout=120, check=False)
        assert done.returncode == 1, done.stderr  # rows were rejected: exit code 1, as the page says
        assert done.stdout == expected


def test_toml_snippet_maps_headers(tmp_path: Path) -> None:
    [snippet] = blocks("toml")
    section = tomllib.loads(snippet)["import"]
    config = parse_config(base_config("sqlite+aiosqlite:///:memory:", **{"import": section}))
    assert config.import_.headers == section["headers"]
    export = tmp_path / "export.csv"
    export.write_text("工单编号,登记时间,诉求内容,内容,诉求人联系电话\n"
                      "N-1,2026-11-20 09:00,路灯不亮。,(ignored),13812341234\n", encoding="utf-8")
    [row] = list(read_tickets(export, headers=config.import_.headers))
    assert isinstance(row, ImportRow)
    assert row.data["content"] == "路灯不亮。" and row.data["citizen"] == {"phone": "13812341234"}
