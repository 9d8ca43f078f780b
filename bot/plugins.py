"""The composition root's extension list: importing this module registers the built-in chat
platforms (in the order a person's direct messages prefer them), SMS providers and commands.

The registries live in the domain (:mod:`bot.platforms`, :mod:`bot.sms_providers`,
:mod:`bot.commands`); their built-in entries live in ``adapters/`` and ``handlers/``. This module
is where the two meet: the app factory, the CLI and the configuration reference import it before
they read a config. Adding a platform adds one line here.
"""

from __future__ import annotations

import adapters.sms  # noqa: F401  (each provider module registers itself)
from adapters import dingtalk, feishu, wecom
from bot.commands import CommandRegistry
from bot.platforms import register
from handlers import COMMANDS as _COMMANDS

register(wecom.PLATFORM)
register(dingtalk.PLATFORM)
register(feishu.PLATFORM)

COMMANDS: CommandRegistry = _COMMANDS
"""Every command of the bot (the modules of :mod:`handlers` fill it when imported)."""
