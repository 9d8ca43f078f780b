"""Crash test with several instances: ``hotline-bot serve`` processes (two on one PostgreSQL
database, one on SQLite) are SIGKILLed at random moments, every 1–4 s for the whole run, and
restarted at once, while a hotline, a Feishu group and an SMS provider keep sending mixed events,
retrying what was not acknowledged, as the platforms do: intake, 签收 and 进展 for each ticket, and
for every third ticket 答复, 同意 and, once the answer SMS reached the provider, the citizen's
reply ("1", "2" or an unclear text) through the provider's push. Afterwards every acknowledged event was
processed exactly once, the events of a ticket in order (a 进展 that overtook its 签收 would be
refused), every owed message reached Feishu once, every answer SMS reached the provider once,
every reply found its ticket, and nothing is stranded (inbox, outbox, SMS) after a quiet period.

The instances run the production claims (a dead instance's are taken over at once, see
``store.leases.Presence``) and are forked from a zygote that imported the bot once
(``tests.system.quick_serve``), so restarts cost no import time. CI size by default (about 1.5 min
for both stores); ``HOTLINE_CRASH_TICKETS=250`` gives ≥ 1,000 events; ``HOTLINE_CRASH_SEED`` picks
the kills."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from store.db import create_engine
from tests.bot.sms_rig import ALIYUN_KEY, ALIYUN_SECRET, ALIYUN_TEMPLATES, SIGN, TOKEN
from tests.conftest import INTAKE_SECRET, base_config, ticket_body
from tests.fakes.feishu_server import FeishuFake, mention, message_event
from tests.fakes.sms_servers import FakeAliyunSms, aliyun_up, push_body
from tests.handlers.test_workflow import GOOD_REPLY
from tests.system.test_crash import _free_port, wait_healthy
from tests.system.world import BOT, BOT_NAME, CHATS, IDS, ROOT, base_url, org, serve, toml, until

TICKETS = int(os.environ.get("HOTLINE_CRASH_TICKETS", "30"))
# The citizen's answer, in turn, per SMS ticket: 满意, 不满意, and one the classifier leaves unclear
# (the ticket stays answered; "服务站还是没开门" used here before now reads, rightly, as 不满意).
REPLIES = ("1", "2", "请问是哪个部门回复的")
STATE_AFTER = {"1": "archived", "2": "reopened", "请问是哪个部门回复的": "answered"}


class Zygote:
    """``tests.system.quick_serve zygote``: forks instance processes from an interpreter that has
    imported the bot already."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.logs = logs
        self.count = 0
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.system.quick_serve", "zygote"], cwd=ROOT,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def spawn(self, config: Path, port: int) -> Forked:
        """A new ``serve`` process for ``config``."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.count += 1
        log = self.logs / f"serve-{port}-{self.count}.log"
        self.proc.stdin.write(f"{config}\t{log}\n")
        self.proc.stdin.flush()
        return Forked(int(self.proc.stdout.readline()), port, log)

    def stop(self) -> float:
        """Stop forking (its instances stopped already); the CPU seconds they used."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        cpu = self.proc.stdout.read().strip()
        self.proc.wait(20)
        return float(cpu or "nan")


class Forked:
    """One forked ``serve`` process (the :class:`Serve` interface)."""

    def __init__(self, pid: int, port: int, log: Path) -> None:
        self.pid, self.url, self.log = pid, f"http://127.0.0.1:{port}", log

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    async def ready(self, http: aiohttp.ClientSession) -> None:
        await wait_healthy(http, self.url, self.alive, lambda: self.log.read_text(errors="replace"))

    def _end(self, sig: signal.Signals, seconds: float) -> bool:
        if self.alive():
            os.kill(self.pid, sig)
        deadline = time.monotonic() + seconds
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.01)  # the zygote reaps it at once
        return not self.alive()

    def kill(self) -> None:
        assert self._end(signal.SIGKILL, 10)

    def stop(self) -> None:
        if not self._end(signal.SIGTERM, 20):
            self.kill()


