"""The bot's command registry: each ``handlers/`` module declares its commands in :data:`COMMANDS`.

The registry type and the declaration (:class:`bot.commands.CommandSpec`) live in the domain; the
composition root hands this instance to the dispatcher.
"""

from bot.commands import CommandRegistry

__all__ = ["COMMANDS", "command"]

COMMANDS = CommandRegistry()
"""Every command of the bot; the modules of :mod:`handlers` fill it when imported."""

command = COMMANDS.command
