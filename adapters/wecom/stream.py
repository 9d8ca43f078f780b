"""The WeCom AI bot long connection (智能机器人长连接, ``docs/platforms/wecom.md``).

Frames are JSON ``{"cmd", "headers": {"req_id"}, "body"}``; answers to our commands are
``{"headers": {"req_id"}, "errcode", "errmsg"}`` without ``cmd``. We subscribe with bot_id + secret,
ping every ``heartbeat_interval`` (two missed acks → reconnect), reconnect with exponential backoff
and jitter, and stop for good on ``disconnected_event`` (another subscriber took the bot over).
WeCom has no per-frame ACK for callbacks: a callback is handed to ``on_callback`` (which writes
the inbox) in order, by one worker, so the reader keeps answering command acks meanwhile.
Only one instance holds the connection: a :class:`Lease` named ``wecom:<bot>`` decides which.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from adapters.http import backoff_delay
from adapters.wecom.api import TOO_FAST
from adapters.wecom.config import WeComBotConfig
from bot.ports import Lease
from bot.send_errors import PermanentSendError, TransientSendError

log = logging.getLogger(__name__)

CMD_SUBSCRIBE = "aibot_subscribe"
CMD_PING = "ping"
CMD_MSG_CALLBACK = "aibot_msg_callback"
CMD_EVENT_CALLBACK = "aibot_event_callback"
CMD_SEND = "aibot_send_msg"
CMD_UPDATE = "aibot_respond_update_msg"
EVENT_DISCONNECTED = "disconnected_event"
COMMAND_TIMEOUT = 5.0  # the official SDK waits 5 s for a command's ack
MAX_MISSED_PONGS = 2

CallbackHandler = Callable[[dict[str, Any]], Awaitable[None]]


def new_req_id(prefix: str) -> str:
    """A unique req_id; the prefix names the command, as the official SDK does."""
    return f"{prefix}_{uuid.uuid4().hex}"


class Kicked(Exception):
    """Another subscriber took this bot's connection over."""


class AuthFailed(Exception):
    """aibot_subscribe was refused."""