@dataclass
class Cluster:
    """Instances of one deployment, each on its own port, killed and restarted at random."""

    configs: dict[int, Path]
    zygote: Zygote
    procs: dict[int, Forked] = field(default_factory=dict)
    kill_times: list[float] = field(default_factory=list)
    start_seconds: list[float] = field(default_factory=list)
    cpu_seconds: float = float("nan")

    @property
    def ports(self) -> list[int]:
        return list(self.configs)

    async def start(self, port: int, http: aiohttp.ClientSession) -> None:
        began = time.monotonic()
        self.procs[port] = self.zygote.spawn(self.configs[port], port)
        await self.procs[port].ready(http)
        self.start_seconds.append(time.monotonic() - began)

    async def chaos(self, http: aiohttp.ClientSession, stop: asyncio.Event, rnd: random.Random) -> None:
        """Until ``stop``: every 1–4 s (the first within 1 s) SIGKILL a random instance that is up
        and restart it at once (in the background: the next kill does not wait for it). With none
        up, wait for one to be back, then 1–4 s more, so that one instance also serves between
        its kills."""
        restarting: dict[int, asyncio.Task[None]] = {}
        # The first kill within a second: a CI-sized stream can be over in ~5 s.
        pause = rnd.uniform(0.2, 1.0)
        while not await _stopped(stop, pause):
            pause = rnd.uniform(1.0, 4.0)
            up = [p for p in self.ports if p not in restarting]
            if not up:
                await asyncio.wait(restarting.values(), return_when=asyncio.FIRST_COMPLETED)
                continue
            port = rnd.choice(up)
            self.procs[port].kill()
            self.kill_times.append(time.monotonic())
            restarting[port] = asyncio.create_task(self._restart(port, http, restarting))
        await asyncio.gather(*restarting.values())

    async def _restart(self, port: int, http: aiohttp.ClientSession, restarting: dict[int, asyncio.Task[None]],
                       ) -> None:
        await self.start(port, http)
        del restarting[port]

    def stop(self) -> None:
        for p in self.procs.values():
            p.stop()
        self.cpu_seconds = self.zygote.stop()


