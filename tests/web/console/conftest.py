"""Console fixtures: the real app with the console enabled, and browser-less users with their
own cookie jars who log in the way a person does (login form, one-time link or picker)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from bot.sender import SENDER, Sender
from bot.wiring import INBOX
from tests.conftest import Bot, base_config
from web.console.auth import hash_password, one_time_link

PASSWORD = "正确的密码-2026"
_CSRF = re.compile(r'name="csrf-token" content="([^"]*)"')
_FORM_CSRF = re.compile(r'name="csrf" value="([^"]*)"')
_HASH = hash_password(PASSWORD, salt=b"fixed-test-salt!")


def console_people() -> list[dict[str, Any]]:
    """The test config's people, each with a console password."""
    return [{**p, "password_hash": _HASH} for p in base_config("sqlite://")["people"]]


def console_overrides(**console: Any) -> dict[str, Any]:
    """Config overrides enabling the console (login required unless told otherwise)."""
    return {"platforms": {"console": {"enabled": True, "require_login": True, **console}},
            "people": console_people()}


class User:
    """A person at the console with their own cookies."""

    def __init__(self, bot: Bot, session: aiohttp.ClientSession) -> None:
        self.bot = bot
        self.http = session
        self.csrf = ""

    def url(self, path: str) -> str:
        return str(self.bot.client.make_url(path))

    async def get(self, path: str, **kw: Any) -> aiohttp.ClientResponse:
        return await self.http.get(self.url(path), **kw)

    async def page(self, path: str) -> str:
        r = await self.get(path)
        assert r.status == 200, (path, r.status)
        text = await r.text()
        m = _CSRF.search(text)
        if m and m.group(1):
            self.csrf = m.group(1)
        return text

    async def login(self, name: str, password: str = PASSWORD) -> aiohttp.ClientResponse:
        text = await (await self.get("/console/login")).text()
        csrf = _FORM_CSRF.search(text).group(1)  # type: ignore[union-attr]
        r = await self.http.post(self.url("/console/login"), data={
            "csrf": csrf, "person": name, "password": password, "next": "/console"},
            allow_redirects=False)
        if r.status == 302:
            await self.page("/console")
        return r

    async def login_link(self, name: str) -> aiohttp.ClientResponse:
        link = one_time_link(self.bot.ctx.config, name, clock=self.bot.clock)
        path = link[link.index("/console"):]
        text = await (await self.get(path)).text()
        csrf = _FORM_CSRF.search(text).group(1)  # type: ignore[union-attr]
        token = path.split("t=", 1)[1]
        return await self.http.post(self.url("/console/login/link"), data={"csrf": csrf, "t": token},
                                    allow_redirects=False)

    async def say(self, chat: str, text: str, *, event_id: str | None = None,
                  csrf: str | None = None, **extra: Any) -> aiohttp.ClientResponse:
        headers = {} if csrf == "" else {"X-CSRF-Token": csrf or self.csrf}
        return await self.http.post(self.url("/console/api/messages"), json={
            "chat": chat, "text": text, "event_id": event_id or uuid.uuid4().hex, **extra}, headers=headers)

    async def click(self, chat: str, message_id: str, action: dict[str, Any], note: str = "") -> aiohttp.ClientResponse:
        return await self.http.post(self.url("/console/api/action"), json={
            "chat": chat, "message_id": message_id, "cmd": action["command"], "ticket": action["ticket"],
            "token": action["token"], "note": note, "event_id": uuid.uuid4().hex},
            headers={"X-CSRF-Token": self.csrf})

    async def history(self, chat: str) -> list[dict[str, Any]]:
        r = await self.get(f"/console/api/history?chat={chat}")
        assert r.status == 200, r.status
        return (await r.json())["items"]


@pytest.fixture
async def make_user() -> AsyncIterator[Callable[[Bot], User]]:
    """``make_user(bot)``: a new person with an empty cookie jar."""
    sessions: list[aiohttp.ClientSession] = []

    def make(bot: Bot) -> User:
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(session)
        return User(bot, session)

    yield make
    for s in sessions:
        await s.close()


async def settle(bot: Bot) -> None:
    """Process every inbox event and deliver every due outbox row (the bot's answers)."""
    sender = bot.client.app.get(SENDER) or Sender(bot.ctx)
    for _ in range(5):
        await bot.client.app[INBOX].drain()
        await sender.drain()
