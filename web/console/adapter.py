"""The console: the bot's own chat platform, served by the bot at ``/console``.

It is a chat adapter like WeCom, DingTalk and Feishu: what people type or click becomes an
``IncomingMessage`` written to the inbox, and the bot's ``OutgoingMessage`` rows reach the
browsers through ``send`` (pushed live over server-sent events). Nothing in ``bot/`` or
``handlers/`` knows the console is special; it also hosts the office's dashboard and forms.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from typing import Any

import aiohttp
from aiohttp import web

from bot import safe_json
from bot.context import BotContext
from bot.directory import Person
from bot.edge import message_problem
from bot.errors import store_outage
from bot.messages import ChatKind, Destination, IncomingMessage, OutgoingMessage
from bot.ports import InboxWriter, SendResult
from bot.preflight import calendar_notice
from bot.send_errors import PermanentSendError
from web import render
from web.console import dashboard, history, reports, topics
from web.console.demo import seed_demo_tickets
from web.console.hub import Hub, chat_key
from web.console.login import PERSON, Gate
from web.console.roles import roles_text
from web.edge import refuse_unstorable
from web.render import STATIC_DIR

log = logging.getLogger("hotline.console")
PLATFORM = "console"
MAX_TEXT = 5000
KEEPALIVE_SECONDS = 15.0
_EVENT_ID = re.compile(r"^[A-Za-z0-9\-_]{8,64}$")
_MENTION = re.compile(r"@(\S+)")


class ConsoleAdapter:
    """The built-in web chat (``[platforms.console]``, see ``docs/configuration.md``)."""

    platform = PLATFORM

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self.config = ctx.config.platforms.console
        self.name = self.config.name
        self.hub = Hub()
        self.gate = Gate(ctx)
        self.inbox: InboxWriter | None = None

    # ---- ChatAdapter -----------------------------------------------------------------------

    def setup_routes(self, app: web.Application) -> None:
        """Mount the console sub-app at ``/console`` (chat, dashboard, forms, reports, assets)."""
        console = web.Application(middlewares=[store_outage, refuse_unstorable, self.gate.middleware])
        render.setup(console)
        console.on_shutdown.append(self._on_shutdown)
        self.gate.setup(console)
        r = console.router
        r.add_get("", self.chat_page)
        r.add_get("/", self.chat_page)
        r.add_get("/api/events", self.events)
        r.add_get("/api/history", self.history)
        r.add_post("/api/messages", self.post_message)
        r.add_post("/api/action", self.post_action)
        r.add_static("/static/", STATIC_DIR, append_version=False)
        dashboard.setup(console, self)
        reports.setup(console, self)
        topics.setup(console, self)
        app.add_subapp("/console", console)
        app.router.add_get("/favicon.ico", favicon)  # browsers ask the site root, whatever the page says

    async def start(self, http: aiohttp.ClientSession, inbox: InboxWriter) -> None:
        """Keep the inbox writer; seed the demo tickets into an empty store when configured."""
        self.inbox = inbox
        if self.config.demo_tickets:
            await seed_demo_tickets(self.ctx)

    async def stop(self) -> None:
        """End every open event stream."""
        self.hub.close_all()

    async def send(self, http: aiohttp.ClientSession, dest: Destination,
                   message: OutgoingMessage, *, key: str | None = None) -> SendResult:
        """Push the message to the browsers that show this chat; the id names it in history."""
        chat = self._dest_chat(dest)
        message_id = "m" + uuid.uuid4().hex[:20]
        self.hub.publish(history.bot_event(message_id, chat, message,
                                           history.clock_text(self.ctx.calendar, self.ctx.clock.now())))
        return SendResult(message_id=message_id)

    def can_update(self, message_id: str) -> bool:
        """Every console message can be updated in the open browsers."""
        return bool(message_id)

    async def update_card(self, http: aiohttp.ClientSession, dest: Destination, message_id: str,
                          message: OutgoingMessage) -> None:
        """Mark a card as handled in every open browser (its buttons are disabled)."""
        chat = self._dest_chat(dest)
        self.hub.publish(history.update_event(message_id, chat, message,
                                              history.clock_text(self.ctx.calendar, self.ctx.clock.now())))

    def rate_limit(self, dest: Destination) -> None:
        """No limit: the console is local."""
        return None

    def _dest_chat(self, dest: Destination) -> str:
        if not dest.chat_id and not dest.user_id:
            raise PermanentSendError("console destination without chat or person")
        return chat_key(dest.chat_id, dest.user_id)

    async def _on_shutdown(self, app: web.Application) -> None:
        self.hub.close_all()

    # ---- who sees what -------------------------------------------------------------------

    def chats_for(self, person: Person) -> list[tuple[str, str]]:
        """(chat key, label) of the console chats ``person`` may read: own units' groups, own DM."""
        d = self.ctx.directory
        out: list[tuple[str, str]] = []
        for code, unit in d.units.items():
            if not d.may_see_unit(person, code):
                continue
            for chat in unit.chats:
                if chat.platform == PLATFORM:
                    out.append((chat_key(chat.chat_id), f"{unit.name}群"))
        out.append((chat_key(user_id=person.name), f"私聊 · {self.name}"))
        return out

    def _allowed(self, person: Person) -> frozenset[str]:
        return frozenset(k for k, _ in self.chats_for(person))

    # ---- pages and API -------------------------------------------------------------------

    async def chat_page(self, request: web.Request) -> web.Response:
        """The chat: groups on the left, messages in the middle, the input at the bottom."""
        person = request[PERSON]
        chats = self.chats_for(person)
        wanted = request.query.get("chat", "")
        current = wanted if wanted in dict(chats) else chats[0][0]
        notice = calendar_notice(self.ctx.calendar, self.ctx.calendar.local_date(self.ctx.clock.now()))
        return render.render(request, "console/chat.html", {
            "title": f"聊天 · {self.name}", "person": person.name,
            "roles": roles_text(person.roles, self.ctx.directory.unit_name),
            "csrf": self.gate.csrf(request), "active": "chat", "body_class": "chat",
            "scripts": ("console.js",), "notice": notice, "bot": self.name, "chats": chats,
            "current": current, "current_label": dict(chats)[current]})

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: every message of the person's chats, live."""
        person = request[PERSON]
        sub = self.hub.subscribe(person.name, self._allowed(person))
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        await resp.prepare(request)
        try:
            await resp.write(b"retry: 2000\n: connected\n\n")
            while True:
                try:
                    event = await asyncio.wait_for(sub.queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await resp.write(b": keepalive\n\n")
                    continue
                if event is None:
                    break
                data = json.dumps(event, ensure_ascii=False)
                await resp.write(f"event: chat\ndata: {data}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.hub.unsubscribe(sub)
        return resp

    async def history(self, request: web.Request) -> web.Response:
        """The last messages of one chat the person may read."""
        person = request[PERSON]
        chat = request.query.get("chat", "")
        if chat not in self._allowed(person):
            return _json_error(403, "forbidden", "您无权查看该会话。")
        async with self.ctx.sessions() as s:
            events = await history.load(s, self.ctx.calendar, chat, self.name)
        return web.json_response({"chat": chat, "items": events})

    async def post_message(self, request: web.Request) -> web.Response:
        """A typed message: into the inbox, then shown live to the chat's other readers."""
        person = request[PERSON]
        body = await _json_body(request)
        chat = str(body.get("chat", ""))
        text = str(body.get("text", "")).strip()
        if not text or len(text) > MAX_TEXT:
            return _json_error(400, "invalid", f"消息不能为空，且不超过 {MAX_TEXT} 字。", {"text": "长度不对"})
        quoted = body.get("quoted_message_id")
        message = self._incoming(request, person, chat, body, text=text,
                                 quoted=str(quoted) if quoted else None)
        if isinstance(message, web.Response):
            return message
        return await self._deliver(message, chat)

    async def post_action(self, request: web.Request) -> web.Response:
        """A button click on a card: ``{cmd, ticket, token}`` (and a note for 驳回)."""
        person = request[PERSON]
        body = await _json_body(request)
        chat = str(body.get("chat", ""))
        action: dict[str, Any] = {k: str(body.get(k, "")) for k in ("cmd", "ticket", "token")}
        if not all(action.values()):
            return _json_error(400, "invalid", "按钮数据不完整。", {"action": "缺少 cmd/ticket/token"})
        note = str(body.get("note", "")).strip()
        if note:
            action["note"] = note[:MAX_TEXT]
        message = self._incoming(request, person, chat, body, action=action,
                                 message_id=str(body.get("message_id", "")) or None)
        if isinstance(message, web.Response):
            return message
        return await self._deliver(message, chat)

    def _incoming(self, request: web.Request, person: Person, chat: str, body: dict[str, Any], *,
                  text: str = "", quoted: str | None = None, action: dict[str, Any] | None = None,
                  message_id: str | None = None) -> IncomingMessage | web.Response:
        if chat not in self._allowed(person):
            return _json_error(403, "forbidden", "您无权在该会话中发言。")
        event_id = str(body.get("event_id", ""))
        if not _EVENT_ID.match(event_id):
            return _json_error(400, "invalid", "缺少消息编号。", {"event_id": "8-64 位字母数字"})
        kind, _, name = chat.partition(":")
        mentioned = False
        prefix = f"@{self.name}"
        if text.startswith(prefix):
            mentioned = True
            text = text[len(prefix):].strip()
        people = self.ctx.directory.people
        mentions = tuple(dict.fromkeys(m for m in _MENTION.findall(text) if m in people))
        message = IncomingMessage(
            platform=PLATFORM, bot=PLATFORM, chat_id=name if kind == "g" else f"dm:{name}",
            chat_kind=ChatKind.GROUP if kind == "g" else ChatKind.DIRECT, sender_id=person.name,
            text=text, mentions=mentions, mentioned_bot=mentioned, quoted_message_id=quoted,
            action=action, event_id=f"{person.name}:{event_id}", message_id=message_id)
        if problem := message_problem(message):  # refused now, not failing after the 202
            return _json_error(400, "invalid", "消息内容含有无效字符或过长。", {"text": problem})
        return message

    async def _deliver(self, message: IncomingMessage, chat: str) -> web.Response:
        if self.inbox is None:
            return _json_error(503, "starting", "机器人正在启动，请稍后再试。")
        new = await self.inbox(message)
        if new:
            self.hub.publish(history.person_event(
                message, chat, history.clock_text(self.ctx.calendar, self.ctx.clock.now()), self.name))
        return web.json_response({"ok": True, "duplicate": not new,
                                  "id": f"in:{message.event_id}"}, status=202)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        data = safe_json.loads(await request.read())
    except safe_json.BadJson:
        return {}
    return data if isinstance(data, dict) else {}


def _json_error(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": code, "message": message, "fields": fields or {}}, status=status)


async def favicon(request: web.Request) -> web.FileResponse:
    """``/favicon.ico``: the console's icon (public, like the other static files)."""
    return web.FileResponse(STATIC_DIR / "favicon.ico", headers={"Content-Type": "image/x-icon",
                                                                  "Cache-Control": "max-age=86400"})
