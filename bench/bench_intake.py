"""HTTP intake benchmark: ``hotline-bot serve`` on SQLite against a bare aiohttp endpoint.

    python bench/bench_intake.py [--seconds 10] [--clients 32]

Both servers run as separate processes on this machine and get the same signed ticket bodies from
32 concurrent clients (one aiohttp ClientSession) for N seconds each, in the same run; each ticket
from its own phone about its own matter. Prints
throughput (tickets/s), p50/p99 latency and the ratio of the bot's throughput to the bare one.
Targets (2-core machine): ≥ 1000 tickets/s, ratio ≥ 0.05, p99 ≤ 50 ms. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-intake-secret"
PREPARED = 60_000  # bodies signed before the clock starts (the signature stays valid for 300 s)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_config(tmp: Path, port: int) -> Path:
    """config.example.toml with the store in ``tmp``, the console and scheduler off, our secret."""
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^url = "sqlite\+aiosqlite:///hotline\.db"', f'url = "sqlite+aiosqlite:///{tmp / "bench.db"}"',
                  text)
    text = re.sub(r"(?m)^(\[platforms\.console\]\s*\nenabled = )true", r"\1false", text)
    text = re.sub(r"(?m)^(\[scheduler\]\s*\nenabled = )true", r"\1false", text)
    text = text.replace("${HOTLINE_INTAKE_SECRET:-demo-intake-secret}", SECRET)
    text = re.sub(r"(?m)^port = 8080", f"port = {port}", text)
    path = tmp / "bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def bare_server(port: int) -> None:
    """The baseline: read the body, answer 201 with a small JSON object, nothing else."""
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"status": "ok"}, status=201)

    app = web.Application()
    app.router.add_post("/api/v1/tickets", handle)
    app.router.add_get("/healthz", lambda r: web.json_response({"status": "ok"}))
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


MATTERS = ("路灯损坏，夜间出行不便", "下水道堵塞，污水漫到路面", "楼下饭店油烟太大，没法开窗", "物业乱收停车费，没有公示",
           "学校门口早晚堵车严重", "工地夜间施工，噪音影响休息", "公交站台遮雨棚破损", "自来水水压不足，高层停水")
STREETS = ("人民路", "中山路", "解放路", "建设路", "和平路", "新华路", "胜利路", "文化路")
ADDRESSES = False  # --addresses: each ticket gives the place, so registration also looks for 涉众


def body_for(i: int, run: str) -> bytes:
    """Ticket ``i``: its own citizen (phone) and its own matter (one of 8 kinds at one of 8 streets ×
    500 numbers), so no ticket is a 重复件 of another and the lookup runs on every one."""
    place = f"{STREETS[i % 8]}{i // 64 % 500 + 1}号"
    body = {
        "source": "12345", "number": f"B{run}-{i:07d}", "received_at": "2026-11-23T09:30:00+08:00",
        "content": f"{place}附近{MATTERS[i // 8 % 8]}，请尽快处理。", "kind": "求助",
        "citizen": {"name": "张三", "phone": f"139{i:08d}"},
    }
    if ADDRESSES:
        body["address"] = place
    return json.dumps(body, ensure_ascii=False).encode()


def headers_for(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Hotline-Timestamp": ts, "X-Hotline-Signature": sig, "Content-Type": "application/json"}


async def wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}; see its log")
            try:
                async with session.get(f"{base}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("server did not start")


async def load(base: str, seconds: float, clients: int, run: str) -> dict[str, float]:
    """``clients`` workers post distinct tickets for ``seconds``; returns the figures."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(10**9))
    ready = [(b, headers_for(b)) for b in (body_for(i, run) for i in range(PREPARED))]
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker(stop_at: float, record: bool) -> None:
            while time.perf_counter() < stop_at:
                i = next(counter)
                body, headers = ready[i] if i < PREPARED else (body_for(i, run), headers_for(body_for(i, run)))
                started = time.perf_counter()
                async with session.post(f"{base}/api/v1/tickets", data=body, headers=headers) as r:
                    await r.read()
                    status = r.status
                if record:
                    latencies.append(time.perf_counter() - started)
                    statuses[status] = statuses.get(status, 0) + 1

        warm_until = time.perf_counter() + min(1.0, seconds / 5)
        await asyncio.gather(*(worker(warm_until, False) for _ in range(clients)))
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(t0 + seconds, True) for _ in range(clients)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    ok = statuses.get(201, 0)
    return {
        "requests": len(latencies), "created": ok, "errors": len(latencies) - ok,
        "throughput": ok / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan"),
    }


def start(cmd: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["PYTHONPATH"] = str(ROOT)
    log = (cwd / f"server-{len(list(cwd.glob('server-*.log')))}.log").open("wb")  # a pipe nobody reads would block it
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def measure(cmd: list[str], port: int, cwd: Path, seconds: float, clients: int, run: str) -> dict[str, float]:
    proc = start(cmd, cwd)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base, proc)
        return await load(base, seconds, clients, run)
    finally:
        stop(proc)


def show(name: str, r: dict[str, float]) -> None:
    print(f"{name:<12} {r['throughput']:>9.0f} tickets/s   p50 {r['p50_ms']:6.1f} ms   p99 {r['p99_ms']:6.1f} ms"
          f"   ({int(r['created'])} created, {int(r['errors'])} other answers)")


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--bare", type=int, help=argparse.SUPPRESS)  # internal: run the bare server on this port
    p.add_argument("--addresses", action="store_true", help="tickets give their place (涉众 lookup too)")
    args = p.parse_args()
    global ADDRESSES
    ADDRESSES = args.addresses
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bare_port, bot_port = free_port(), free_port()
        cfg = bench_config(tmp, bot_port)
        run = str(int(time.time()))
        bare = await measure([sys.executable, __file__, "--bare", str(bare_port)], bare_port, tmp,
                             args.seconds, args.clients, run)
        bot = await measure([sys.executable, "-m", "bot.cli", "serve", "-c", str(cfg)], bot_port, tmp,
                            args.seconds, args.clients, run)
    print(f"intake benchmark: {args.clients} clients, {args.seconds:.0f} s each, SQLite store")
    show("bare aiohttp", bare)
    show("hotline-bot", bot)
    ratio = bot["throughput"] / bare["throughput"] if bare["throughput"] else float("nan")
    print(f"ratio        {ratio:.3f}  (target ≥ 0.05)")
    verdict = [bot["throughput"] >= 1000, ratio >= 0.05, bot["p99_ms"] <= 50]
    print("targets      throughput ≥ 1000/s: {}   ratio ≥ 0.05: {}   p99 ≤ 50 ms: {}".format(
        *("met" if v else "MISSED" for v in verdict)))


if __name__ == "__main__":
    if "--bare" in sys.argv:
        bare_server(int(sys.argv[sys.argv.index("--bare") + 1]))
    else:
        asyncio.run(main())
