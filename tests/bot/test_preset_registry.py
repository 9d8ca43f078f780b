"""Deadline presets are one registry: a preset registered from tests (no product file edited) is a
valid ``[procedure] preset``, gives its rules and shows its labels; an unknown one is a Chinese
config error; a name registers once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import ConfigError, parse_config
from bot.deadlines import Rule, TicketFacts
from bot.labels import rule_label
from bot.presets import PRESETS, Preset, build_rulebook, register, unregister
from tests.conftest import base_config

TESTVILLE = Preset(
    name="testville", label="测试县",
    rules=(Rule(name="testville-快办", label="测试县·快办件", category="快办", deadline="2wd"),
           Rule(name="testville-普通", label="测试县·普通件", deadline="9wd")),
    source="测试县热线办理办法（测试用）")


@pytest.fixture
def testville() -> Iterator[Preset]:
    register(TESTVILLE)
    yield TESTVILLE
    unregister(TESTVILLE.name)


def test_a_preset_registered_from_tests_is_chosen_by_the_config(testville: Preset) -> None:
    config = parse_config(base_config("sqlite+aiosqlite:///:memory:", procedure={"preset": "testville"}))
    book = build_rulebook(config.procedure.preset, config.procedure.rules)
    fast = book.match(TicketFacts(category="快办"))
    plain = book.match(TicketFacts(category="其他"))
    assert (fast.name, fast.deadline) == ("testville-快办", "2wd")
    assert (plain.name, plain.deadline) == ("testville-普通", "9wd")
    assert rule_label("testville-普通", book.rules) == "测试县·普通件 9个工作日"


def test_an_unregistered_preset_is_a_chinese_config_error() -> None:
    assert "testville" not in PRESETS
    with pytest.raises(ConfigError) as caught:
        parse_config(base_config("sqlite+aiosqlite:///:memory:", procedure={"preset": "testville"}))
    message = str(caught.value)
    assert "procedure.preset" in message and "应为以下之一" in message and "songjiang" in message


def test_a_preset_name_registers_once(testville: Preset) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(testville)
    with pytest.raises(ValueError, match="already registered"):
        register(PRESETS["songjiang"])
