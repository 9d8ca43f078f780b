"""Deadline presets: one registry, one module per real unit procedure (``docs/procedures.md``).

Each rule quotes the sentence of the procedure it encodes. Rules are in match order: the first
matching non-overlay rule wins; overlay rules fill what the winner leaves unset. Adding a preset
is one module here defining ``PRESET = Preset(...)`` plus one line in :data:`BUILTIN` (or
:func:`register` from elsewhere, as ``tests/bot/test_preset_registry.py`` does).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.deadlines import Rule, RuleBook
from bot.presets import jilin, lichuan, pingdingshan, songjiang, xinfang
from bot.presets.base import Preset

__all__ = ["PRESETS", "Preset", "build_rulebook", "register", "unregister"]

BUILTIN: tuple[Preset, ...] = (lichuan.PRESET, songjiang.PRESET, pingdingshan.PRESET, jilin.PRESET, xinfang.PRESET)

PRESETS: dict[str, Preset] = {}
"""The registered presets by config name, in registration order."""


def register(preset: Preset) -> None:
    """Make ``preset`` choosable as ``[procedure] preset``; a taken name is an error."""
    if preset.name in PRESETS:
        raise ValueError(f"preset {preset.name!r} is already registered")
    PRESETS[preset.name] = preset


def unregister(name: str) -> None:
    """Forget a registered preset (tests that register their own)."""
    PRESETS.pop(name, None)


for _preset in BUILTIN:
    register(_preset)


def build_rulebook(preset: str, config_rules: Sequence[Rule] = ()) -> RuleBook:
    """The rule book of ``preset`` with the office's ``config_rules`` applied.

    A config rule named like a preset rule replaces it in place; the other config rules go
    before the preset rules, in their own order, so they win. An unknown preset or two config
    rules with one name raise ``ValueError``.
    """
    try:
        base = PRESETS[preset].rules
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ValueError(f"unknown procedure preset {preset!r}; known presets: {known}") from None
    by_name: dict[str, Rule] = {}
    for rule in config_rules:
        if rule.name in by_name:
            raise ValueError(f"two [[procedure.rules]] are named {rule.name!r}")
        by_name[rule.name] = rule
    preset_names = {r.name for r in base}
    prepended = [r for r in config_rules if r.name not in preset_names]
    merged = [by_name.get(r.name, r) for r in base]
    return RuleBook([*prepended, *merged])
