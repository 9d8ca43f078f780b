"""``hotline-bot serve -c config.example.toml`` as a real process: /healthz and a signed ticket."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import signal
import socket
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import create_engine, text

from store.migrate import head_revision
from tests.cli.conftest import clean_env, cli_command, console_available, example_text

DEMO_SECRET = "demo-intake-secret"  # the example's ${HOTLINE_INTAKE_SECRET:-demo-intake-secret}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(session: aiohttp.ClientSession, base: str,
                       proc: asyncio.subprocess.Process, log: Path) -> tuple[int, dict[str, object]]:
    """Poll /healthz until the process answers (start-up, not a schedule: it has no clock to move)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise AssertionError(f"serve exited with {proc.returncode}; see {log}")
        try:
            async with session.get(f"{base}/healthz") as r:
                return r.status, await r.json()
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.2)
    raise AssertionError("serve did not answer /healthz within 60 s")


def signed(body: bytes, secret: str = DEMO_SECRET) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Hotline-Timestamp": ts, "X-Hotline-Signature": sig, "Content-Type": "application/json"}


@pytest.mark.parametrize("console", [False, pytest.param(True, marks=pytest.mark.skipif(
    not console_available(), reason="web.console is not installed"))])
async def test_serve_example_config(tmp_path: Path, console: bool) -> None:
    db = tmp_path / "serve.db"
    cfg = tmp_path / "config.toml"
    cfg.write_text(example_text(f"sqlite+aiosqlite:///{db}", console=console), encoding="utf-8")
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:  # a file, not a pipe: nobody reads the access log while it runs
        proc = await asyncio.create_subprocess_exec(*cli_command(), "serve", "-c", str(cfg), "--port", str(port),
                                                    cwd=tmp_path, env=clean_env(), stdout=sink, stderr=sink)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            status, health = await wait_healthy(session, base, proc, log)
            assert status == 200 and health["status"] == "ok"
            body = json.dumps({"source": "12345", "number": "SERVE-1", "received_at": "2026-11-23T09:00:00+08:00",
                               "content": "敬老院门口路面积水。", "citizen": {"name": "张三", "phone": "13812341234"}},
                              ensure_ascii=False).encode()
            async with session.post(f"{base}/api/v1/tickets", data=body, headers=signed(body)) as r:
                assert r.status == 201, await r.text()
                view = await r.json()
            # The example routes 养老/敬老院 to YLK, so the ticket is dispatched at once.
            assert view["unit"] == "YLK" and view["state"] == "dispatched"
            assert view["citizen"] == {"name": "张*", "phone": "138****1234"}
            async with session.post(f"{base}/api/v1/tickets", data=body, headers=signed(body)) as r:
                assert r.status == 200
            async with session.post(f"{base}/api/v1/tickets", data=body, headers=signed(body, "wrong")) as r:
                assert r.status == 401
            async with session.get(f"{base}/api/v1/tickets/12345/SERVE-1",
                                   headers={"Authorization": "Bearer demo-api-token"}) as r:
                assert r.status == 200 and (await r.json())["number"] == "SERVE-1"
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    assert proc.returncode in (0, -signal.SIGTERM)
    err = log.read_bytes().decode(errors="replace")
    assert "Traceback" not in err, err
    # serve applied the migrations to the empty store itself.
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision()
        assert conn.execute(text("SELECT count(*) FROM tickets WHERE number = 'SERVE-1'")).scalar_one() == 1
    engine.dispose()
