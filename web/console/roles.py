"""How the console names a person's roles."""

from __future__ import annotations

from collections.abc import Callable

from bot.labels import ROLE_LABELS


def roles_text(roles: frozenset[tuple[str, str]], unit_name: Callable[[str], str]) -> str:
    """``养老服务科·承办人、局办公室·办公室`` for a person's roles."""
    return "、".join(f"{unit_name(u)}·{ROLE_LABELS.get(r, r)}" for u, r in sorted(roles))
