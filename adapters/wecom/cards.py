"""Rendering OutgoingMessage for WeCom: button keys, ``button_interaction`` cards, mentions.

A button's ``key`` (returned as ``event_key`` / ``EventKey`` on a click) carries the compact JSON
``{"v":1,"cmd":..,"ticket":..,"token":..}``; WeCom allows at most 1024 bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from adapters.cards import BUTTON_VERSION, ButtonPayload, decode_click
from bot.messages import Action, Destination, Mention, OutgoingMessage

MAX_KEY_BYTES = 1024
MAX_BUTTONS = 6
MAX_TASK_ID_BYTES = 128
NOOP_CMD = "noop"  # key of the status button shown on an updated card; a click on it is ignored
_TASK_ID_BAD = re.compile(r"[^0-9A-Za-z_\-@]")
_STYLE = {"primary": 1, "default": 2, "danger": 3}  # WeCom styles 1-4 [colours unverified]
TITLE_CHARS = 26  # main_title.title: "建议不超过26个字"
SUB_TITLE_CHARS = 112  # sub_title_text: "建议不超过112个字"
DEFAULT_TITLE = "12345热线工单"


def encode_action_key(action: Action) -> str:
    """The button key for ``action`` (:class:`~adapters.cards.ButtonPayload` as JSON); raises
    ValueError beyond WeCom's 1024 bytes."""
    key = ButtonPayload.of(action).to_json()
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ValueError(f"button key is {len(key.encode())} bytes, WeCom allows {MAX_KEY_BYTES}")
    return key


def decode_action_key(key: str) -> dict[str, Any] | None:
    """``{"cmd","ticket","token"}`` from a key we built, or None for any other key (and for the
    status button of an updated card)."""
    action = decode_click(key)
    return None if action is None or action["cmd"] == NOOP_CMD else action


def task_id_for(card_key: str | None, dest: Destination) -> str:
    """A task_id unique per bot: the card key plus a short hash of the chat, so the same card sent
    to two chats does not collide and an update for the same chat finds it again."""
    if not card_key:
        return uuid.uuid4().hex
    where = hashlib.sha1(f"{dest.chat_id}|{dest.user_id}".encode()).hexdigest()[:8]
    base = _TASK_ID_BAD.sub("_", card_key)
    room = MAX_TASK_ID_BYTES - len(where) - 1
    if len(base) > room:  # keep it unique: hash the full key
        base = base[: room - 9] + "_" + hashlib.sha1(card_key.encode()).hexdigest()[:8]
    return f"{base}-{where}"


def card_title(message: OutgoingMessage) -> str:
    """The card's main title: the message title or its first line, cut to the suggested size."""
    title = message.title or message.text.strip().split("\n", 1)[0] or DEFAULT_TITLE
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def card_fits(message: OutgoingMessage) -> bool:
    """True when the text fits the card itself (no separate text message needed)."""
    return not message.mentions and len(message.text) <= SUB_TITLE_CHARS


def button_card(message: OutgoingMessage, task_id: str, *, with_text: bool = True) -> dict[str, Any]:
    """A ``button_interaction`` template card; without actions, one inert status button."""
    buttons: list[dict[str, Any]] = [
        {"text": a.label, "style": _STYLE.get(a.style, 2), "key": encode_action_key(a)}
        for a in message.actions[:MAX_BUTTONS]
    ]
    if not buttons:
        label = message.title or "已处理"
        buttons = [{"text": label, "style": 2,
                    "key": json.dumps({"v": BUTTON_VERSION, "cmd": NOOP_CMD}, separators=(",", ":"))}]
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": {"desc": "12345热线"},
        "main_title": {"title": card_title(message)},
        "task_id": task_id,
        "button_list": buttons,
    }
    if with_text and message.text:
        card["sub_title_text"] = message.text
    else:
        card["sub_title_text"] = "请点击下方按钮处理"
    return card


def mention_ids(mentions: tuple[Mention, ...]) -> tuple[list[str], list[str], list[str]]:
    """``(userids, mobiles, names)``: WeCom ids where known, else mobiles, else only the name."""
    ids: list[str] = []
    mobiles: list[str] = []
    names: list[str] = []
    for m in mentions:
        if m.ids.get("wecom"):
            ids.append(m.ids["wecom"])
        elif m.mobile:
            mobiles.append(m.mobile)
        else:
            names.append(m.name)
    return ids, mobiles, names


def markdown_with_mentions(text: str, mentions: tuple[Mention, ...], *, tags: bool) -> str:
    """Append mentions: ``<@userid>`` where the path supports it (robot markdown), else "@name"."""
    if not mentions:
        return text
    parts: list[str] = []
    for m in mentions:
        uid = m.ids.get("wecom")
        parts.append(f"<@{uid}>" if tags and uid else f"@{m.name}")
    return f"{text}\n{' '.join(parts)}"


def plain_with_names(text: str, mentions: tuple[Mention, ...]) -> str:
    """Append "@name" for each mention (paths that cannot notify)."""
    if not mentions:
        return text
    return f"{text}\n{' '.join('@' + m.name for m in mentions)}"
