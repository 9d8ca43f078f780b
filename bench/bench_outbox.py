"""Outbox drain benchmark: how much of a platform's allowed rate the sender uses, and whether it
ever gets a "too fast" answer.

The real app (``create_app``, with its sender) runs in this process on a fresh SQLite store; the
platform's fake server from ``tests/fakes`` runs in-process on a port and enforces the limit the
way the platform does (a sliding window of C messages per W seconds). ``--messages`` rows for one
group are committed at once, then the sender drains them. Scenarios (limits scaled so a run
takes seconds, the same numbers given to the bot's config and to the fake):

- ``wecom``: 消息推送 group robot, 20 per minute scaled to 20 per second (errcode 45009);
- ``dingtalk``: custom robot with 加签, 20 per minute, the fake's clock running 60x so its minute
  is one second (errcode 130101, and the robot is blocked for 10 fake minutes = 10 s);
- ``feishu``: app API to one group, 5 per second scaled to 20 per second (code 230020).

Reported per scenario: messages accepted, "too fast" answers, the span from first to last
accepted message, and the fraction of the allowed rate used = the shortest span the window
permits for that many messages, ``(ceil(N / C) - 1) * W``, divided by the measured span
(1.0 = as fast as the platform allows). Targets: >= 0.90 and 0 "too fast". Medians of ``--runs``.

Usage: ``python bench/bench_outbox.py [--scenarios wecom,dingtalk,feishu] [--messages 200]
[--rate 20] [--runs 3]``

``--cost``: the sender's own cost instead, with no limit binding: ``--messages`` rows spread over
``--groups`` Feishu groups (the fake answers at once), drained by the sender the app would start
(poll 0.5 s), on SQLite and, with ``--pg-url`` / ``HOTLINE_TEST_PG_URL``, on a fresh PostgreSQL
database; then ``--idle`` seconds of polling the empty outbox. Reported: messages/s, process CPU
per message, statements per message, the sender loop's statements per idle poll and the process's
CPU per idle minute; ``bot/sender.py`` at each ``--compare`` revision runs beside the work tree's,
interleaved, with same-run ratios. ``BENCH_DUMP=1`` prints the sender loop's statements.
``python bench/bench_outbox.py --cost --messages 2000 --groups 50 --runs 3``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _store import fresh_pg  # noqa: E402  (bench/, this script's own folder)

from bot.app import create_app  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.context import CTX  # noqa: E402
from bot.messages import Destination, OutgoingMessage  # noqa: E402
from bot.outbox import Target  # noqa: E402
from bot.sender import SENDER, Sender  # noqa: E402
from tests.fakes import dingtalk_server, feishu_server, wecom_server  # noqa: E402

SCENARIOS = ("wecom", "dingtalk", "feishu")
DING_ROBOT_TOKEN = "benchrobot"
DING_ROBOT_SECRET = "SECbenchsecret"
SEND_PATHS = {"wecom": "/cgi-bin/webhook/send", "dingtalk": "/robot/send",
              "feishu": "/open-apis/im/v1/messages"}
TOO_FAST = {"wecom": {45009}, "dingtalk": {130101}, "feishu": {230020, 99991400, 11232}}


class ScaledClock:
    """Real time running ``factor`` times faster (so a fake's minute passes in a second)."""

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self._origin = datetime.now(UTC)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        """The scaled now."""
        return self._origin + timedelta(seconds=(time.monotonic() - self._t0) * self.factor)


@dataclass
class Recorder:
    """What the fake answered on its send endpoint, with arrival times."""

    path: str
    too_fast_codes: set[int]
    accepted: list[float] = field(default_factory=list)
    too_fast: list[float] = field(default_factory=list)
    other: dict[int, int] = field(default_factory=dict)
    expected: int = 0
    all_accepted: asyncio.Event = field(default_factory=asyncio.Event)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Record each answer of the send endpoint."""
        t = time.perf_counter()
        resp = await handler(request)
        if request.path == self.path and isinstance(resp, web.Response) and resp.body is not None:
            try:
                data = json.loads(resp.body)  # type: ignore[arg-type]
            except ValueError:
                data = {}
            code = int(data.get("errcode", data.get("code", resp.status)) or 0)
            if code == 0 and resp.status == 200:
                self.accepted.append(t)
                if len(self.accepted) >= self.expected:
                    self.all_accepted.set()
            elif code in self.too_fast_codes or resp.status == 429:
                self.too_fast.append(t)
            else:
                self.other[code] = self.other.get(code, 0) + 1
        return resp


def fake_for(scenario: str, rate: int) -> tuple[web.Application, int, float]:
    """(fake app, C, W seconds) as the platform would enforce, scaled."""
    if scenario == "wecom":
        return wecom_server.FakeWeCom(robot_rate=(rate, 1.0)).app, rate, 1.0
    if scenario == "dingtalk":
        fake = dingtalk_server.FakeDingTalk(clock=ScaledClock(60.0),
                                            robots={DING_ROBOT_TOKEN: DING_ROBOT_SECRET},
                                            robot_per_minute=rate)
        return fake.app, rate, 1.0
    return feishu_server.FeishuFake(chat_qps=rate).app, rate, 1.0


def config_doc(scenario: str, store: Path, api: str, rate: int) -> dict[str, Any]:
    """A config whose unit group is reached through the scenario's path, limits scaled."""
    if scenario == "wecom":
        bot = {"mode": "webhook", "name": "热线助手", "token": "T",
               "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "api_base": api,
               "robot_rate_limit": rate, "robot_rate_window": 1.0}
        chat = {"platform": "wecom", "bot": "main", "chat_id": "wrGROUP1", "robot_key": "ROBOTKEY"}
    elif scenario == "dingtalk":
        bot = {"mode": "http", "name": "热线助手", "app_key": "dingappkey", "app_secret": "app-secret",
               "api_base": api, "oapi_base": api, "robot_rate_limit": rate, "robot_rate_window": 1.0}
        chat = {"platform": "dingtalk", "bot": "main", "chat_id": "cidGroup1==",
                "robot_token": DING_ROBOT_TOKEN, "robot_secret": DING_ROBOT_SECRET}
    else:
        bot = {"mode": "webhook", "name": "热线助手", "app_id": "cli_test", "app_secret": "secret",
               "verification_token": "v", "api_base": api, "chat_messages_per_second": rate}
        chat = {"platform": "feishu", "bot": "main", "chat_id": "oc_group"}
    return {
        "server": {"secret": "bench-server-secret"},
        "store": {"url": f"sqlite+aiosqlite:///{store}"},
        "procedure": {"preset": "songjiang"},
        "intake": {"secret": "bench-intake-secret"},
        "api": {"tokens": ["bench-api-token"]},
        "units": [{"code": "BGS", "name": "局办公室", "chats": [chat]}],
        "people": [{"name": "王办公", "mobile": "13800000001", "roles": [{"unit": "BGS", "role": "office"}]}],
        "platforms": {"console": {"enabled": False}, scenario: {"main": bot}},
        "scheduler": {"enabled": False},
    }


@dataclass
class Result:
    """One drain."""

    scenario: str
    accepted: int
    too_fast: int
    other: dict[int, int]
    span: float
    optimal_span: float
    drain_seconds: float

    @property
    def fraction(self) -> float:
        """Share of the allowed rate used (1.0 = as fast as the window permits)."""
        if self.span <= 0:
            return float("nan")
        return self.optimal_span / self.span


async def drain_once(scenario: str, messages: int, rate: int, tmp: Path) -> Result:
    """Commit ``messages`` rows for one group, let the sender drain them, record the fake's view."""
    fake_app, cap, window = fake_for(scenario, rate)
    rec = Recorder(SEND_PATHS[scenario], TOO_FAST[scenario], expected=messages)
    fake_app.middlewares.insert(0, rec.middleware)
    fake_runner = web.AppRunner(fake_app, access_log=None)
    await fake_runner.setup()
    site = web.TCPSite(fake_runner, "127.0.0.1", 0)
    await site.start()
    port = fake_runner.addresses[0][1]
    work = Path(tempfile.mkdtemp(dir=tmp))
    config = parse_config(config_doc(scenario, work / "hotline.db", f"http://127.0.0.1:{port}", rate))
    app = create_app(config, with_background=True)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()  # starts the store, adapters, inbox and the sender (no listening socket needed)
    ctx = app[CTX]
    try:
        unit_chat = ctx.directory.unit_destinations("BGS")[0]
        assert isinstance(unit_chat, Destination)
        async with ctx.sessions.begin() as s:
            for i in range(messages):
                ctx.outbox.add(s, Target.to_chat(unit_chat),
                               OutgoingMessage(f"【催办】工单 2026112300{i:02d} 距办理时限还有 1 个工作日，请尽快答复。"),
                               kind="notice")
        t0 = time.perf_counter()
        app[SENDER].wake()
        optimal = (math.ceil(messages / cap) - 1) * window
        try:
            await asyncio.wait_for(rec.all_accepted.wait(), 3 * optimal + 60)
        except TimeoutError:
            pass  # reported as fewer accepted than queued
        drain = time.perf_counter() - t0
    finally:
        await runner.cleanup()
        await fake_runner.cleanup()
    span = rec.accepted[-1] - rec.accepted[0] if len(rec.accepted) > 1 else 0.0
    return Result(scenario, len(rec.accepted), len(rec.too_fast), rec.other, span, optimal, drain)


async def main(args: argparse.Namespace) -> None:
    """Run every scenario ``--runs`` times; print each run, then medians."""
    logging.basicConfig(level=logging.ERROR)
    scenarios = [s for s in args.scenarios.split(",") if s]
    results: dict[str, list[Result]] = {}
    print(f"# {args.messages} messages to one group, limit {args.rate} per 1 s window, "
          f"{args.runs} runs", flush=True)
    with tempfile.TemporaryDirectory(prefix="hotline-outbox-") as d:
        for run in range(args.runs):
            for scenario in scenarios:
                r = await drain_once(scenario, args.messages, args.rate, Path(d))
                results.setdefault(scenario, []).append(r)
                print(f"run {run + 1} {scenario:9s} accepted {r.accepted:4d}/{args.messages}  "
                      f"too fast {r.too_fast:3d}  span {r.span:6.2f} s (best {r.optimal_span:.0f} s)  "
                      f"fraction {r.fraction:5.2f}  drain {r.drain_seconds:6.2f} s"
                      + (f"  other answers {r.other}" if r.other else ""), flush=True)
    print()
    print(f"{'scenario':10s} {'accepted':>8s} {'too fast':>8s} {'span s':>7s} {'fraction':>8s}  targets")
    for scenario, rs in results.items():
        frac = statistics.median(r.fraction for r in rs)
        fast = statistics.median(r.too_fast for r in rs)
        ok = "OK" if frac >= 0.9 and max(r.too_fast for r in rs) == 0 and \
            min(r.accepted for r in rs) == args.messages else "MISSED"
        print(f"{scenario:10s} {statistics.median(r.accepted for r in rs):8.0f} {fast:8.0f} "
              f"{statistics.median(r.span for r in rs):7.2f} {frac:8.2f}  {ok} (>=0.90, 0 too fast)")


# --- The sender's own cost: no limit binding, many groups -----------------------------------

COST_SEND_PATH = "/open-apis/im/v1/messages"


def cost_config(url: str, api: str, groups: int) -> dict[str, Any]:
    """``groups`` unit groups on one Feishu app bot whose limits never bind."""
    bot = {"mode": "webhook", "name": "热线助手", "app_id": "cli_test", "app_secret": "secret",
           "verification_token": "v", "api_base": api, "chat_messages_per_second": 100_000}
    units: list[dict[str, Any]] = [{"code": "BGS", "name": "局办公室",
                                    "chats": [{"platform": "feishu", "bot": "main", "chat_id": "oc_office"}]}]
    units += [{"code": f"G{g:02d}", "name": f"单位{g:02d}", "parent": "BGS",
               "chats": [{"platform": "feishu", "bot": "main", "chat_id": f"oc_g{g:02d}"}]} for g in range(groups)]
    return {
        "server": {"secret": "bench-server-secret"},
        "store": {"url": url},
        "procedure": {"preset": "songjiang"},
        "intake": {"secret": "bench-intake-secret"},
        "api": {"tokens": ["bench-api-token"]},
        "units": units,
        "people": [{"name": "王办公", "mobile": "13800000001", "roles": [{"unit": "BGS", "role": "office"}]}],
        "platforms": {"console": {"enabled": False}, "feishu": {"main": bot}},
        "scheduler": {"enabled": False},
    }


def sender_class(rev: str | None) -> type[Any]:
    """The :class:`bot.sender.Sender` of the work tree, or of ``bot/sender.py`` at git ``rev``
    (run against the work tree's other modules and store schema)."""
    if rev is None:
        return Sender
    source = subprocess.run(["git", "show", f"{rev}:bot/sender.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType(f"bench_sender_{rev}")
    exec(compile(source, f"{rev}:bot/sender.py", "exec"), module.__dict__)
    return module.Sender  # type: ignore[no-any-return]


class Statements:
    """Statements sent to the store (``before_cursor_execute``): those of the sender's loop (its
    claims; a send's own statements run in tasks of their own) and all the others."""

    def __init__(self, engine: Any) -> None:
        self.sender = 0
        self.total = 0
        self.kinds: dict[str, int] = {}
        event.listen(engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.total += 1
        task = asyncio.current_task()
        if task is None or task.get_name() != "outbox-sender":
            return
        self.sender += 1
        if os.environ.get("BENCH_DUMP"):
            print("   SQL:", " ".join(statement.split())[:160])
        kind = ("advisory lock" if "pg_advisory_xact_lock" in statement
                else "distinct claimers" if statement.lstrip().upper().startswith("SELECT DISTINCT")
                else "presence" if "pg_locks" in statement else None)
        if kind:
            self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def reset(self) -> None:
        """Start counting afresh."""
        self.sender = self.total = 0
        self.kinds = {}


@dataclass
class Cost:
    """One drain of ``rows`` over ``groups`` and the idle time after it."""

    store: str
    variant: str
    rows: int
    drain_seconds: float
    drain_cpu: float
    drain_statements: int
    passes: int
    idle_polls: int
    idle_statements: int
    idle_others: int
    idle_cpu_per_minute: float
    idle_kinds: dict[str, int]
    run: int = 0

    @property
    def rate(self) -> float:
        """Messages per second drained."""
        return self.rows / self.drain_seconds

    @property
    def per_poll(self) -> float:
        """Statements of the sender's loop per idle pass."""
        return self.idle_statements / max(self.idle_polls, 1)


async def cost_once(store: str, variant: str, sender_cls: type[Any], args: argparse.Namespace,
                    tmp: Path) -> Cost:
    """Drain ``--messages`` rows spread over ``--groups`` groups with ``sender_cls`` started as the
    app would (poll 0.5 s); then leave it polling the empty outbox for ``--idle`` seconds."""
    fake = feishu_server.FeishuFake(chat_qps=1_000_000, app_qps=1_000_000)
    rec = Recorder(COST_SEND_PATH, TOO_FAST["feishu"], expected=args.messages)
    fake.app.middlewares.insert(0, rec.middleware)
    fake_runner = web.AppRunner(fake.app, access_log=None)
    await fake_runner.setup()
    await web.TCPSite(fake_runner, "127.0.0.1", 0).start()
    port = fake_runner.addresses[0][1]
    drop = None
    if store == "postgresql":
        url, drop = await fresh_pg(args.pg_url)
    else:
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(dir=tmp)) / 'hotline.db'}"
    app = create_app(parse_config(cost_config(url, f"http://127.0.0.1:{port}", args.groups)),
                     with_background=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    ctx = app[CTX]
    sender = sender_cls(ctx, batch=args.batch)
    passes = [0]
    run_once = sender.run_once

    async def counted() -> int:
        passes[0] += 1
        return await run_once()
    sender.run_once = counted
    try:
        groups = [ctx.directory.unit_destinations(f"G{g:02d}")[0] for g in range(args.groups)]
        async with ctx.sessions.begin() as s:
            for i in range(args.messages):
                ctx.outbox.add(s, Target.to_chat(groups[i % len(groups)]),
                               OutgoingMessage(f"【催办】{i // len(groups):05d} 距办理时限还有 1 个工作日。"),
                               kind="notice")
        stmts = Statements(ctx.engine)
        await sender.start()
        cpu0, t0 = time.process_time(), time.perf_counter()
        sender.wake()
        try:
            await asyncio.wait_for(rec.all_accepted.wait(), 120)
        except TimeoutError:
            pass
        drain, drain_cpu = time.perf_counter() - t0, time.process_time() - cpu0
        drained = len(rec.accepted)
        drain_statements, drain_passes = stmts.total, passes[0]
        await asyncio.sleep(1.5)  # the last records written; the sender settles into its poll
        stmts.reset()
        passes[0] = 0
        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(args.idle)
        idle_cpu = (time.process_time() - cpu0) / (time.perf_counter() - t0) * 60
        idle = Cost(store, variant, drained, drain, drain_cpu, drain_statements, drain_passes,
                    passes[0], stmts.sender, stmts.total - stmts.sender, idle_cpu, dict(stmts.kinds))
        _check_order(fake.messages, args.groups)
    finally:
        await sender.stop()
        await runner.cleanup()
        await fake_runner.cleanup()
        if drop is not None:
            await drop()
    return idle


def _check_order(messages: list[dict[str, Any]], groups: int) -> None:
    """Each group got its messages once and in order."""
    per_group: dict[str, list[str]] = {}
    for m in messages:
        per_group.setdefault(m["receive_id"], []).append(m["content"]["text"][4:9])
    for chat, seen in per_group.items():
        if seen != sorted(seen) or len(set(seen)) != len(seen):
            raise AssertionError(f"{chat}: messages out of order or doubled")


async def cost_main(args: argparse.Namespace) -> None:
    """``--cost``: each variant (the work tree's sender, and ``bot/sender.py`` at each
    ``--compare`` revision) on each store, interleaved run by run; per-run lines, then medians and
    same-run ratios against the first variant."""
    logging.basicConfig(level=logging.ERROR)
    variants = [("tree", sender_class(None))] + [(rev, sender_class(rev)) for rev in args.compare.split(",") if rev]
    stores = ["sqlite"] + (["postgresql"] if args.pg_url else [])
    print(f"# sender cost: {args.messages} rows over {args.groups} groups, batch {args.batch}, limits not binding; "
          f"idle {args.idle:.0f} s at poll 0.5 s; {args.runs} runs; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    results: list[Cost] = []
    with tempfile.TemporaryDirectory(prefix="hotline-sender-cost-") as d:
        for run in range(args.runs):
            order = variants if run % 2 == 0 else variants[::-1]
            for store in stores:
                for name, cls in order:
                    c = await cost_once(store, name, cls, args, Path(d))
                    c.run = run
                    results.append(c)
                    print(f"run {run + 1} {store:10s} {name:8s} drained {c.rows:5d} in {c.drain_seconds:6.2f} s "
                          f"= {c.rate:6.0f} msg/s  CPU {c.drain_cpu * 1000 / max(c.rows, 1):5.2f} ms/msg  "
                          f"{c.drain_statements / max(c.rows, 1):5.2f} stmt/msg  {c.passes:3d} passes | idle "
                          f"{c.per_poll:4.1f} stmt/poll ({c.idle_polls} polls; others {c.idle_others}) "
                          f"CPU {c.idle_cpu_per_minute * 1000:6.0f} ms/min {c.idle_kinds}", flush=True)
    print()
    print(f"{'store':10s} {'variant':8s} {'msg/s':>7s} {'ratio':>6s} {'ms CPU/msg':>10s} {'stmt/msg':>8s} "
          f"{'idle stmt/poll':>14s} {'idle CPU ms/min':>15s} {'ratio':>6s}")
    med = statistics.median
    for store in stores:
        for name, _ in variants:
            rs = [r for r in results if r.store == store and r.variant == name]
            base = {r.run: r for r in results if r.store == store and r.variant == variants[0][0]}
            rate_ratio = med(r.rate / base[r.run].rate for r in rs)
            cpu_ratio = med(r.idle_cpu_per_minute / base[r.run].idle_cpu_per_minute for r in rs)
            print(f"{store:10s} {name:8s} {med(r.rate for r in rs):7.0f} {rate_ratio:6.2f} "
                  f"{med(r.drain_cpu * 1000 / max(r.rows, 1) for r in rs):10.2f} "
                  f"{med(r.drain_statements / max(r.rows, 1) for r in rs):8.2f} "
                  f"{med(r.per_poll for r in rs):14.1f} {med(r.idle_cpu_per_minute * 1000 for r in rs):15.0f} "
                  f"{cpu_ratio:6.2f}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--messages", type=int, default=200)
    p.add_argument("--rate", type=int, default=20, help="messages per 1 s window (scaled limit)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--cost", action="store_true",
                   help="the sender's own cost: --messages rows over --groups groups, limits not binding")
    p.add_argument("--groups", type=int, default=50)
    p.add_argument("--batch", type=int, default=100,
                   help="rows claimed per pass (--cost; the app's sender claims 100; 1 = the cost of a pass)")
    p.add_argument("--idle", type=float, default=6.0, help="seconds of polling an empty outbox (--cost)")
    p.add_argument("--compare", default="fd18661",
                   help="git revisions whose bot/sender.py runs beside the work tree's (--cost)")
    p.add_argument("--pg-url", default=os.environ.get("HOTLINE_TEST_PG_URL", ""),
                   help="a PostgreSQL server to run on as well (--cost); default HOTLINE_TEST_PG_URL")
    return p.parse_args(argv)


if __name__ == "__main__":
    _args = parse_args(sys.argv[1:])
    asyncio.run(cost_main(_args) if _args.cost else main(_args))
