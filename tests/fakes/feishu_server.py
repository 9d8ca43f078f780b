"""A fake Feishu Open Platform for tests: the REST APIs the adapter calls and the long connection.

It checks what Feishu checks (docs/platforms/feishu.md, sending and limits): tenant tokens (which it can expire),
request schemas, body byte limits, custom-bot signatures and their ±1 h timestamp window, and
rate limits (configurable), answering with Feishu's codes. It records what it accepted, can fail
the next N requests with HTTP 5xx, and builds inbound callbacks exactly as Feishu sends them.

Use: ``fake = FeishuFake(...)``; ``server = TestServer(fake.app)``; point ``api_base`` at
``str(server.make_url(""))``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from adapters.feishu.crypto import encrypt, event_signature, robot_sign
from adapters.feishu.frames import METHOD_CONTROL, METHOD_DATA, frame_headers, new_frame, parse_frame
from bot.clock import Clock, SystemClock

TEXT_MAX_BODY = 150 * 1024
CARD_MAX_BODY = 30 * 1024
ROBOT_MAX_BODY = 20 * 1024
MSG_TYPES = {"text", "post", "image", "file", "audio", "media", "sticker", "interactive",
             "share_chat", "share_user", "system"}
ROBOT_MSG_TYPES = {"text", "post", "image", "share_chat", "interactive"}
RECEIVE_ID_TYPES = {"chat_id", "open_id", "user_id", "union_id", "email"}
BUTTON_TYPES = {"default", "primary", "danger", "text", "primary_filled", "danger_filled", "laser"}
MAX_WS_CONNECTIONS = 50


def _err(code: int, msg: str, status: int = 400, headers: dict[str, str] | None = None,
         ) -> web.Response:
    return web.json_response({"code": code, "msg": msg, "error": {"log_id": "fake"}},
                             status=status, headers=headers)


class _Window:
    """Sliding-window counter on the fake's clock."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def hit(self, key: str, now: float, limit: int, seconds: float) -> bool:
        """Record a hit; False when it is over ``limit`` within ``seconds`` (not recorded then)."""
        hits = self._hits[key]
        while hits and hits[0] <= now - seconds:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True


@dataclass
class Ack:
    """What the client answered to a pushed data frame."""

    message_id: str
    code: int
    data: Any
    headers: dict[str, str] = field(default_factory=dict)


