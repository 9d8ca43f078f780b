"""The command registry type: each ``handlers/`` module declares its commands in one, once.

A declaration names the command, its aliases, its example, whether it speaks of a ticket, the
content it requires, who may use it, and the handler that does it and composes its answer. The
grammar (``bot.grammar.Vocabulary``), 帮助, the dispatcher and the card buttons all read this
registry; adding a command is one decorated function in one handler module.

A second command with a taken name, an alias another command already uses, or an alias added
for a command that has no route raises ``CommandError`` while the module registering it is
imported.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.directory import Person
from bot.grammar import Command, Vocabulary, fold, parse
from bot.lifecycle import Actor
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
    commands: CommandRegistry  # the registry the command was found in (its vocabulary says how to write it)
    ticket: Ticket | None = None
    via_button: bool = False
    args: Any = None  # the command's typed arguments, parsed by its declared ``args`` parser
    bound: dict[str, str] | None = None  # what a clicked card showed (its signed token's ``extra``)

    @property
    def raw(self) -> str:
        """The command text as received (for the audit trail)."""
        return self.command.raw

    @property
    def usage(self) -> str:
        """How to write the command being handled (``格式：…``)."""
        return self.commands.vocabulary.usage(self.command.name)


Handler = Callable[[Call], Awaitable[str]]
ArgParser = Callable[[Call], Any]
"""Parses a command's content into its typed arguments (raises GrammarError saying how to write it)."""
HelpExample = Callable[[str, str], str]
"""``(unit code, unit name) -> example``: an example naming one of this office's units."""


class CommandError(ValueError):
    """A command declaration that clashes with the registry (raised at import)."""


@dataclass(frozen=True)
class CommandSpec:
    """One command, declared once in its handler module."""

    name: str  # canonical Chinese name
    aliases: tuple[str, ...]  # other words for it (the name excluded)
    example: str  # shown by 帮助 and in every refusal that says how to write it
    handler: Handler
    needs_ticket: bool = True  # the grammar reads a ticket reference after the word
    content: str | None = None  # refusal when the content after the reference is missing
    args: ArgParser | None = None  # typed arguments, parsed once the ticket is known (→ Call.args)
    roles: frozenset[Actor] = frozenset()  # who may use it; empty: every registered person
    read_only: bool = False  # changes nothing: the dispatcher writes its audit row
    office_sees_all: bool = False  # the office may use it on any unit's ticket
    button_note: bool = False  # a card click must carry a note (the click becomes a text reply)
    help_example: HelpExample | None = None  # 帮助's example naming a configured unit
    list_aliases: bool = True  # 帮助 lists the aliases
    evidence: bool = False  # takes the sender's pending photos and files (bot.attachments)

    @property
    def words(self) -> tuple[str, ...]:
        """The name and its aliases, the name first."""
        return (self.name, *self.aliases)


def _key(word: str) -> str:
    """How the grammar compares a command word (folded, lower case)."""
    return fold(word)[0].lower()


class CommandRegistry:
    """Command name → declaration, in the order the handler modules declared them."""

    def __init__(self) -> None:
        self._specs: dict[str, CommandSpec] = {}
        self._words: dict[str, str] = {}  # folded word → command name
        self._vocabulary: Vocabulary | None = None

    def add(self, spec: CommandSpec) -> CommandSpec:
        """Register ``spec``; raises CommandError when its name or a word is taken."""
        if spec.name in self._specs:
            raise CommandError(f"two commands are named {spec.name!r}")
        self._check_words(spec.name, spec.words)
        self._specs[spec.name] = spec
        self._claim(spec.name, spec.words)
        return spec

    def alias(self, name: str, *aliases: str) -> None:
        """Add ``aliases`` to the registered command ``name``; raises CommandError when ``name``
        has no route or a word is taken."""
        spec = self._specs.get(name)
        if spec is None:
            raise CommandError(f"alias {aliases!r} for {name!r}, which no handler declares")
        self._check_words(name, aliases)
        self._specs[name] = CommandSpec(**{**spec.__dict__, "aliases": (*spec.aliases, *aliases)})
        self._claim(name, aliases)

    def command(self, name: str, *aliases: str, example: str, **options: object
                ) -> Callable[[Handler], Handler]:
        """Decorator: declare the handler of command ``name`` (see :class:`CommandSpec`)."""
        def deco(handler: Handler) -> Handler:
            self.add(CommandSpec(name, aliases, example, handler, **options))  # type: ignore[arg-type]
            return handler
        return deco

    def _check_words(self, name: str, words: tuple[str, ...]) -> None:
        for word in words:
            owner = self._words.get(_key(word))
            if owner is not None and owner != name:
                raise CommandError(f"{word!r} of {name!r} is already a word of {owner!r}")

    def _claim(self, name: str, words: tuple[str, ...]) -> None:
        for word in words:
            self._words[_key(word)] = name
        self._vocabulary = None

    def __getitem__(self, name: str) -> CommandSpec:
        return self._specs[name]

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[CommandSpec]:
        return iter(self._specs.values())

    @property
    def names(self) -> list[str]:
        """Canonical names, in declaration order."""
        return list(self._specs)

    @property
    def vocabulary(self) -> Vocabulary:
        """What the grammar needs to know, built from the declarations."""
        if self._vocabulary is None:
            self._vocabulary = Vocabulary(
                aliases={s.name: s.words for s in self},
                examples={s.name: s.example for s in self},
                needs_ticket=frozenset(s.name for s in self if s.needs_ticket))
        return self._vocabulary

    def parse(self, text: str) -> Command:
        """Parse ``text`` as one of these commands (see :func:`bot.grammar.parse`)."""
        return parse(text, self.vocabulary)

    def help_text(self, unit: tuple[str, str] | None = None) -> str:
        """The answer to 帮助: every command with an example.

        ``unit`` is a configured unit's ``(code, name)``, so examples that name a unit name a real one.
        """
        lines = ["可用命令（工单号可只写后4位以上）："]
        for spec in self:
            example = spec.help_example(*unit) if unit and spec.help_example else spec.example
            alias = f"（{'/'.join(spec.aliases)}）" if spec.aliases and spec.list_aliases else ""
            lines.append(f"· {spec.name}{alias}：{example}")
        lines.append("在群里请先 @我 再写命令；回复（引用）我的派单消息时可省略工单号。")
        return "\n".join(lines)

