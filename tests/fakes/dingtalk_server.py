"""A fake DingTalk for tests: the HTTP APIs the adapter calls, the Stream gateway, and builders
for the callbacks DingTalk sends.

Run it with ``aiohttp.test_utils.TestServer(fake.app)`` and point the bot's ``api_base`` and
``oapi_base`` at the server. It checks what DingTalk checks (docs/platforms/dingtalk.md):

- ``POST /v1.0/oauth2/accessToken`` — app credentials; tokens expire (``token_lifetime``, or at
  once with :meth:`FakeDingTalk.expire_tokens`); an unknown/expired token is answered HTTP 400
  ``{"code": "InvalidAuthentication", "message": "不合法的access_token"}``.
- OpenAPI ``groupMessages/send``, ``oToMessages/batchSend``, ``card/instances/createAndDeliver``,
  ``PUT card/instances`` — required fields, known ``msgKey``, ``msgParam`` a JSON string with the
  template's fields and ≤ 15 000 bytes, card params all strings; per-app QPS
  (``api_qps``) answered HTTP 403 ``Forbidden.AccessDenied.QpsLimitForApi``.
- Custom robot ``POST /robot/send`` — token, 加签 ``timestamp`` (ms, ±1 h) and url-encoded
  ``sign``, known ``msgtype`` and its fields, body ≤ 20 000 bytes (errcode 460101), 20 messages
  a minute per robot (errcode 130101, then blocked for 10 minutes). Errors are HTTP 200 with
  ``errcode`` as DingTalk does.
- Stream: ``POST /v1.0/gateway/connections/open`` issues single-use tickets valid 90 s;
  ``GET /connect?ticket=`` upgrades to a WebSocket; tests push frames, read ACKs, drop the line.

:meth:`FakeDingTalk.fail_next` makes the next N requests fail with HTTP 5xx. Time comes from the
injected clock, so rate windows and expiries move with ``FrozenClock``. Error codes marked
``[guess]`` are not documented by DingTalk; any code there maps to a permanent error anyway.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from aiohttp import WSMsgType, web

from adapters.dingtalk.crypto import callback_sign, hmac_sign
from bot.clock import Clock, SystemClock

GROUP_MSG_KEYS: Mapping[str, tuple[str, ...]] = {
    "sampleText": ("content",),
    "sampleMarkdown": ("title", "text"),
    "sampleLink": ("text", "title", "picUrl", "messageUrl"),
    "sampleActionCard": ("title", "text", "singleTitle", "singleURL"),
}
ROBOT_MSGTYPES: Mapping[str, tuple[str, ...]] = {
    "text": ("content",),
    "markdown": ("title", "text"),
    "link": ("text", "title", "messageUrl"),
    "actionCard": ("title", "text"),
    "feedCard": ("links",),
}
MSG_PARAM_LIMIT = 15_000
ROBOT_BODY_LIMIT = 20_000
SPACE_RE = re.compile(r"^dtv1\.card//(IM_GROUP|IM_ROBOT)\.(.+)$")


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class FakeDingTalk:
    """State and aiohttp app of the fake platform; attributes record what it accepted."""

    def __init__(self, *, clock: Clock | None = None, app_key: str = "dingappkey",
                 app_secret: str = "app-secret", robots: Mapping[str, str] | None = None,
                 token_lifetime: int = 7200, api_qps: int = 20, robot_per_minute: int = 20,
                 robot_block_seconds: int = 600) -> None:
        self.clock = clock or SystemClock()
        self.app_key = app_key
        self.app_secret = app_secret
        self.robots: dict[str, str] = dict(robots or {})  # access_token -> 加签 secret ("" = none)
        self.token_lifetime = token_lifetime
        self.api_qps = api_qps
        self.robot_per_minute = robot_per_minute
        self.robot_block_seconds = robot_block_seconds
        self.tokens: dict[str, datetime] = {}
        self.token_fetches = 0
        self.requests: list[tuple[str, str]] = []
        self.group_messages: list[dict[str, Any]] = []
        self.direct_messages: list[dict[str, Any]] = []
        self.robot_messages: list[dict[str, Any]] = []
        self.cards: dict[str, dict[str, Any]] = {}
        self.card_updates: list[dict[str, Any]] = []
        self.invalid_users: set[str] = set()
        # received pictures and files: downloadCode -> (bytes, content type); issued download URLs
        self.files: dict[str, tuple[bytes, str]] = {}
        self.download_urls: dict[str, str] = {}
        self.downloads: list[str] = []
        self.flow_controlled_users: set[str] = set()
        self._fail: deque[int] = deque()
        self._api_calls: deque[datetime] = deque()
        self._robot_calls: dict[str, deque[datetime]] = defaultdict(deque)
        self._robot_blocked: dict[str, datetime] = {}
        self._counter = 0
        # Stream gateway
        self.tickets: dict[str, datetime] = {}
        self.stream_opens = 0
        self.connections = 0
        self.acks: list[dict[str, Any]] = []
        self._ws: web.WebSocketResponse | None = None
        self._changed = asyncio.Condition()
        self.app = self._make_app()

    # --- test controls -----------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Invalidate every access token issued so far."""
        self.tokens.clear()

    def fail_next(self, n: int = 1, status: int = 503) -> None:
        """Answer the next ``n`` requests (any endpoint) with HTTP ``status``."""
        self._fail.extend([status] * n)

    async def push(self, frame: dict[str, Any]) -> None:
        """Send one frame to the live Stream connection."""
        assert self._ws is not None and not self._ws.closed, "no live stream connection"
        await self._ws.send_str(json.dumps(frame, ensure_ascii=False))

    async def drop(self) -> None:
        """Close the live Stream connection abruptly (as a network drop would)."""
        if self._ws is not None:
            await self._ws.close(code=1011, message=b"dropped")

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait (at most 5 s) until ``predicate()`` holds, re-checked on every ACK / connection change."""
        async with asyncio.timeout(5.0), self._changed:
            await self._changed.wait_for(predicate)

    @property
    def live(self) -> bool:
        """Whether a Stream connection is open."""
        return self._ws is not None and not self._ws.closed

    def ack_for(self, message_id: str) -> dict[str, Any] | None:
        """The ACK the client sent for ``message_id``, if any."""
        return next((a for a in self.acks if (a.get("headers") or {}).get("messageId") == message_id),
                    None)

    # --- plumbing ----------------------------------------------------------------------------

    def _next(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter}"

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=4 * 1024 * 1024)
        app.router.add_post("/v1.0/oauth2/accessToken", self._access_token)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._batch_send)
        app.router.add_post("/v1.0/card/instances/createAndDeliver", self._create_and_deliver)
        app.router.add_put("/v1.0/card/instances", self._update_card)
        app.router.add_post("/robot/send", self._robot_send)
        app.router.add_post("/v1.0/robot/messageFiles/download", self._message_file)
        app.router.add_get("/oss/{nonce}", self._oss)
        app.router.add_post("/v1.0/gateway/connections/open", self._open_connection)
        app.router.add_get("/connect", self._connect)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self._fail:
            status = self._fail.popleft()
            return web.json_response({"code": "ServiceUnavailable", "message": "系统繁忙"}, status=status)
        return await handler(request)

    @staticmethod
    def _api_error(status: int, code: str, message: str) -> web.Response:
        return web.json_response({"code": code, "message": message, "requestid": str(uuid.uuid4())},
                                 status=status)

    async def _json(self, request: web.Request) -> dict[str, Any] | None:
        try:
            data = await request.json()
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _check_token_and_qps(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("x-acs-dingtalk-access-token", "")
        expires = self.tokens.get(token)
        now = self.clock.now()
        if expires is None or expires <= now:
            return self._api_error(400, "InvalidAuthentication", "不合法的access_token")
        while self._api_calls and self._api_calls[0] <= now - timedelta(seconds=1):
            self._api_calls.popleft()
        if len(self._api_calls) >= self.api_qps:
            return self._api_error(403, "Forbidden.AccessDenied.QpsLimitForApi",
                                   "调用该接口触发了QPS限流")
        self._api_calls.append(now)
        return None

    # --- OpenAPI -----------------------------------------------------------------------------

    def add_file(self, download_code: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """A picture or file a robot message carries under ``download_code``."""
        self.files[download_code] = (data, content_type)

    async def _message_file(self, request: web.Request) -> web.Response:
        """POST /v1.0/robot/messageFiles/download {downloadCode, robotCode} → {downloadUrl}."""
        if (denied := self._check_token_and_qps(request)) is not None:
            return denied
        body = await self._json(request)
        if body is None or not body.get("downloadCode") or not body.get("robotCode"):
            return self._api_error(400, "MissingParameter", "缺少参数 downloadCode/robotCode")
        if body["robotCode"] != self.app_key:
            return self._api_error(400, "InvalidParameter.RobotCode", "robotCode无效")
        if body["downloadCode"] not in self.files:
            return self._api_error(400, "InvalidParameter.DownloadCode", "downloadCode无效或已过期")
        nonce = uuid.uuid4().hex
        self.download_urls[nonce] = body["downloadCode"]
        return web.json_response({"downloadUrl": f"{request.scheme}://{request.host}/oss/{nonce}"})

    async def _oss(self, request: web.Request) -> web.Response:
        """The short-lived download URL: the bytes, once per issued URL."""
        code = self.download_urls.pop(request.match_info["nonce"], None)
        if code is None:
            return web.Response(status=403, text="AccessDenied: Request has expired.")
        self.downloads.append(code)
        data, ctype = self.files[code]
        return web.Response(body=data, headers={"Content-Type": ctype})

    async def _access_token(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if body is None or not body.get("appKey") or not body.get("appSecret"):
            return self._api_error(400, "MissingParameter", "缺少参数 appKey/appSecret")
        if self.apps_secret(body["appKey"]) != body["appSecret"]:
            return self._api_error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        token = self._next("tok")
        self.tokens[token] = self.clock.now() + timedelta(seconds=self.token_lifetime)
        self.token_fetches += 1
        return web.json_response({"accessToken": token, "expireIn": self.token_lifetime})

    def apps_secret(self, app_key: str) -> str | None:
        """The secret of a registered app key."""
        return self.app_secret if app_key == self.app_key else None

    def _check_msg(self, body: dict[str, Any]) -> tuple[dict[str, Any] | None, web.Response | None]:
        if body.get("robotCode") != self.app_key:
            return None, self._api_error(400, "invalidParameter.robotCode.auth",
                                         "应用的appkey与机器人robotCode不匹配")
        key = body.get("msgKey")
        if key not in GROUP_MSG_KEYS:
            return None, self._api_error(400, "invalidParameter.msgKey.invalid", "msgKey无效")
        raw = body.get("msgParam")
        if not isinstance(raw, str):
            return None, self._api_error(400, "invalidParameter.msgParam.invalid", "msgParam必须是JSON格式")
        if len(raw.encode()) > MSG_PARAM_LIMIT:  # [guess] code for an over-long msgParam
            return None, self._api_error(400, "invalidParameter.msgParam.invalid", "msgParam超过长度限制")
        try:
            param = json.loads(raw)
        except ValueError:
            param = None
        if not isinstance(param, dict) or any(not isinstance(param.get(f), str) or not param.get(f)
                                              for f in GROUP_MSG_KEYS[key]):
            return None, self._api_error(400, "invalidParameter.msgParam.invalid", "msgParam必须是JSON格式")
        return param, None

    async def _group_send(self, request: web.Request) -> web.Response:
        refused = self._check_token_and_qps(request)
        if refused:
            return refused
        body = await self._json(request)
        if body is None:
            return self._api_error(400, "invalidParameter.param.invalid", "参数不合法")
        cid = body.get("openConversationId")
        if not isinstance(cid, str) or not cid.startswith("cid"):
            return self._api_error(400, "invalid.openConversationId", "无效的openConversationId")
        param, refused = self._check_msg(body)
        if refused:
            return refused
        key = self._next("pqk")
        self.group_messages.append({"chat_id": cid, "msgKey": body["msgKey"], "param": param,
                                    "processQueryKey": key})
        return web.json_response({"processQueryKey": key})

    async def _batch_send(self, request: web.Request) -> web.Response:
        refused = self._check_token_and_qps(request)
        if refused:
            return refused
        body = await self._json(request)
        if body is None:
            return self._api_error(400, "invalidParameter.param.invalid", "参数不合法")
        users = body.get("userIds")
        if not isinstance(users, list) or not users:
            return self._api_error(400, "invalidParameter.userIds.empty", "userId列表为空")
        if len(users) > 20:
            return self._api_error(400, "invalidParameter.userIds.overMax", "userId列表超过上限")
        param, refused = self._check_msg(body)
        if refused:
            return refused
        invalid = [u for u in users if u in self.invalid_users]
        limited = [u for u in users if u in self.flow_controlled_users]
        key = self._next("pqk")
        for user in users:
            if user not in invalid and user not in limited:
                self.direct_messages.append({"user_id": user, "msgKey": body["msgKey"], "param": param,
                                             "processQueryKey": key})
        return web.json_response({"processQueryKey": key, "invalidStaffIdList": invalid,
                                  "flowControlledStaffIdList": limited})

    @staticmethod
    def _string_params(card_data: Any) -> dict[str, str] | None:
        params = card_data.get("cardParamMap") if isinstance(card_data, dict) else None
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return None
        return params

    async def _create_and_deliver(self, request: web.Request) -> web.Response:
        refused = self._check_token_and_qps(request)
        if refused:
            return refused
        body = await self._json(request) or {}
        out_track_id = body.get("outTrackId")
        if not body.get("cardTemplateId") or not isinstance(out_track_id, str) or not out_track_id:
            return self._api_error(400, "param.invalid", "cardTemplateId/outTrackId不能为空")
        if out_track_id in self.cards:  # [guess]
            return self._api_error(400, "param.outTrackId.duplicated", "outTrackId重复")
        if body.get("callbackType") not in ("STREAM", "HTTP") or (
                body["callbackType"] == "HTTP" and not body.get("callbackRouteKey")):
            return self._api_error(400, "param.invalid", "callbackType不合法")
        params = self._string_params(body.get("cardData"))
        if params is None:
            return self._api_error(400, "param.invalid", "cardParamMap的值必须是字符串")
        space = SPACE_RE.match(str(body.get("openSpaceId", "")))
        if not space:
            return self._api_error(400, "param.invalid", "openSpaceId不合法")
        space_type, space_id = space.groups()
        if space_type == "IM_GROUP":
            ok = (body.get("imGroupOpenDeliverModel") or {}).get("robotCode") == self.app_key
        else:
            ok = (body.get("imRobotOpenDeliverModel") or {}).get("spaceType") == "IM_ROBOT"
        if not ok:
            return self._api_error(400, "param.invalid", "投放参数不合法")
        self.cards[out_track_id] = {"space_type": space_type, "space_id": space_id,
                                    "params": dict(params), "body": body}
        return web.json_response({"success": True, "result": {
            "outTrackId": out_track_id,
            "deliverResults": [{"spaceType": space_type, "spaceId": space_id, "success": True,
                                "carrierId": self._next("carrier")}]}})

    async def _update_card(self, request: web.Request) -> web.Response:
        refused = self._check_token_and_qps(request)
        if refused:
            return refused
        body = await self._json(request) or {}
        card = self.cards.get(str(body.get("outTrackId")))
        if card is None:  # [guess]
            return self._api_error(400, "param.outTrackId.notExist", "卡片不存在")
        params = self._string_params(body.get("cardData"))
        if params is None:
            return self._api_error(400, "param.invalid", "cardParamMap的值必须是字符串")
        by_key = (body.get("cardUpdateOptions") or {}).get("updateCardDataByKey", False)
        card["params"] = {**card["params"], **params} if by_key else dict(params)
        self.card_updates.append(body)
        return web.json_response({"success": True, "result": True})

    # --- custom robot ------------------------------------------------------------------------

    @staticmethod
    def _robot_error(errcode: int, errmsg: str) -> web.Response:
        return web.json_response({"errcode": errcode, "errmsg": errmsg})

    async def _robot_send(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token", "")
        if token not in self.robots:
            return self._robot_error(300001, "token is not exist")
        secret = self.robots[token]
        now = self.clock.now()
        if secret:
            timestamp, sign = request.query.get("timestamp", ""), request.query.get("sign", "")
            if not timestamp.isdigit() or abs(_ms(now) - int(timestamp)) > 3_600_000:
                return self._robot_error(310000, "invalid timestamp")
            if sign != hmac_sign(secret, timestamp):  # aiohttp has already url-decoded the query
                return self._robot_error(310000, "sign not match")
        raw = await request.read()
        if len(raw) > ROBOT_BODY_LIMIT:
            return self._robot_error(460101, "message too big")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict) or "msgtype" not in body:
            return self._robot_error(40035, "缺少参数 json")
        msgtype = body["msgtype"]
        if msgtype not in ROBOT_MSGTYPES:
            return self._robot_error(400105, "不支持的消息类型")
        content = body.get(msgtype)
        if not isinstance(content, dict) or any(not content.get(f) for f in ROBOT_MSGTYPES[msgtype]):
            return self._robot_error(40035, f"缺少参数 {msgtype}")
        blocked = self._robot_blocked.get(token)
        if blocked is not None and blocked > now:
            return self._robot_error(130101, "send too fast, exceed 20 times per minute")
        calls = self._robot_calls[token]
        while calls and calls[0] <= now - timedelta(minutes=1):
            calls.popleft()
        if len(calls) >= self.robot_per_minute:
            self._robot_blocked[token] = now + timedelta(seconds=self.robot_block_seconds)
            return self._robot_error(130101, "send too fast, exceed 20 times per minute")
        calls.append(now)
        self.robot_messages.append({"access_token": token, "body": body})
        return self._robot_error(0, "ok")

    # --- Stream gateway ----------------------------------------------------------------------

    async def _open_connection(self, request: web.Request) -> web.Response:
        body = await self._json(request) or {}
        if self.apps_secret(str(body.get("clientId"))) != body.get("clientSecret"):
            return self._api_error(401, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        subs = body.get("subscriptions")
        if not isinstance(subs, list) or not subs or not all(
                isinstance(s, dict) and s.get("type") in ("EVENT", "CALLBACK") and s.get("topic")
                for s in subs):
            return self._api_error(400, "invalidParameter.subscriptions", "subscriptions不合法")
        ticket = str(uuid.uuid4())
        self.tickets[ticket] = self.clock.now() + timedelta(seconds=90)
        self.stream_opens += 1
        endpoint = str(request.url.with_scheme("ws").with_path("/connect").with_query(None))
        return web.json_response({"endpoint": endpoint, "ticket": ticket})

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        expires = self.tickets.pop(request.query.get("ticket", ""), None)  # single use
        if expires is None or expires <= self.clock.now():
            return web.Response(status=403, text="invalid ticket")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        self.connections += 1
        await self._notify()
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    self.acks.append(json.loads(msg.data))
                    await self._notify()
        finally:
            if self._ws is ws:
                self._ws = None
            await self._notify()
        return ws


# --- builders for what DingTalk sends ----------------------------------------------------------

def robot_message(*, text: str = " 签收 A123", msg_id: str = "msgA1", group: bool = True,
                  conversation_id: str = "cidGroup1==", sender_staff_id: str = "staff-1",
                  sender_nick: str = "张三", chatbot_user_id: str = "$:LWCP_v1:$bot",
                  at_users: list[dict[str, str]] | None = None, in_at_list: bool = True,
                  create_at: int = 1690362101894, robot_code: str = "dingappkey",
                  **extra: Any) -> dict[str, Any]:
    """A robot message exactly as DingTalk delivers it (topic /v1.0/im/bot/messages/get)."""
    payload: dict[str, Any] = {
        "conversationId": conversation_id,
        "atUsers": at_users if at_users is not None else [{"dingtalkId": chatbot_user_id}],
        "chatbotCorpId": "dingcorp", "chatbotUserId": chatbot_user_id, "msgId": msg_id,
        "senderNick": sender_nick, "isAdmin": False, "senderStaffId": sender_staff_id,
        "sessionWebhookExpiredTime": create_at + 5_400_000, "createAt": create_at,
        "senderCorpId": "dingcorp", "conversationType": "2" if group else "1",
        "senderId": f"$:LWCP_v1:${sender_staff_id}", "isInAtList": in_at_list,
        "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=x",
        "text": {"content": text}, "robotCode": robot_code, "msgtype": "text",
    }
    if group:
        payload["conversationTitle"] = "测试群"
    payload.update(extra)
    return payload


def file_message(kind: str, download_code: str, *, file_name: str = "", **kw: Any) -> dict[str, Any]:
    """A ``picture`` or ``file`` robot message (no text; ``content.downloadCode``)."""
    payload = robot_message(**kw)
    del payload["text"]
    payload["msgtype"] = kind
    payload["content"] = ({"downloadCode": download_code, "pictureDownloadCode": f"pic-{download_code}"}
                          if kind == "picture" else
                          {"downloadCode": download_code, "fileName": file_name, "fileId": "1001",
                           "spaceId": "2002"})
    return payload


def callback_headers(app_secret: str, timestamp_ms: int) -> dict[str, str]:
    """The ``timestamp``/``sign`` headers of a robot HTTP callback."""
    ts = str(timestamp_ms)
    return {"timestamp": ts, "sign": callback_sign(app_secret, ts), "Content-Type": "application/json"}


def http_callback(app_secret: str, payload: dict[str, Any], timestamp_ms: int, *,
                  restamp: bool = False) -> tuple[dict[str, str], bytes]:
    """Headers and body of a robot HTTP-mode callback, signed as DingTalk signs it.

    With ``restamp`` the message was created just before the callback (``createAt`` 300 ms before
    ``timestamp``, its session webhook valid 90 min), as DingTalk sends a fresh message.
    """
    if restamp and "createAt" in payload:
        payload = {**payload, "createAt": timestamp_ms - 300, "sessionWebhookExpiredTime": timestamp_ms + 5_400_000}
    return callback_headers(app_secret, timestamp_ms), json.dumps(payload, ensure_ascii=False).encode()


def stream_frame(topic: str, data: dict[str, Any], *, message_id: str | None = None,
                 frame_type: str = "CALLBACK", time_ms: int = 1690362102194) -> dict[str, Any]:
    """A Stream push frame; ``data`` travels as a JSON string."""
    return {"specVersion": "1.0", "type": frame_type,
            "headers": {"appId": "app-uuid", "contentType": "application/json",
                        "messageId": message_id or uuid.uuid4().hex, "time": str(time_ms), "topic": topic},
            "data": json.dumps(data, ensure_ascii=False)}


def ping_frame(opaque: str = "123-dsfs", message_id: str = "ping-1") -> dict[str, Any]:
    """A SYSTEM ping."""
    return {"specVersion": "1.0", "type": "SYSTEM",
            "headers": {"topic": "ping", "messageId": message_id, "contentType": "application/json"},
            "data": json.dumps({"opaque": opaque})}


def disconnect_frame(reason: str = "connection is expired") -> dict[str, Any]:
    """A SYSTEM disconnect (the server closes 10 s later)."""
    return {"specVersion": "1.0", "type": "SYSTEM",
            "headers": {"topic": "disconnect", "contentType": "application/json"},
            "data": json.dumps({"reason": reason})}


def card_click(*, out_track_id: str, user_id: str, value: str | dict[str, Any],
               space_type: str = "", space_id: str = "", action_id: str = "btn") -> dict[str, Any]:
    """A card click (topic /v1.0/card/instances/callback) whose button parameter ``value`` is set."""
    content = json.dumps({"cardPrivateData": {"actionIds": [action_id], "params": {"value": value}}},
                         ensure_ascii=False)
    return {"extension": "{}", "corpId": "dingcorp", "spaceType": space_type, "userIdType": 1,
            "type": "actionCallback", "userId": user_id, "content": content, "spaceId": space_id,
            "outTrackId": out_track_id, "value": content}


class RecordingInbox:
    """Stands in for the store's inbox writer: records messages, answers new/duplicate by event id.

    ``gate`` (when set) is awaited before the write returns, so a test can hold the write open.
    """

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.seen: set[str] = set()
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None
        self.written = asyncio.Event()

    async def __call__(self, message: Any) -> bool:
        """Record ``message``; True when its event id was not seen before."""
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        self.messages.append(message)
        self.written.set()
        new = message.event_id not in self.seen
        self.seen.add(message.event_id)
        return new
