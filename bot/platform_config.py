"""The per-platform sections of a validated config, read through the registered platforms' models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.platforms import platform

if TYPE_CHECKING:
    from bot.config import Config


def platform_model(name: str) -> Any:
    """The pydantic model of one bot of platform ``name``."""
    return platform(name).config_model


def platform_bots(config: Config, name: str) -> dict[str, Any]:
    """The validated ``[platforms.<name>.<bot>]`` tables of ``config``, by bot name."""
    model = platform_model(name)
    return {bot: model.model_validate(table) for bot, table in config.platforms.bot_tables(name).items()}
