"""A fake WeCom (企业微信) for tests: the HTTP APIs the adapter calls, the AI bot long connection,
and builders of signed, encrypted inbound callbacks exactly as WeCom sends them.

Use ``FakeWeCom(...).app`` with ``aiohttp.test_utils.TestServer``. It checks what WeCom checks:
the robot ``key``, access tokens (validity and expiry; ``expire_tokens()``), body schema (unknown
msgtype 40008, empty content 44004, bad parameter 40058, bad JSON 47001), byte limits (robot text
2048 / markdown 4096 → 40058; app text is silently truncated at 2048, as WeCom does), rate limits
(robot 20/min → 45009; app messages to one member beyond 30/min are silently dropped) and
records what it accepted. ``fail_next(n)`` answers the next n HTTP requests with a 5xx.

The crypto here is written independently of ``adapters.wecom.crypto`` on purpose.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import struct
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.clock import Clock, SystemClock

ROBOT_MSGTYPES = {"text", "markdown", "markdown_v2", "image", "news", "file", "voice", "template_card"}
APP_MSGTYPES = {"text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown",
                "miniprogram_notice", "template_card"}
APPCHAT_MSGTYPES = {"text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown"}
TASK_ID = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")


# -- inbound callback builders ------------------------------------------------------------------

def _aes_key(encoding_aes_key: str) -> bytes:
    return base64.b64decode(encoding_aes_key + "=")


def wecom_encrypt(encoding_aes_key: str, plaintext: bytes, receiveid: str,
                  random16: bytes | None = None) -> str:
    """Encrypt like WeCom: random16 ‖ len ‖ msg ‖ receiveid, PKCS#7 to 32, AES-256-CBC iv=key[:16]."""
    key = _aes_key(encoding_aes_key)
    data = (random16 or os.urandom(16)) + struct.pack("!I", len(plaintext)) + plaintext
    data += receiveid.encode()
    n = 32 - len(data) % 32
    data += bytes([n]) * n
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


def wecom_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """msg_signature = sha1 of the sorted, joined parameters."""
    return hashlib.sha1("".join(sorted((token, timestamp, nonce, encrypt))).encode()).hexdigest()


def build_verify_url_query(token: str, encoding_aes_key: str, receiveid: str, echo: str, *,
                           timestamp: str = "1700000000", nonce: str = "20240101") -> str:
    """The query string of WeCom's URL-verification GET (echostr URL-encoded)."""
    echostr = wecom_encrypt(encoding_aes_key, echo.encode(), receiveid)
    sig = wecom_signature(token, timestamp, nonce, echostr)
    return (f"msg_signature={sig}&timestamp={timestamp}&nonce={nonce}"
            f"&echostr={quote(echostr, safe='')}")


def build_callback(token: str, encoding_aes_key: str, receiveid: str, plaintext: bytes | str, *,
                   envelope: str = "json", timestamp: str | None = None, nonce: str | None = None,
                   sign_token: str | None = None) -> tuple[str, bytes]:
    """``(query_string, body)`` of a callback POST. ``envelope``: "json" (AI bot ``{"encrypt"}``)
    or "xml" (self-built app). ``sign_token`` signs with another token (a forgery)."""
    if isinstance(plaintext, str):
        plaintext = plaintext.encode()
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or uuid.uuid4().hex[:10]
    encrypt = wecom_encrypt(encoding_aes_key, plaintext, receiveid)
    sig = wecom_signature(sign_token or token, timestamp, nonce, encrypt)
    query = f"msg_signature={sig}&timestamp={timestamp}&nonce={nonce}"
    if envelope == "xml":
        body = (f"<xml><ToUserName><![CDATA[{receiveid}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[1]]></AgentID></xml>").encode()
    else:
        body = json.dumps({"encrypt": encrypt}).encode()
    return query, body


