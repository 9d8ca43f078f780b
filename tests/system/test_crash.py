"""Crash test: ``hotline-bot serve`` is SIGKILLed after acknowledging an inbound event but before
processing it, while the outbox holds rows the platform refused (5xx). After a restart every
event is processed once and every message reaches the fake platform once."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import INTAKE_SECRET, base_config, ticket_body
from tests.fakes.feishu_server import FeishuFake, mention, message_event
from tests.system.world import BOT, BOT_NAME, CHATS, IDS, ROOT, base_url, org, serve, toml, until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(http: aiohttp.ClientSession, url: str, alive: Callable[[], bool],
                       log: Callable[[], str]) -> None:
    """Wait until the process at ``url`` answers ``/healthz`` 200; fail with its log if it died."""
    async def healthy() -> bool:
        assert alive(), log()[-3000:]
        try:
            async with http.get(url + "/healthz") as r:
                return r.status == 200
        except aiohttp.ClientError:
            return False
    await until(healthy, seconds=60)


class Serve:
    """One ``hotline-bot serve`` process."""

    def __init__(self, config: Path, port: int, env: dict[str, str], *, hold_inbox: bool = False,
                 module: str = "bot.cli") -> None:
        self.url = f"http://127.0.0.1:{port}"
        module = "tests.system.held_serve" if hold_inbox else module
        # stderr to a file, not a pipe nobody reads while the process runs: a full pipe would
        # block the process's logging, and with it the whole instance.
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, "serve", "-c", str(config)], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=self.log)

    async def ready(self, http: aiohttp.ClientSession) -> None:
        await wait_healthy(http, self.url, lambda: self.proc.poll() is None, self.stderr)

    def stderr(self) -> str:
        """What the process wrote to stderr so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_kill_after_ack_and_with_unsent_rows_then_restart(tmp_path: Path,
                                                                 http: aiohttp.ClientSession) -> None:
    fake = FeishuFake()
    server = await serve(fake.app)
    db = tmp_path / "hotline.db"
    port = _free_port()
    doc = base_config(f"sqlite+aiosqlite:///{db}", **org("feishu", {
        "mode": "webhook", "name": BOT_NAME, "app_id": "cli_test", "app_secret": "secret",
        "verification_token": "vtoken", "api_base": base_url(server)}))
    doc["server"] |= {"host": "127.0.0.1", "port": port}
    config = tmp_path / "hotline.toml"
    config.write_text(toml(doc), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    ylk = CHATS["feishu"]["YLK"]
    event = message_event("@_user_1 签收 0001", chat_id=ylk, sender=IDS["feishu"]["张承办"],
                          event_id="ev-crash-1", mentions=[mention("@_user_1", "ou_bot", BOT_NAME)])
    event_body = json.dumps(event, ensure_ascii=False).encode()
    webhook = f"/webhooks/feishu/{BOT}"
    procs: list[Serve] = []
    try:
        # 1. Feishu is down (5xx) and inbound processing is held: the event is acked, not handled.
        fake.fail_next(100_000, status=503)
        first = Serve(config, port, env, hold_inbox=True)
        procs.append(first)
        await first.ready(http)
        body = json.dumps(ticket_body(unit="YLK"), ensure_ascii=False).encode()
        ts = str(int(time.time()))
        sig = hmac.new(INTAKE_SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        async with http.post(first.url + "/api/v1/tickets", data=body, headers={
                "X-Hotline-Timestamp": ts, "X-Hotline-Signature": sig,
                "Content-Type": "application/json"}) as r:
            assert r.status == 201, await r.text()
        async with http.post(first.url + webhook, data=event_body,
                             headers={"Content-Type": "application/json"}) as r:
            assert r.status == 200
        first.kill()

        assert _query(db, "SELECT event_id, processed_at FROM inbox") == [("ev-crash-1", None)]
        pending = _query(db, "SELECT kind FROM outbox WHERE channel = 'chat' AND state = 'pending'")
        assert ("assignment",) in pending
        assert fake.messages == []

        # 2. Feishu is back; restart: the held event is processed and the rows delivered, once.
        fake._fail.clear()  # the outage is over
        second = Serve(config, port, env)
        procs.append(second)
        await second.ready(http)
        async with http.post(second.url + webhook, data=event_body,
                             headers={"Content-Type": "application/json"}) as r:
            assert r.status == 200  # Feishu's retry of the same event: a no-op

        def settled() -> bool:
            processed = _query(db, "SELECT COUNT(*) FROM inbox WHERE processed_at IS NOT NULL")[0][0]
            unsent = _query(db, "SELECT COUNT(*) FROM outbox WHERE channel = 'chat' AND state = 'pending'")
            return processed == 1 and unsent[0][0] == 0
        await until(settled, seconds=60)

        assert _query(db, "SELECT event_id, attempts FROM inbox") == [("ev-crash-1", 1)]
        texts = [json.dumps(m["content"], ensure_ascii=False) for m in fake.messages]
        assert sum("新工单" in t and m["msg_type"] == "interactive"
                   for t, m in zip(texts, fake.messages, strict=True)) == 1
        assert sum("张承办 已签收" in t for t in texts) == 1
        sent = _query(db, "SELECT COUNT(*) FROM outbox WHERE channel = 'chat' AND state = 'sent'")[0][0]
        assert len(fake.messages) == sent  # each sent row reached Feishu exactly once
    finally:
        for p in procs:
            p.stop()
        await server.close()
