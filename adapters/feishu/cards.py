"""Rendering an OutgoingMessage as Feishu message contents: text, markdown card, button card.

Button values are compact JSON objects ``{"v": 1, "cmd", "ticket", "token"}`` (schema version 1);
:func:`adapters.cards.decode_click` is the only reader. Splitting follows ``docs/design.md`` (platform adapters, rule 5): parts are
cut at line boundaries until each serialized request body fits the path's byte limit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from adapters.cards import ButtonPayload
from adapters.text import split_utf8
from bot.messages import Action, Mention, OutgoingMessage

_BUTTON_TYPES = {"default": "default", "primary": "primary", "danger": "danger"}

Content = tuple[str, dict[str, Any]]  # (msg_type, content object)
Fits = Callable[[str, dict[str, Any]], bool]


class RenderError(ValueError):
    """The message cannot be made to fit the platform's limits."""


def button_value(action: Action) -> dict[str, Any]:
    """The value carried by a card button: what comes back in ``event.action.value``."""
    return ButtonPayload.of(action).to_dict()


def _open_id(mention: Mention) -> str:
    return mention.ids.get("feishu", "")


def at_text(mention: Mention) -> str:
    """A mention inside a text message: ``<at user_id="ou_…">名字</at>``, or ``@名字`` without an id."""
    oid = _open_id(mention)
    return f'<at user_id="{oid}">{mention.name}</at>' if oid else f"@{mention.name}"


def at_md(mention: Mention) -> str:
    """A mention inside a card's lark_md: ``<at id=ou_…></at>``, or ``@名字`` without an id."""
    oid = _open_id(mention)
    return f"<at id={oid}></at>" if oid else f"@{mention.name}"


def _button(action: Action) -> dict[str, Any]:
    return {"tag": "button", "text": {"tag": "plain_text", "content": action.label},
            "type": _BUTTON_TYPES.get(action.style, "default"), "value": button_value(action)}


def build_card(*, title: str, text: str, markdown: bool, mentions: tuple[Mention, ...] = (),
               actions: tuple[Action, ...] = ()) -> dict[str, Any]:
    """A v1 interactive card: optional header, the text, a mention line, then the buttons."""
    elements: list[dict[str, Any]] = []
    if text:
        elements.append({"tag": "div", "text": {"tag": "lark_md" if markdown else "plain_text",
                                                "content": text}})
    if mentions:
        elements.append({"tag": "div", "text": {"tag": "lark_md",
                                                "content": " ".join(at_md(m) for m in mentions)}})
    if actions:
        elements.append({"tag": "action", "actions": [_button(a) for a in actions]})
    card: dict[str, Any] = {"config": {"wide_screen_mode": True, "update_multi": True},
                            "elements": elements}
    if title:
        card["header"] = {"title": {"tag": "plain_text", "content": title}, "template": "orange"}
    return card


def render(message: OutgoingMessage, *, cards: bool, fits: Fits, first_limit: int) -> list[Content]:
    """The message as one or more contents, each fitting ``fits``.

    ``cards`` is False on a path where buttons cannot call back (the custom bot): the buttons then
    become the text commands of ``as_plain_text``. Mentions go with the last part, buttons too.
    """
    with_buttons = bool(message.actions) and cards
    as_card = with_buttons or message.markdown
    if message.actions and not cards:
        text = dataclasses.replace(message, mentions=()).as_plain_text()
    else:
        text = message.text

    def build(part: str, first: bool, last: bool) -> Content:
        mentions = message.mentions if last else ()
        if as_card:
            return "interactive", build_card(
                title=message.title if first else "", text=part,
                markdown=message.markdown, mentions=mentions,
                actions=message.actions if last and with_buttons else ())
        tail = " ".join(at_text(m) for m in mentions)
        return "text", {"text": f"{part}\n{tail}" if part and tail else part or tail}

    return _fit(text, build, fits, first_limit)


def _fit(text: str, build: Callable[[str, bool, bool], Content], fits: Fits,
         limit: int) -> list[Content]:
    chunks = split_utf8(text, limit)
    while True:
        for i, chunk in enumerate(chunks):
            msg_type, content = build(chunk, i == 0, i == len(chunks) - 1)
            if not fits(msg_type, content):
                size = len(chunk.encode())
                if size <= 64:
                    raise RenderError("message does not fit even when split")
                chunks[i:i + 1] = split_utf8(chunk, max(64, size // 2))
                break
        else:
            return [build(c, i == 0, i == len(chunks) - 1) for i, c in enumerate(chunks)]
