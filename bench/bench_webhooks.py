"""Webhook ingestion benchmark: verify + decrypt + inbox commit + ack, per platform.

For each platform the real bot runs as a separate process (``hotline-bot serve``, its chat bot in
webhook mode, a fresh SQLite store in a temp dir, the platform's fake API server from
``tests/fakes`` for its answers), and so does a bare aiohttp endpoint that answers 200 with no
work. 32 concurrent senders (one aiohttp ClientSession) post pre-built, signed/encrypted,
distinct group @mention events for ``--warmup`` + ``--duration`` seconds; only the requests that
finish inside the measured window count. Reported: events/s, p50/p99 ack latency and the ratio to
the bare endpoint measured in the same run (medians over ``--runs``).

Modes:
- ``full``: ``hotline-bot serve`` as deployed; the dispatcher processes every event after its
  ack, in the same process, competing for the CPU (the realistic figure).
- ``ingest``: the same app with the inbox's background processing stopped after start-up, so
  only the ack path runs (events stay unprocessed in the store, as during a backlog).

Usage: ``python bench/bench_webhooks.py [--platforms wecom,dingtalk,feishu] [--modes full,ingest]
[--runs 3] [--duration 10] [--warmup 2] [--concurrency 32]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes import dingtalk_server, feishu_server, wecom_server  # noqa: E402

PLATFORMS = ("wecom", "dingtalk", "feishu")
BOT_NAME = "热线助手"
WECOM_TOKEN = "benchtoken"
WECOM_AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters
DING_SECRET = "bench-app-secret"
FEISHU_KEY = "bench encrypt key"
FEISHU_VTOKEN = "bench-vtoken"
TEXTS = ("待办", "查询 0001", "签收 202611230001", "进展 202611230001 已协调社区，明日现场核实",
         "帮助")
"""Commands people type after @-ing the bot (the dispatcher answers each one)."""


# -- config -------------------------------------------------------------------------------------

def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(doc: dict[str, Any], prefix: str = "") -> str:
    """A small TOML writer: dicts become tables, everything else inline."""
    scalars = [f"{k} = {_toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    out = ([f"[{prefix}]"] if prefix and scalars else []) + scalars
    for k, v in doc.items():
        if isinstance(v, dict):
            out.append(to_toml(v, f"{prefix}.{k}" if prefix else k))
    return "\n".join(out) + "\n"


def chat_of(platform: str) -> str:
    """The group the events come from."""
    return {"wecom": "wrGROUP1", "dingtalk": "cidGroup1==", "feishu": "oc_group"}[platform]


def sender_of(platform: str) -> str:
    """The platform id of the person who writes."""
    return {"wecom": "zhangsan", "dingtalk": "staff-1", "feishu": "ou_sender"}[platform]


def bot_table(platform: str, api: str) -> dict[str, Any]:
    """``[platforms.<platform>.main]`` in webhook mode, answering through the fake at ``api``."""
    if platform == "wecom":
        return {"mode": "webhook", "name": BOT_NAME, "token": WECOM_TOKEN, "aes_key": WECOM_AES,
                "corp_id": "wwCORP", "agent_id": 1000002, "app_secret": "APPSECRET", "api_base": api}
    if platform == "dingtalk":
        return {"mode": "http", "name": BOT_NAME, "app_key": "dingappkey", "app_secret": DING_SECRET,
                "api_base": api, "oapi_base": api}
    return {"mode": "webhook", "name": BOT_NAME, "app_id": "cli_test", "app_secret": "secret",
            "verification_token": FEISHU_VTOKEN, "encrypt_key": FEISHU_KEY, "api_base": api}


def config_doc(platform: str, store: Path, api: str, port: int) -> dict[str, Any]:
    """The bot's config: one office, one unit whose group is where the events come from."""
    def chat(chat_id: str) -> dict[str, str]:
        return {"platform": platform, "bot": "main", "chat_id": chat_id}

    return {
        "server": {"secret": "bench-server-secret", "host": "127.0.0.1", "port": port},
        "store": {"url": f"sqlite+aiosqlite:///{store}"},
        "procedure": {"preset": "songjiang"},
        "intake": {"secret": "bench-intake-secret"},
        "api": {"tokens": ["bench-api-token"]},
        "units": [
            {"code": "BGS", "name": "局办公室", "chats": [chat("office-chat")]},
            {"code": "YLK", "name": "养老服务科", "parent": "BGS", "chats": [chat(chat_of(platform))]},
        ],
        "people": [
            {"name": "王办公", "mobile": "13800000001", "roles": [{"unit": "BGS", "role": "office"}]},
            {"name": "李科长", "mobile": "13800000002", "roles": [{"unit": "YLK", "role": "leader"}]},
            {"name": "张承办", "mobile": "13800000003", "ids": {platform: sender_of(platform)},
             "roles": [{"unit": "YLK", "role": "handler"}]},
        ],
        "platforms": {"console": {"enabled": False}, platform: {"main": bot_table(platform, api)}},
    }


