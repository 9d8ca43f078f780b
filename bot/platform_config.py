"""Validation of the per-platform and SMS sections by the adapters' own config models."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    from bot.config import Config

# platform -> (module, config model name)
PLATFORM_MODELS: dict[str, tuple[str, str]] = {
    "wecom": ("adapters.wecom.adapter", "WeComBotConfig"),
    "dingtalk": ("adapters.dingtalk.adapter", "DingTalkBotConfig"),
    "feishu": ("adapters.feishu.adapter", "FeishuBotConfig"),
}


def platform_model(platform: str) -> Any:
    """The pydantic model of one bot of ``platform``."""
    module, name = PLATFORM_MODELS[platform]
    return getattr(importlib.import_module(module), name)


def validate_platform_sections(config: Config) -> None:
    """Check every ``[platforms.<p>.<bot>]`` table and every chat binding's bot name."""
    from bot.config import ConfigError, _format_errors

    problems: list[str] = []
    for platform in PLATFORM_MODELS:
        for bot, table in getattr(config.platforms, platform).items():
            try:
                platform_model(platform).model_validate(table)
            except ValidationError as exc:
                prefix = f"platforms.{platform}.{bot}."
                problems += [prefix + line for line in _format_errors(exc).splitlines()]
    for i, unit in enumerate(config.units):
        for j, chat in enumerate(unit.chats):
            if chat.platform == "console":
                continue
            if chat.bot not in getattr(config.platforms, chat.platform):
                problems.append(f"units[{i}].chats[{j}].bot: no [platforms.{chat.platform}.{chat.bot}]")
    if problems:
        raise ConfigError("\n".join(problems))
