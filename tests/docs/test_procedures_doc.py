"""docs/procedures.md against the code: every worked example is run through ``hotline-bot deadline``
and every rule of every preset has its row, so the page cannot drift from ``bot/presets.py``."""

from __future__ import annotations

import json
import re
import shlex
from datetime import datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.presets import PRESETS

DOC = Path(__file__).resolve().parents[2] / "docs" / "procedures.md"
TEXT = DOC.read_text(encoding="utf-8")
COLUMNS = ["preset", "rule", "flags", "received", "deadline", "internal_due", "first_contact_due", "progress"]


def _example_rows() -> list[dict[str, str]]:
    block = re.search(r"<!-- worked-examples -->\n(.*?)<!-- /worked-examples -->", TEXT, re.S)
    assert block, "docs/procedures.md lost its worked-examples table markers"
    rows = []
    for line in block.group(1).splitlines()[2:]:  # skip the header and the |---| line
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == len(COLUMNS), line
        rows.append(dict(zip(COLUMNS, cells, strict=True)))
    return rows


ROWS = _example_rows()


def _local(cell: str) -> str | None:
    """``2026-11-24 17:30`` (Beijing time) → the ISO 8601 the CLI prints; ``—`` → None."""
    if cell == "—":
        return None
    return datetime.strptime(cell, "%Y-%m-%d %H:%M").isoformat() + "+08:00"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config with no [[procedure.rules]] of its own, so only the preset's rules apply."""
    path = tmp_path_factory.mktemp("procedures") / "config.toml"
    path.write_text('[intake]\nsecret = "doc-test"\n[api]\ntokens = ["doc-test"]\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("row", ROWS, ids=[r["rule"] for r in ROWS])
def test_worked_example_is_what_the_cli_prints(row: dict[str, str], config: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    flags = shlex.split(row["flags"].strip("`"))
    received = _local(row["received"])
    assert received is not None
    code = main(["deadline", "-c", str(config), "--received", received, "--preset", row["preset"], *flags])
    out = capsys.readouterr().out
    assert code == 0, out
    assert json.loads(out) == {
        "rule": row["rule"],
        "deadline": _local(row["deadline"]),
        "internal_due": _local(row["internal_due"]),
        "first_contact_due": _local(row["first_contact_due"]),
        "progress": None if row["progress"] == "—" else row["progress"],
    }


def test_every_preset_rule_has_a_worked_example() -> None:
    documented = {(r["preset"], r["rule"]) for r in ROWS}
    winners = {(name, rule.name) for name, preset in PRESETS.items() for rule in preset.rules if not rule.overlay}
    assert documented == winners


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_rule_is_quoted_under_its_preset(preset: str) -> None:
    section = re.search(rf"^## .*`{preset}`\n(.*?)(?=^## |\Z)", TEXT, re.S | re.M)
    assert section, f"docs/procedures.md has no section for the {preset} preset"
    for rule in PRESETS[preset].rules:
        row = re.search(rf"^\| `{re.escape(rule.name)}`(?:（叠加）)? \| (.+?) \|", section.group(1), re.M)
        assert row, f"{rule.name} has no row under the {preset} section"
        assert "“" in row.group(1), f"{rule.name}: quote the procedure's sentence"
        assert ("（叠加）" in row.group(0)) == rule.overlay, f"{rule.name}: overlay marker"