def aibot_text(content: str, *, userid: str = "zhangsan", chatid: str | None = "wrGROUP1",
               msgid: str | None = None, aibotid: str = "AIBOTID") -> dict[str, Any]:
    """An AI bot text message as WeCom sends it (group when ``chatid`` is given)."""
    body: dict[str, Any] = {
        "msgid": msgid or uuid.uuid4().hex, "aibotid": aibotid,
        "chattype": "group" if chatid else "single", "from": {"userid": userid},
        "create_time": 1700000000,
        "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC",
        "msgtype": "text", "text": {"content": content},
    }
    if chatid:
        body["chatid"] = chatid
    return body


def aibot_media(msgtype: str, media: dict[str, str], *, userid: str = "zhangsan",
                chatid: str | None = None, msgid: str | None = None, text: str = "") -> dict[str, Any]:
    """An AI bot ``image`` or ``file`` message (``media`` = ``{"url", "aeskey"}``, as
    :meth:`FakeWeCom.aibot_upload` gives), or with ``text`` a ``mixed`` one: the text (an
    @mention and a command) followed by the image, as a group sends it."""
    body = aibot_text(text, userid=userid, chatid=chatid, msgid=msgid)
    del body["text"]
    if text:
        body["msgtype"] = "mixed"
        body["mixed"] = {"msg_item": [{"msgtype": "text", "text": {"content": text}},
                                      {"msgtype": "image", "image": media}]}
    else:
        body["msgtype"] = msgtype
        body[msgtype] = media
    return body


def app_media_xml(msgtype: str, media_id: str, *, user: str = "zhangsan", corp_id: str = "wwCORP",
                  msgid: str = "4561255354251345930", agent_id: int = 1000002) -> str:
    """A self-built app image (or file) message: MediaId for ``/cgi-bin/media/get``."""
    pic = f"<PicUrl><![CDATA[https://wework.qpic.cn/{media_id}]]></PicUrl>" if msgtype == "image" else ""
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>1700000000</CreateTime>"
            f"<MsgType><![CDATA[{msgtype}]]></MsgType>{pic}<MediaId><![CDATA[{media_id}]]></MediaId>"
            f"<MsgId>{msgid}</MsgId><AgentID>{agent_id}</AgentID></xml>")


def aibot_click(event_key: str, task_id: str, *, userid: str = "lisi",
                chatid: str | None = "wrGROUP1", msgid: str | None = None) -> dict[str, Any]:
    """An AI bot ``template_card_event`` (button click)."""
    body: dict[str, Any] = {
        "msgid": msgid or uuid.uuid4().hex, "create_time": 1700000001, "aibotid": "AIBOTID",
        "chattype": "group" if chatid else "single", "from": {"userid": userid},
        "msgtype": "event",
        "event": {"eventtype": "template_card_event",
                  "template_card_event": {"card_type": "button_interaction", "event_key": event_key,
                                          "task_id": task_id}},
    }
    if chatid:
        body["chatid"] = chatid
    return body


def aibot_event(eventtype: str, *, userid: str = "zhangsan") -> dict[str, Any]:
    """Another AI bot event (``enter_chat``, ``feedback_event``…)."""
    return {"msgid": uuid.uuid4().hex, "create_time": 1700000002, "aibotid": "AIBOTID",
            "chattype": "single", "from": {"userid": userid}, "msgtype": "event",
            "event": {"eventtype": eventtype, eventtype: {}}}


def app_text_xml(content: str, *, user: str = "zhangsan", corp_id: str = "wwCORP",
                 msgid: str = "4561255354251345929", agent_id: int = 1000002) -> str:
    """A self-built app text message (XML)."""
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>1700000000</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
            f"<MsgId>{msgid}</MsgId><AgentID>{agent_id}</AgentID></xml>")


def app_click_xml(event_key: str, task_id: str, response_code: str, *, user: str = "lisi",
                  corp_id: str = "wwCORP", agent_id: int = 1000002) -> str:
    """A click on an app's ``button_interaction`` card (XML event)."""
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>1700000100</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
            f"<EventKey><![CDATA[{event_key}]]></EventKey><TaskId><![CDATA[{task_id}]]></TaskId>"
            f"<CardType><![CDATA[button_interaction]]></CardType>"
            f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode>"
            f"<AgentID>{agent_id}</AgentID></xml>")