class WeComLongConnection:
    """One bot's long connection: connect, subscribe, heartbeat, read, reconnect."""

    def __init__(self, bot: str, cfg: WeComBotConfig, on_callback: CallbackHandler, *,
                 lease: Lease | None = None, holder: str = "") -> None:
        self.bot = bot
        self._cfg = cfg
        self._on_callback = on_callback
        self._lease = lease
        self._holder = holder or uuid.uuid4().hex
        self._lease_name = f"wecom:{bot}"
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ready = asyncio.Event()
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._missed_pongs = 0
        self._stopping = False
        self._stop_event = asyncio.Event()
        self.finished = asyncio.Event()  # set when run() has returned
        self.kicked = False
        self.connects = 0  # successful subscriptions, for tests and logs

    @property
    def ready(self) -> bool:
        """True while subscribed."""
        return self._ready.is_set()

    async def wait_ready(self, seconds: float) -> bool:
        """Wait until subscribed; False after ``seconds``."""
        try:
            await asyncio.wait_for(self._ready.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def run(self, http: aiohttp.ClientSession) -> None:
        """Hold the connection until :meth:`stop` or a kick; never raises on network trouble."""
        worker = asyncio.create_task(self._work(), name=f"wecom-{self.bot}-inbox")
        attempt = 0
        try:
            while not self._stopping:
                if not await self._hold_lease():
                    await self._sleep(self._cfg.lease_ttl / 3)
                    continue
                before = self.connects
                try:
                    await self._session(http)
                except Kicked:
                    self.kicked = True
                    log.error("wecom %s: connection taken over by another subscriber "
                              "(disconnected_event); not reconnecting", self.bot)
                    break
                except AuthFailed as exc:
                    log.error("wecom %s: subscribe refused: %s", self.bot, exc)
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    log.warning("wecom %s: connection failed: %s: %s", self.bot,
                                type(exc).__name__, exc)
                except Exception:  # keep the bot's receiver alive whatever happened
                    log.exception("wecom %s: long connection crashed", self.bot)
                if self._stopping:
                    break
                attempt = 1 if self.connects > before else attempt + 1
                delay = self._backoff(attempt)
                log.info("wecom %s: reconnecting in %.2f s (attempt %d)", self.bot, delay, attempt)
                await self._sleep(delay)
        finally:
            await self._release_lease()
            await self._drain(worker)
            self.finished.set()

    async def stop(self) -> None:
        """Close the connection; :meth:`run` then returns."""
        self._stopping = True
        self._stop_event.set()
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()

    async def command(self, cmd: str, body: dict[str, Any], req_id: str | None = None,
                      ack_within: float = COMMAND_TIMEOUT) -> dict[str, Any]:
        """Send a command frame and wait for its ack; maps errcodes to send errors."""
        ws = self._ws
        if ws is None or ws.closed or not self.ready:
            raise TransientSendError("企业微信长连接未就绪", code="not_connected")
        req_id = req_id or new_req_id(cmd)
        if req_id in self._pending:
            raise PermanentSendError(f"req_id {req_id} already in flight", code="busy_req_id")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        try:
            await ws.send_str(json.dumps({"cmd": cmd, "headers": {"req_id": req_id}, "body": body},
                                         ensure_ascii=False))
            ack = await asyncio.wait_for(future, ack_within)
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise TransientSendError(f"{cmd}: {exc}", code="ws_error") from exc
        except TimeoutError as exc:
            raise TransientSendError(f"{cmd}: no ack in {ack_within} s", code="ws_timeout") from exc
        finally:
            self._pending.pop(req_id, None)
        code = ack.get("errcode", 0)
        if code == 0:
            return ack
        msg = f"{cmd}: errcode {code} {ack.get('errmsg', '')}".strip()
        if code in TOO_FAST:
            raise TransientSendError(msg, code=code, retry_after=TOO_FAST[code])
        raise PermanentSendError(msg, code=code)

    # -- internals ---------------------------------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), seconds)

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt - 1, self._cfg.reconnect_min, self._cfg.reconnect_max)

    async def _hold_lease(self) -> bool:
        if self._lease is None:
            return True
        try:
            return await self._lease.acquire(self._lease_name, self._holder, self._cfg.lease_ttl)
        except Exception:  # the store may be down: do not connect without the lease
            log.exception("wecom %s: lease acquire failed", self.bot)
            return False

    async def _release_lease(self) -> None:
        if self._lease is None:
            return
        try:
            await self._lease.release(self._lease_name, self._holder)
        except Exception:
            log.exception("wecom %s: lease release failed", self.bot)

    async def _session(self, http: aiohttp.ClientSession) -> None:
        timeout = aiohttp.ClientWSTimeout(ws_close=5.0)
        async with http.ws_connect(self._cfg.ws_url, timeout=timeout, autoping=True,
                                   max_msg_size=8 * 1024 * 1024) as ws:
            self._ws = ws
            self._missed_pongs = 0
            reader = asyncio.create_task(self._read(ws), name=f"wecom-{self.bot}-reader")
            helpers: list[asyncio.Task[None]] = []
            try:
                await self._subscribe(ws, reader)
                self.connects += 1
                self._ready.set()
                log.info("wecom %s: long connection subscribed", self.bot)
                helpers.append(asyncio.create_task(self._heartbeat(ws)))
                if self._lease is not None:
                    helpers.append(asyncio.create_task(self._renew_lease(ws)))
                kicked = await reader
                if kicked:
                    raise Kicked()
            finally:
                self._ready.clear()
                for task in [*helpers, reader]:
                    task.cancel()
                for task in [*helpers, reader]:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                for future in self._pending.values():
                    if not future.done():
                        future.set_exception(ConnectionError("connection closed"))
                self._ws = None

    async def _subscribe(self, ws: aiohttp.ClientWebSocketResponse,
                         reader: asyncio.Task[bool]) -> None:
        req_id = new_req_id(CMD_SUBSCRIBE)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        try:
            await ws.send_str(json.dumps({"cmd": CMD_SUBSCRIBE, "headers": {"req_id": req_id},
                                          "body": {"bot_id": self._cfg.bot_id,
                                                   "secret": self._cfg.secret}}))
            done, _ = await asyncio.wait({future, reader}, timeout=self._cfg.request_timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            if future not in done:
                raise TimeoutError("no answer to aibot_subscribe")
            ack = future.result()
        finally:
            self._pending.pop(req_id, None)
        if ack.get("errcode", 0) != 0:
            raise AuthFailed(f"errcode {ack.get('errcode')} {ack.get('errmsg', '')}")

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> bool:
        """Read frames until the socket closes; True when we were kicked."""
        kicked = False
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                if msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                    break
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                log.warning("wecom %s: unparseable frame dropped", self.bot)
                continue
            if not isinstance(frame, dict):
                continue
            cmd = frame.get("cmd")
            req_id = str((frame.get("headers") or {}).get("req_id", ""))
            if cmd in (CMD_MSG_CALLBACK, CMD_EVENT_CALLBACK):
                body = frame.get("body") or {}
                if (cmd == CMD_EVENT_CALLBACK and isinstance(body, dict)
                        and (body.get("event") or {}).get("eventtype") == EVENT_DISCONNECTED):
                    kicked = True
                    await ws.close()
                    break
                await self._queue.put(frame)
            elif not cmd:
                future = self._pending.get(req_id)
                if future is not None and not future.done():
                    future.set_result(frame)
                elif req_id.startswith(CMD_PING):
                    self._missed_pongs = 0
                else:
                    log.debug("wecom %s: unmatched ack %s", self.bot, req_id)
            else:
                log.debug("wecom %s: frame %s ignored", self.bot, cmd)
        return kicked

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(self._cfg.heartbeat_interval)
            if self._missed_pongs >= MAX_MISSED_PONGS:
                log.warning("wecom %s: %d heartbeats unanswered, reconnecting", self.bot,
                            self._missed_pongs)
                await ws.close()
                return
            self._missed_pongs += 1
            try:
                await ws.send_str(json.dumps({"cmd": CMD_PING,
                                              "headers": {"req_id": new_req_id(CMD_PING)}}))
            except (aiohttp.ClientError, ConnectionError):
                await ws.close()
                return

    async def _renew_lease(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(self._cfg.lease_ttl / 3)
            if not await self._hold_lease():
                log.warning("wecom %s: lease lost, closing the long connection", self.bot)
                await ws.close()
                return

    async def _work(self) -> None:
        while True:
            frame = await self._queue.get()
            try:
                await self._on_callback(frame)
            except Exception:
                log.exception("wecom %s: callback frame could not be handled", self.bot)
            finally:
                self._queue.task_done()

    async def _drain(self, worker: asyncio.Task[None]) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), 5.0)
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
