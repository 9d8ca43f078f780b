"""Masking of citizens' personal data (names and phone numbers) wherever it is shown."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str | None:
    """Keep the first three and last four digits.

    >>> mask_phone("13812341234")
    '138****1234'
    >>> mask_phone("0718-1234567")
    '071*****4567'
    """
    if not phone:
        return phone
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 1)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


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
