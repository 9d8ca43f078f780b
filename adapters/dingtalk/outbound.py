"""OutgoingMessage → DingTalk request bodies, split under DingTalk's byte limits.

Two transports (``docs/platforms/dingtalk.md``, sending):
- custom group robot webhook: ``text`` / ``markdown`` with ``at.atUserIds`` / ``at.atMobiles``
  (each @ target also written as ``@id`` in the text, as DingTalk requires); whole body ≤ 20 000
  bytes (errcode 460101 beyond); no cards, so buttons become text commands;
- OpenAPI robot messages: ``msgKey`` ``sampleText`` / ``sampleMarkdown`` with ``msgParam`` a JSON
  string ≤ 15 000 bytes (DingTalk doc 机器人发送群聊消息). These templates cannot @ anybody, so
  mentions are written as ``@name``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from adapters.text import split_utf8
from bot.messages import OutgoingMessage
from bot.send_errors import PermanentSendError

ROBOT_BODY_LIMIT = 20_000
MSG_PARAM_LIMIT = 15_000
DEFAULT_TITLE = "12345热线"


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def fit_parts(text: str, limit: int, measure: Callable[[str], int]) -> list[str]:
    """Split ``text`` at line boundaries so that ``measure(part) <= limit`` for every part.

    ``measure`` gives the encoded size of the request carrying one part (JSON escaping and the
    envelope included); parts that do not fit are split again, proportionally smaller.
    """
    out: list[str] = []

    def fit(chunk: str, split_at: int) -> None:
        for part in split_utf8(chunk, split_at):
            size = measure(part)
            if size <= limit:
                out.append(part)
                continue
            smaller = min(split_at - 1, split_at * limit // size - 16)
            if smaller < 4:
                raise PermanentSendError("message envelope alone exceeds the size limit",
                                         code="too_large")
            fit(part, smaller)

    fit(text, limit)
    return out


def title_of(message: OutgoingMessage) -> str:
    """A markdown message's title (shown in the notification): the title or the first line."""
    if message.title:
        return message.title
    first = message.text.strip().split("\n", 1)[0].lstrip("#> ").strip()
    return first[:30] or DEFAULT_TITLE


def robot_bodies(message: OutgoingMessage) -> list[dict[str, Any]]:
    """Custom robot bodies for a message, one per part; mentions @ on the last part."""
    text = dataclasses.replace(message, mentions=()).as_plain_text()
    user_ids = [m.ids["dingtalk"] for m in message.mentions if m.ids.get("dingtalk")]
    mobiles = [m.mobile for m in message.mentions if not m.ids.get("dingtalk") and m.mobile]
    at: dict[str, Any] = {"atUserIds": user_ids, "atMobiles": mobiles, "isAtAll": False}
    suffix = " ".join(f"@{x}" for x in user_ids + mobiles)
    title = title_of(message)

    def body(part: str, last: bool) -> dict[str, Any]:
        content = f"{part}\n{suffix}" if last and suffix else part
        if message.markdown:
            out: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": title, "text": content}}
        else:
            out = {"msgtype": "text", "text": {"content": content}}
        if last and suffix:
            out["at"] = at
        return out

    parts = fit_parts(text, ROBOT_BODY_LIMIT, lambda p: len(_dumps(body(p, True)).encode()))
    return [body(p, i == len(parts) - 1) for i, p in enumerate(parts)]


def api_messages(message: OutgoingMessage) -> list[tuple[str, str]]:
    """(msgKey, msgParam) pairs for the OpenAPI robot-message endpoints, one per part."""
    text = message.as_plain_text()
    if message.markdown:
        title = title_of(message)

        def param(part: str) -> str:
            return _dumps({"title": title, "text": part})
        key = "sampleMarkdown"
    else:
        def param(part: str) -> str:
            return _dumps({"content": part})
        key = "sampleText"
    parts = fit_parts(text, MSG_PARAM_LIMIT, lambda p: len(param(p).encode()))
    return [(key, param(p)) for p in parts]
