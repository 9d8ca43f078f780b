"""Decoding verified WeCom payloads to IncomingMessage (``docs/platforms/wecom.md``, inbound fields).

Two shapes: the AI bot's JSON (webhook and long connection alike) and the self-built app's XML
callback (1:1 messages and clicks on app cards). Anything we do not handle decodes to None.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from adapters.cards import ButtonPayload
from bot import safe_json
from bot.messages import ChatKind, FileRef, IncomingMessage

PLATFORM = "wecom"
_MENTION_GAP = "[\\s\u2005\u00a0]*"  # WeCom puts U+2005 after an @mention


class PayloadError(ValueError):
    """The verified plaintext is not a payload we can parse."""


def strip_bot_mention(text: str, name: str) -> tuple[str, bool]:
    """Remove every "@name" of the bot; returns ``(text, mentioned)``."""
    if not name:
        return text.strip(), False
    pattern = re.compile("@" + re.escape(name) + _MENTION_GAP)
    stripped, count = pattern.subn("", text)
    return stripped.strip(" \t\r\n\u2005\u00a0"), count > 0


def parse_json(plaintext: bytes) -> dict[str, Any]:
    """The AI bot JSON body; raises PayloadError."""
    try:
        data = safe_json.loads(plaintext)
    except safe_json.BadJson as exc:
        raise PayloadError("plaintext is not JSON") from exc
    if not isinstance(data, dict):
        raise PayloadError("plaintext is not a JSON object")
    return data


_XML_DECL = re.compile(r"\A\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")


def parse_xml(plaintext: bytes) -> dict[str, str]:
    """A flat ``{tag: text}`` of the app's XML callback; raises PayloadError.

    WeCom sends UTF-8: the bytes are decoded first, so a UTF-16 document cannot hide its DTD from
    a byte search, any other declared encoding is refused, and defusedxml refuses every DTD.
    """
    try:
        text = plaintext.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("XML is not UTF-8") from exc
    declared = _XML_DECL.match(text)
    if declared and declared.group(1).strip().lower() not in ("utf-8", "utf8"):
        raise PayloadError("XML declares an encoding other than UTF-8")
    try:
        root = fromstring(text, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise PayloadError("plaintext is not acceptable XML") from exc
    return {child.tag: (child.text or "") for child in root}


def _obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (a hostile body may put anything)."""
    return value if isinstance(value, dict) else {}


def decode_plaintext(bot: str, name: str, plaintext: bytes, *,
                     frame_req_id: str | None = None) -> IncomingMessage | None:
    """Decode a decrypted callback (JSON or XML); raises PayloadError when it cannot be parsed."""
    head = plaintext.lstrip()[:1]
    if head == b"<":
        return decode_app_xml(bot, name, parse_xml(plaintext))
    if head == b"{":
        return decode_aibot(bot, name, parse_json(plaintext), frame_req_id=frame_req_id)
    raise PayloadError("plaintext is neither JSON nor XML")


def _aibot_text(body: dict[str, Any]) -> str | None:
    msgtype = body.get("msgtype")
    if msgtype == "text":
        content = _obj(body.get("text")).get("content")
        return content if isinstance(content, str) else None
    if msgtype == "mixed":  # 图文混排: keep its text items
        items = _obj(body.get("mixed")).get("msg_item")
        texts = [_obj(i.get("text")).get("content", "") for i in (items if isinstance(items, list) else [])
                 if isinstance(i, dict) and i.get("msgtype") == "text"]
        return "\n".join(t for t in texts if isinstance(t, str)) or None
    return None


def _media(item: dict[str, Any], kind: str) -> FileRef | None:
    """An AI bot image or file item (``{"url": …, "aeskey": …}``): downloaded from ``url`` and
    decrypted with its ``aeskey`` (long connection) or the bot's EncodingAESKey (webhook)."""
    body = item.get(kind)
    if not isinstance(body, dict) or not isinstance(body.get("url"), str) or not body["url"]:
        return None
    aeskey = body.get("aeskey")
    return FileRef(kind, body["url"], str(body.get("filename") or body.get("name") or ""),
                   {"aeskey": aeskey} if isinstance(aeskey, str) and aeskey else {})


def _aibot_files(body: dict[str, Any]) -> tuple[FileRef, ...]:
    msgtype = body.get("msgtype")
    if msgtype in ("image", "file"):
        ref = _media(body, msgtype)
        return (ref,) if ref else ()
    if msgtype == "mixed":  # 图文混排: its image items
        mixed = body.get("mixed")
        items = mixed.get("msg_item") if isinstance(mixed, dict) else None
        if not isinstance(items, list):
            return ()
        return tuple(ref for i in items if isinstance(i, dict) and i.get("msgtype") == "image"
                     for ref in [_media(i, "image")] if ref)
    return ()


