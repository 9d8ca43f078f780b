"""DingTalk wire payloads → :class:`IncomingMessage` (``docs/platforms/dingtalk.md``, inbound fields and card callbacks).

Also the compact button value carried by cards and the card ``outTrackId`` that remembers which
chat a card was delivered to (a click callback does not always name the chat).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from adapters.cards import ButtonPayload
from bot import safe_json
from bot.messages import ChatKind, FileRef, IncomingMessage

PLATFORM = "dingtalk"
_OUT_TRACK_PREFIX = "ht"


class DecodeError(ValueError):
    """A verified payload that does not have the shape DingTalk documents."""


# --- button values ---------------------------------------------------------------------------

# --- card outTrackId -------------------------------------------------------------------------

def make_out_track_id(chat_kind: ChatKind, target: str) -> str:
    """A unique ``outTrackId`` that also records the chat (group cid or the user's id)."""
    kind = "g" if chat_kind is ChatKind.GROUP else "d"
    encoded = base64.urlsafe_b64encode(target.encode()).decode("ascii").rstrip("=")
    return f"{_OUT_TRACK_PREFIX}.{kind}.{encoded}.{uuid.uuid4().hex}"


def parse_out_track_id(out_track_id: str) -> tuple[ChatKind, str] | None:
    """The chat kind and id recorded by :func:`make_out_track_id`; None for foreign ids."""
    parts = out_track_id.split(".")
    if len(parts) != 4 or parts[0] != _OUT_TRACK_PREFIX or parts[1] not in ("g", "d"):
        return None
    try:
        target = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (ChatKind.GROUP if parts[1] == "g" else ChatKind.DIRECT), target


# --- robot messages --------------------------------------------------------------------------

def _text_of(payload: dict[str, Any]) -> str | None:
    """The text of a ``text`` or ``richText`` message; None for other message types."""
    msgtype = payload.get("msgtype")
    if msgtype == "text":
        text = payload.get("text")
        if not isinstance(text, dict) or not isinstance(text.get("content"), str):
            raise DecodeError("text.content missing")
        return text["content"]
    if msgtype == "richText":
        content = payload.get("content")
        items = content.get("richText") if isinstance(content, dict) else None
        if not isinstance(items, list):
            raise DecodeError("content.richText missing")
        return "".join(i["text"] for i in items if isinstance(i, dict) and isinstance(i.get("text"), str))
    return None


def _files_of(payload: dict[str, Any]) -> tuple[FileRef, ...]:
    """The pictures and files of a ``picture``, ``file`` or ``richText`` message, by their
    ``downloadCode`` (fetched through ``/v1.0/robot/messageFiles/download``)."""
    msgtype = payload.get("msgtype")
    content = payload.get("content")
    if not isinstance(content, dict):
        return ()
    if msgtype in ("picture", "file"):
        code = content.get("downloadCode")
        if not isinstance(code, str) or not code:
            raise DecodeError("content.downloadCode missing")
        name = content.get("fileName") if msgtype == "file" else ""
        return (FileRef("image" if msgtype == "picture" else "file", code, str(name or "")),)
    if msgtype == "richText":
        items = content.get("richText") or []
        return tuple(FileRef("image", i["downloadCode"]) for i in items
                     if isinstance(i, dict) and i.get("type") == "picture" and isinstance(i.get("downloadCode"), str))
    return ()


def _required_str(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise DecodeError(f"{key} missing")
    return value


def _quoted_id(payload: dict[str, Any]) -> str | None:
    """The msgId of a quoted message (``text.repliedMsg.msgId``), when the user replied to one."""
    text = payload.get("text")
    replied = text.get("repliedMsg") if isinstance(text, dict) else None
    if isinstance(replied, dict) and isinstance(replied.get("msgId"), str) and replied["msgId"]:
        return replied["msgId"]
    return None


def strip_bot_mention(text: str, bot_name: str) -> str:
    """Remove the bot's own ``@name`` (DingTalk usually removes it, leaving a space) and trim."""
    if bot_name:
        text = text.replace(f"@{bot_name}", " ")
    return text.strip()


def decode_robot_message(bot: str, bot_name: str, payload: dict[str, Any]) -> IncomingMessage | None:
    """A robot message (topic ``/v1.0/im/bot/messages/get`` or HTTP mode) → IncomingMessage.

    Pictures and files come with empty text and their ``files``; None for other message types
    (audio, video …). Raises :class:`DecodeError` when a field DingTalk always sends is missing.
    """
    text = _text_of(payload)
    files = _files_of(payload)
    if text is None and not files:
        return None
    text = text or ""
    msg_id = _required_str(payload, "msgId")
    conversation_type = payload.get("conversationType")
    if conversation_type not in ("1", "2"):
        raise DecodeError("conversationType must be '1' or '2'")
    sender = payload.get("senderStaffId") or payload.get("senderId")
    if not isinstance(sender, str) or not sender:
        raise DecodeError("senderStaffId missing")
    group = conversation_type == "2"
    chat_id = _required_str(payload, "conversationId") if group else sender
    bot_user = payload.get("chatbotUserId")
    at_users = payload.get("atUsers") if isinstance(payload.get("atUsers"), list) else []
    mentions: list[str] = []
    at_bot = False
    for user in at_users:
        if not isinstance(user, dict):
            continue
        if bot_user and user.get("dingtalkId") == bot_user:
            at_bot = True
            continue
        staff_id = user.get("staffId")
        if isinstance(staff_id, str) and staff_id and staff_id not in mentions:
            mentions.append(staff_id)
    return IncomingMessage(
        platform=PLATFORM,
        bot=bot,
        chat_id=chat_id,
        chat_kind=ChatKind.GROUP if group else ChatKind.DIRECT,
        sender_id=sender,
        text=strip_bot_mention(text, bot_name),
        mentions=tuple(mentions),
        mentioned_bot=bool(payload.get("isInAtList")) or at_bot,
        quoted_message_id=_quoted_id(payload),
        event_id=msg_id,
        message_id=msg_id,
        files=files,
        raw=payload,
    )


# --- card clicks -----------------------------------------------------------------------------

def _click_params(payload: dict[str, Any]) -> dict[str, Any]:
    content = payload.get("content", payload.get("value"))
    if isinstance(content, str):
        try:
            content = safe_json.loads(content)
        except safe_json.BadJson as exc:
            raise DecodeError("content is not JSON") from exc
    private = content.get("cardPrivateData") if isinstance(content, dict) else None
    params = private.get("params") if isinstance(private, dict) else None
    return params if isinstance(params, dict) else {}


def decode_card_callback(bot: str, payload: dict[str, Any], event_id: str) -> IncomingMessage | None:
    """A card click (topic ``/v1.0/card/instances/callback``) → IncomingMessage with ``action``.

    The button's callback parameters carry our value either as ``params.value`` (string or
    object) or as the params themselves. None when the click is not one of our buttons.
    """
    if payload.get("type", "actionCallback") != "actionCallback":
        return None
    user_id = _required_str(payload, "userId")
    out_track_id = _required_str(payload, "outTrackId")
    params = _click_params(payload)
    action = ButtonPayload.action_from(params.get("value", params))
    if action is None:
        return None
    space_type = str(payload.get("spaceType") or "").upper()
    space_id = payload.get("spaceId")
    recorded = parse_out_track_id(out_track_id)
    if space_type == "IM_GROUP" and isinstance(space_id, str) and space_id:
        chat_kind, chat_id = ChatKind.GROUP, space_id
    elif recorded is not None and recorded[0] is ChatKind.GROUP:
        chat_kind, chat_id = recorded
    else:
        chat_kind, chat_id = ChatKind.DIRECT, user_id
    return IncomingMessage(
        platform=PLATFORM,
        bot=bot,
        chat_id=chat_id,
        chat_kind=chat_kind,
        sender_id=user_id,
        mentioned_bot=True,  # a click on the bot's card is addressed to the bot
        action=action,
        event_id=event_id,
        message_id=out_track_id,
        raw=payload,
    )
