"""Hostile load against the real bot process: ≥ 100,000 requests over every route.

Starts ``hotline-bot serve`` (the CLI, as deployed) on a fresh SQLite store in a temp dir — or
on ``--store-url`` (a PostgreSQL database of your own) — with every inbound route enabled (WeCom,
DingTalk and Feishu webhooks answering through the fakes of ``tests/fakes``, the SMS push route,
the intake and read API, the console, the citizen page). Several connections then fire hostile
requests: the hand-written catalogue of ``tests/fuzz/cases.py`` (validly signed — the script
computes signatures from the config it wrote — and with spoiled signatures; header, query, path
and form abuse; malformed HTTP) interleaved with random mutations of valid bodies. Reported:
answers by status class, the 5xx count, tracebacks in the server's log, log lines holding a full
mobile number, RSS after warm-up and at the end, and ``/healthz`` latency p50/p99 during the run.

    python bench/fuzz.py                      # 100,000 requests, 8 connections, SQLite
    python bench/fuzz.py --requests 20000 --store-url postgresql+asyncpg://postgres@127.0.0.1/fuzz
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_webhooks import free_port, percentile, spawn, start_fake, stop, to_toml, wait_ready

from tests.fuzz.cases import MALFORMED_HTTP, body_shots, raw_shots, spoiled
from tests.fuzz.raw import encode
from tests.fuzz.world import TRACEBACK_MARKERS, Shot, fuzz_config, signed
from tests.log_scan import MOBILE

WARMUP = 5_000  # requests before the first RSS reading
SNAPSHOT_EVERY = 10_000  # requests between two snapshots of a probed server (--trace-dir)
REFRESH_S = 60.0  # signed requests are rebuilt this often (the intake's window is 300 s)


async def snapshot(proc_pid: int, trace_dir: Path, n: int, signum: int = signal.SIGUSR1) -> None:
    """Have the probed server (``bench/_traced_serve.py``) write its ``n``-th snapshot."""
    os.kill(proc_pid, signum)
    for _ in range(3000):  # ten minutes at most
        if (trace_dir / f"snap-{n}.done").exists():
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"no snapshot {n} from the server")


def trace_report(trace_dir: Path, top: int = 25) -> str:
    """The snapshots side by side (RSS, the C allocator, Python blocks), the object types whose
    count grew between the first and the last before the trim, and with tracemalloc what grew by
    line and the largest growth by traceback."""
    import tracemalloc
    snaps = sorted(trace_dir.glob("snap-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    docs = [json.loads(p.read_text()) for p in snaps]
    lines = ["snapshot  rss_MiB  malloc_arena+mmap_MiB  malloc_in_use_MiB  malloc_free_MiB  py_blocks  threads"]
    for path, d in zip(snaps, docs, strict=True):
        m = d.get("malloc", {})
        lines.append(f"{path.stem:9} {d['rss_kib'] / 1024:8.1f} {(m.get('arena', 0) + m.get('hblkhd', 0)) / 2**20:22.1f}"
                     f" {m.get('uordblks', 0) / 2**20:18.1f} {m.get('fordblks', 0) / 2**20:16.1f}"
                     f" {d['py_blocks']:10d} {d['threads']:8d}")
    lines.append("resident KiB (anonymous / file-backed / shared) by snapshot: " + ", ".join(
        f"{d['rss']['RssAnon']}/{d['rss']['RssFile']}/{d['rss']['RssShmem']}" for d in docs))
    lines.append("pymalloc by snapshot: " + "; ".join(
        " ".join(f"{k}={v}" for k, v in d.get("pymalloc", {}).items()) for d in docs))
    before, after = docs[0]["maps"], docs[-2 if len(docs) > 2 else -1]["maps"]
    grown = sorted(((n - before.get(k, 0), k) for k, n in after.items()), reverse=True)[:8]
    lines.append("mappings that grew most (KiB): " + ", ".join(f"{k} {d:+}" for d, k in grown))
    first, last = docs[0]["types"], docs[-2 if len(docs) > 2 else -1]["types"]
    grew = sorted(((n - first.get(t, 0), t, n) for t, n in last.items()), reverse=True)[:15]
    lines.append("object types that grew (first -> last before the trim):")
    lines += [f"  {t}: {n - d:,} -> {n:,} ({d:+,})" for d, t, n in grew if d > 0]
    pickles = sorted(trace_dir.glob("snap-*.pickle"), key=lambda p: int(p.stem.split("-")[1]))
    if len(pickles) >= 2:
        keep = [tracemalloc.Filter(False, tracemalloc.__file__)]
        old = tracemalloc.Snapshot.load(str(pickles[0])).filter_traces(keep)
        new = tracemalloc.Snapshot.load(str(pickles[-1])).filter_traces(keep)
        lines.append(f"{pickles[0].name} -> {pickles[-1].name}: by line")
        lines += [str(s) for s in new.compare_to(old, "lineno")[:top]]
        lines.append("by traceback (largest growth)")
        for stat in new.compare_to(old, "traceback")[:5]:
            lines.append(f"{stat.size_diff / 1024:+.1f} KiB, {stat.count_diff:+d} blocks")
            lines += ["    " + line for line in stat.traceback.format(limit=12)]
    return "\n".join(lines)


def config_doc(store_url: str, port: int, fakes: dict[str, str]) -> dict[str, Any]:
    """The fuzz suite's config, served on ``port``, each platform answering through its fake."""
    doc = fuzz_config(store_url)
    doc["server"] = {**doc["server"], "host": "127.0.0.1", "port": port}
    for platform, base in fakes.items():
        bot = next(iter(doc["platforms"][platform].values()))
        bot["api_base"] = base
        if platform == "dingtalk":
            bot["oapi_base"] = base
        if platform == "feishu":  # serve's preflight wants the app's credentials (the fake takes any)
            bot.update(app_id="cli_test", app_secret="secret")
    return doc


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.random()
    if depth > 3 or pick < 0.4:
        return rng.choice([None, True, 0, -1, 10 ** 30, 1.5, "", "\x00", "\ud800", "长" * rng.randint(1, 300),
                           "13812341234", "0001-01-01T00:00:00+14:00", "9999-12-31", "<x/>", "9" * 400])
    if pick < 0.7:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["from", "text", "chatid", "msgid", "event", "header", "number", "content", "phone",
                        "received_at", "msgtype", "conversationId", "x"]): _random_json(rng, depth + 1)
            for _ in range(rng.randint(0, 4))}


