"""``docs/configuration.md`` is generated from the config models, and the models describe every key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bot.config import Config, PlatformsConfig
from bot.config_docs import REGENERATE, _model_of, documented_fields, render, sections
from bot.platform_config import platform_model
from bot.platforms import platform_names

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
EXAMPLE = ROOT / "config.example.toml"


def test_every_reachable_key_has_a_chinese_description() -> None:
    models = {s.model for s in sections()}
    # The walk reaches the nested tables the task names, including the adapters' own models.
    names = {m.__name__ for m in models}
    assert {"Config", "Rule", "UnitConfig", "ChatBinding", "PersonConfig", "JobConfig", "SmsConfig",
            "GenericGatewayConfig", "WeComBotConfig", "DingTalkBotConfig", "FeishuBotConfig",
            "YearSchedule"} <= names, names
    missing = [f"{m.__name__}.{key}" for m in models for key, info in documented_fields(m)
               if not (info.description or "").strip()]
    assert missing == [], f"keys without Field(description=...): {missing}"
    not_chinese = [f"{m.__name__}.{key}" for m in models for key, info in documented_fields(m)
                   if not re.search(r"[\u4e00-\u9fff]", info.description or "")]
    assert not_chinese == [], f"descriptions must be Chinese: {not_chinese}"
    multi_line = [f"{m.__name__}.{key}" for m in models for key, info in documented_fields(m)
                  if "\n" in (info.description or "")]
    assert multi_line == []


def test_committed_reference_is_the_generators_output() -> None:
    assert DOC.exists(), f"docs/configuration.md is missing: run {REGENERATE}"
    committed = DOC.read_text(encoding="utf-8")
    assert committed == render(), f"docs/configuration.md is out of date: run {REGENERATE}"


def test_reference_has_a_table_row_for_every_key() -> None:
    text = render()
    for section in sections():
        assert f"## `{section.header}`" in text
        for key, _ in documented_fields(section.model):
            assert f"| `{key}` |" in text, (section.header, key)
    assert "## `[platforms.wecom.<bot>]`" in text and "## `[scheduler.jobs.<job>]`" in text
    assert "## `[[procedure.rules]]`" in text and "## `[sms.generic]`" in text


def _unknown_keys(data: Any, model: type[BaseModel], path: str) -> list[str]:
    """Keys of the parsed TOML ``data`` that ``model`` does not have, as key paths."""
    fields = dict(documented_fields(model))
    unknown: list[str] = []
    for key, value in data.items():
        where = f"{path}.{key}" if path else key
        info = fields.get(key)
        if info is None:
            unknown.append(where)
            continue
        if model is PlatformsConfig and key in platform_names():
            for bot, table in value.items():
                unknown += _unknown_keys(table, platform_model(key), f"{where}.{bot}")
            continue
        held = _model_of(info.annotation)
        if held is None:
            continue
        kind, sub = held
        if kind == "table":
            unknown += _unknown_keys(value, sub, where)
        elif kind == "array":
            for i, item in enumerate(value):
                unknown += _unknown_keys(item, sub, f"{where}[{i}]")
        else:
            for name, item in value.items():
                unknown += _unknown_keys(item, sub, f"{where}.{name}")
    return unknown


def _example_with_commented_sections() -> dict[str, Any]:
    """The example config, plus its commented-out ``# [platforms.…]`` blocks uncommented."""
    text = EXAMPLE.read_text(encoding="utf-8")
    lines: list[str] = []
    in_block = False
    for line in text.splitlines():
        if re.match(r"# \[[a-z_.]+\]\s*$", line):
            in_block = True
        elif in_block and not re.match(r"# [a-z_]+ = ", line):
            in_block = False
        lines.append(line[2:] if in_block else line)
    return tomllib.loads("\n".join(lines) + "\n")


def test_every_key_of_the_example_config_exists_in_the_models() -> None:
    data = _example_with_commented_sections()
    assert {"wecom", "dingtalk", "feishu"} <= set(data["platforms"]), "the commented platform blocks were not read"
    assert _unknown_keys(data, Config, "") == []


def test_the_key_walk_notices_an_unknown_key() -> None:
    data = {"server": {"port": 1, "colour": "red"}, "units": [{"code": "A", "chats": [{"platfrom": "x"}]}],
            "platforms": {"wecom": {"main": {"agentid": 1}}}, "scheduler": {"jobs": {"x": {"cronn": ""}}}}
    assert _unknown_keys(data, Config, "") == ["server.colour", "units[0].chats[0].platfrom",
                                               "platforms.wecom.main.agentid", "scheduler.jobs.x.cronn"]
