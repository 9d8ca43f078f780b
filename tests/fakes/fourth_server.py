"""A fake "fourth" chat platform for the registry test: a send API that checks a bearer token and
records every message, and signed webhook callbacks built the way the test platform expects them.

Use: ``fake = FakeFourth(token)``; ``server = TestServer(fake.app)``; point the bot's ``api_base``
at ``str(server.make_url(""))``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from aiohttp import web


def signature(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 the fourth platform sends in ``X-Fourth-Signature``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def callback(secret: str, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """A webhook request as the fourth platform sends it: JSON body and its signature header."""
    body = json.dumps(event, ensure_ascii=False).encode()
    return body, {"Content-Type": "application/json", "X-Fourth-Signature": signature(secret, body)}


def message_event(event_id: str, chat: str, sender: str, text: str) -> dict[str, Any]:
    """A group message said to the bot."""
    return {"id": event_id, "type": "message", "chat": chat, "sender": sender, "text": text}


def click_event(event_id: str, chat: str, sender: str, button: dict[str, Any]) -> dict[str, Any]:
    """A click on one of the buttons the bot sent."""
    return {"id": event_id, "type": "click", "chat": chat, "sender": sender, "value": button["value"]}


class FakeFourth:
    """Accepts ``POST /send`` with the right bearer token; records each message body."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self.app = web.Application()
        self.app.router.add_post("/send", self._send)

    async def _send(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "bad token"}, status=401)
        body = await request.json()
        if not isinstance(body.get("chat"), str) or not isinstance(body.get("text"), str):
            return web.json_response({"ok": False, "error": "bad body"}, status=400)
        self.messages.append(body)
        return web.json_response({"ok": True, "id": f"m{len(self.messages)}"})

    def texts(self, chat: str | None = None) -> list[str]:
        """The texts sent so far (to ``chat`` when given)."""
        return [m["text"] for m in self.messages if chat is None or m["chat"] == chat]
