"""Who is who: people, their platform ids and per-unit roles, and where each unit's chats are.

Built from the config (the source of truth) and mirrored into the store on start so that audit
rows and tickets can reference people by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bot.config import ChatBinding, Config, PersonConfig, UnitConfig
from bot.messages import Destination, Mention


@dataclass(frozen=True)
class Person:
    """A person of the config, with their store id once synced."""

    name: str
    mobile: str
    ids: dict[str, str]
    roles: frozenset[tuple[str, str]]  # (unit code, role)
    id: int = 0
    password_hash: str = ""
    title: str = ""  # 职务
    phone: str = ""  # 办公电话 (the mobile when none is configured)

    @property
    def contact(self) -> dict[str, str]:
        """负责人信息: name, title and phone, as attachments and hotline reports carry them."""
        return {"name": self.name, "title": self.title, "phone": self.phone or self.mobile}

    def has_role(self, role: str, unit: str | None = None) -> bool:
        """Whether the person holds ``role`` (in ``unit`` when given)."""
        return any(r == role and (unit is None or u == unit) for u, r in self.roles)

    @property
    def is_office(self) -> bool:
        """Office members act on every unit."""
        return any(r == "office" for _, r in self.roles)

    def units(self, role: str | None = None) -> set[str]:
        """The units where the person holds ``role`` (any role when None)."""
        return {u for u, r in self.roles if role is None or r == role}

    def mention(self) -> Mention:
        """How to @mention this person on any platform."""
        return Mention(name=self.name, ids=dict(self.ids), mobile=self.mobile)


@dataclass
class Directory:
    """Lookup tables over the config's units and people."""

    units: dict[str, UnitConfig]
    people: dict[str, Person]
    by_platform_id: dict[tuple[str, str], Person] = field(default_factory=dict)
    by_chat: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (platform, bot, chat) → unit

    @classmethod
    def from_config(cls, config: Config) -> Directory:
        """Index the config."""
        people = {p.name: _person(p) for p in config.people}
        d = cls(units={u.code: u for u in config.units}, people=people)
        for person in people.values():
            for platform, pid in person.ids.items():
                d.by_platform_id[(platform, pid)] = person
            # The console platform names people by their config name.
            d.by_platform_id.setdefault(("console", person.name), person)
        for u in config.units:
            for chat in u.chats:
                d.by_chat[(chat.platform, chat.bot, chat.chat_id)] = u.code
        return d

    def bind_ids(self, ids: dict[str, int]) -> None:
        """Attach store ids (name → id) after the mirror is written."""
        for name, pid in ids.items():
            if name in self.people:
                old = self.people[name]
                new = replace(old, id=pid)
                self.people[name] = new
                for key, p in list(self.by_platform_id.items()):
                    if p.name == name:
                        self.by_platform_id[key] = new

    def person_by_id(self, pid: int | None) -> Person | None:
        """The person with store id ``pid``."""
        if pid is None:
            return None
        return next((p for p in self.people.values() if p.id == pid), None)

    def sender(self, platform: str, sender_id: str) -> Person | None:
        """The person behind a platform user id, or None for a stranger."""
        return self.by_platform_id.get((platform, sender_id))

    def unit_of_chat(self, platform: str, bot: str, chat_id: str) -> str | None:
        """The unit a group chat is bound to."""
        return self.by_chat.get((platform, bot, chat_id))

    def unit_name(self, code: str | None) -> str:
        """Display name of a unit."""
        if code is None:
            return "（未派单）"
        u = self.units.get(code)
        return u.name if u else code

    def members(self, unit: str, role: str) -> list[Person]:
        """People with ``role`` in ``unit``."""
        return [p for p in self.people.values() if (unit, role) in p.roles]

    def leaders(self, unit: str) -> list[Person]:
        """Leaders of ``unit``; falls back to the parent unit's leaders."""
        found = self.members(unit, "leader")
        parent = self.units[unit].parent if unit in self.units else None
        while not found and parent:
            found = self.members(parent, "leader")
            parent = self.units[parent].parent
        return found

    def office_people(self) -> list[Person]:
        """Everyone with the office role."""
        return [p for p in self.people.values() if p.is_office]

    def office_units(self) -> list[str]:
        """Units where office members sit (their chats are the office's chats)."""
        return sorted({u for p in self.office_people() for u, r in p.roles if r == "office"})

    def chats(self, unit: str) -> list[ChatBinding]:
        """The group chats bound to ``unit``."""
        u = self.units.get(unit)
        return list(u.chats) if u else []

    def unit_destinations(self, unit: str) -> list[Destination]:
        """Where a message to ``unit`` goes: each of its group chats."""
        return [
Destination(platform=c.platform, bot=c.bot, chat_id=c.chat_id) for c in self.chats(unit)
        ]

    def person_destinations(self, person: Person, bots: dict[str, list[str]]) -> list[Destination]:
        """Direct-message destinations of ``person``: the first platform they have an id on.

        ``bots`` maps platform → configured bot names, chat platforms in the registry's order;
        the console comes last.
        """
        for platform, names in bots.items():
            uid = person.ids.get(platform)
            if platform != "console" and uid and names:
                return [Destination(platform=platform, bot=names[0], user_id=uid)]
        if bots.get("console"):
            return [Destination(platform="console", bot="console", user_id=person.name)]
        return []

    def may_see_unit(self, person: Person, unit: str | None) -> bool:
        """Office sees all; others see their own units (and the units below them)."""
        if person.is_office:
            return True
        if unit is None:
            return False
        mine = person.units()
        code: str | None = unit
        while code is not None:
            if code in mine:
                return True
            code = self.units[code].parent if code in self.units else None
        return False


def _person(p: PersonConfig) -> Person:
    return Person(name=p.name, mobile=p.mobile, ids=dict(p.ids),
                  roles=frozenset((r.unit, r.role) for r in p.roles), password_hash=p.password_hash,
                  title=p.title, phone=p.phone)
