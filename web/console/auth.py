"""Who is at the console: password hashes, one-time login links, signed session cookies, CSRF.

A session is a cookie ``<payload>.<mac>`` (HMAC-SHA256 with the config's effective secret) that
names the person, a random session id and an expiry; it is HttpOnly and SameSite=Strict. Every
POST carries a CSRF token derived from the session id, so a page of another site cannot act for
the person even if a browser sent the cookie. With ``require_login = false`` (the example config
on 127.0.0.1) the login page is a person picker; the session and CSRF rules stay the same.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import action_tokens, safe_json
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.edge import header_bytes

COOKIE = "hotline_console"
PRE_COOKIE = "hotline_console_pre"  # a visitor nonce, so the login form itself has a CSRF token
SESSION_TTL = timedelta(hours=12)
LINK_TTL = timedelta(hours=24)
LINK_PURPOSE = "console_login"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A storable scrypt hash: ``scrypt$n$r$p$salt$hash`` (base64 parts).

    >>> verify_password("秘密", hash_password("秘密"))
    True
    """
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt${n}${r}${p}${salt}${digest}".format(
        **_SCRYPT, salt=_b64(salt), digest=_b64(digest))


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time; False for a malformed hash)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(_unb64(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, _unb64(digest))


def one_time_link(config: Config, person_name: str, *, clock: Clock | None = None) -> str:
    """A login link for ``person_name``, valid once for 24 hours; KeyError for an unknown person."""
    if person_name not in {p.name for p in config.people}:
        raise KeyError(person_name)
    now = (clock or SystemClock()).now()
    token = action_tokens.issue(config.effective_secret, LINK_PURPOSE, "", now, LINK_TTL,
                                extra={"person": person_name})
    base = config.server.public_url.rstrip("/") or f"http://{config.server.host}:{config.server.port}"
    return f"{base}/console/login/link?t={token}"


def read_link(config: Config, token: str, now: datetime) -> tuple[str, str]:
    """(person name, token id) of a login link; raises action_tokens.TokenError when invalid."""
    claims = action_tokens.verify(config.effective_secret, token, now)
    person = claims.extra.get("person", "") if isinstance(claims.extra, dict) else ""
    if claims.purpose != LINK_PURPOSE or not person:
        raise action_tokens.TokenError("not a console login link")
    return person, claims.token_id


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in person."""

    person: str
    sid: str
    expires: int

    def csrf(self, secret: bytes) -> str:
        """The CSRF token every form and action of this session carries."""
        return _mac(secret, f"csrf:{self.sid}")


def new_session(person: str, now: datetime) -> Session:
    """A fresh session for ``person``."""
    return Session(person=person, sid=secrets.token_urlsafe(12),
                   expires=int((now + SESSION_TTL).timestamp()))


def encode_session(secret: bytes, session: Session) -> str:
    """The cookie value of ``session``."""
    body = _b64(json.dumps({"p": session.person, "s": session.sid, "e": session.expires},
                           ensure_ascii=False, separators=(",", ":")).encode())
    return f"{body}.{_mac(secret, 'session:' + body)}"


def decode_session(secret: bytes, value: str | None, now: datetime) -> Session | None:
    """The session in a cookie, or None when missing, forged or expired."""
    if not value or "." not in value:
        return None
    body, mac = value.rsplit(".", 1)
    if not hmac.compare_digest(header_bytes(mac), _mac(secret, "session:" + body).encode()):
        return None
    try:
        data = safe_json.loads(_unb64(body))
        session = Session(person=str(data["p"]), sid=str(data["s"]), expires=int(data["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires > now.timestamp() else None


def login_csrf(secret: bytes, nonce: str) -> str:
    """The CSRF token of the login form for the visitor nonce ``nonce``."""
    return _mac(secret, f"login:{nonce}")


def csrf_ok(expected: str, given: str | None) -> bool:
    """Constant-time comparison of CSRF tokens."""
    # Bytes: compare_digest raises TypeError on non-ASCII str (a hostile header or form value).
    return bool(given) and hmac.compare_digest(expected.encode(), header_bytes(given or ""))


def _mac(secret: bytes, text: str) -> str:
    return _b64(hmac.new(secret, text.encode(), hashlib.sha256).digest()[:18])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