async def _deliver(http: aiohttp.ClientSession, cluster: Cluster, path: str, body: bytes,
                   headers: dict[str, str], rnd: random.Random) -> None:
    """POST until an instance acknowledges it (the platform's retry)."""
    for _ in range(4000):
        port = rnd.choice(cluster.ports)
        try:
            async with http.post(f"http://127.0.0.1:{port}{path}", data=body, headers=headers,
                                 timeout=aiohttp.ClientTimeout(total=10)) as r:
                if r.status in (200, 201):
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"never acknowledged: {path}")


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` or until ``stop``; whether it was stopped."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


def _intake_headers(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = hmac.new(INTAKE_SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Hotline-Timestamp": ts, "X-Hotline-Signature": sig, "Content-Type": "application/json"}


def _phone(i: int) -> str:
    return f"139{i:08d}"


@pytest.mark.parametrize("instances", [1, 2])
async def test_sigkill_at_random_moments_loses_and_repeats_nothing(tmp_path: Path, store_url: str,
                                                                    instances: int) -> None:
    postgres = store_url.startswith("postgresql")
    if instances == 2 and not postgres:
        pytest.skip("several instances share PostgreSQL; SQLite serves one process")
    if instances == 1 and postgres:
        pytest.skip("the one-instance run is the SQLite one")
    rnd = random.Random(int(os.environ.get("HOTLINE_CRASH_SEED", "14")))
    feishu = FeishuFake()
    sms = FakeAliyunSms(keys={ALIYUN_KEY: ALIYUN_SECRET}, sign_names={SIGN}, templates=ALIYUN_TEMPLATES)
    servers = [await serve(feishu.app), await serve(sms.make_app())]
    ports = [_free_port() for _ in range(instances)]
    doc = base_config(store_url, **org("feishu", {
        "mode": "webhook", "name": BOT_NAME, "app_id": "cli_test", "app_secret": "secret",
        "verification_token": "vtoken", "api_base": base_url(servers[0])}))
    doc["sms"] = {"provider": "aliyun", "callback_token": TOKEN, "quiet_hours": "",
                  "aliyun": {"access_key_id": ALIYUN_KEY, "access_key_secret": ALIYUN_SECRET,
                             "sign_name": SIGN, "templates": {"answer": "SMS_100", "receipt": "SMS_200"},
                             "api_base": base_url(servers[1])}}
    configs = {}
    for port in ports:
        doc["server"] |= {"host": "127.0.0.1", "port": port}
        configs[port] = tmp_path / f"hotline-{port}.toml"
        configs[port].write_text(toml(doc), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    cluster = Cluster(configs, Zygote(env, tmp_path))
    stop = asyncio.Event()
    ylk = CHATS["feishu"]["YLK"]
    numbers = [f"2026C{i:05d}" for i in range(TICKETS)]
    replies = {numbers[i]: REPLIES[(i // 3) % 3] for i in range(0, TICKETS, 3)}
    events = 0
    started = time.monotonic()
    cpu0 = time.process_time()
    async with aiohttp.ClientSession() as http:
        try:
            for port in ports:  # one after the other: the first one migrates the store
                await cluster.start(port, http)
            chaos = asyncio.create_task(cluster.chaos(http, stop, rnd))

            async def say(number: str, n: int, who: str, command: str) -> None:
                nonlocal events
                event = message_event(f"@_user_1 {command}", chat_id=ylk, sender=IDS["feishu"][who],
                                      event_id=f"ev-{number}-{n}",
                                      mentions=[mention("@_user_1", "ou_bot", BOT_NAME)])
                await _deliver(http, cluster, f"/webhooks/feishu/{BOT}",
                               json.dumps(event, ensure_ascii=False).encode(),
                               {"Content-Type": "application/json"}, rnd)
                events += 1

            async def one_ticket(i: int, number: str) -> None:
                nonlocal events
                body = json.dumps(ticket_body(number, content=f"诉求 {number}", unit="YLK", citizen={
                    "name": "张三", "phone": _phone(i), "address": "松江区某路1号"}), ensure_ascii=False).encode()
                await _deliver(http, cluster, "/api/v1/tickets", body, _intake_headers(body), rnd)
                events += 1
                await say(number, 0, "张承办", f"签收 {number}")
                await say(number, 1, "张承办", f"进展 {number} 已联系来电人")
                if number not in replies:
                    return
                await say(number, 2, "张承办", f"答复 {number} {GOOD_REPLY}")
                await say(number, 3, "李科长", f"同意 {number}")
                citizens.append(asyncio.create_task(citizen(i, number)))

            async def citizen(i: int, number: str) -> None:
                """The citizen answers the SMS once it has reached the phone (the provider took it)."""
                nonlocal events
                await until(lambda: any(m.params.get("number") == number for m in sms.sent), seconds=900)
                up = aliyun_up(phone=_phone(i), content=replies[number], sequence_id=str(i))
                await _deliver(http, cluster, f"/webhooks/sms/aliyun?token={TOKEN}", push_body([up]),
                               {"Content-Type": "application/json"}, rnd)
                events += 1

            sem = asyncio.Semaphore(6)

            async def limited(i: int, number: str) -> None:
                async with sem:
                    await one_ticket(i, number)

            citizens: list[asyncio.Task[None]] = []
            await asyncio.gather(*(limited(i, n) for i, n in enumerate(numbers)))
            await asyncio.gather(*citizens)
            last_ack = time.monotonic()
            await asyncio.sleep(4)  # kills go on while the acknowledged events are processed and sent
            stop.set()
            await chaos
            await _settled(store_url, len(numbers), len(replies))
            elapsed = time.monotonic() - started
            await asyncio.sleep(3)  # a quiet period: nothing may turn up late or stay behind
        finally:
            stop.set()
            cluster.stop()
            for server in servers:
                await server.close()
    during = [t for t in cluster.kill_times if t < last_ack]
    # Kills fell all through the event stream, not only after it: one every 1–4 s, plus the start
    # of the only instance when none was up (3–8 s on a loaded machine).
    assert len(during) >= max(1, int((last_ack - started) / 12)), (len(during), last_ack - started)
    await _check(store_url, numbers, replies, feishu, sms)
    print(f"\ncrash test: {instances} instance(s), {events} events ({len(replies)} SMS replies), "
          f"{len(cluster.kill_times)} kills ({len(during)} during the stream), {len(feishu.messages)} Feishu "
          f"messages, {len(sms.sent)} answer SMS, stream {last_ack - started:.0f} s, all settled {elapsed:.0f} s, "
          f"start to /healthz median {statistics.median(cluster.start_seconds):.1f} s, "
          f"instances' CPU {cluster.cpu_seconds:.0f} s, test process CPU {time.process_time() - cpu0:.0f} s")


async def _settled(url: str, tickets: int, sms_tickets: int) -> None:
    engine = create_engine(url)
    try:
        async def done() -> bool:
            async with engine.connect() as conn:
                pending = (await conn.execute(text(
                    "SELECT (SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL)"
                    " + (SELECT COUNT(*) FROM outbox WHERE state <> 'sent')"
                    " + (SELECT COUNT(*) FROM sms_messages WHERE state NOT IN ('sent', 'delivered'))"))).scalar()
                events = (await conn.execute(text("SELECT COUNT(*) FROM inbox"))).scalar()
            return pending == 0 and events == 2 * tickets + 2 * sms_tickets
        await until(done, seconds=900)
    finally:
        await engine.dispose()


async def _check(url: str, numbers: list[str], replies: dict[str, str], feishu: FeishuFake,
                 sms: FakeAliyunSms) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            inbox = (await conn.execute(text("SELECT event_id, attempts, error FROM inbox"))).all()
            tickets = dict((await conn.execute(text("SELECT number, state FROM tickets"))).all())
            refused = (await conn.execute(text(
                "SELECT COUNT(*) FROM audit_events WHERE outcome = 'refused'"))).scalar()
            outbox = dict((await conn.execute(text(
                "SELECT channel || ':' || state, COUNT(*) FROM outbox GROUP BY channel, state"))).all())
            messages = (await conn.execute(text(
                "SELECT t.number, m.state, m.provider_id, m.out_id FROM sms_messages m"
                " JOIN tickets t ON t.id = m.ticket_id"))).all()
            matched = (await conn.execute(text(
                "SELECT t.number, r.text FROM sms_replies r JOIN tickets t ON t.id = r.ticket_id"))).all()
    finally:
        await engine.dispose()
    want = [f"ev-{n}-{i}" for n in numbers for i in range(4 if n in replies else 2)]
    assert sorted(e for e, _, _ in inbox) == sorted(want)
    assert {a for _, a, _ in inbox} == {1} and {e for _, _, e in inbox} == {None}  # each once, none failed
    assert tickets == {n: STATE_AFTER[replies[n]] if n in replies else "accepted" for n in numbers}
    assert refused == 0  # no event overtook an earlier one of its ticket
    # Nothing stranded: every owed row sent, none pending or dead.
    assert set(outbox) <= {"chat:sent", "sms:sent"}, outbox
    assert outbox["chat:sent"] == len(feishu.messages)  # every owed message reached Feishu, once
    texts = Counter(json.dumps(m["content"], ensure_ascii=False) for m in feishu.messages)
    for marker, count in (("已签收", len(numbers)), ("的答复，请审核", len(replies))):
        shown = [t for t in texts if marker in t]
        assert len(shown) == count and all(texts[t] == 1 for t in shown), marker
    # Every answer SMS reached the provider exactly once and is recorded as sent.
    assert outbox.get("sms:sent", 0) == len(replies) == len(sms.sent)
    assert sorted(m.params["number"] for m in sms.sent) == sorted(replies)
    provider = {m.out_id: m.provider_id for m in sms.sent}
    assert sorted(n for n, _, _, _ in messages) == sorted(replies)
    # A send cut short by a kill after Alibaba took it is settled by QuerySendDetails, which gives
    # our OutId but no BizId: that record holds the OutId (bot/sms_gateway.py, adapters/sms/aliyun.py).
    odd = [(m, provider.get(m[3])) for m in messages
           if m[1] != "sent" or m[3] not in provider or m[2] not in (provider[m[3]], m[3])]
    assert not odd, odd
    # Every citizen reply found its ticket, once.
    assert sorted(matched) == sorted(replies.items())
