"""DingTalk signatures (``docs/platforms/dingtalk.md``, signatures; vectors in tests/vectors/dingtalk.json).

Two recipes share one HMAC: ``Base64(HmacSHA256(key=secret, msg=timestamp + "\\n" + secret))``.

- Robot HTTP callback (inbound): headers ``timestamp`` (ms) and ``sign``; the key is the app's
  AppSecret; the header is compared as the plain base64 string (not url-encoded); a timestamp more
  than one hour from now is refused.
- Custom group robot (outbound, 加签): the key is the robot's ``SEC…`` secret; ``timestamp`` (ms)
  and the url-encoded ``sign`` are appended to the webhook URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from enum import StrEnum
from urllib.parse import quote_plus

from bot.edge import header_bytes

CALLBACK_WINDOW_MS = 3_600_000
"""A callback whose ``timestamp`` is further than this from now is refused (1 hour)."""


class CallbackRefusal(StrEnum):
    """Why a robot callback failed verification; the value is the metric's ``reason`` label."""

    MISSING_SIGNATURE = "missing_signature"
    BAD_TIMESTAMP = "bad_timestamp"
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"


def hmac_sign(secret: str, timestamp: str) -> str:
    """``Base64(HmacSHA256(key=secret, msg=timestamp + "\\n" + secret))``, UTF-8 throughout."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def callback_sign(app_secret: str, timestamp: str) -> str:
    """The ``sign`` header DingTalk sends with a robot HTTP callback.

    >>> callback_sign("this is secret", "1690362102194")
    'UjQh+Ye5ziP1HBmVtWUzU3mcCkwWoo33UIWd6D43nEg='
    """
    return hmac_sign(app_secret, timestamp)


def verify_callback(app_secret: str, timestamp: str | None, sign: str | None, now_ms: int,
                    window_ms: int = CALLBACK_WINDOW_MS) -> CallbackRefusal | None:
    """Check a robot callback's ``timestamp``/``sign`` headers; None when they are valid.

    The signature is compared in constant time before the timestamp's age is looked at.
    """
    if not timestamp or not sign or not app_secret:
        return CallbackRefusal.MISSING_SIGNATURE
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 16:
        return CallbackRefusal.BAD_TIMESTAMP
    expected = callback_sign(app_secret, timestamp)
    if not hmac.compare_digest(header_bytes(sign), expected.encode()):
        return CallbackRefusal.BAD_SIGNATURE
    if abs(now_ms - int(timestamp)) > window_ms:
        return CallbackRefusal.STALE_TIMESTAMP
    return None


def robot_webhook_sign(secret: str, timestamp: str) -> str:
    """The url-encoded ``sign`` query parameter of a custom robot (加签) webhook call.

    >>> robot_webhook_sign("this is secret", "1577262236757")
    'hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D'
    """
    return quote_plus(hmac_sign(secret, timestamp))


def robot_webhook_url(oapi_base: str, access_token: str, secret: str, timestamp: str) -> str:
    """The full signed custom-robot URL: ``{oapi_base}/robot/send?access_token=&timestamp=&sign=``."""
    url = f"{oapi_base.rstrip('/')}/robot/send?access_token={quote_plus(access_token)}"
    if secret:
        url += f"&timestamp={timestamp}&sign={robot_webhook_sign(secret, timestamp)}"
    return url