# -- events -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """One pre-built POST."""

    path: str
    body: bytes
    headers: dict[str, str]


def build_events(platform: str, count: int) -> list[Request]:
    """``count`` distinct, signed (and for WeCom/Feishu encrypted) group @mention events."""
    out: list[Request] = []
    now_ms = int(time.time() * 1000)
    for i in range(count):
        text = TEXTS[i % len(TEXTS)]
        if platform == "wecom":
            body = wecom_server.aibot_text(f"@{BOT_NAME} {text}", userid=sender_of(platform),
                                           chatid=chat_of(platform), msgid=uuid.uuid4().hex)
            query, raw = wecom_server.build_callback(
                WECOM_TOKEN, WECOM_AES, "", json.dumps(body, ensure_ascii=False),
                nonce=uuid.uuid4().hex[:10])
            out.append(Request(f"/webhooks/wecom/main?{query}", raw, {"Content-Type": "application/json"}))
        elif platform == "dingtalk":  # one signed timestamp per callback: a pair seen twice needs the same body
            payload = dingtalk_server.robot_message(
                text=f" {text}", msg_id=f"msg{uuid.uuid4().hex}", sender_staff_id=sender_of(platform),
                conversation_id=chat_of(platform), create_at=now_ms - i, sender_nick="张承办")
            headers, raw = dingtalk_server.http_callback(DING_SECRET, payload, now_ms - i)
            out.append(Request("/webhooks/dingtalk/main", raw, headers))
        else:
            envelope = feishu_server.message_event(
                f"@_user_1 {text}", chat_id=chat_of(platform), sender=sender_of(platform),
                mentions=[feishu_server.mention("@_user_1", "ou_bot", BOT_NAME)], token=FEISHU_VTOKEN)
            raw, headers = feishu_server.callback_request(
                envelope, encrypt_key=FEISHU_KEY, timestamp=str(now_ms // 1000),
                nonce=uuid.uuid4().hex[:12])
            out.append(Request("/webhooks/feishu/main", raw, headers))
    return out


def build_bare(count: int) -> list[Request]:
    """Bodies of the same size class for the bare endpoint."""
    raw = json.dumps({"encrypt": "x" * 600}).encode()
    return [Request("/bare", raw, {"Content-Type": "application/json"})] * count


# -- servers ------------------------------------------------------------------------------------

def serve_bare(port: int) -> None:
    """The bare endpoint: 200, no work (run in a child process)."""
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", ok)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def serve_ingest_only(config_path: str, port: int) -> None:
    """The real app with the inbox's background processing stopped once started."""
    import logging

    from bot.app import create_app
    from bot.config import load_config
    from bot.wiring import INBOX

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(load_config(config_path))

    async def stop_processing(app: web.Application) -> None:
        await app[INBOX].stop()

    app.on_startup.append(stop_processing)
    # As `hotline-bot serve` runs (no access log unless -v); HOTLINE_BENCH_ACCESS_LOG=1 measures its cost.
    logged = os.environ.get("HOTLINE_BENCH_ACCESS_LOG") == "1"
    web.run_app(app, host="127.0.0.1", port=port, print=None, **({} if logged else {"access_log": None}))


async def wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    """Poll ``url`` until it answers (or the process dies)."""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                async with http.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {seconds} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a child server and wait for it."""
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def start_fake(platform: str) -> tuple[web.AppRunner, str]:
    """The platform's fake API (answers, tokens) on a free port, in this process."""
    if platform == "wecom":
        app = wecom_server.FakeWeCom(appchats=(chat_of("wecom"), "office-chat")).app
    elif platform == "dingtalk":
        app = dingtalk_server.FakeDingTalk(app_secret=DING_SECRET).app
    else:
        app = feishu_server.FeishuFake().app
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


# -- load ---------------------------------------------------------------------------------------

@dataclass
class Result:
    """One measured window."""

    label: str
    events_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict[int, int] = field(default_factory=dict)
    completed: int = 0  # every 200 answer of the run, warm-up included
    server_cpu_ms: float = float("nan")  # server CPU per event over the whole run
    processed_per_s: float = float("nan")  # full mode: backlog processing rate after the load

    def set_cpu(self, seconds: float) -> None:
        """Record the server's CPU seconds used during the run."""
        if self.completed:
            self.server_cpu_ms = seconds * 1000 / self.completed


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


async def load(label: str, base: str, requests: list[Request], *, concurrency: int, warmup: float,
               duration: float) -> Result:
    """``concurrency`` senders post ``requests`` in order; stats over the window after warm-up."""
    it: Iterator[Request] = iter(requests)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    completed = 0
    start = time.perf_counter()
    window_start, window_end = start + warmup, start + warmup + duration
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)

    async def sender(http: aiohttp.ClientSession) -> None:
        nonlocal errors, completed
        for req in it:
            t0 = time.perf_counter()
            if t0 >= window_end:
                return
            try:
                async with http.post(base + req.path, data=req.body, headers=req.headers) as resp:
                    await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError):
                status = -1
            t1 = time.perf_counter()
            completed += status == 200
            if window_start <= t0 and t1 <= window_end:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    latencies.append(t1 - t0)
                else:
                    errors += 1
        raise RuntimeError(f"{label}: ran out of pre-built events; build more")

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(sender(http) for _ in range(concurrency)))
    return Result(label, len(latencies) / duration, percentile(latencies, 50) * 1000,
                  percentile(latencies, 99) * 1000, errors, statuses, completed)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def inbox_backlog(store: Path) -> tuple[int, int]:
    """(events stored, events processed) in the bot's store."""
    import sqlite3

    con = sqlite3.connect(store)
    try:
        total, done = con.execute(
            "SELECT count(*), count(processed_at) FROM inbox").fetchone()
    finally:
        con.close()
    return int(total), int(done)


