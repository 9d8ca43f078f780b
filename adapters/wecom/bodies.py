"""Request bodies for each WeCom sending path, split under the path's UTF-8 byte limit.

Paths (``docs/platforms/wecom.md``, sending): the group robot webhook (消息推送, no cards with callbacks), the app's
``message/send`` (to a person; cards with buttons), ``appchat/send`` (app-created groups; no
cards) and the AI bot's ``aibot_send_msg`` over the long connection (markdown or cards, no text).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from adapters.text import split_utf8
from adapters.wecom.cards import (
    button_card,
    card_fits,
    markdown_with_mentions,
    mention_ids,
    plain_with_names,
)
from bot.messages import OutgoingMessage

ROBOT_TEXT_BYTES = 2048
ROBOT_MARKDOWN_BYTES = 4096
APP_TEXT_BYTES = 2048  # message/send and appchat/send: longer text is silently truncated
AIBOT_MARKDOWN_BYTES = 4096  # not documented for aibot_send_msg; the robot's markdown limit


def _without_mentions(message: OutgoingMessage) -> OutgoingMessage:
    return replace(message, mentions=())


def robot_bodies(message: OutgoingMessage) -> list[dict[str, Any]]:
    """Bodies for ``webhook/send?key=``; a card falls back to its plain-text form."""
    text = _without_mentions(message).as_plain_text() if message.actions else message.text
    if message.markdown:
        content = markdown_with_mentions(text, message.mentions, tags=True)
        return [{"msgtype": "markdown", "markdown": {"content": part}}
                for part in split_utf8(content, ROBOT_MARKDOWN_BYTES)]
    ids, mobiles, names = mention_ids(message.mentions)
    content = f"{text}\n{' '.join('@' + n for n in names)}" if names else text
    bodies: list[dict[str, Any]] = []
    for i, part in enumerate(split_utf8(content, ROBOT_TEXT_BYTES)):
        body: dict[str, Any] = {"content": part}
        if i == 0 and ids:
            body["mentioned_list"] = ids
        if i == 0 and mobiles:
            body["mentioned_mobile_list"] = mobiles
        bodies.append({"msgtype": "text", "text": body})
    return bodies


def _app_text_bodies(text: str, markdown: bool) -> list[dict[str, Any]]:
    kind = "markdown" if markdown else "text"
    return [{"msgtype": kind, kind: {"content": part}} for part in split_utf8(text, APP_TEXT_BYTES)]


def app_user_bodies(message: OutgoingMessage, agent_id: int, user_id: str,
                    task_id: str) -> list[dict[str, Any]]:
    """Bodies for ``message/send`` to one member; a card goes last (its result is the card's)."""
    common = {"touser": user_id, "agentid": agent_id,
              "enable_duplicate_check": 1, "duplicate_check_interval": 1800}
    text = plain_with_names(message.text, message.mentions)
    if not message.actions:
        return [{**common, **b} for b in _app_text_bodies(text, message.markdown)]
    bodies: list[dict[str, Any]] = []
    fits = card_fits(message)
    if not fits:
        bodies.extend({**common, **b} for b in _app_text_bodies(text, message.markdown))
    card = button_card(message, task_id, with_text=fits)
    bodies.append({**common, "msgtype": "template_card", "template_card": card})
    return bodies


def appchat_bodies(message: OutgoingMessage, chat_id: str) -> list[dict[str, Any]]:
    """Bodies for ``appchat/send`` (no cards there: the plain-text fallback)."""
    text = _without_mentions(message).as_plain_text() if message.actions else message.text
    text = plain_with_names(text, message.mentions)
    return [{"chatid": chat_id, "safe": 0, **b} for b in _app_text_bodies(text, message.markdown)]


def aibot_bodies(message: OutgoingMessage, chat_id: str, task_id: str) -> list[dict[str, Any]]:
    """Bodies for ``aibot_send_msg``: markdown only (text is rejected), cards as template cards."""
    text = plain_with_names(message.text, message.mentions)
    bodies: list[dict[str, Any]] = []
    fits = card_fits(message)
    if not message.actions or not fits:
        bodies.extend({"chatid": chat_id, "msgtype": "markdown", "markdown": {"content": part}}
                      for part in split_utf8(text, AIBOT_MARKDOWN_BYTES))
    if message.actions:
        card = button_card(message, task_id, with_text=fits)
        bodies.append({"chatid": chat_id, "msgtype": "template_card", "template_card": card})
    return bodies


def card_update_label(message: OutgoingMessage) -> str:
    """The replacement button text of an app card update: who did what, in a few characters."""
    return message.title or message.text.strip().split("\n", 1)[0] or "已处理"
