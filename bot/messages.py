"""The platform-neutral message model (``docs/design.md``, architecture).

Adapters turn wire payloads into :class:`IncomingMessage` and render :class:`OutgoingMessage`;
nothing in ``bot/`` or ``handlers/`` knows any platform's format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ChatKind(StrEnum):
    """Where a message was said."""

    GROUP = "group"
    DIRECT = "direct"


class TargetKind(StrEnum):
    """Who an outgoing message is for."""

    UNIT = "unit"  # every group chat bound to a unit
    PERSON = "person"  # one person, directly
    OFFICE = "office"  # the office's chats (units whose members hold the office role)
    CHAT = "chat"  # one concrete chat: answer to where a command was said
    CITIZEN = "citizen"  # SMS to the citizen of a ticket


@dataclass(frozen=True, slots=True)
class FileRef:
    """An image or file carried by an inbound message, as the platform names it.

    ``key`` is the platform's handle (WeCom media_id or download URL, DingTalk downloadCode,
    Feishu image_key/file_key); ``extra`` holds what the download needs besides it (an AES key,
    the message id). The adapter that decoded it downloads it (``bot.ports.FileSource``)."""

    kind: str  # image | file
    key: str
    name: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, as stored in the inbox."""
        return {"kind": self.kind, "key": self.key, "name": self.name, "extra": dict(self.extra)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileRef:
        """Inverse of :meth:`to_dict`."""
        return cls(kind=str(data["kind"]), key=str(data["key"]), name=str(data.get("name", "")),
                   extra={str(k): str(v) for k, v in (data.get("extra") or {}).items()})


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """One event from a chat platform, decoded and verified.

    ``text`` has the bot's own @mention stripped. ``action`` is the decoded payload of a card
    button (``{"cmd": "同意", "ticket": "...", "token": "..."}``) when the event is a click.
    """

    platform: str
    bot: str
    chat_id: str
    chat_kind: ChatKind
    sender_id: str
    text: str = ""
    mentions: tuple[str, ...] = ()
    mentioned_bot: bool = False
    quoted_message_id: str | None = None
    action: dict[str, Any] | None = None
    event_id: str = ""
    message_id: str | None = None
    files: tuple[FileRef, ...] = ()  # images and files sent with the message
    raw: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, as stored in the inbox."""
        return {
            "platform": self.platform,
            "bot": self.bot,
            "chat_id": self.chat_id,
            "chat_kind": str(self.chat_kind),
            "sender_id": self.sender_id,
            "text": self.text,
            "mentions": list(self.mentions),
            "mentioned_bot": self.mentioned_bot,
            "quoted_message_id": self.quoted_message_id,
            "action": self.action,
            "event_id": self.event_id,
            "message_id": self.message_id,
            **({"files": [f.to_dict() for f in self.files]} if self.files else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IncomingMessage:
        """Inverse of :meth:`to_dict`."""
        return cls(
            platform=data["platform"],
            bot=data["bot"],
            chat_id=data["chat_id"],
            chat_kind=ChatKind(data["chat_kind"]),
            sender_id=data["sender_id"],
            text=data.get("text", ""),
            mentions=tuple(data.get("mentions", ())),
            mentioned_bot=bool(data.get("mentioned_bot", False)),
            quoted_message_id=data.get("quoted_message_id"),
            action=data.get("action"),
            event_id=data.get("event_id", ""),
            message_id=data.get("message_id"),
            files=tuple(FileRef.from_dict(f) for f in data.get("files", ())),
        )


@dataclass(frozen=True, slots=True)
class Action:
    """A card button: the label shown, the command it stands for, and its signed token."""

    label: str
    command: str  # 签收 / 同意 / 驳回 / 进展 …
    ticket: str  # "source/number"
    token: str
    style: str = "default"  # default | primary | danger

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, as stored in the outbox."""
        return {"label": self.label, "command": self.command, "ticket": self.ticket,
                "token": self.token, "style": self.style}


@dataclass(frozen=True, slots=True)
class Mention:
    """A person to @mention, with their ids on every platform and their mobile."""

    name: str
    ids: dict[str, str] = field(default_factory=dict)
    mobile: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"name": self.name, "ids": dict(self.ids), "mobile": self.mobile}


@dataclass(frozen=True, slots=True)
class Destination:
    """One concrete place an outbox row is delivered to: a chat on one bot, or an SMS number.

    It names the place only; a platform's own per-chat keys (a group's send-only robot) stay in
    the chat binding, where the platform's adapter looks them up by (bot, chat_id)."""

    platform: str  # a registered chat platform, console or sms
    bot: str
    chat_id: str = ""  # group chat id; empty for a direct message
    user_id: str = ""  # person's platform id for a direct message; phone for sms

    @property
    def key(self) -> str:
        """Rate-limit bucket key: one per group chat or direct conversation."""
        return f"{self.platform}:{self.bot}:{self.chat_id or 'dm:' + self.user_id}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k)}  # type: ignore[attr-defined]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Destination:
        """Inverse of :meth:`to_dict`; keys of older rows (a robot's credentials) are ignored."""
        return cls(**{k: v for k, v in data.items() if k in cls.__slots__})  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What the bot owes somebody. Rendered by an adapter; cards fall back to text commands."""

    text: str
    markdown: bool = False
    mentions: tuple[Mention, ...] = ()
    actions: tuple[Action, ...] = ()
    title: str = ""
    ticket: str | None = None  # "source/number" it is about, if any
    card_key: str | None = None  # stable id of a card that may be updated after a click

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, as stored in the outbox."""
        return {
            "text": self.text,
            "markdown": self.markdown,
            "mentions": [m.to_dict() for m in self.mentions],
            "actions": [a.to_dict() for a in self.actions],
            "title": self.title,
            "ticket": self.ticket,
            "card_key": self.card_key,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutgoingMessage:
        """Inverse of :meth:`to_dict`."""
        return cls(
            text=data["text"],
            markdown=bool(data.get("markdown", False)),
            mentions=tuple(Mention(**m) for m in data.get("mentions", ())),
            actions=tuple(Action(**a) for a in data.get("actions", ())),
            title=data.get("title", ""),
            ticket=data.get("ticket"),
            card_key=data.get("card_key"),
        )

    def as_plain_text(self) -> str:
        """Text with @mentions and the buttons' equivalent commands, for a platform without cards."""
        parts = [self.text]
        if self.actions:
            cmds = "；".join(f"「{a.command} {a.ticket.split('/', 1)[-1]}」" for a in self.actions)
            parts.append(f"可回复：{cmds}")
        if self.mentions:
            parts.append(" ".join(f"@{m.name}" for m in self.mentions))
        return "\n".join(parts)