# -- runs ---------------------------------------------------------------------------------------

def spawn(args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """A child process with its output in ``log_path``."""
    log = open(log_path, "wb")  # the child keeps it; closed when it exits
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)


async def run_bare(args: argparse.Namespace, tmp: Path) -> Result:
    """One measurement of the bare endpoint."""
    port = free_port()
    proc = spawn([sys.executable, __file__, "_bare", str(port)], tmp / "bare.log")
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base + "/", proc)
        n = int((args.warmup + args.duration) * args.max_rate) * 4  # the same object: costs nothing
        cpu0 = cpu_seconds(proc.pid)
        result = await load("bare", base, build_bare(n), concurrency=args.concurrency,
                            warmup=args.warmup, duration=args.duration)
        result.set_cpu(cpu_seconds(proc.pid) - cpu0)
        return result
    finally:
        stop(proc)


async def run_bot(platform: str, mode: str, args: argparse.Namespace, tmp: Path,
                  events: list[Request]) -> tuple[Result, tuple[int, int]]:
    """One measurement of the bot on ``platform`` in ``mode`` (fresh store each time)."""
    runner, api = await start_fake(platform)
    work = Path(tempfile.mkdtemp(dir=tmp))
    store = work / "hotline.db"
    port = free_port()
    cfg = work / "config.toml"
    cfg.write_text(to_toml(config_doc(platform, store, api, port)), encoding="utf-8")
    if mode == "full":
        cmd = ["hotline-bot", "serve", "-c", str(cfg), "--port", str(port)]
    else:
        cmd = [sys.executable, __file__, "_ingest", str(cfg), str(port)]
    proc = spawn(cmd, work / "server.log")
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base + "/healthz", proc)
        cpu0 = cpu_seconds(proc.pid)
        result = await load(f"{platform}/{mode}", base, events, concurrency=args.concurrency,
                            warmup=args.warmup, duration=args.duration)
        result.set_cpu(cpu_seconds(proc.pid) - cpu0)
        backlog = await inbox_backlog(store)
        if mode == "full":  # how fast the dispatcher works through the backlog once load stops
            await asyncio.sleep(args.settle)
            later = await inbox_backlog(store)
            result.processed_per_s = (later[1] - backlog[1]) / args.settle
        return result, backlog
    finally:
        stop(proc)
        await runner.cleanup()