class FeishuFake:
    """The fake platform; ``app`` is the aiohttp application."""

    def __init__(self, *, clock: Clock | None = None, apps: dict[str, str] | None = None,
                 robots: dict[str, str] | None = None, chats: set[str] | None = None,
                 token_lifetime: int = 7200, chat_qps: int = 5, app_qps: int = 50,
                 robot_per_minute: int = 100, robot_per_second: int = 5,
                 bot_open_id: str = "ou_bot", client_config: dict[str, Any] | None = None) -> None:
        self.clock = clock or SystemClock()
        self.apps = dict(apps if apps is not None else {"cli_test": "secret"})
        self.robots = dict(robots or {})  # hook token -> signing secret ("" = unsigned)
        self.chats = chats  # None: any chat id accepted
        self.token_lifetime = token_lifetime
        self.chat_qps, self.app_qps = chat_qps, app_qps
        self.robot_per_minute, self.robot_per_second = robot_per_minute, robot_per_second
        self.bot_open_id = bot_open_id
        self.client_config = client_config or {"ReconnectCount": -1, "ReconnectInterval": 1,
                                               "ReconnectNonce": 0, "PingInterval": 120}
        self.tokens: dict[str, tuple[str, float]] = {}
        self.token_fetches = 0
        self.messages: list[dict[str, Any]] = []
        self.robot_messages: list[dict[str, Any]] = []
        self.patches: list[dict[str, Any]] = []
        # message resources: (message_id, key) -> (type, bytes, content type), and downloads made
        self.resources: dict[tuple[str, str], tuple[str, bytes, str]] = {}
        self.downloads: list[tuple[str, str, str]] = []
        self.requests: list[tuple[str, str]] = []
        self._sent: dict[str, dict[str, Any]] = {}
        self._uuids: dict[str, str] = {}
        self._window = _Window()
        self._fail: list[int] = []
        self._lose = 0
        self._ids = itertools.count(1)
        # long connection
        self.ws_connects = 0
        self.pings = 0
        self.acks: list[Ack] = []
        self.tickets: set[str] = set()
        self._ws: list[web.WebSocketResponse] = []
        self._waiters: dict[str, asyncio.Future[Ack]] = {}
        self._conn_changed = asyncio.Condition()
        self.app = self._build_app()

    # -- controls --------------------------------------------------------------------------

    def lose_next_answers(self, n: int) -> None:
        """Carry out the next ``n`` REST requests, then answer HTTP 502 as if the answer were
        lost on the way back (the sender cannot tell it from a request that never arrived)."""
        self._lose += n

    def fail_next(self, n: int, status: int = 500) -> None:
        """Answer the next ``n`` REST requests with HTTP ``status`` and a non-JSON body."""
        self._fail.extend([status] * n)

    def expire_tokens(self) -> None:
        """Invalidate every tenant token issued so far (as if they had expired)."""
        self.tokens.clear()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", self._token)
        app.router.add_get("/open-apis/bot/v3/info", self._bot_info)
        app.router.add_post("/open-apis/im/v1/messages", self._send)
        app.router.add_patch("/open-apis/im/v1/messages/{message_id}", self._patch)
        app.router.add_get("/open-apis/im/v1/messages/{message_id}/resources/{file_key}", self._resource)
        app.router.add_post("/open-apis/bot/v2/hook/{hook}", self._robot)
        app.router.add_post("/callback/ws/endpoint", self._ws_endpoint)
        app.router.add_get("/ws", self._ws_handler)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self._fail and request.path != "/ws":
            return web.Response(status=self._fail.pop(0), text="upstream error")
        response = await handler(request)
        if self._lose and request.path != "/ws" and "tenant_access_token" not in request.path:
            self._lose -= 1
            return web.Response(status=502, text="bad gateway")
        return response

    # -- REST ------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _err(99992402, "field validation failed")
        app_id, secret = body.get("app_id"), body.get("app_secret")
        if not app_id or not secret:
            return _err(99992402, "field validation failed")
        if self.apps.get(app_id) != secret:
            return _err(10014, "app secret invalid")
        token = f"t-{uuid.uuid4().hex}"
        self.tokens[token] = (app_id, self._now() + self.token_lifetime)
        self.token_fetches += 1
        return web.json_response({"code": 0, "msg": "ok", "tenant_access_token": token,
                                  "expire": self.token_lifetime})

    def _auth(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not header[7:]:
            return _err(99991661, "Missing access token for authorization. "
                                  "Please make a request with token attached.")
        entry = self.tokens.get(header[7:])
        if entry is None or entry[1] <= self._now():
            return _err(99991663, "Invalid access token for authorization. "
                                  "Please make a request with token attached.")
        if not self._window.hit("app", self._now(), self.app_qps, 1.0):
            return _err(99991400, "request trigger frequency limit", status=429,
                        headers={"x-ogw-ratelimit-limit": str(self.app_qps),
                                 "x-ogw-ratelimit-reset": "1"})
        return None

    def add_resource(self, message_id: str, key: str, kind: str, data: bytes,
                     content_type: str = "application/octet-stream") -> None:
        """An image (``img_…``) or file (``file_…``) that message ``message_id`` carries."""
        self.resources[(message_id, key)] = (kind, data, content_type)

    async def _resource(self, request: web.Request) -> web.StreamResponse:
        """GET /open-apis/im/v1/messages/:message_id/resources/:file_key?type=image|file: the
        binary stream, to a valid tenant token, for a key the message really carries."""
        if (denied := self._auth(request)) is not None:
            return denied
        message_id, key = request.match_info["message_id"], request.match_info["file_key"]
        kind = request.query.get("type", "")
        if kind not in ("image", "file"):
            return _err(234001, "Invalid request param.")
        found = self.resources.get((message_id, key))
        if found is None or found[0] != kind:
            return _err(234003, "File not in msg.")
        self.downloads.append((message_id, key, kind))
        return web.Response(body=found[1], headers={"Content-Type": found[2]})

    async def _bot_info(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        return web.json_response({"code": 0, "msg": "ok", "bot": {
            "activate_status": 2, "app_name": "热线机器人", "avatar_url": "",
            "ip_white_list": [], "open_id": self.bot_open_id}})

    async def _send(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        raw = await request.read()
        id_type = request.query.get("receive_id_type", "")
        try:
            body = json.loads(raw)
        except ValueError:
            return _err(99992402, "field validation failed")
        if id_type not in RECEIVE_ID_TYPES:
            return _err(99992402, "field validation failed: receive_id_type")
        missing = [k for k in ("receive_id", "msg_type", "content") if not body.get(k)]
        if missing:
            return _err(99992402, f"field validation failed: {missing}")
        msg_type = body["msg_type"]
        if msg_type not in MSG_TYPES:
            return _err(230001, "Your request contains an invalid request parameter, ext=invalid msg_type.")
        limit = TEXT_MAX_BODY if msg_type == "text" else CARD_MAX_BODY
        if len(raw) > limit:
            return _err(230025, "The length of the message content reaches its limit.")
        content, problem = _content(msg_type, body["content"])
        if problem:
            return _err(230001, f"Your request contains an invalid request parameter, ext={problem}.")
        if id_type == "chat_id" and self.chats is not None and body["receive_id"] not in self.chats:
            return _err(230002, "The bot can not be outside the group.")
        if not self._window.hit(f"im:{body['receive_id']}", self._now(), self.chat_qps, 1.0):
            return _err(230020, "This operation triggers the frequency limit.")
        if body.get("uuid") and body["uuid"] in self._uuids:
            message_id = self._uuids[body["uuid"]]
        else:
            message_id = f"om_{next(self._ids):08d}"
            record = {"receive_id_type": id_type, "receive_id": body["receive_id"],
                      "msg_type": msg_type, "content": content, "message_id": message_id,
                      "bytes": len(raw)}
            self.messages.append(record)
            self._sent[message_id] = record
            if body.get("uuid"):
                self._uuids[body["uuid"]] = message_id
        return web.json_response({"code": 0, "msg": "success", "data": {
            "message_id": message_id, "msg_type": msg_type,
            "create_time": str(int(self._now() * 1000))}})

    async def _patch(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return _err(99992402, "field validation failed")
        if not isinstance(body.get("content"), str):
            return _err(99992402, "field validation failed: content")
        if len(raw) > CARD_MAX_BODY:
            return _err(230025, "The length of the message content reaches its limit.")
        sent = self._sent.get(request.match_info["message_id"])
        if sent is None:
            return _err(230001, "Your request contains an invalid request parameter, ext=invalid message_id.")
        if sent["msg_type"] != "interactive":
            return _err(230001, "Your request contains an invalid request parameter, "
                                "ext=message is not a card.")
        card, problem = _content("interactive", body["content"])
        if problem:
            return _err(230001, f"Your request contains an invalid request parameter, ext={problem}.")
        shared = lambda c: bool((c.get("config") or {}).get("update_multi"))  # noqa: E731
        if not (shared(sent["content"]) and shared(card)):
            return _err(230001, "Your request contains an invalid request parameter, "
                                "ext=update_multi must be true.")
        if not self._window.hit(f"patch:{request.match_info['message_id']}", self._now(), 5, 1.0):
            return _err(230020, "This operation triggers the frequency limit.")
        sent["content"] = card
        self.patches.append({"message_id": request.match_info["message_id"], "card": card})
        return web.json_response({"code": 0, "msg": "success", "data": {}})

    async def _robot(self, request: web.Request) -> web.Response:
        hook = request.match_info["hook"]
        raw = await request.read()
        if hook not in self.robots:
            return _err(19001, "param invalid: incoming webhook access token invalid")
        if len(raw) > ROBOT_MAX_BODY:
            return _err(9499, "Bad Request: request body too large")
        try:
            body = json.loads(raw)
        except ValueError:
            return _err(9499, "Bad Request")
        secret = self.robots[hook]
        if secret:
            ts, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
            try:
                fresh = abs(self._now() - int(ts)) <= 3600
            except ValueError:
                fresh = False
            if not fresh or sign != robot_sign(secret, ts):
                return _err(19021, "sign match fail or timestamp is not within one hour "
                                   "from current time")
        msg_type = body.get("msg_type")
        if msg_type not in ROBOT_MSG_TYPES:
            return _err(9499, "Bad Request: invalid msg_type")
        payload = body.get("card") if msg_type == "interactive" else body.get("content")
        if not isinstance(payload, dict):
            return _err(9499, "Bad Request: content missing")
        _, problem = _content(msg_type, json.dumps(payload))
        if problem:
            return _err(9499, f"Bad Request: {problem}")
        now = self._now()
        if not (self._window.hit(f"robot-m:{hook}", now, self.robot_per_minute, 60.0)
                and self._window.hit(f"robot-s:{hook}", now, self.robot_per_second, 1.0)):
            return _err(11232, "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]")
        self.robot_messages.append({"hook": hook, "msg_type": msg_type, "content": payload,
                                    "bytes": len(raw)})
        return web.json_response({"StatusCode": 0, "StatusMessage": "success", "code": 0,
                                  "data": {}, "msg": "success"})

    # -- long connection -------------------------------------------------------------------

    async def _ws_endpoint(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _err(99992402, "field validation failed")
        if self.apps.get(body.get("AppID")) != body.get("AppSecret") or not body.get("AppSecret"):
            return web.json_response({"code": 1000040351, "msg": "app credentials invalid"})
        ticket = uuid.uuid4().hex
        self.tickets.add(ticket)
        url = f"ws://{request.host}/ws?device_id=dev{self.ws_connects + 1}&service_id=42&ticket={ticket}"
        return web.json_response({"code": 0, "msg": "ok",
                                  "data": {"URL": url, "ClientConfig": self.client_config}})

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self.tickets:
            return web.Response(status=401, headers={"handshake-status": "514",
                                                     "handshake-msg": "auth failed",
                                                     "handshake-autherrcode": "1000040348"})
        self.tickets.discard(ticket)  # single use
        if len(self._ws) >= MAX_WS_CONNECTIONS:
            return web.Response(status=401, headers={"handshake-status": "514",
                                                     "handshake-msg": "exceed conn limit",
                                                     "handshake-autherrcode": "1000040350"})
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async with self._conn_changed:
            self._ws.append(ws)
            self.ws_connects += 1
            self._conn_changed.notify_all()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    await self._on_client_frame(ws, msg.data)
        finally:
            async with self._conn_changed:
                if ws in self._ws:
                    self._ws.remove(ws)
                self._conn_changed.notify_all()
        return ws

    async def _on_client_frame(self, ws: web.WebSocketResponse, data: bytes) -> None:
        frame = parse_frame(data)
        hs = frame_headers(frame)
        if frame.method == METHOD_CONTROL and hs.get("type") == "ping":
            self.pings += 1
            pong = new_frame(method=METHOD_CONTROL, service=frame.service, headers={"type": "pong"},
                             payload=json.dumps(self.client_config).encode())
            await ws.send_bytes(pong.SerializeToString())
        elif frame.method == METHOD_DATA:
            answer = json.loads(frame.payload)
            raw = answer.get("data")
            ack = Ack(message_id=hs.get("message_id", ""), code=int(answer.get("code", 0)),
                      data=json.loads(base64.b64decode(raw)) if raw else None, headers=hs)
            self.acks.append(ack)
            waiter = self._waiters.pop(ack.message_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(ack)

    async def wait_connections(self, count: int, wait_s: float = 5.0) -> None:
        """Wait until ``count`` connections have been opened in total and one is live."""
        async def ready() -> None:
            async with self._conn_changed:
                await self._conn_changed.wait_for(lambda: self.ws_connects >= count and self._ws)
        await asyncio.wait_for(ready(), wait_s)

    async def push(self, payload: dict[str, Any], *, kind: str = "event", parts: int = 1,
                   wait_s: float = 5.0) -> Ack:
        """Push an event (or card callback) on the newest connection and wait for its ack."""
        if not self._ws:
            raise RuntimeError("no live long connection")
        ws = self._ws[-1]
        message_id = uuid.uuid4().hex
        data = json.dumps(payload, ensure_ascii=False).encode()
        size = -(-len(data) // parts)
        waiter: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._waiters[message_id] = waiter
        for seq in range(parts):
            frame = new_frame(method=METHOD_DATA, service=42, seq_id=next(self._ids),
                              headers={"type": kind, "message_id": message_id, "sum": str(parts),
                                       "seq": str(seq), "trace_id": uuid.uuid4().hex},
                              payload=data[seq * size:(seq + 1) * size])
            await ws.send_bytes(frame.SerializeToString())
        return await asyncio.wait_for(waiter, wait_s)

    async def drop_connections(self) -> None:
        """Close every live long connection from the server side."""
        for ws in list(self._ws):
            await ws.close()


def _content(msg_type: str, content: str) -> tuple[dict[str, Any], str]:
    """Parse and check a message content string; (content, problem or "")."""
    try:
        value = json.loads(content)
    except ValueError:
        return {}, "content is not valid JSON"
    if not isinstance(value, dict):
        return {}, "content is not an object"
    if msg_type == "text" and not isinstance(value.get("text"), str):
        return value, "text content needs a text string"
    if msg_type == "interactive":
        elements = value.get("elements")
        if not isinstance(elements, list):
            return value, "card needs elements"
        for el in elements:
            if not isinstance(el, dict) or "tag" not in el:
                return value, "card element without tag"
            for button in el.get("actions", []) if el.get("tag") == "action" else []:
                if button.get("tag") != "button" or button.get("type", "default") not in BUTTON_TYPES:
                    return value, "invalid button"
                if not isinstance((button.get("text") or {}).get("content"), str):
                    return value, "button without text"
    return value, ""


# -- building inbound callbacks -------------------------------------------------------------

def mention(key: str, open_id: str, name: str) -> dict[str, Any]:
    """One ``mentions[]`` entry as Feishu sends it."""
    return {"key": key, "id": {"open_id": open_id, "union_id": f"on_{open_id[3:]}", "user_id": ""},
            "name": name, "tenant_key": "tenant"}


def message_event(text: str, *, chat_id: str = "oc_group", chat_type: str = "group",
                  sender: str = "ou_sender", mentions: list[dict[str, Any]] | None = None,
                  event_id: str | None = None, message_id: str | None = None,
                  parent_id: str = "", token: str = "vtoken", message_type: str = "text",
                  content: dict[str, Any] | None = None, app_id: str = "cli_test") -> dict[str, Any]:
    """An ``im.message.receive_v1`` envelope (schema 2.0)."""
    body = content if content is not None else {"text": text}
    message: dict[str, Any] = {
        "message_id": message_id or f"om_{uuid.uuid4().hex[:16]}", "root_id": parent_id,
        "parent_id": parent_id, "create_time": "1700000000000", "update_time": "1700000000000",
        "chat_id": chat_id, "chat_type": chat_type, "message_type": message_type,
        "content": json.dumps(body, ensure_ascii=False), "mentions": mentions or []}
    if not message["mentions"]:
        del message["mentions"]
    return {"schema": "2.0",
            "header": {"event_id": event_id or uuid.uuid4().hex, "event_type": "im.message.receive_v1",
                       "create_time": "1700000000000", "token": token, "app_id": app_id,
                       "tenant_key": "tenant"},
            "event": {"sender": {"sender_id": {"open_id": sender, "union_id": "on_x", "user_id": ""},
                                 "sender_type": "user", "tenant_key": "tenant"},
                      "message": message}}


def card_action_event(value: Any, *, operator: str = "ou_leader", chat_id: str = "oc_group",
                      message_id: str = "om_card", event_id: str | None = None,
                      token: str = "vtoken", app_id: str = "cli_test") -> dict[str, Any]:
    """A ``card.action.trigger`` callback envelope (schema 2.0)."""
    return {"schema": "2.0",
            "header": {"event_id": event_id or uuid.uuid4().hex, "token": token,
                       "create_time": "1700000000000000", "event_type": "card.action.trigger",
                       "tenant_key": "tenant", "app_id": app_id},
            "event": {"operator": {"tenant_key": "tenant", "user_id": "", "open_id": operator,
                                   "union_id": "on_op"},
                      "token": "c-card-token", "action": {"value": value, "tag": "button"},
                      "host": "im_message",
                      "context": {"open_message_id": message_id, "open_chat_id": chat_id}}}


def url_verification(challenge: str = "ajls384kdjx98XX", token: str = "vtoken") -> dict[str, Any]:
    """The URL-verification handshake body (before encryption)."""
    return {"challenge": challenge, "token": token, "type": "url_verification"}


def callback_request(envelope: dict[str, Any], *, encrypt_key: str = "", timestamp: str = "1700000000",
                     nonce: str = "13579", iv: bytes | None = None, sign: bool = True,
                     ) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of a callback POST as Feishu sends it.

    With an Encrypt Key the body is ``{"encrypt": ...}`` and signed over its raw bytes; without
    one it is the plain JSON and unsigned (the Verification Token inside authenticates it).
    """
    plain = json.dumps(envelope, ensure_ascii=False)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if not encrypt_key:
        return plain.encode(), headers
    body = json.dumps({"encrypt": encrypt(encrypt_key, plain, iv=iv)}).encode()
    if sign:
        headers.update({"X-Lark-Request-Timestamp": timestamp, "X-Lark-Request-Nonce": nonce,
                        "X-Lark-Signature": event_signature(timestamp, nonce, encrypt_key, body)})
    return body, headers
