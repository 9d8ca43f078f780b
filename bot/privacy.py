"""Masking of citizens' personal data wherever it is shown: chat, console, API, SMS notices and logs
use :func:`mask_name` and :func:`mask_phone` for the citizen's own fields, and :func:`mask_text` /
:func:`excerpt` for phone, ID-card and bank-card numbers written inside free text."""

from __future__ import annotations

import re
from typing import overload


@overload
def mask_phone(phone: str) -> str: ...
@overload
def mask_phone(phone: None) -> None: ...
def mask_phone(phone: str | None) -> str | None:
    """Keep the first three and last four digits; a ``+86`` / ``86`` prefix is dropped first.

    >>> mask_phone("13812341234")
    '138****1234'
    >>> mask_phone("+86 138-1234-1234")
    '138****1234'
    >>> mask_phone("0718-1234567")
    '071****4567'
    >>> mask_phone("12345")
    '****'
    """
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) >= 8:
        return f"{digits[:3]}****{digits[-4:]}"
    return "****"


def mask_name(name: str | None) -> str | None:
    """Keep the family name.

    >>> mask_name("张三丰")
    '张**'
    >>> mask_name("张")
    '张'
    """
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)


_SEP = r"[ -]?"
# Personal numbers written inside free text, each not part of a longer run of digits:
# an 18-digit (or old 15-digit) ID-card number, a mainland mobile (optionally +86, spaced or
# dashed 3-4-4), a landline with its area code, a bank card of 16-19 digits.
_PERSONAL_NUMBER = re.compile(
    r"(?<![0-9])(?:"
    r"[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx]"
    r"|[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}"
    rf"|(?:\+?86{_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}"
    rf"|0\d{{2,3}}{_SEP}\d{{7,8}}"
    r"|[3-6]\d{15,18}"
    r")(?![0-9Xx])")


def mask_text(text: str) -> str:
    """``text`` with every phone, ID-card and bank-card number in it masked like :func:`mask_phone`.

    For ticket content, notes and log lines, which citizens and staff write freely.

    >>> mask_text("请联系13812341234或 0718-1234567，身份证42280219900101123X")
    '请联系138****1234或 071****4567，身份证422****123X'
    >>> mask_text("工单202611230001 已签收")
    '工单202611230001 已签收'
    """
    def hide(match: re.Match[str]) -> str:
        number = match.group(0)
        digits = re.sub(r"[^0-9Xx]", "", number)
        if digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        return f"{digits[:3]}****{digits[-4:]}"
    return _PERSONAL_NUMBER.sub(hide, text)


def excerpt(text: str, limit: int, *, mask: bool = True) -> str:
    """Free text for a chat message: one line, personal numbers masked (unless ``mask`` is
    False, for a viewer allowed to see them), cut to ``limit`` characters with "…".

    >>> excerpt("来电 13812341234  说\\n路灯不亮", 20)
    '来电 138****1234 说 路灯不亮'
    """
    text = " ".join((text or "").split())
    if mask:
        text = mask_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mask_in_text(text: str, name: str | None = None) -> str:
    """:func:`mask_text`, and the citizen's ``name`` masked where it appears.

    >>> mask_in_text("张三丰（13812341234）同意上门", "张三丰")
    '张**（138****1234）同意上门'
    """
    text = mask_text(text)
    if name and len(name) > 1:
        text = text.replace(name, mask_name(name) or name)
    return text