def mutation(rng: random.Random, template: bytes) -> bytes:
    """A random change of a valid body: a field replaced, bytes flipped, cut, or random JSON."""
    roll = rng.random()
    if roll < 0.3:
        try:
            doc = json.loads(template)
        except ValueError:
            doc = {}
        if isinstance(doc, dict) and doc:
            doc[rng.choice(sorted(doc))] = _random_json(rng)
        return json.dumps(doc).encode()
    if roll < 0.5:
        data = bytearray(template)
        for _ in range(rng.randint(1, 8)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if roll < 0.7:
        return template[: rng.randrange(len(template) + 1)]
    return json.dumps(_random_json(rng)).encode()


class Catalogue:
    """The requests to fire, rebuilt every :data:`REFRESH_S` so signatures stay fresh."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.built_at = 0.0
        self.fixed: list[Shot] = []
        self.templates: list[tuple[str, bytes]] = []

    def refresh(self) -> None:
        now = int(time.time())
        self.fixed = list(body_shots(now)) + list(raw_shots(now))
        self.templates = self._valid_bodies()
        self.built_at = time.monotonic()

    @staticmethod
    def _valid_bodies() -> list[tuple[str, bytes]]:
        from tests.conftest import ticket_body
        from tests.fuzz.test_fuzz_routes import DING_MESSAGE, FEISHU_EVENT, SMS_PUSH, WECOM_MESSAGE
        dump = lambda d: json.dumps(d, ensure_ascii=False).encode()  # noqa: E731
        return [("intake", dump(ticket_body())), ("event", dump({"type": "urge", "id": "u1"})),
                ("wecom", dump(WECOM_MESSAGE)), ("dingtalk", dump(DING_MESSAGE)), ("feishu", dump(FEISHU_EVENT)),
                ("sms", dump(SMS_PUSH)), ("wecom_xml", b"<xml><FromUserName>zhangcb</FromUserName>"
                                                      b"<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>")]

    def next(self, i: int) -> Shot | bytes:
        """The ``i``-th request: a shot, or raw bytes (malformed HTTP)."""
        if time.monotonic() - self.built_at > REFRESH_S:
            self.refresh()
        roll = self.rng.random()
        if roll < 0.01:
            return self.rng.choice(MALFORMED_HTTP)
        if roll < 0.45:
            return self.fixed[i % len(self.fixed)]
        route, template = self.rng.choice(self.templates)
        shot = signed(route, mutation(self.rng, template), int(time.time()))
        return spoiled(shot) if self.rng.random() < 0.2 else shot


async def fire(host: str, port: int, data: bytes) -> int:
    """One request on its own connection; the status (0: closed without an answer, -1: error)."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return -1
    try:
        writer.write(data)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 60)
        await asyncio.wait_for(reader.read(), 60)
    except (OSError, TimeoutError):
        return -1
    finally:
        writer.close()
    parts = line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def health(base: str, stop_at: asyncio.Event, latencies: list[float], failures: list[int]) -> None:
    """Poll ``/healthz`` every 100 ms until told to stop."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        while not stop_at.is_set():
            t0 = time.perf_counter()
            try:
                async with http.get(base + "/healthz") as resp:
                    await resp.read()
                    if resp.status != 200:
                        failures.append(resp.status)
            except (aiohttp.ClientError, TimeoutError):
                failures.append(-1)
            latencies.append(time.perf_counter() - t0)
            await asyncio.sleep(0.1)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the fakes and the bot, fire the load, read the log; the figures."""
    tmp = Path(tempfile.mkdtemp(prefix="hotline-fuzz-"))
    store_url = args.store_url or f"sqlite+aiosqlite:///{tmp / 'hotline.db'}"
    runners, fakes = [], {}
    for platform in ("wecom", "dingtalk", "feishu"):
        runner, base = await start_fake(platform)
        runners.append(runner)
        fakes[platform] = base
    port = free_port()
    cfg = tmp / "config.toml"
    cfg.write_text(to_toml(config_doc(store_url, port, fakes)), encoding="utf-8")
    log_path = tmp / "server.log"
    serve = ["serve", "-c", str(cfg), "--port", str(port)]
    trace_dir = Path(args.trace_dir) if args.trace_dir else None
    if trace_dir is not None:
        command = [sys.executable, str(Path(__file__).with_name("_traced_serve.py")), str(trace_dir), *serve]
    else:
        command = [sys.executable, "-m", "bot.cli", *serve]
    proc = spawn(command, log_path)
    base = f"http://127.0.0.1:{port}"
    statuses: Counter[int] = Counter()
    lat: list[float] = []
    health_failures: list[int] = []
    rss_warm = float("nan")
    try:
        await wait_ready(base + "/healthz", proc, 60 if trace_dir is None else 900)
        catalogue = Catalogue(args.seed)
        catalogue.refresh()
        stop_health = asyncio.Event()
        poller = asyncio.create_task(health(base, stop_health, lat, health_failures))
        counter = iter(range(args.requests))
        taken = 0  # snapshots of the probed server
        started = time.perf_counter()

        async def worker() -> None:
            nonlocal rss_warm, taken
            for i in counter:
                item = catalogue.next(i)
                data = item if isinstance(item, bytes) else encode(item, f"127.0.0.1:{port}")
                statuses[await fire("127.0.0.1", port, data)] += 1
                if i == WARMUP:
                    rss_warm = rss_mb(proc.pid)
                if trace_dir is not None and i >= WARMUP and (i - WARMUP) % SNAPSHOT_EVERY == 0:
                    taken += 1
                    await snapshot(proc.pid, trace_dir, taken)
                if i % 10_000 == 0 and i:
                    print(f"  {i:,} requests, {time.perf_counter() - started:.0f} s", flush=True)

        await asyncio.gather(*(worker() for _ in range(args.connections)))
        elapsed = time.perf_counter() - started
        stop_health.set()
        await poller
        rss_end = rss_mb(proc.pid)
        if trace_dir is not None:  # the end, then the same after malloc_trim
            await snapshot(proc.pid, trace_dir, taken + 1)
            await snapshot(proc.pid, trace_dir, taken + 2, signal.SIGUSR2)
    finally:
        stop(proc)
        for runner in runners:
            await runner.cleanup()
    text = log_path.read_text("utf-8", errors="replace")
    classes = Counter(f"{s // 100}xx" if s > 0 else ("closed" if s == 0 else "error") for s in statuses.elements())
    if trace_dir is not None:
        (trace_dir / "growth.txt").write_text(trace_report(trace_dir), encoding="utf-8")
    return {
        "store": "postgresql" if args.store_url else "sqlite", "requests": sum(statuses.values()),
        "connections": args.connections, "seconds": round(elapsed, 1),
        "requests_per_s": round(sum(statuses.values()) / elapsed),
        "by_class": dict(sorted(classes.items())), "5xx": sum(n for s, n in statuses.items() if s >= 500),
        "tracebacks": sum(text.count(m) for m in TRACEBACK_MARKERS),
        "log_lines_with_full_mobile": sum(1 for line in text.splitlines() if MOBILE.search(line)),
        "rss_mb_after_warmup": round(rss_warm, 1), "rss_mb_end": round(rss_end, 1),
        "healthz_p50_ms": round(percentile(lat, 50) * 1000, 1), "healthz_p99_ms": round(percentile(lat, 99) * 1000, 1),
        "healthz_polls": len(lat), "healthz_failures": len(health_failures), "server_log": str(log_path),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=100_000)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--store-url", default="", help="a PostgreSQL URL (default: a temp SQLite file)")
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--trace-dir", default="", help="probe the server's memory (bench/_traced_serve.py): "
                   "snapshots after the warm-up, every 10,000 requests, at the end and after malloc_trim, and "
                   "what grew (growth.txt) go to this directory; HOTLINE_TRACE_FRAMES=N adds tracemalloc")
    return p.parse_args(argv)


if __name__ == "__main__":
    result = asyncio.run(run(parse_args()))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    sys.exit(1 if result["5xx"] or result["tracebacks"] else 0)
