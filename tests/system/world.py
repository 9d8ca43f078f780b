"""Shared set-up for the whole-system tests (and other tests that drive a real server): an
organisation whose chats live on one platform, fake platform servers on real sockets, and waits
on store state (never on wall-clock schedules)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer
from aiohttp.web import Application
from sqlalchemy import func, select

from bot.sender import Sender
from bot.wiring import CHAT_ADAPTERS, INBOX
from store.models import InboxEvent, OutboxMessage
from tests.fakes.feishu_server import FeishuFake, callback_request

ROOT = Path(__file__).resolve().parents[2]
BOT = "hotline"
BOT_NAME = "热线助手"
WECOM_AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
WECOM_OTHER_AES_KEY = base64.b64encode(bytes(range(1, 33))).decode().rstrip("=")

# Platform ids of the people of tests/conftest.py, per platform.
IDS: dict[str, dict[str, str]] = {
    "wecom": {"王办公": "wangbg", "李科长": "likz", "张承办": "zhangcb"},
    "dingtalk": {"王办公": "staff-wang", "李科长": "staff-li", "张承办": "staff-zhang"},
    "feishu": {"王办公": "ou_wang", "李科长": "ou_li", "张承办": "ou_zhang"},
}
CHATS: dict[str, dict[str, str]] = {
    "wecom": {"BGS": "wrBGS", "YLK": "wrYLK", "SHJZK": "wrSHJZK"},
    "dingtalk": {"BGS": "cidBGS==", "YLK": "cidYLK==", "SHJZK": "cidSHJZK=="},
    "feishu": {"BGS": "oc_bgs", "YLK": "oc_ylk", "SHJZK": "oc_shjzk"},
}


def org(platform: str, bot_config: dict[str, Any], *,
        chat_extra: dict[str, str] | None = None) -> dict[str, Any]:
    """Config overrides: the three units' chats and the people's ids on ``platform``."""
    names = {"BGS": "局办公室", "YLK": "养老服务科", "SHJZK": "社会救助科"}
    units: list[dict[str, Any]] = []
    for code, chat_id in CHATS[platform].items():
        unit: dict[str, Any] = {"code": code, "name": names[code],
                                "chats": [{"platform": platform, "bot": BOT, "chat_id": chat_id,
                                           **(chat_extra or {})}]}
        if code != "BGS":
            unit["parent"] = "BGS"
        units.append(unit)
    people = [
        {"name": "王办公", "mobile": "13800000001", "roles": [{"unit": "BGS", "role": "office"}]},
        {"name": "李科长", "mobile": "13800000002", "roles": [{"unit": "YLK", "role": "leader"}]},
        {"name": "张承办", "mobile": "13800000003", "roles": [{"unit": "YLK", "role": "handler"}]},
    ]
    for p in people:
        p["ids"] = {platform: IDS[platform][p["name"]]}
    return {"units": units, "people": people,
            "platforms": {"console": {"enabled": False}, platform: {BOT: bot_config}}}


async def serve(app: Application) -> TestServer:
    """Start a fake platform on a real local port (stopped by the caller)."""
    server = TestServer(app)
    await server.start_server()
    return server


async def shutdown(server: TestServer, *bots: Any) -> None:
    """Stop the bots first (their long connections close cleanly), then the fake platform."""
    for bot in bots:
        await bot.client.close()
    await server.close()


def base_url(server: TestServer) -> str:
    """``http://127.0.0.1:<port>`` (scheme and host only, as ``api_base`` requires)."""
    return str(server.make_url("")).rstrip("/")


async def until(predicate: Callable[[], Any], *, seconds: float = 10.0) -> None:
    """Await an asynchronous effect (a frame pushed over a socket) becoming visible."""
    async with asyncio.timeout(seconds):
        while True:
            if await _value(predicate):
                return
            await asyncio.sleep(0.01)


async def _value(predicate: Callable[[], Any]) -> Any:
    result = predicate()
    if asyncio.iscoroutine(result):
        result = await result
    return result


async def inbox_count(bot: Any, *, processed: bool | None = None) -> int:
    """Rows of the inbox table (all, processed or unprocessed)."""
    q = select(func.count()).select_from(InboxEvent)
    if processed is True:
        q = q.where(InboxEvent.processed_at.is_not(None))
    elif processed is False:
        q = q.where(InboxEvent.processed_at.is_(None))
    async with bot.ctx.sessions() as s:
        return int((await s.execute(q)).scalar_one())


async def settle(bot: Any, sender: Sender, processed: int) -> None:
    """Wait until ``processed`` inbox events are processed, then deliver what is due."""
    await until(lambda: _processed_at_least(bot, processed))
    await bot.client.app[INBOX].drain()
    await sender.drain()


async def _processed_at_least(bot: Any, n: int) -> bool:
    return await inbox_count(bot, processed=True) >= n


