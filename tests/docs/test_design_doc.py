"""docs/design.md against the code: the transition table is ``bot.lifecycle.TABLE`` row by row,
every duration example is computed by ``bot.deadlines``, every command example parses."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.calendar import WorkCalendar
from bot.deadlines import apply_duration, parse_duration
from bot.lifecycle import (
    PREVIOUS,
    STATE_LABELS,
    TABLE,
    TRANSITION_LABELS,
    Actor,
    IllegalTransition,
    State,
    Transition,
    check,
)
from handlers import COMMANDS

TEXT = (Path(__file__).resolve().parents[2] / "docs" / "design.md").read_text(encoding="utf-8")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _table(marker: str) -> list[list[str]]:
    """The body rows of the Markdown table between ``<!-- marker -->`` and ``<!-- /marker -->``."""
    block = re.search(rf"<!-- {marker} -->\n(.*?)<!-- /{marker} -->", TEXT, re.S)
    assert block, f"docs/design.md lost its {marker} table markers"
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in block.group(1).strip().splitlines()[2:]]


def _names(cell: str) -> set[str]:
    return {part.strip() for part in cell.split(",")}


def test_transition_table_is_the_code_table() -> None:
    rows = _table("transitions")
    assert [r[0].strip("`") for r in rows] == [t.value for t in Transition]
    for name, label, sources, target, actors in rows:
        rule = TABLE[Transition(name.strip("`"))]
        assert label == TRANSITION_LABELS[Transition(name.strip("`"))]
        if sources == "every state but archived":
            assert rule.sources == frozenset(State) - {State.ARCHIVED}
        else:
            assert {State(s) for s in _names(sources)} == rule.sources, name
        special = {"—": None, "previous": PREVIOUS}
        expected = special[target] if target in special else State(target)
        assert expected == rule.target, name
        assert {Actor(a) for a in _names(actors)} == rule.actors, name


def test_state_table_is_the_code_labels() -> None:
    section = TEXT.split("## 工单生命周期", 1)[1]
    rows = re.findall(r"^\| `([a-z_]+)` \| (\S+) \|$", section, re.M)
    assert dict(rows) == {s.value: label for s, label in STATE_LABELS.items()}


def test_refusal_example_is_the_message_the_bot_gives() -> None:
    quoted = re.search(r"“(工单当前状态为[^”]+)”", TEXT)
    assert quoted
    with pytest.raises(IllegalTransition) as refused:
        check(Transition.ACCEPT, State.ARCHIVED, {Actor.HANDLER})
    assert str(refused.value) == quoted.group(1)


@pytest.mark.parametrize("row", _table("durations"), ids=lambda r: f"{r[0]}-{r[2]}")
def test_duration_example(row: list[str], caplog: pytest.LogCaptureFixture) -> None:
    duration, roll, received, due = row
    start = datetime.strptime(received, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
    got = apply_duration(WorkCalendar(), start, parse_duration(duration.strip("`")), roll=roll == "yes")
    assert got.strftime("%Y-%m-%d %H:%M") == due
    assert got.utcoffset() == SHANGHAI.utcoffset(got.replace(tzinfo=None))


def test_command_table_is_the_grammar() -> None:
    rows = _table("commands")
    vocabulary = COMMANDS.vocabulary
    assert [r[0] for r in rows] == list(vocabulary.aliases)
    for name, aliases, example in rows:
        listed = [a for a in re.split(r"[、,]", aliases) if a.strip()]
        assert [name, *(a.strip() for a in listed)] == list(vocabulary.aliases[name])
        assert example.strip("`") == vocabulary.examples[name]
        parsed = COMMANDS.parse(example.strip("`"))
        assert parsed.name == name
        if name in vocabulary.needs_ticket:
            assert parsed.ref
