"""Signed, expiring, single-use tokens carried by card buttons and citizen links.

A token is ``<payload>.<mac>`` in URL-safe base64; the payload holds the command, the ticket,
a random id (for single use), and the expiry. Tampering or expiry gives a typed error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta


class TokenError(Exception):
    """A token that is forged, altered, expired or for something else."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid token says."""

    purpose: str  # the command (同意 / 驳回 / 签收 …) or "citizen"
    ticket: str  # source/number
    token_id: str
    expires_at: datetime
    extra: dict[str, str]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(secret: bytes, purpose: str, ticket: str, now: datetime, ttl: timedelta,
          extra: dict[str, str] | None = None) -> str:
    """A new token for ``purpose`` on ``ticket`` valid for ``ttl``."""
    body = {"p": purpose, "t": ticket, "i": secrets.token_urlsafe(9),
            "e": int((now + ttl).timestamp())}
    if extra:
        body["x"] = extra
    payload = _b64(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    mac = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest()[:16])
    return f"{payload}.{mac}"


def verify(secret: bytes, token: str, now: datetime) -> TokenClaims:
    """Check the MAC and the expiry; the caller checks single use and the purpose."""
    try:
        payload, mac = token.split(".", 1)
        expected = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest()[:16])
        if not hmac.compare_digest(mac, expected):
            raise TokenError("bad signature")
        body = json.loads(_unb64(payload))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("malformed token") from exc
    expires = datetime.fromtimestamp(int(body["e"]), tz=now.tzinfo)
    if now >= expires:
        raise TokenError("expired")
    return TokenClaims(purpose=body["p"], ticket=body["t"], token_id=body["i"],
                       expires_at=expires, extra=body.get("x", {}))
