"""Crash test with several instances: ``hotline-bot serve`` processes (two on one PostgreSQL
database, one on SQLite) are SIGKILLed at random moments and restarted while a hotline and a
Feishu group keep sending mixed events (intake, then 签收 and 进展 for each ticket), retrying
what was not acknowledged, as the platforms do. Afterwards every acknowledged event was processed
exactly once, the events of a ticket in order (a 进展 that overtook its 签收 would be refused),
every owed message reached Feishu exactly once, and nothing is stranded.

CI size by default; ``HOTLINE_CRASH_TICKETS=350`` gives ≥ 1,000 events (3 per ticket)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from store.db import create_engine
from tests.conftest import INTAKE_SECRET, base_config, ticket_body
from tests.fakes.feishu_server import FeishuFake, mention, message_event
from tests.system.test_crash import Serve, _free_port
from tests.system.world import BOT, BOT_NAME, CHATS, IDS, ROOT, base_url, org, serve, toml, until

TICKETS = int(os.environ.get("HOTLINE_CRASH_TICKETS", "40"))


class Cluster:
    """Instances of one deployment, each on its own port, killed and restarted at random."""

    def __init__(self, configs: dict[int, Path], env: dict[str, str]) -> None:
        self.configs, self.ports, self.env = configs, list(configs), env
        self.procs: dict[int, Serve] = {}
        self.kills = 0

    async def start(self, port: int, http: aiohttp.ClientSession) -> None:
        self.procs[port] = Serve(self.configs[port], port, self.env)
        await self.procs[port].ready(http)

    async def chaos(self, http: aiohttp.ClientSession, stop: asyncio.Event, rnd: random.Random) -> None:
        while not stop.is_set():
            await asyncio.sleep(rnd.uniform(1.0, 4.0))
            if stop.is_set():
                break
            port = rnd.choice(self.ports)
            self.procs[port].kill()
            self.kills += 1
            await self.start(port, http)

    def stop(self) -> None:
        for p in self.procs.values():
            p.stop()


async def _deliver(http: aiohttp.ClientSession, cluster: Cluster, path: str, body: bytes,
                   headers: dict[str, str], rnd: random.Random) -> int:
    """POST until an instance acknowledges it (the platform's retry); the acknowledging status."""
    for _ in range(2000):
        port = rnd.choice(cluster.ports)
        try:
            async with http.post(f"http://127.0.0.1:{port}{path}", data=body, headers=headers,
                                 timeout=aiohttp.ClientTimeout(total=10)) as r:
                if r.status in (200, 201):
                    return r.status
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"never acknowledged: {path}")


