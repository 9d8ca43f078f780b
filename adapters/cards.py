"""The card-button payload every platform carries: one typed, versioned codec.

A button's value is the compact JSON object ``{"v": 1, "cmd": …, "ticket": …, "token": …}``
(WeCom puts it in the button ``key``, DingTalk in the card's ``value`` string, Feishu in the
button's ``value`` object). A click decodes it back; anything that is not a version-1 value of
ours — another app's button, a newer format — decodes to None and is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.messages import Action

BUTTON_VERSION = 1


@dataclass(frozen=True, slots=True)
class ButtonPayload:
    """What a card button stands for: the command, the ticket ("source/number") and its signed token."""

    command: str
    ticket: str
    token: str

    @classmethod
    def of(cls, action: Action) -> ButtonPayload:
        """The payload of an outgoing message's button."""
        return cls(action.command, action.ticket, action.token)

    def to_dict(self) -> dict[str, Any]:
        """The versioned object a platform stores with the button."""
        return {"v": BUTTON_VERSION, "cmd": self.command, "ticket": self.ticket, "token": self.token}

    def to_json(self) -> str:
        """:meth:`to_dict` as compact JSON, for platforms whose button value is a string."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    def as_action(self) -> dict[str, str]:
        """The ``IncomingMessage.action`` of a click on this button."""
        return {"cmd": self.command, "ticket": self.ticket, "token": self.token}

    @classmethod
    def decode(cls, value: Any) -> ButtonPayload | None:
        """A payload from a clicked button's value (JSON text or an already parsed object), or None
        when it is not a version-1 value of ours: ``cmd`` a non-empty string, ``ticket`` and
        ``token`` strings."""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return None
        if not isinstance(value, dict) or value.get("v") != BUTTON_VERSION:
            return None
        cmd, ticket, token = value.get("cmd"), value.get("ticket"), value.get("token")
        if not (isinstance(cmd, str) and cmd and isinstance(ticket, str) and isinstance(token, str)):
            return None
        return cls(cmd, ticket, token)


def decode_click(value: Any) -> dict[str, str] | None:
    """The ``IncomingMessage.action`` of a click on a button carrying ``value``
    (``{"cmd", "ticket", "token"}``), or None when the value is not a version-1 payload of ours."""
    payload = ButtonPayload.decode(value)
    return payload.as_action() if payload else None
