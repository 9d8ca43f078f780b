"""The chat commands, one module per kind of work; importing the package registers them all in
:data:`handlers.registry.COMMANDS`, module by module in the order 帮助 lists them."""

from importlib import import_module

from handlers.registry import COMMANDS

MODULES = ("working", "repeats", "evidence", "review", "office", "hotline", "supervision", "followup", "info")
"""The handler modules; adding a module of commands adds its name here."""

for _name in MODULES:
    import_module(f"{__name__}.{_name}")

__all__ = ["COMMANDS", "MODULES"]
