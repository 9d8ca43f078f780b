"""Masking of citizens' personal data (names and phone numbers) wherever it is shown: chat, console,
API, SMS notices and logs all use these two functions."""

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


_MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def mask_in_text(text: str, name: str | None = None) -> str:
    """Mask every mainland mobile number in free text, and the citizen's ``name`` where it appears.

    >>> mask_in_text("张三丰（13812341234）同意上门", "张三丰")
    '张**（138****1234）同意上门'
    """
    text = _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)
    if name and len(name) > 1:
        text = text.replace(name, mask_name(name) or name)
    return text