def _intake_headers(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = hmac.new(INTAKE_SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Hotline-Timestamp": ts, "X-Hotline-Signature": sig, "Content-Type": "application/json"}


@pytest.mark.parametrize("instances", [1, 2])
async def test_sigkill_at_random_moments_loses_and_repeats_nothing(tmp_path: Path, store_url: str,
                                                                    instances: int) -> None:
    postgres = store_url.startswith("postgresql")
    if instances == 2 and not postgres:
        pytest.skip("several instances share PostgreSQL; SQLite serves one process")
    if instances == 1 and postgres:
        pytest.skip("the one-instance run is the SQLite one")
    rnd = random.Random(int(os.environ.get("HOTLINE_CRASH_SEED", "14")))
    fake = FeishuFake()
    server = await serve(fake.app)
    ports = [_free_port() for _ in range(instances)]
    doc = base_config(store_url, **org("feishu", {
        "mode": "webhook", "name": BOT_NAME, "app_id": "cli_test", "app_secret": "secret",
        "verification_token": "vtoken", "api_base": base_url(server)}))
    configs = {}
    for port in ports:
        doc["server"] |= {"host": "127.0.0.1", "port": port}
        configs[port] = tmp_path / f"hotline-{port}.toml"
        configs[port].write_text(toml(doc), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    cluster = Cluster(configs, env)
    stop = asyncio.Event()
    ylk, zhang = CHATS["feishu"]["YLK"], IDS["feishu"]["张承办"]
    numbers = [f"2026C{i:05d}" for i in range(TICKETS)]
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        try:
            for port in ports:  # one after the other: the first one migrates the store
                await cluster.start(port, http)
            chaos = asyncio.create_task(cluster.chaos(http, stop, rnd))

            async def one_ticket(number: str) -> None:
                body = json.dumps(ticket_body(number, content=f"诉求 {number}", unit="YLK"),
                                  ensure_ascii=False).encode()
                await _deliver(http, cluster, "/api/v1/tickets", body, _intake_headers(body), rnd)
                for n, command in enumerate((f"签收 {number}", f"进展 {number} 已联系来电人")):
                    event = message_event(f"@_user_1 {command}", chat_id=ylk, sender=zhang,
                                          event_id=f"ev-{number}-{n}",
                                          mentions=[mention("@_user_1", "ou_bot", BOT_NAME)])
                    await _deliver(http, cluster, f"/webhooks/feishu/{BOT}",
                                   json.dumps(event, ensure_ascii=False).encode(),
                                   {"Content-Type": "application/json"}, rnd)

            sem = asyncio.Semaphore(6)

            async def limited(number: str) -> None:
                async with sem:
                    await one_ticket(number)

            await asyncio.gather(*(limited(n) for n in numbers))
            await asyncio.sleep(8)  # kills go on while the acknowledged events are processed and sent
            stop.set()
            await chaos
            await _settled(store_url, len(numbers))
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            cluster.stop()
            await server.close()
    await _check(store_url, numbers, fake)
    print(f"\ncrash test: {instances} instance(s), {len(numbers) * 3} events, {cluster.kills} kills, "
          f"{len(fake.messages)} Feishu messages, {elapsed:.0f} s")


async def _settled(url: str, tickets: int) -> None:
    engine = create_engine(url)
    try:
        async def done() -> bool:
            async with engine.connect() as conn:
                pending = (await conn.execute(text(
                    "SELECT (SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL)"
                    " + (SELECT COUNT(*) FROM outbox WHERE state = 'pending')"))).scalar()
                events = (await conn.execute(text("SELECT COUNT(*) FROM inbox"))).scalar()
            return pending == 0 and events == 2 * tickets
        await until(done, seconds=240)
    finally:
        await engine.dispose()


async def _check(url: str, numbers: list[str], fake: FeishuFake) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            inbox = (await conn.execute(text("SELECT event_id, attempts, error FROM inbox"))).all()
            tickets = dict((await conn.execute(text("SELECT number, state FROM tickets"))).all())
            refused = (await conn.execute(text(
                "SELECT COUNT(*) FROM audit_events WHERE outcome = 'refused'"))).scalar()
            dead = (await conn.execute(text("SELECT COUNT(*) FROM outbox WHERE state <> 'sent'"))).scalar()
            sent = (await conn.execute(text("SELECT COUNT(*) FROM outbox WHERE channel = 'chat'"))).scalar()
    finally:
        await engine.dispose()
    assert sorted(e for e, _, _ in inbox) == sorted(f"ev-{n}-{i}" for n in numbers for i in range(2))
    assert {a for _, a, _ in inbox} == {1} and {e for _, _, e in inbox} == {None}  # each once, none failed
    assert sorted(tickets) == sorted(numbers) and set(tickets.values()) == {"accepted"}
    assert refused == 0  # no 进展 overtook its 签收
    assert dead == 0 and len(fake.messages) == sent  # every owed message reached Feishu, once
    texts = Counter(json.dumps(m["content"], ensure_ascii=False) for m in fake.messages)
    accepted = [t for t in texts if "已签收" in t]
    assert len(accepted) == len(numbers) and all(texts[t] == 1 for t in accepted)

