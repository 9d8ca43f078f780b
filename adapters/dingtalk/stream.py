"""DingTalk Stream mode client (``docs/platforms/dingtalk.md``, Stream mode; open-dingtalk/developerpedia stream/protocol.md).

1. ``POST {api_base}/v1.0/gateway/connections/open`` with clientId/clientSecret and the topics →
   ``{"endpoint", "ticket"}``; a ticket is single-use and valid 90 s, so every connection opens a
   new one.
2. WebSocket ``GET {endpoint}?ticket=…``.
3. Every pushed frame gets an ACK with the same ``messageId``: SYSTEM ``ping`` echoes its data;
   SYSTEM ``disconnect`` gets none (the server closes 10 s later) and the client reconnects at
   once with a new ticket; CALLBACK and EVENT frames go to the handler, whose answer is the ACK.

Frames are handled one at a time, so the handler's inbox write completes before its ACK is sent.
WebSocket pings (``heartbeat``) detect dead connections; a connection silent for ``idle_timeout``
is dropped too. Reconnects back off exponentially with jitter.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import aiohttp

from adapters.dingtalk.config import DingTalkBotConfig
from adapters.http import backoff_delay

log = logging.getLogger(__name__)

TOPIC_ROBOT = "/v1.0/im/bot/messages/get"
TOPIC_CARD = "/v1.0/card/instances/callback"
SUBSCRIPTIONS = ({"type": "CALLBACK", "topic": TOPIC_ROBOT}, {"type": "CALLBACK", "topic": TOPIC_CARD})
USER_AGENT = "hotline-bot/1.0"

FrameHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """Timing of the Stream connection; tests shrink these."""

    heartbeat: float = 30.0  # WebSocket ping interval; a missing pong closes the connection
    idle_timeout: float = 180.0  # no frame at all for this long → reconnect
    backoff_base: float = 1.0
    backoff_cap: float = 60.0


class StreamError(Exception):
    """The gateway refused to open a connection."""


def make_ack(message_id: str, data: str, *, code: int = 200, message: str = "OK") -> dict[str, Any]:
    """An ACK frame for the pushed frame ``message_id``; ``data`` is a JSON string."""
    return {"code": code, "headers": {"contentType": "application/json", "messageId": message_id},
            "message": message, "data": data}


def callback_ack(message_id: str, response: dict[str, Any] | None = None) -> dict[str, Any]:
    """ACK of a CALLBACK frame: ``data = {"response": …}`` (null for robot messages)."""
    return make_ack(message_id, json.dumps({"response": response}))


def event_ack(message_id: str, status: str = "SUCCESS", message: str = "success") -> dict[str, Any]:
    """ACK of an EVENT frame: ``data = {"status": SUCCESS|LATER, "message": …}``."""
    return make_ack(message_id, json.dumps({"status": status, "message": message}))


def system_ack(frame: dict[str, Any]) -> dict[str, Any] | None:
    """ACK of a SYSTEM frame: ``ping`` echoes its data; ``disconnect`` and others get none."""
    headers = frame.get("headers") or {}
    if headers.get("topic") == "ping":
        return make_ack(str(headers.get("messageId", "")), str(frame.get("data", "")))
    return None


class StreamClient:
    """Holds one bot's Stream connection until cancelled; hands CALLBACK/EVENT frames to ``handle``."""

    def __init__(self, bot: str, config: DingTalkBotConfig, http: aiohttp.ClientSession,
                 handle: FrameHandler, options: StreamOptions | None = None) -> None:
        self.bot = bot
        self._config = config
        self._http = http
        self._handle = handle
        self._options = options or StreamOptions()
        self.connections = 0  # successful WebSocket connections so far

    async def open_ticket(self) -> tuple[str, str]:
        """Register a connection: (endpoint, ticket)."""
        body = {"clientId": self._config.app_key, "clientSecret": self._config.app_secret,
                "subscriptions": list(SUBSCRIPTIONS), "ua": USER_AGENT, "localIp": ""}
        url = f"{self._config.api_base}/v1.0/gateway/connections/open"
        async with self._http.post(url, json=body, timeout=aiohttp.ClientTimeout(total=15),
                                   headers={"Accept": "application/json"}) as resp:
            data = await resp.json(content_type=None)
            if resp.status != 200 or not isinstance(data, dict):
                raise StreamError(f"connections/open answered {resp.status}: {data!r}"[:300])
        endpoint, ticket = data.get("endpoint"), data.get("ticket")
        if not isinstance(endpoint, str) or not isinstance(ticket, str) or not ticket:
            raise StreamError("connections/open gave no endpoint/ticket")
        return (self._config.ws_url or endpoint), ticket

    async def run(self) -> None:
        """Connect, serve, reconnect — forever, until the task is cancelled."""
        attempt = 0
        while True:
            try:
                endpoint, ticket = await self.open_ticket()
                sep = "&" if "?" in endpoint else "?"
                async with self._http.ws_connect(f"{endpoint}{sep}ticket={quote_plus(ticket)}",
                                                 heartbeat=self._options.heartbeat) as ws:
                    self.connections += 1
                    attempt = 0
                    log.info("dingtalk %s: stream connected", self.bot)
                    if await self._serve(ws):
                        continue  # server asked us to move: reconnect now with a new ticket
            except asyncio.CancelledError:
                raise
            except (TimeoutError, aiohttp.ClientError, StreamError, ValueError) as exc:
                log.warning("dingtalk %s: stream error: %r", self.bot, exc)
            delay = backoff_delay(attempt, self._options.backoff_base, self._options.backoff_cap)
            attempt += 1
            log.info("dingtalk %s: stream reconnect in %.2fs", self.bot, delay)
            await asyncio.sleep(delay)

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> bool:
        """Read frames until the connection ends; True when it ended with a ``disconnect``."""
        while True:
            msg = await ws.receive(timeout=self._options.idle_timeout)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                            aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                log.info("dingtalk %s: stream closed (%s)", self.bot, msg.type.name)
                return False
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                log.warning("dingtalk %s: unparseable stream frame dropped", self.bot)
                continue
            if not isinstance(frame, dict):
                continue
            if frame.get("type") == "SYSTEM":
                if (frame.get("headers") or {}).get("topic") == "disconnect":
                    log.info("dingtalk %s: server asked to disconnect: %s", self.bot, frame.get("data"))
                    await ws.close()
                    return True
                ack = system_ack(frame)
            else:
                try:
                    ack = await self._handle(frame)
                except Exception:  # a failed inbox write: no ACK, so DingTalk may push it again
                    log.exception("dingtalk %s: stream frame not handled", self.bot)
                    continue
            if ack is not None:
                await ws.send_str(json.dumps(ack, ensure_ascii=False))