# -- the fake server ----------------------------------------------------------------------------

def _err(code: int, msg: str) -> web.Response:
    return web.json_response({"errcode": code, "errmsg": msg})


class FakeWeCom:
    """State and aiohttp app of the fake platform."""

    def __init__(self, *, clock: Clock | None = None, corp_id: str = "wwCORP",
                 app_secret: str = "APPSECRET", agent_id: int = 1000002, token_ttl: int = 7200,
                 robot_keys: tuple[str, ...] = ("ROBOTKEY",), robot_rate: tuple[int, float] = (20, 60.0),
                 member_rate: tuple[int, float] = (30, 60.0),
                 aibots: dict[str, str] | None = None, appchats: tuple[str, ...] = ("appchat1",),
                 users: set[str] | None = None, aibot_chats: set[str] | None = None) -> None:
        self.clock = clock or SystemClock()
        self.corp_id, self.app_secret, self.agent_id = corp_id, app_secret, agent_id
        self.token_ttl = token_ttl
        self.robot_keys = set(robot_keys)
        self.robot_rate, self.member_rate = robot_rate, member_rate
        self.aibots = dict(aibots if aibots is not None else {"BOTID": "BOTSECRET"})
        self.appchats = set(appchats)
        self.users = users  # None: every userid exists
        self.aibot_chats = aibot_chats  # chats that used the AI bot; None: all of them
        # records
        self.robot_messages: list[dict[str, Any]] = []
        self.app_messages: list[dict[str, Any]] = []
        self.appchat_messages: list[dict[str, Any]] = []
        self.card_updates: list[dict[str, Any]] = []
        self.aibot_messages: list[dict[str, Any]] = []
        self.aibot_updates: list[dict[str, Any]] = []
        self.dropped: list[dict[str, Any]] = []
        # received media: the app's media_id -> (bytes, type); the AI bot's encrypted downloads
        self.media: dict[str, tuple[bytes, str]] = {}
        self._aibot_media: dict[str, tuple[str, bytes]] = {}  # id -> (sign, ciphertext)
        self.downloads: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.token_fetches = 0
        self.subscriptions = 0
        self.pings = 0
        self.answer_pings = True
        # internals
        self._tokens: dict[str, datetime] = {}
        self._fail: list[int] = []
        self._gate: asyncio.Event | None = None
        self.held = 0  # requests waiting at the gate
        self._rate: dict[str, deque[datetime]] = defaultdict(deque)
        self._response_codes: dict[str, dict[str, Any]] = {}
        self._task_ids: set[str] = set()
        self._ws: dict[str, web.WebSocketResponse] = {}
        self._events: dict[str, dict[str, Any]] = {}  # req_id of pushed events -> details
        self._changed = asyncio.Condition()
        self.app = web.Application(middlewares=[self._failing])
        self.app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        self.app.router.add_post("/cgi-bin/message/send", self._message_send)
        self.app.router.add_post("/cgi-bin/appchat/send", self._appchat_send)
        self.app.router.add_post("/cgi-bin/webhook/send", self._webhook_send)
        self.app.router.add_post("/cgi-bin/message/update_template_card", self._update_card)
        self.app.router.add_get("/ws", self._websocket)
        self.app.router.add_get("/cgi-bin/media/get", self._media_get)
        self.app.router.add_get("/aibot/media/{id}", self._aibot_download)

    # -- controls ---------------------------------------------------------------------------

    def fail_next(self, n: int, status: int = 502) -> None:
        """Answer the next ``n`` HTTP API requests with ``status``."""
        self._fail.extend([status] * n)

    def hold(self) -> None:
        """Keep HTTP API requests waiting (counted in ``held``) until :meth:`release`."""
        self._gate = asyncio.Event()

    def release(self) -> None:
        """Let the held requests (and every later one) through."""
        if self._gate is not None:
            self._gate.set()
            self._gate = None

    def expire_tokens(self) -> None:
        """Make every issued access token expired (42001 from now on)."""
        now = self.clock.now()
        for token in self._tokens:
            self._tokens[token] = now

    async def wait_for(self, predicate: Callable[[], bool], seconds: float = 5.0) -> None:
        """Wait until ``predicate()`` holds (re-checked on every state change)."""
        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)
        await asyncio.wait_for(_wait(), seconds)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def connected(self, bot_id: str = "BOTID") -> bool:
        """True while ``bot_id`` has a subscribed connection."""
        ws = self._ws.get(bot_id)
        return ws is not None and not ws.closed

    async def push(self, body: dict[str, Any], *, bot_id: str = "BOTID",
                   cmd: str | None = None) -> str:
        """Push a callback frame to the bot's connection; returns its req_id."""
        ws = self._ws[bot_id]
        cmd = cmd or ("aibot_event_callback" if body.get("msgtype") == "event" else "aibot_msg_callback")
        req_id = uuid.uuid4().hex
        if cmd == "aibot_event_callback":
            detail = (body.get("event") or {}).get("template_card_event") or {}
            self._events[req_id] = {"at": self.clock.now(), "task_id": detail.get("task_id"),
                                    "used": False}
        await ws.send_str(json.dumps({"cmd": cmd, "headers": {"req_id": req_id}, "body": body},
                                     ensure_ascii=False))
        return req_id

    async def drop(self, bot_id: str = "BOTID") -> None:
        """Close the bot's connection abruptly (network loss)."""
        ws = self._ws.pop(bot_id, None)
        if ws is not None:
            await ws.close()
        await self._notify()

    async def kick(self, bot_id: str = "BOTID") -> None:
        """Send ``disconnected_event`` and close, as when another client subscribes."""
        ws = self._ws.pop(bot_id, None)
        if ws is not None:
            await self._send_kick(ws)
        await self._notify()

    def aibot_upload(self, base: str, data: bytes) -> dict[str, str]:
        """An AI bot image/file item for ``data``: a signed download URL on this fake serving it
        AES-256-CBC encrypted (iv = key[:16], PKCS#7 to 32 bytes) with a per-item ``aeskey``."""
        key = os.urandom(32)
        pad = 32 - len(data) % 32
        enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        media_id, sign = uuid.uuid4().hex, uuid.uuid4().hex
        self._aibot_media[media_id] = (sign, enc.update(data + bytes([pad]) * pad) + enc.finalize())
        return {"url": f"{base}/aibot/media/{media_id}?sign={sign}", "aeskey": base64.b64encode(key).decode()}

    def add_media(self, media_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
        """A temporary media file the app received (``/cgi-bin/media/get``)."""
        self.media[media_id] = (data, content_type)

    async def _aibot_download(self, request: web.Request) -> web.Response:
        found = self._aibot_media.get(request.match_info["id"])
        if found is None or request.query.get("sign") != found[0]:
            return web.Response(status=403, text="forbidden")
        self.downloads.append(request.match_info["id"])
        return web.Response(body=found[1], headers={"Content-Type": "application/octet-stream"})

    async def _media_get(self, request: web.Request) -> web.Response:
        if (error := self._token_error(request)) is not None:
            return error
        found = self.media.get(request.query.get("media_id", ""))
        if found is None:
            return _err(40007, "invalid media_id")
        self.downloads.append(request.query["media_id"])
        return web.Response(body=found[0], headers={
            "Content-Type": found[1], "Content-Disposition": 'attachment; filename="photo.jpg"'})

    # -- HTTP -------------------------------------------------------------------------------

    @web.middleware
    async def _failing(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path != "/ws":
            self.requests.append((request.method, request.path))
            if self._fail:
                return web.json_response({"errcode": -1, "errmsg": "system error"},
                                         status=self._fail.pop(0))
            if self._gate is not None:
                gate = self._gate
                self.held += 1
                await self._notify()
                await gate.wait()
        return await handler(request)

    def _limited(self, key: str, rate: tuple[int, float]) -> bool:
        now = self.clock.now()
        window = self._rate[key]
        while window and window[0] <= now - timedelta(seconds=rate[1]):
            window.popleft()
        if len(window) >= rate[0]:
            return True
        window.append(now)
        return False

    async def _gettoken(self, request: web.Request) -> web.Response:
        if request.query.get("corpid") != self.corp_id:
            return _err(40013, "invalid corpid")
        if request.query.get("corpsecret") != self.app_secret:
            return _err(40001, "invalid credential")
        token = uuid.uuid4().hex
        self._tokens[token] = self.clock.now() + timedelta(seconds=self.token_ttl)
        self.token_fetches += 1
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token,
                                  "expires_in": self.token_ttl})

    def _token_error(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token")
        if not token:
            return _err(41001, "access_token missing")
        expires = self._tokens.get(token)
        if expires is None:
            return _err(40014, "invalid access_token")
        if self.clock.now() >= expires:
            return _err(42001, "access_token expired")
        return None

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any] | None:
        try:
            data = json.loads(await request.read())
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _check_card(self, card: Any, *, callbacks: bool) -> web.Response | None:
        if not isinstance(card, dict) or not card.get("card_type"):
            return _err(40058, "template_card.card_type missing")
        if card["card_type"] == "button_interaction":
            if not callbacks:
                return _err(40008, "invalid message type")
            task_id = card.get("task_id")
            if not isinstance(task_id, str) or not TASK_ID.match(task_id):
                return _err(40058, "template_card.task_id invalid")
            if not (card.get("main_title") or {}).get("title"):
                return _err(40058, "template_card.main_title.title missing")
            buttons = card.get("button_list")
            if not isinstance(buttons, list) or not 1 <= len(buttons) <= 6:
                return _err(40058, "template_card.button_list invalid")
            keys = [b.get("key") for b in buttons if isinstance(b, dict)]
            if len(keys) != len(buttons) or any(not k or len(k.encode()) > 1024 for k in keys):
                return _err(40058, "template_card.button_list.key invalid")
            if len(set(keys)) != len(keys):
                return _err(40058, "template_card.button_list.key duplicated")
        elif card["card_type"] not in ("text_notice", "news_notice", "vote_interaction",
                                       "multiple_interaction"):
            return _err(40008, "invalid template_card type")
        return None

    @staticmethod
    def _content(data: dict[str, Any], msgtype: str) -> str | None:
        part = data.get(msgtype)
        content = part.get("content") if isinstance(part, dict) else None
        return content if isinstance(content, str) and content else None

    async def _webhook_send(self, request: web.Request) -> web.Response:
        key = request.query.get("key", "")
        if key not in self.robot_keys:
            return _err(93000, "invalid webhook url")
        data = await self._json(request)
        if data is None:
            return _err(47001, "data format error")
        msgtype = data.get("msgtype")
        if msgtype not in ROBOT_MSGTYPES:
            return _err(40008, "invalid message type")
        if msgtype in ("text", "markdown", "markdown_v2"):
            content = self._content(data, msgtype)
            if content is None:
                return _err(44004, "empty content")
            limit = 2048 if msgtype == "text" else 4096
            if len(content.encode()) > limit:
                return _err(40058, f"{msgtype}.content exceed max length {limit}")
        if msgtype == "template_card":
            bad = self._check_card(data.get("template_card"), callbacks=False)
            if bad is not None:
                return bad
        if self._limited(f"robot:{key}", self.robot_rate):
            return _err(45009, "api freq out of limit")
        self.robot_messages.append({"key": key, **data})
        await self._notify()
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _message_send(self, request: web.Request) -> web.Response:
        bad = self._token_error(request)
        if bad is not None:
            return bad
        data = await self._json(request)
        if data is None:
            return _err(47001, "data format error")
        if data.get("agentid") != self.agent_id:
            return _err(40056, "invalid agentid")
        users = [u for u in str(data.get("touser", "")).split("|") if u]
        if not users and not data.get("toparty") and not data.get("totag"):
            return _err(81013, "user & party & tag all invalid")
        invalid = [u for u in users if self.users is not None and u not in self.users]
        if users and len(invalid) == len(users):
            return _err(81013, "user & party & tag all invalid")
        msgtype = data.get("msgtype")
        if msgtype not in APP_MSGTYPES:
            return _err(40008, "invalid message type")
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid),
                                  "msgid": uuid.uuid4().hex}
        record = dict(data)
        if msgtype in ("text", "markdown"):
            content = self._content(data, msgtype)
            if content is None:
                return _err(44004, "empty content")
            raw = content.encode()
            if len(raw) > 2048:  # WeCom truncates silently
                record[msgtype] = {"content": raw[:2048].decode(errors="ignore")}
                record["truncated"] = True
        if msgtype == "template_card":
            card = data.get("template_card")
            bad = self._check_card(card, callbacks=True)
            if bad is not None:
                return bad
            if card["card_type"] == "button_interaction":
                if card["task_id"] in self._task_ids:
                    return _err(40058, "template_card.task_id duplicated")
                self._task_ids.add(card["task_id"])
                code = uuid.uuid4().hex
                self._response_codes[code] = {"at": self.clock.now(), "used": False,
                                              "task_id": card["task_id"]}
                answer["response_code"] = code
        valid = [u for u in users if u not in invalid]
        if valid and all(self._limited(f"member:{u}", self.member_rate) for u in valid):
            self.dropped.append(record)  # WeCom drops silently beyond 30/min per member
        else:
            self.app_messages.append(record)
        await self._notify()
        return web.json_response(answer)

    async def _appchat_send(self, request: web.Request) -> web.Response:
        bad = self._token_error(request)
        if bad is not None:
            return bad
        data = await self._json(request)
        if data is None:
            return _err(47001, "data format error")
        if data.get("chatid") not in self.appchats:
            return _err(86003, "chat not found")
        msgtype = data.get("msgtype")
        if msgtype not in APPCHAT_MSGTYPES:
            return _err(40008, "invalid message type")
        record = dict(data)
        if msgtype in ("text", "markdown"):
            content = self._content(data, msgtype)
            if content is None:
                return _err(44004, "empty content")
            if len(content.encode()) > 2048:
                record[msgtype] = {"content": content.encode()[:2048].decode(errors="ignore")}
                record["truncated"] = True
        self.appchat_messages.append(record)
        await self._notify()
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _update_card(self, request: web.Request) -> web.Response:
        bad = self._token_error(request)
        if bad is not None:
            return bad
        data = await self._json(request)
        if data is None:
            return _err(47001, "data format error")
        if data.get("agentid") != self.agent_id:
            return _err(40056, "invalid agentid")
        if not data.get("userids") and not data.get("atall"):
            return _err(40058, "userids or atall required")
        code = self._response_codes.get(str(data.get("response_code")))
        if code is None or code["used"] or self.clock.now() - code["at"] > timedelta(hours=72):
            return _err(40058, "invalid response_code")
        if "template_card" in data:
            bad = self._check_card(data["template_card"], callbacks=True)
            if bad is not None:
                return bad
        elif not (data.get("button") or {}).get("replace_name"):
            return _err(40058, "button.replace_name or template_card required")
        code["used"] = True
        self.card_updates.append(data)
        await self._notify()
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": []})

    def issue_response_code(self, task_id: str = "T1") -> str:
        """A fresh response code, as delivered in a click's ``ResponseCode``."""
        code = uuid.uuid4().hex
        self._response_codes[code] = {"at": self.clock.now(), "used": False, "task_id": task_id}
        return code

    # -- long connection --------------------------------------------------------------------

    async def _send_kick(self, ws: web.WebSocketResponse) -> None:
        body = {"msgid": uuid.uuid4().hex, "create_time": 1700000003, "aibotid": "AIBOTID",
                "from": {"userid": ""}, "msgtype": "event",
                "event": {"eventtype": "disconnected_event", "disconnected_event": {}}}
        if not ws.closed:
            await ws.send_str(json.dumps({"cmd": "aibot_event_callback",
                                          "headers": {"req_id": uuid.uuid4().hex}, "body": body}))
            await ws.close()

    async def _ack(self, ws: web.WebSocketResponse, req_id: str, code: int = 0,
                   msg: str = "ok") -> None:
        await ws.send_str(json.dumps({"headers": {"req_id": req_id}, "errcode": code, "errmsg": msg}))

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        bot_id: str | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                cmd = frame.get("cmd")
                req_id = (frame.get("headers") or {}).get("req_id", "")
                body = frame.get("body") or {}
                if bot_id is None:
                    if cmd != "aibot_subscribe":
                        await self._ack(ws, req_id, 40001, "not subscribed")
                        await ws.close()
                        break
                    if self.aibots.get(body.get("bot_id")) != body.get("secret"):
                        await self._ack(ws, req_id, 40001, "invalid bot_id or secret")
                        await ws.close()
                        break
                    bot_id = body["bot_id"]
                    old = self._ws.get(bot_id)
                    self._ws[bot_id] = ws
                    if old is not None:
                        await self._send_kick(old)
                    self.subscriptions += 1
                    await self._ack(ws, req_id)
                    await self._notify()
                elif cmd == "ping":
                    self.pings += 1
                    if self.answer_pings:
                        await self._ack(ws, req_id)
                    await self._notify()
                elif cmd == "aibot_send_msg":
                    code, why = self._check_send(body)
                    if code == 0:
                        self.aibot_messages.append(body)
                    await self._ack(ws, req_id, code, why)
                    await self._notify()
                elif cmd == "aibot_respond_update_msg":
                    code, why = self._check_update(req_id, body)
                    if code == 0:
                        self.aibot_updates.append({"req_id": req_id, **body})
                    await self._ack(ws, req_id, code, why)
                    await self._notify()
                else:
                    await self._ack(ws, req_id, 40008, "unsupported cmd")
        finally:
            if bot_id is not None and self._ws.get(bot_id) is ws:
                del self._ws[bot_id]
            await self._notify()
        return ws

    def _check_send(self, body: dict[str, Any]) -> tuple[int, str]:
        if not body.get("chatid"):
            return 40058, "chatid missing"
        if self.aibot_chats is not None and body["chatid"] not in self.aibot_chats:
            return 40058, "chat has not used the bot"  # the real code is undocumented
        msgtype = body.get("msgtype")
        if msgtype == "markdown":
            content = self._content(body, "markdown")
            if content is None:
                return 44004, "empty content"
            if len(content.encode()) > 20480:
                return 40058, "markdown.content exceed max length"
            return 0, "ok"
        if msgtype == "template_card":
            bad = self._check_card(body.get("template_card"), callbacks=True)
            if bad is not None:
                data = json.loads(bad.text or "{}")
                return data["errcode"], data["errmsg"]
            task_id = body["template_card"].get("task_id")
            if task_id in self._task_ids:
                return 40058, "task_id duplicated"
            if task_id:
                self._task_ids.add(task_id)
            return 0, "ok"
        return 40008, "invalid message type"

    def _check_update(self, req_id: str, body: dict[str, Any]) -> tuple[int, str]:
        event = self._events.get(req_id)
        if event is None or event["used"]:
            return 846605, "invalid req_id"
        if self.clock.now() - event["at"] > timedelta(seconds=5):
            return 846605, "invalid req_id"
        if body.get("response_type") != "update_template_card":
            return 40058, "response_type invalid"
        card = body.get("template_card") or {}
        if card.get("task_id") != event["task_id"]:
            return 40058, "task_id mismatch"
        event["used"] = True
        return 0, "ok"
