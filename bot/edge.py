"""Checks for text that crosses the edge: what every store and platform can hold.

PostgreSQL refuses a NUL byte in any string and a string longer than its VARCHAR; SQLite takes
both, so without a check the same request is 200 on one store and 500 on the other. Lone
surrogates cannot be encoded for either. These checks run before anything is stored.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.messages import IncomingMessage

# The dates the bot accepts anywhere: far enough for any real ticket, near enough that adding a
# year of working days or a time zone can never leave the range of ``datetime``.
MIN_YEAR, MAX_YEAR = 2000, 2100


def text_problem(value: str, max_len: int | None = None) -> str | None:
    """Why ``value`` cannot be stored (a short Chinese reason), or None when it can."""
    if "\x00" in value:
        return "不能包含空字符"
    if max_len is not None and len(value) > max_len:
        return f"不能超过 {max_len} 个字符"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "含有无效字符"
    return None


def storable(value: object, max_len: int | None = None) -> bool:
    """Whether ``value`` is a string the stores and platforms can all take."""
    return isinstance(value, str) and text_problem(value, max_len) is None


def date_problem(value: date | datetime) -> str | None:
    """Why ``value`` is out of the plausible range (Chinese), or None."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        return f"日期应在 {MIN_YEAR}—{MAX_YEAR} 年之间"
    return None


def header_bytes(value: str) -> bytes:
    """A header or query value as bytes for a constant-time compare; never raises.

    aiohttp decodes non-UTF-8 header bytes to lone surrogates, which ``str.encode`` refuses, and
    ``hmac.compare_digest`` refuses non-ASCII ``str``: bytes through ``surrogatepass`` take both.
    """
    return value.encode("utf-8", "surrogatepass")


# The longest id and text an event may carry into the inbox (InboxEvent.event_id is VARCHAR(200)).
MAX_ID, MAX_TEXT = 200, 20_000


def _json_problem(value: Any, depth: int = 0) -> str | None:
    """A problem anywhere inside a JSON-like value (strings as :func:`text_problem`)."""
    if depth > 16:
        return "嵌套太深"
    if isinstance(value, str):
        return text_problem(value, MAX_TEXT)
    if isinstance(value, dict):
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = list(value)
    elif value is None or isinstance(value, bool | int | float):
        return None
    else:
        return "类型不对"
    for item in items:
        if problem := _json_problem(item, depth + 1):
            return problem
    return None


def message_problem(message: IncomingMessage) -> str | None:
    """Why a decoded chat event could not be stored and processed, or None.

    Decoders take fields from hostile JSON: a list as chat id, a number as event id, a NUL or a
    lone surrogate in the text would be acknowledged and then fail in processing, so the user
    never gets an answer. Refused here, before the inbox, the platform sees its "bad request".
    """
    for name in ("platform", "bot", "chat_id", "sender_id", "event_id"):
        value = getattr(message, name)
        if not isinstance(value, str) or not value.strip():
            return f"{name} 应为非空文本"
        if problem := text_problem(value, MAX_ID):
            return f"{name} {problem}"
    for name in ("message_id", "quoted_message_id"):
        value = getattr(message, name)
        if value is not None and (not isinstance(value, str) or text_problem(value, MAX_ID)):
            return f"{name} 不对"
    if not isinstance(message.text, str) or (problem := text_problem(message.text, MAX_TEXT)):
        return "text 不对"
    if not all(isinstance(m, str) for m in message.mentions):
        return "mentions 不对"
    if message.action is not None and not isinstance(message.action, dict):
        return "action 不对"
    return _json_problem(list(message.mentions)) or _json_problem(message.action)
