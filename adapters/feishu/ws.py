"""Feishu long connection (使用长连接接收事件) on aiohttp, the protocol of the official SDKs.

1. ``POST {api_base}/callback/ws/endpoint`` ``{"AppID", "AppSecret"}`` → ``data.URL`` (a wss URL with
   ``device_id`` and ``service_id``) and ``data.ClientConfig`` (ReconnectCount, ReconnectInterval,
   ReconnectNonce, PingInterval, in seconds).
2. Binary ``pbbp2.Frame`` messages. Control frames: our ``ping`` every PingInterval, the server's
   ``pong`` (its payload may carry a new ClientConfig). Data frames: headers ``type``
   (event | card), ``message_id``, ``sum``/``seq`` (a payload split in parts), ``trace_id``.
3. Ack a data frame by sending it back with a ``biz_rt`` header and payload
   ``{"code": 200[, "data": base64(JSON answer)]}``; unacked events are re-pushed (3 s).

The handler (inbox write) completes before the ack is written. Reconnects use exponential
backoff with jitter, capped by the server's ReconnectInterval; refusals that retrying cannot fix
(bad credentials, banned, connection limit) stop the loop with an error log.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
from google.protobuf.message import DecodeError

from adapters.feishu.config import FeishuBotConfig
from adapters.feishu.frames import METHOD_CONTROL, METHOD_DATA, frame_headers, new_frame, parse_frame
from adapters.http import backoff_delay

log = logging.getLogger(__name__)

ENDPOINT_PATH = "/callback/ws/endpoint"
OK, SYSTEM_BUSY, INTERNAL_ERROR = 0, 1, 1000040343
HANDSHAKE_FORBIDDEN, HANDSHAKE_AUTH_FAILED, EXCEED_CONN_LIMIT = 403, 514, 1000040350

PayloadHandler = Callable[[bytes], Awaitable[dict[str, Any] | None]]


class FatalConnectError(Exception):
    """The platform refused us in a way that retrying cannot fix."""


class FeishuLongConnection:
    """One bot's long connection: connect, serve, reconnect until cancelled."""

    def __init__(self, bot: str, cfg: FeishuBotConfig, handler: PayloadHandler, *,
                 backoff_base: float = 1.0) -> None:
        self.bot = bot
        self.cfg = cfg
        self._handler = handler
        self.backoff_base = backoff_base
        self.reconnect_count = -1
        self.reconnect_interval = 120.0
        self.reconnect_nonce = 30.0
        self.ping_interval = 120.0
        self.connects = 0
        self._service_id = 0
        self._parts: dict[str, tuple[float, list[bytes]]] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._send_lock = asyncio.Lock()

    async def run(self, http: aiohttp.ClientSession) -> None:
        """Hold the connection until cancelled; reconnect with backoff after every loss."""
        failures = 0
        while True:
            try:
                url = await self._endpoint(http)
                async with http.ws_connect(url, autoping=True, max_msg_size=0) as ws:
                    self.connects += 1
                    failures = 0
                    log.info("feishu[%s] long connection open", self.bot)
                    await self._serve(ws)
                log.warning("feishu[%s] long connection closed", self.bot)
            except aiohttp.WSServerHandshakeError as exc:
                if _fatal_handshake(exc):
                    log.error("feishu[%s] long connection refused, giving up: %s", self.bot, exc)
                    return
                log.warning("feishu[%s] handshake failed: %r", self.bot, exc)
            except FatalConnectError as exc:
                log.error("feishu[%s] long connection refused, giving up: %s", self.bot, exc)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("feishu[%s] long connection failed: %r", self.bot, exc)
            failures += 1
            if 0 <= self.reconnect_count < failures:
                log.error("feishu[%s] no reconnect left after %d tries", self.bot, failures - 1)
                return
            await asyncio.sleep(self._backoff(failures))

    async def close(self) -> None:
        """Cancel the handlers still running (their events will be re-pushed)."""
        for task in list(self._inflight):
            task.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)

    def _backoff(self, failures: int) -> float:
        delay = backoff_delay(failures - 1, self.backoff_base, self.reconnect_interval)
        if failures == 1 and self.reconnect_nonce > 0:
            delay += random.random() * self.reconnect_nonce  # spread reconnect storms
        return delay

    def _configure(self, conf: dict[str, Any]) -> None:
        for key, attr in (("ReconnectCount", "reconnect_count"),
                          ("ReconnectInterval", "reconnect_interval"),
                          ("ReconnectNonce", "reconnect_nonce"), ("PingInterval", "ping_interval")):
            value = conf.get(key)
            if isinstance(value, int | float):
                setattr(self, attr, int(value) if key == "ReconnectCount" else float(value))

    async def _endpoint(self, http: aiohttp.ClientSession) -> str:
        body = {"AppID": self.cfg.app_id, "AppSecret": self.cfg.app_secret}
        async with http.post(self.cfg.api_base + ENDPOINT_PATH, json=body, headers={"locale": "zh"},
                             timeout=aiohttp.ClientTimeout(total=10)) as resp:
            if resp.status != 200:
                raise ConnectionError(f"endpoint HTTP {resp.status}")
            data = await resp.json(content_type=None)
        code = data.get("code")
        if code in (SYSTEM_BUSY, INTERNAL_ERROR):
            raise ConnectionError(f"endpoint busy: {code} {data.get('msg')}")
        if code != OK:
            raise FatalConnectError(f"endpoint refused: {code} {data.get('msg')}")
        endpoint = data.get("data") or {}
        if isinstance(endpoint.get("ClientConfig"), dict):
            self._configure(endpoint["ClientConfig"])
        url = str(endpoint.get("URL") or "")
        if not url:
            raise ConnectionError("endpoint gave no URL")
        query = parse_qs(urlparse(url).query)
        self._service_id = int((query.get("service_id") or ["0"])[0] or 0)
        return url

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        last_seen = time.monotonic()

        async def pinger() -> None:
            while True:
                if time.monotonic() - last_seen > 2 * self.ping_interval + 5:
                    log.warning("feishu[%s] no answer to pings, reconnecting", self.bot)
                    await ws.close()
                    return
                ping = new_frame(method=METHOD_CONTROL, service=self._service_id,
                                 headers={"type": "ping"})
                await self._send(ws, ping.SerializeToString())
                await asyncio.sleep(self.ping_interval)

        ping_task = asyncio.create_task(pinger())
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.BINARY:
                    continue
                last_seen = time.monotonic()
                try:
                    frame = parse_frame(msg.data)
                except DecodeError:
                    log.warning("feishu[%s] undecodable frame dropped", self.bot)
                    continue
                if frame.method == METHOD_CONTROL:
                    self._on_control(frame)
                elif frame.method == METHOD_DATA:
                    task = asyncio.create_task(self._on_data(ws, frame))
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)
        finally:
            ping_task.cancel()
            await asyncio.gather(ping_task, return_exceptions=True)

    def _on_control(self, frame: Any) -> None:
        if frame_headers(frame).get("type") == "pong" and frame.payload:
            try:
                conf = json.loads(frame.payload)
            except ValueError:
                return
            if isinstance(conf, dict):
                self._configure(conf)

    def _combine(self, msg_id: str, total: int, seq: int, part: bytes) -> bytes | None:
        now = time.monotonic()
        for key in [k for k, (t, _) in self._parts.items() if now - t > 10]:
            del self._parts[key]
        _, parts = self._parts.setdefault(msg_id, (now, [b""] * total))
        if 0 <= seq < total:
            parts[seq] = part
        if all(parts):
            del self._parts[msg_id]
            return b"".join(parts)
        return None

    async def _on_data(self, ws: aiohttp.ClientWebSocketResponse, frame: Any) -> None:
        hs = frame_headers(frame)
        if hs.get("type") not in ("event", "card"):
            return
        payload = frame.payload
        total = int(hs.get("sum", "1") or 1)
        if total > 1:
            combined = self._combine(hs.get("message_id", ""), total, int(hs.get("seq", "0") or 0),
                                     payload)
            if combined is None:
                return
            payload = combined
        started = time.monotonic()
        answer: dict[str, Any] = {"code": 200}
        try:
            result = await self._handler(payload)
            if result is not None:
                answer["data"] = base64.b64encode(json.dumps(result).encode()).decode()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("feishu[%s] event %s not stored; not acked as success", self.bot,
                          hs.get("message_id"))
            answer = {"code": 500}
        frame.headers.add(key="biz_rt", value=str(int((time.monotonic() - started) * 1000)))
        frame.payload = json.dumps(answer).encode()
        try:
            await self._send(ws, frame.SerializeToString())
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
            log.warning("feishu[%s] ack of %s lost: %r", self.bot, hs.get("message_id"), exc)

    async def _send(self, ws: aiohttp.ClientWebSocketResponse, data: bytes) -> None:
        async with self._send_lock:
            await ws.send_bytes(data)


def _fatal_handshake(exc: aiohttp.WSServerHandshakeError) -> bool:
    """Banned (403) or over the connection limit (514 + 1000040350): do not retry."""
    headers = exc.headers or {}
    try:
        status = int(headers.get("handshake-status", "0"))
        auth = int(headers.get("handshake-autherrcode", "0") or 0)
    except ValueError:
        return False
    return status == HANDSHAKE_FORBIDDEN or (status == HANDSHAKE_AUTH_FAILED and auth == EXCEED_CONN_LIMIT)
