"""Shared fixtures: a config, a frozen clock, the real app on a fresh store (SQLite, and
PostgreSQL when HOTLINE_TEST_PG_URL is set), and a signed intake client."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.clock import FrozenClock
from bot.config import Config, parse_config
from bot.context import CTX, BotContext
from tests.log_scan import PhoneScan, install

TZ = ZoneInfo("Asia/Shanghai")
INTAKE_SECRET = "test-intake-secret"
API_TOKEN = "test-api-token"
PG_URL = os.environ.get("HOTLINE_TEST_PG_URL", "")


LOG_SCAN: PhoneScan | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Scan every log record of the session for full phone numbers (``tests/log_scan.py``)."""
    global LOG_SCAN
    if LOG_SCAN is None:
        LOG_SCAN = install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when any log record of the session held a full mobile number."""
    if LOG_SCAN is not None and LOG_SCAN.hits:
        print(f"\nLOG SCAN: {len(LOG_SCAN.hits)} log record(s) hold a full mobile number:\n{LOG_SCAN.report()}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def local(*args: int) -> datetime:
    """An aware datetime in Asia/Shanghai."""
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


def base_config(store_url: str, **overrides: Any) -> dict[str, Any]:
    """A config document with two units, an office, leaders and handlers on the console."""
    doc: dict[str, Any] = {
        "server": {"secret": "test-server-secret"},
        "store": {"url": store_url},
        "procedure": {"preset": "songjiang"},
        "intake": {"secret": INTAKE_SECRET},
        "api": {"tokens": [API_TOKEN]},
        "units": [
            {"code": "BGS", "name": "局办公室", "chats": [{"platform": "console", "bot": "console", "chat_id": "bgs"}]},
            {"code": "YLK", "name": "养老服务科", "parent": "BGS",
             "chats": [{"platform": "console", "bot": "console", "chat_id": "ylk"}]},
            {"code": "SHJZK", "name": "社会救助科", "parent": "BGS",
             "chats": [{"platform": "console", "bot": "console", "chat_id": "shjzk"}]},
        ],
        "people": [
            {"name": "王办公", "mobile": "13800000001", "roles": [{"unit": "BGS", "role": "office"}]},
            {"name": "李科长", "mobile": "13800000002", "roles": [{"unit": "YLK", "role": "leader"}]},
            {"name": "张承办", "mobile": "13800000003", "roles": [{"unit": "YLK", "role": "handler"}]},
            {"name": "刘承办", "mobile": "13800000006", "roles": [{"unit": "YLK", "role": "handler"}]},
            {"name": "赵科长", "mobile": "13800000004", "roles": [{"unit": "SHJZK", "role": "leader"}]},
            {"name": "陈承办", "mobile": "13800000005", "roles": [{"unit": "SHJZK", "role": "handler"}]},
        ],
        "platforms": {"console": {"enabled": False}},
        "scheduler": {"enabled": False},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key] = {**doc[key], **value}
        else:
            doc[key] = value
    return doc


@pytest.fixture(params=["sqlite", "postgresql"] if PG_URL else ["sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store for each test: a SQLite file, or a new PostgreSQL schema-less db."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    return _fresh_pg_database(request)


def _fresh_pg_database(request: pytest.FixtureRequest) -> str:
    import asyncio

    import asyncpg

    base = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    name = f"hotline_t_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    request.addfinalizer(lambda: asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))
    head, _, _ = PG_URL.rpartition("/")
    return f"{head}/{name}"


@pytest.fixture
def clock() -> FrozenClock:
    """Monday 2026-11-23 10:00 in Shanghai."""
    return FrozenClock(local(2026, 11, 23, 10, 0))


@pytest.fixture
def make_config(store_url: str, tmp_path: Path) -> Callable[..., Config]:
    """Build a validated config on the test's store, with overrides; attachments go to the
    test's directory (beside a SQLite file anyway; a PostgreSQL store has no file to go beside)."""
    def make(**overrides: Any) -> Config:
        if not store_url.startswith("sqlite"):
            overrides["attachments"] = {"dir": str(tmp_path / "attachments"), **overrides.get("attachments", {})}
        return parse_config(base_config(store_url, **overrides))
    return make


class Bot:
    """The running app under test, with helpers to talk to it as the hotline does."""

    def __init__(self, client: TestClient, clock: FrozenClock) -> None:
        self.client = client
        self.clock = clock

    @property
    def ctx(self) -> BotContext:
        return self.client.app[CTX]  # type: ignore[index]

    def signed_headers(self, body: bytes, *, secret: str = INTAKE_SECRET,
                       timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(self.clock.now().timestamp()) if timestamp is None else timestamp)
        sig = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        return {"X-Hotline-Timestamp": ts, "X-Hotline-Signature": sig, "Content-Type": "application/json"}

    async def post_ticket(self, data: dict[str, Any] | bytes, **kw: Any) -> Any:
        body = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()
        return await self.client.post("/api/v1/tickets", data=body, headers=self.signed_headers(body, **kw))

    async def post_event(self, source: str, number: str, data: dict[str, Any]) -> Any:
        body = json.dumps(data, ensure_ascii=False).encode()
        return await self.client.post(f"/api/v1/tickets/{source}/{number}/events", data=body,
                                      headers=self.signed_headers(body))

    async def get(self, path: str, token: str | None = API_TOKEN) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.get(path, headers=headers)


@pytest.fixture
async def make_bot(clock: FrozenClock, make_config: Callable[..., Config]) -> AsyncIterator[Callable[..., Any]]:
    """Start the real app on a fresh store; ``await make_bot(**config_overrides)``."""
    clients: list[TestClient] = []

    async def make(with_background: bool = False, **overrides: Any) -> Bot:
        config = make_config(**overrides)
        app = create_app(config, clock=clock, with_background=with_background)
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return Bot(client, clock)

    yield make
    for c in clients:
        await c.close()


def ticket_body(number: str = "202611230001", **overrides: Any) -> dict[str, Any]:
    """A valid intake body."""
    body: dict[str, Any] = {
        "source": "12345",
        "number": number,
        "received_at": "2026-11-23T09:30:00+08:00",
        "content": "小区门口的养老服务站长期关门，老人无法就餐，请尽快处理。",
        "kind": "求助",
        "citizen": {"name": "张三", "phone": "13812341234", "address": "松江区某路1号"},
    }
    body.update(overrides)
    return body
