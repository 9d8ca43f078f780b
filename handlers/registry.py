"""A small router: each ``handlers/`` module registers its commands on a Router."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.directory import Person
from bot.grammar import Command
from bot.messages import IncomingMessage

if TYPE_CHECKING:
    from bot.context import BotContext
    from store.models import Ticket


@dataclass
class Call:
    """One command being handled: who said what, about which ticket, in which transaction."""

    ctx: BotContext
    s: AsyncSession
    message: IncomingMessage
    person: Person
    command: Command
    ticket: Ticket | None = None
    via_button: bool = False

    @property
    def raw(self) -> str:
        """The command text as received (for the audit trail)."""
        return self.command.raw


Handler = Callable[[Call], Awaitable[str]]


@dataclass(frozen=True)
class Route:
    """A registered command."""

    name: str
    handler: Handler
    needs_ticket: bool


class Router:
    """Command name → handler."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}

    def command(self, name: str, *, needs_ticket: bool = True) -> Callable[[Handler], Handler]:
        """Register ``handler`` for the canonical command ``name``."""
        def deco(handler: Handler) -> Handler:
            self.routes[name] = Route(name, handler, needs_ticket)
            return handler
        return deco

    def include(self, other: Router) -> None:
        """Add every route of ``other``."""
        self.routes.update(other.routes)
