"""The chat command grammar: Chinese commands, tolerant of full-width punctuation, spaces,
a leading @mention and line breaks inside content.

``parse`` turns text into a :class:`Command` (canonical name, ticket reference, the rest), or
raises :class:`GrammarError` whose message shows how to write it right. Only a folded copy of the
text (NFKC, spaces unified) is used to recognise the command and the ticket number; the content
(``rest``) is cut from the text as typed, so a handler's ，：（）；！？ reach the store, the cards,
the SMS and the printed forms unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.calendar import WorkCalendar
from bot.edge import date_problem


@dataclass(frozen=True)
class Vocabulary:
    """What the grammar knows of the commands; built by the command registry from the handlers'
    declarations (``handlers.registry``), so no table here lists a command.

    ``aliases`` maps each canonical name to its words, the name first. Longer aliases are tried
    first, so 先行联系 wins over 联系 and 不同意 over 同意.
    """

    aliases: dict[str, tuple[str, ...]]
    examples: dict[str, str]
    needs_ticket: frozenset[str]
    index: tuple[tuple[str, str], ...] = field(init=False)

    def __post_init__(self) -> None:
        index = sorted(((a.lower(), name) for name, al in self.aliases.items() for a in al),
                       key=lambda x: -len(x[0]))
        object.__setattr__(self, "index", tuple(index))

    def usage(self, name: str) -> str:
        """How to write command ``name``."""
        return f"格式：{self.examples[name]}"


_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_]*")
_MENTION = re.compile(r"^(?:@\S+\s*)+")


class GrammarError(Exception):
    """Text that is not a command, or a command written wrongly; the message says how to write it."""


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command."""

    name: str  # canonical Chinese name
    ref: str | None  # ticket number or suffix, if given (folded: full-width digits made ASCII)
    rest: str  # everything after the reference, as typed (line breaks kept)
    raw: str  # the text as received
    body: str = ""  # everything after the command word, as typed (the reference included)


def fold(text: str) -> tuple[str, list[int]]:
    """The folded copy of ``text`` used for matching, and where each of its characters came from.

    Folding is NFKC (full-width letters, digits and punctuation become half-width) applied per
    character, and U+3000 becomes a space. ``origin[i]`` is the index in ``text`` of the character
    that gave ``folded[i]``; ``origin[len(folded)] == len(text)``. Use it to cut the original
    text at a place found in the folded copy.

    >>> fold("答复：１２")
    ('答复:12', [0, 1, 2, 3, 4, 5])
    """
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for out in " " if ch == "\u3000" else unicodedata.normalize("NFKC", ch):
            chars.append(out)
            origin.append(i)
    origin.append(len(text))
    return "".join(chars), origin


def _normalized(text: str) -> tuple[str, list[int]]:
    """:func:`normalize` with the origin of each character in ``text`` (see :func:`fold`)."""
    folded, origin = fold(text)
    pairs = [(ch, origin[i]) for i, ch in enumerate(folded)
             if not (ch == "\r" and folded[i + 1:i + 2] == "\n")]
    line = "".join(ch for ch, _ in pairs)
    start = len(line) - len(line.lstrip())
    mention = _MENTION.match(line[start:])
    if mention:
        start += mention.end()
    pairs = pairs[start:]
    out: list[tuple[str, int]] = []
    pending_space: tuple[str, int] | None = None
    for ch, at in pairs:
        if ch == "\n":
            pending_space = None
            while out and out[-1][0] == " ":
                out.pop()
            out.append((ch, at))
        elif ch.isspace():
            if pending_space is None:
                pending_space = (" ", at)
        else:
            if pending_space is not None and out and out[-1][0] != "\n":
                out.append(pending_space)
            pending_space = None
            out.append((ch, at))
    while out and out[-1][0].isspace():
        out.pop()
    while out and out[0][0].isspace():
        out.pop(0)
    return "".join(ch for ch, _ in out), [at for _, at in out] + [len(text)]


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC), unify spaces, drop a leading @mention; keep line breaks."""
    return _normalized(text)[0]


_SEPARATORS = " :：,，\u3000"


def _original(raw: str, at: int) -> str:
    """``raw`` from index ``at``, as typed, without the separators people put after a command."""
    return raw[at:].replace("\r\n", "\n").lstrip(_SEPARATORS + "\t\n").strip()


def parse(text: str, vocabulary: Vocabulary) -> Command:
    """Parse a command known to ``vocabulary``; raises GrammarError with a Chinese hint."""
    norm, origin = _normalized(text)
    lowered = norm.lower()
    for alias, name in vocabulary.index:
        if lowered.startswith(alias):
            after = norm[len(alias):]
            # "查" must not swallow words such as "查看"; an alias is followed by a space, a
            # digit, punctuation or the end.
            if after and not (after[0].isspace() or after[0].isascii() or after[0] in ":：,，"):
                continue
            stripped = after.lstrip(" :：,，")
            return _split(name, name in vocabulary.needs_ticket, stripped, text,
                          origin[len(norm) - len(stripped):])
    first = next(iter(vocabulary.examples.values()), "帮助")
    raise GrammarError(f"没有看懂「{norm[:20]}」。发送「帮助」查看命令，例如：{first}")


def _split(name: str, needs_ticket: bool, after: str, raw: str, origin: list[int]) -> Command:
    """Split the folded ``after`` into reference and rest; ``origin`` maps ``after`` into ``raw``."""
    ref: str | None = None
    rest = after
    m = _REF.match(after)
    if m and needs_ticket:
        token = m.group(0)
        # A reference is a number-like token; a leading date or "5天" belongs to the rest.
        tail = after[m.end():]
        if not tail.startswith("天") and (any(ch.isdigit() for ch in token) or len(token) >= 4):
            ref = token
            rest = tail.lstrip(" :：,，")
    body = _original(raw, origin[0])
    rest = _original(raw, origin[len(after) - len(rest)]) if rest.strip() else ""
    return Command(name=name, ref=ref, rest=rest, raw=raw, body=body)


_DAYS = re.compile(r"^(\d{1,3})\s*(个)?\s*(工作日|天|日)\s*")
_DATE = re.compile(r"^(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?\s*")


def parse_extension(rest: str, cal: WorkCalendar, now: datetime,
                    deadline: datetime | None, usage: str = "") -> tuple[datetime, str]:
    """``5天 理由`` / ``3个工作日 理由`` / ``2026-12-05 理由`` → (new deadline, reason).

    Days are counted from the current deadline (or from today when there is none). The days or
    date are read from the folded text (``５天``, ``2026－12－05``); the reason is kept as typed.
    ``usage`` (how to write the command) ends every refusal.
    """
    base: date = cal.local_date(deadline or now)
    typed = rest
    rest, origin = fold(typed)
    m = _DAYS.match(rest)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise GrammarError("延期天数至少为 1。" + usage)
        day = cal.add_workdays(base, n) if m.group(3) == "工作日" else base + timedelta(days=n)
        return cal.office_day_end_at(day), typed[origin[m.end()]:].strip()
    m = _DATE.match(rest)
    if m:
        year = int(m.group(1)) if m.group(1) else cal.local_date(now).year
        try:
            day = date(year, int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise GrammarError("日期不对。" + usage) from None
        if not m.group(1) and day < cal.local_date(now):
            day = day.replace(year=year + 1)
        if problem := date_problem(day):  # year 9999 would overflow the calendar's arithmetic
            raise GrammarError(f"{problem}。" + usage)
        return cal.office_day_end_at(day), typed[origin[m.end()]:].strip()
    raise GrammarError("请写明延期天数或日期。" + usage)
