"""Validation of the per-platform sections by the registered platforms' own config models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from adapters.registry import platform, platforms

if TYPE_CHECKING:
    from bot.config import Config


def platform_model(name: str) -> Any:
    """The pydantic model of one bot of platform ``name``."""
    return platform(name).config_model


def platform_bots(config: Config, name: str) -> dict[str, Any]:
    """The validated ``[platforms.<name>.<bot>]`` tables of ``config``, by bot name."""
    model = platform_model(name)
    return {bot: model.model_validate(table) for bot, table in config.platforms.bot_tables(name).items()}


def validate_platform_sections(config: Config) -> None:
    """Check every ``[platforms.<p>.<bot>]`` table and every chat binding's bot name."""
    from bot.config import CONSOLE, ConfigError, _format_errors

    problems: list[str] = []
    for spec in platforms():
        for bot, table in config.platforms.bot_tables(spec.name).items():
            try:
                spec.config_model.model_validate(table)
            except ValidationError as exc:
                prefix = f"platforms.{spec.name}.{bot}."
                problems += [prefix + line for line in _format_errors(exc).splitlines()]
    for i, unit in enumerate(config.units):
        for j, chat in enumerate(unit.chats):
            if chat.platform == CONSOLE:
                continue
            if chat.bot not in config.platforms.bot_tables(chat.platform):
                problems.append(f"units[{i}].chats[{j}].bot: no [platforms.{chat.platform}.{chat.bot}]")
    if problems:
        raise ConfigError("\n".join(problems))
