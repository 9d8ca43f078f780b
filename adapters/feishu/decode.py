"""Turning a verified Feishu event (schema 2.0) into an IncomingMessage (``docs/platforms/feishu.md``, inbound fields).

Handled: ``im.message.receive_v1`` (text and post messages from users) and ``card.action.trigger``
(clicks on our buttons). Everything else decodes to None: the caller acks it and moves on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from adapters.cards import ButtonPayload
from bot import safe_json
from bot.messages import ChatKind, FileRef, IncomingMessage

MESSAGE_EVENT = "im.message.receive_v1"
CARD_EVENT = "card.action.trigger"
_SPACES = re.compile(r"[ \t\u3000]+")


class EventDecodeError(ValueError):
    """A verified event whose structure is not what Feishu documents."""


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who "the bot" is, to strip its own @mention: its open_id (if known) and display name."""

    bot: str
    name: str = ""
    open_id: str = ""

    def is_me(self, mention: dict[str, Any]) -> bool:
        """Whether a ``mentions[]`` entry is this bot."""
        oid = (mention.get("id") or {}).get("open_id", "")
        if self.open_id:
            return oid == self.open_id
        return bool(self.name) and mention.get("name") == self.name


def event_type(envelope: dict[str, Any]) -> str:
    """The schema 2.0 ``header.event_type`` (or a 1.0 ``event.type``), "" if none."""
    header = envelope.get("header")
    if isinstance(header, dict):
        return str(header.get("event_type", ""))
    event = envelope.get("event")
    return str(event.get("type", "")) if isinstance(event, dict) else ""


def event_token(envelope: dict[str, Any]) -> str:
    """The Verification Token carried by the event: ``header.token`` (2.0) or ``token`` (1.0)."""
    header = envelope.get("header")
    if isinstance(header, dict) and "token" in header:
        return str(header.get("token", ""))
    return str(envelope.get("token", ""))


def decode_event(envelope: dict[str, Any], me: BotIdentity) -> IncomingMessage | None:
    """The IncomingMessage for an event we handle, None for one we ignore.

    Raises EventDecodeError when a handled event type misses required fields.
    """
    if envelope.get("schema") != "2.0":
        return None
    kind = event_type(envelope)
    try:
        if kind == MESSAGE_EVENT:
            return _message(envelope, me)
        if kind == CARD_EVENT:
            return _click(envelope, me)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise EventDecodeError(f"malformed {kind}: {exc!r}") from exc
    return None


def _message(envelope: dict[str, Any], me: BotIdentity) -> IncomingMessage | None:
    event = envelope["event"]
    sender = event["sender"]
    if sender.get("sender_type", "user") != "user":
        return None
    msg = event["message"]
    mentions = msg.get("mentions") or []
    content = safe_json.loads(msg["content"]) if msg.get("content") else {}
    mtype = msg["message_type"]
    files: tuple[FileRef, ...] = ()
    if mtype == "text":
        raw_text = str(content.get("text", ""))
    elif mtype == "post":
        raw_text = _post_text(content)
        files = _post_images(content, msg["message_id"])
    elif mtype in ("image", "file"):
        # Downloaded with GET /open-apis/im/v1/messages/{message_id}/resources/{key}?type=image|file
        key = content["image_key"] if mtype == "image" else content["file_key"]
        raw_text = ""
        files = (FileRef(mtype, str(key), str(content.get("file_name", "")),
                         {"message_id": msg["message_id"]}),)
    else:
        return None
    text, mentioned_bot, others = _resolve_mentions(raw_text, mentions, me)
    chat_type = msg["chat_type"]
    return IncomingMessage(
        platform="feishu",
        bot=me.bot,
        chat_id=msg["chat_id"],
        chat_kind=ChatKind.DIRECT if chat_type == "p2p" else ChatKind.GROUP,
        sender_id=sender["sender_id"]["open_id"],
        text=text,
        mentions=others,
        mentioned_bot=mentioned_bot,
        quoted_message_id=msg.get("parent_id") or None,
        event_id=envelope["header"]["event_id"],
        message_id=msg["message_id"],
        files=files,
        raw=_without_token(envelope),
    )


def _post_body(content: dict[str, Any]) -> dict[str, Any]:
    if "content" not in content:  # some payloads wrap the post in a locale key
        return next((v for v in content.values() if isinstance(v, dict)), {})
    return content


def _post_images(content: dict[str, Any], message_id: str) -> tuple[FileRef, ...]:
    """The images of a rich-text (post) message: ``{"tag": "img", "image_key": …}`` elements."""
    return tuple(FileRef("image", str(el["image_key"]), "", {"message_id": message_id})
                 for paragraph in _post_body(content).get("content") or [] for el in paragraph or []
                 if el.get("tag") == "img" and el.get("image_key"))


def _post_text(content: dict[str, Any]) -> str:
    """Plain text of a rich-text (post) message; @ elements become their placeholder keys."""
    content = _post_body(content)
    lines = []
    for paragraph in content.get("content") or []:
        words = []
        for el in paragraph or []:
            tag = el.get("tag")
            if tag in ("text", "a", "code_block", "md"):
                words.append(str(el.get("text", "")))
            elif tag == "at":
                words.append(str(el.get("user_id") or el.get("key") or ""))
        lines.append("".join(words))
    title = str(content.get("title") or "")
    return "\n".join([title, *lines] if title else lines)


def _resolve_mentions(text: str, mentions: list[dict[str, Any]],
                      me: BotIdentity) -> tuple[str, bool, tuple[str, ...]]:
    mentioned_bot = any(me.is_me(m) for m in mentions)
    others = tuple(oid for m in mentions if not me.is_me(m)
                   for oid in [(m.get("id") or {}).get("open_id", "")] if oid)
    # Longest keys first so "@_user_1" does not eat the start of "@_user_10".
    for m in sorted(mentions, key=lambda m: len(str(m.get("key", ""))), reverse=True):
        key = str(m.get("key", ""))
        if key:
            text = text.replace(key, "" if me.is_me(m) else f"@{m.get('name', '')}")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines).strip(), mentioned_bot, others


def _click(envelope: dict[str, Any], me: BotIdentity) -> IncomingMessage | None:
    event = envelope["event"]
    action = ButtonPayload.action_from((event.get("action") or {}).get("value"))
    if action is None:
        return None
    context = event.get("context") or {}
    return IncomingMessage(
        platform="feishu",
        bot=me.bot,
        chat_id=str(context.get("open_chat_id", "")),
        chat_kind=ChatKind.GROUP,  # the callback does not say; p2p chats also have oc_ ids
        sender_id=event["operator"]["open_id"],
        mentioned_bot=True,  # a click on the bot's card is addressed to the bot
        action=action,
        event_id=envelope["header"]["event_id"],
        message_id=context.get("open_message_id") or None,
        raw=_without_token(envelope),
    )


def _without_token(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope minus the Verification Token, so ``raw`` never carries a secret."""
    header = {k: v for k, v in envelope.get("header", {}).items() if k != "token"}
    return {**envelope, "header": header}
