"""What a deadline preset is: one real unit procedure's rules, in match order."""

from __future__ import annotations

from dataclasses import dataclass

from bot.deadlines import Rule


@dataclass(frozen=True)
class Preset:
    """One shipped procedure: the config name (``[procedure] preset``), the place (or kind of work) it
    comes from as people say it, its rules in match order, and the procedure it encodes."""

    name: str
    label: str
    rules: tuple[Rule, ...]
    source: str