async def outbox_rows(bot: Any, **where: Any) -> list[OutboxMessage]:
    """Outbox rows, oldest first, filtered by column equality."""
    q = select(OutboxMessage).order_by(OutboxMessage.id)
    for column, value in where.items():
        q = q.where(getattr(OutboxMessage, column) == value)
    async with bot.ctx.sessions() as s:
        return list((await s.execute(q)).scalars())


async def metric(bot: Any, name: str, **labels: str) -> float:
    """One sample read from ``GET /metrics`` (0 when absent)."""
    text = await (await bot.client.get("/metrics")).text()
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if m and m.group(1) == name and ",".join(sorted((m.group(2) or "").split(","))) == want:
            return float(m.group(3))
    return 0.0


def toml_value(value: Any) -> str:
    """One TOML value (tables inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml(doc: dict[str, Any]) -> str:
    """A TOML document of tables (nested tables written inline) and arrays of tables."""
    out: list[str] = []
    for key, value in doc.items():
        if isinstance(value, list):
            for item in value:
                out.append(f"[[{key}]]")
                out += [f"{k} = {toml_value(v)}" for k, v in item.items()]
            continue
        out.append(f"[{key}]")
        out += [f"{k} = {toml_value(v)}" for k, v in value.items()]
    return "\n".join(out) + "\n"


@asynccontextmanager
async def on_fake(make_bot: Callable[..., Any], fake: Any, config: Callable[[str], dict[str, Any]]
                  ) -> AsyncIterator[tuple[Any, Sender, str]]:
    """A fake platform on a real socket and a bot made with ``config(url)`` (its config overrides,
    given the fake's base URL): (bot, sender, url). Both are stopped on leaving the block."""
    server = await serve(fake.app)
    bots: list[Any] = []
    try:
        url = base_url(server)
        bot = await make_bot(**config(url))
        bots.append(bot)
        yield bot, Sender(bot.ctx), url
    finally:
        await shutdown(server, *bots)


def wecom_longconn_config(url: str) -> dict[str, Any]:
    """The settings of a bot on WeCom's AI-bot long connection to the fake at ``url``."""
    return {"mode": "longconn", "name": BOT_NAME, "bot_id": "BOTID", "secret": "BOTSECRET",
            "api_base": url, "ws_url": url.replace("http", "ws", 1) + "/ws",
            "reconnect_min": 0.05, "reconnect_max": 0.2}


def wecom_connection(bot: Any) -> Any:
    """The bot's WeCom long connection (``await wecom_connection(bot).wait_ready(10.0)``)."""
    return bot.client.app[CHAT_ADAPTERS]["wecom"].connection(BOT)


async def wecom_longconn_bot(make_bot: Callable[..., Any], url: str) -> tuple[Any, Any]:
    """A bot on WeCom's AI-bot long connection to the fake at ``url``, connected: (bot, connection)."""
    bot = await make_bot(**org("wecom", wecom_longconn_config(url)))
    return bot, wecom_connection(bot)


def dingtalk_stream_config(fake: Any, url: str) -> dict[str, Any]:
    """The settings of a bot in DingTalk's Stream mode with interactive cards on ``fake`` at ``url``."""
    return {"mode": "stream", "name": BOT_NAME, "app_key": fake.app_key, "app_secret": fake.app_secret,
            "api_base": url, "oapi_base": url, "card_template_id": "hotline-card.schema"}


FEISHU_ENCRYPT_KEY = "feishu-encrypt-key"


def feishu_webhook_config(url: str) -> dict[str, Any]:
    """The settings of a bot in Feishu's webhook mode (verification token and Encrypt Key) on the
    fake at ``url``."""
    return {"mode": "webhook", "name": BOT_NAME, "app_id": "cli_test", "app_secret": "secret",
            "verification_token": "vtoken", "encrypt_key": FEISHU_ENCRYPT_KEY, "api_base": url}


@asynccontextmanager
async def feishu_webhook_bot(make_bot: Callable[..., Any], clock: Any
                             ) -> AsyncIterator[tuple[FeishuFake, Any, Sender]]:
    """The Feishu fake on a real socket and a bot in webhook mode talking to it, the organisation's
    chats on Feishu: (fake, bot, sender). Both are stopped on leaving the block."""
    fake = FeishuFake(clock=clock)
    async with on_fake(make_bot, fake, lambda url: org("feishu", feishu_webhook_config(url))) as (bot, sender, _):
        yield fake, bot, sender


async def feishu_post(bot: Any, envelope: dict[str, Any], clock: Any) -> None:
    """Deliver a Feishu event to the bot's webhook, signed and encrypted as Feishu does."""
    body, headers = callback_request(envelope, encrypt_key=FEISHU_ENCRYPT_KEY,
                                     timestamp=str(int(clock.now().timestamp())))
    r = await bot.client.post(f"/webhooks/feishu/{BOT}", data=body, headers=headers)
    assert r.status == 200, await r.text()