def fmt(r: Result) -> str:
    """One line of figures."""
    return (f"{r.events_per_s:8.0f} ev/s  p50 {r.p50_ms:6.1f} ms  p99 {r.p99_ms:6.1f} ms  "
            f"server CPU {r.server_cpu_ms:5.2f} ms/event"
            + (f"  errors {r.errors} {r.statuses}" if r.errors else ""))


async def main(args: argparse.Namespace) -> None:
    """Measure, print per-run figures, then medians and ratios."""
    platforms = [p for p in args.platforms.split(",") if p]
    modes = [m for m in args.modes.split(",") if m]
    n_events = int((args.warmup + args.duration) * args.max_rate)
    print(f"# {os.cpu_count()} CPUs, {args.concurrency} senders, {args.warmup:g} s warm-up + "
          f"{args.duration:g} s measured, {args.runs} runs; medians below", flush=True)
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as d:
        tmp = Path(d)
        bare: list[Result] = []
        bot: dict[tuple[str, str], list[Result]] = {}
        for run in range(args.runs):
            r = await run_bare(args, tmp)
            bare.append(r)
            print(f"run {run + 1} bare            {fmt(r)}", flush=True)
            for platform in platforms:
                events = build_events(platform, n_events)
                for mode in modes:
                    r, backlog = await run_bot(platform, mode, args, tmp, events)
                    bot.setdefault((platform, mode), []).append(r)
                    print(f"run {run + 1} {platform:8s} {mode:6s} {fmt(r)}  "
                          f"(inbox: {backlog[0]} stored, {backlog[1]} processed"
                          + (f"; then {r.processed_per_s:.0f} processed/s without load)"
                             if mode == "full" else ")"), flush=True)
        b_rate = statistics.median(r.events_per_s for r in bare)
        print()
        b_cpu = statistics.median(r.server_cpu_ms for r in bare)
        print(f"{'':17s} {'events/s':>9s} {'p50 ms':>7s} {'p99 ms':>7s} {'vs bare':>8s} "
              f"{'CPU ms/ev':>9s} {'CPU vs bare':>11s}  targets")
        print(f"{'bare aiohttp':17s} {b_rate:9.0f} {statistics.median(r.p50_ms for r in bare):7.1f} "
              f"{statistics.median(r.p99_ms for r in bare):7.1f} {1.0:8.2f} {b_cpu:9.2f} {1.0:11.1f}")
        for (platform, mode), rs in bot.items():
            rate = statistics.median(r.events_per_s for r in rs)
            p99 = statistics.median(r.p99_ms for r in rs)
            ok = "OK" if rate >= 1000 and p99 <= 50 else "MISSED"
            cpu = statistics.median(r.server_cpu_ms for r in rs)
            drain = statistics.median(r.processed_per_s for r in rs)
            print(f"{platform + ' ' + mode:17s} {rate:9.0f} {statistics.median(r.p50_ms for r in rs):7.1f} "
                  f"{p99:7.1f} {rate / b_rate:8.2f} {cpu:9.2f} {cpu / b_cpu:11.1f}  "
                  f"{ok} (>=1000 ev/s, p99<=50 ms)"
                  + (f"; backlog processed at {drain:.0f}/s after the load" if mode == "full" else ""))


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--platforms", default=",".join(PLATFORMS))
    p.add_argument("--modes", default="full,ingest")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--settle", type=float, default=5.0,
                   help="full mode: seconds after the load to measure backlog processing")
    p.add_argument("--max-rate", type=float, default=4000.0,
                   help="events pre-built per second of the run (must exceed the achieved rate)")
    return p.parse_args(argv)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "_bare":
        serve_bare(int(sys.argv[2]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "_ingest":
        serve_ingest_only(sys.argv[2], int(sys.argv[3]))
    else:
        asyncio.run(main(parse_args(sys.argv[1:])))
