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
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import create_app  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.context import CTX  # noqa: E402
from bot.messages import Destination, OutgoingMessage  # noqa: E402
from bot.outbox import Target  # noqa: E402
from bot.sender import SENDER  # noqa: E402
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


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--messages", type=int, default=200)
    p.add_argument("--rate", type=int, default=20, help="messages per 1 s window (scaled limit)")
    p.add_argument("--runs", type=int, default=3)
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args(sys.argv[1:])))
