"""The chat-platform registry: every platform the bot can talk on, by its config name.

A platform lives in its own sub-package (``adapters/<name>/``) whose ``__init__`` exposes one
:class:`PlatformSpec` as ``PLATFORM``; the composition root (:mod:`bot.plugins`) registers the
built-in ones, one line each. Anything else — a test's fake platform, say — calls :func:`register`.
The wiring, the config validation, the preflight and the configuration reference iterate
:func:`platforms`; none of them names a platform.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.metrics import Metrics
from bot.ports import ChatAdapter, Lease


@dataclass(frozen=True, slots=True)
class PlatformDeps:
    """What the app hands a platform's factory: the clock, metrics, the store lease, this instance,
    the validated ``chat_options`` of every chat bound to the platform, by (bot, chat_id), and the
    store's sessions (for what every instance must share, e.g. DingTalk's signature pairs)."""

    clock: Clock
    metrics: Metrics
    lease: Lease | None = None
    instance_id: str = ""
    chats: Mapping[tuple[str, str], Any] = field(default_factory=dict)
    sessions: async_sessionmaker[AsyncSession] | None = None


def _no_problems(name: str, bot: Any) -> list[str]:
    return []


def missing_keys(platform: str, name: str, bot: BaseModel, keys: tuple[str, ...], where: str) -> list[str]:
    """One line per empty key of ``[platforms.<platform>.<name>]``, saying ``where`` in the
    platform's console its value is found (a ``credential_problems`` building block)."""
    return [f"platforms.{platform}.{name}.{key}：不能为空（{where}） / {key} is required"
            for key in keys if not getattr(bot, key)]


@dataclass(frozen=True, slots=True)
class PlatformSpec:
    """One chat platform: its config name, its per-bot config model, how to build its adapter,
    the line the configuration reference shows for it, and the options a chat binding may carry.

    ``factory(bots, deps)`` gets every validated ``[platforms.<name>.<bot>]`` table by bot name.
    ``chat_options`` validates the platform's own keys of a ``[[units]] chats`` entry (a group's
    send-only robot, say); the adapter is handed them per (bot, chat_id), so no destination
    carries a platform's credentials. ``credential_problems(bot_name, bot)`` lists what the
    preflight reports for a bot whose mode needs keys left empty.
    """

    name: str
    config_model: type[BaseModel]
    factory: Callable[[dict[str, Any], PlatformDeps], ChatAdapter]
    docs: str
    chat_options: type[BaseModel] | None = None
    credential_problems: Callable[[str, Any], list[str]] = field(default=_no_problems)


_REGISTRY: dict[str, PlatformSpec] = {}


def register(spec: PlatformSpec) -> PlatformSpec:
    """Add ``spec``; a second platform under one name is a programming error."""
    if spec.name in _REGISTRY and _REGISTRY[spec.name] is not spec:
        raise ValueError(f"platform {spec.name!r} is registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a platform registered with :func:`register` (a test's fake, after the test)."""
    _REGISTRY.pop(name, None)


def platforms() -> list[PlatformSpec]:
    """Every registered platform, in registration order (the built-in ones first)."""
    return list(_REGISTRY.values())


def platform_names() -> list[str]:
    """The registered platforms' config names."""
    return [spec.name for spec in platforms()]


def platform(name: str) -> PlatformSpec:
    """The platform registered as ``name`` (KeyError when there is none)."""
    return _REGISTRY[name]