def decode_aibot(bot: str, name: str, body: dict[str, Any], *,
                 frame_req_id: str | None = None) -> IncomingMessage | None:
    """An AI bot message or card click; None for other messages and events.

    ``frame_req_id`` is the long-connection frame's req_id: a card click then gets
    ``message_id = "ws:<req_id>:<task_id>"``, which :meth:`WeComAdapter.update_card` needs within
    5 s (the task_id names the clicked card, so the update needs no ``card_key``).
    """
    sender = _obj(body.get("from")).get("userid")
    msgid = body.get("msgid")
    if not isinstance(sender, str) or not sender or not isinstance(msgid, str) or not msgid:
        raise PayloadError("AI bot payload lacks from.userid or msgid")
    group = body.get("chattype") == "group"
    chat_id = body.get("chatid") if group else sender
    if not isinstance(chat_id, str) or not chat_id:
        raise PayloadError("group payload lacks chatid")
    kind = ChatKind.GROUP if group else ChatKind.DIRECT
    common: dict[str, Any] = {"platform": PLATFORM, "bot": bot, "chat_id": chat_id,
                              "chat_kind": kind, "sender_id": sender, "event_id": msgid, "raw": body}
    if body.get("msgtype") == "event":
        event = _obj(body.get("event"))
        if event.get("eventtype") != "template_card_event":
            return None
        detail = event.get("template_card_event")
        if not isinstance(detail, dict):  # some SDK types show the fields flat on the event
            detail = event
        action = ButtonPayload.action_from(str(detail.get("event_key") or ""))
        if action is None:
            return None
        task_id = detail.get("task_id")
        message_id = msgid
        if frame_req_id:
            message_id = f"ws:{frame_req_id}" + (f":{task_id}" if isinstance(task_id, str) and task_id else "")
        return IncomingMessage(**common, action=action, message_id=message_id)
    text = _aibot_text(body)
    files = _aibot_files(body)
    if text is None and not files:
        return None
    text, mentioned = strip_bot_mention(text or "", name)
    # The platform delivers group messages only when the bot was @mentioned (or quoted).
    return IncomingMessage(**common, text=text, mentioned_bot=mentioned or group, message_id=msgid,
                           files=files)


def decode_app_xml(bot: str, name: str, fields: dict[str, str]) -> IncomingMessage | None:
    """A self-built app callback: a 1:1 text message or a click on an app card."""
    sender = fields.get("FromUserName", "")
    if not sender:
        raise PayloadError("XML lacks FromUserName")
    common: dict[str, Any] = {"platform": PLATFORM, "bot": bot, "chat_id": sender,
                              "chat_kind": ChatKind.DIRECT, "sender_id": sender, "raw": fields}
    msgtype = fields.get("MsgType")
    if msgtype == "text":
        msgid = fields.get("MsgId", "")
        if not msgid:
            raise PayloadError("text message lacks MsgId")
        text, mentioned = strip_bot_mention(fields.get("Content", ""), name)
        return IncomingMessage(**common, text=text, mentioned_bot=mentioned, event_id=msgid,
                               message_id=msgid)
    if msgtype in ("image", "file") and fields.get("MediaId"):
        # 1:1 image or file to the app: fetched with GET /cgi-bin/media/get?access_token=&media_id=
        msgid = fields.get("MsgId", "")
        if not msgid:
            raise PayloadError(f"{msgtype} message lacks MsgId")
        ref = FileRef(msgtype, fields["MediaId"], fields.get("FileName", ""), {"via": "media"})
        return IncomingMessage(**common, event_id=msgid, message_id=msgid, files=(ref,))
    if msgtype == "event" and fields.get("Event") == "template_card_event":
        action = ButtonPayload.action_from(fields.get("EventKey", ""))
        if action is None:
            return None
        # App events carry no MsgId: FromUserName + CreateTime (+ which card and button).
        which = hashlib.sha1(f"{fields.get('TaskId', '')}|{fields.get('EventKey', '')}".encode())
        event_id = f"{sender}:{fields.get('CreateTime', '')}:{which.hexdigest()[:16]}"
        code = fields.get("ResponseCode", "")
        return IncomingMessage(**common, action=action, event_id=event_id,
                               message_id=f"rc:{code}" if code else None)
    return None
