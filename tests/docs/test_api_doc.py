"""docs/api.md against the running bot: its curl, Python and JSON examples are sent to the real app
on a localhost port, its error table is compared with the codes the intake emits, and its report
verification snippet checks a result report the bot really sends."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.clock import FrozenClock
from bot.sender import Sender
from tests.conftest import API_TOKEN, INTAKE_SECRET
from tests.docs.fenced import Block, fenced_blocks, table_rows
from tests.handlers.chat import Chat

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"
BLOCKS = fenced_blocks(DOC)
REQUEST = re.compile(r"\*\*请求\*\*\s*`(POST|GET) ([^`]+)`\s*→\s*`(\d{3})`")
RESPONSE = re.compile(r"\*\*应答\*\*\s*`(\d{3})`(（节选）)?")
REPORT_SECRET = "doc-report-secret"
# What a view holds that depends on the moment the test runs, not on the request.
MOMENT_KEYS = {"at", "updated_at"}


@pytest.fixture
def clock() -> FrozenClock:
    """The real time, standing still: the doc's examples sign with ``date +%s`` and ``time.time()``."""
    return FrozenClock(datetime.now(UTC))


def _blocks(lang: str, marker: str = "") -> list[Block]:
    return [b for b in BLOCKS if b.lang == lang and marker in b.text]


def _one(lang: str, marker: str) -> str:
    found = _blocks(lang, marker)
    assert len(found) == 1, f"docs/api.md should have one {lang} block containing {marker!r}"
    return found[0].text


def _env(bot: Any) -> dict[str, str]:
    """The environment a vendor sets, pointing at the app under test (no proxy for localhost)."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update(HOTLINE_URL=str(bot.client.make_url("")).rstrip("/"), HOTLINE_INTAKE_SECRET=INTAKE_SECRET,
               HOTLINE_API_TOKEN=API_TOKEN, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    return env


async def _run(args: list[str], env: dict[str, str]) -> str:
    """Run a doc example in a child process while the app keeps serving on this loop."""
    done = await asyncio.to_thread(subprocess.run, args, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done.stdout


def _stable(value: Any) -> Any:
    """``value`` without the keys that name the moment of the run."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in MOMENT_KEYS}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _assert_documented_answer(example: dict[str, Any], real: dict[str, Any], excerpt: bool, where: str) -> None:
    if "error" in example:
        assert real == example, where  # error bodies are shown whole and exactly
    elif excerpt:
        assert {k: _stable(real.get(k)) for k in example} == _stable(example), where
    else:
        assert _stable(real) == _stable(example), where


def test_every_json_example_parses() -> None:
    json_blocks = _blocks("json")
    assert len(json_blocks) >= 10
    for block in json_blocks:
        try:
            json.loads(block.text)
        except ValueError as exc:
            raise AssertionError(f"docs/api.md:{block.line}: {exc}") from exc


async def test_request_examples_are_answered_as_documented(make_bot) -> None:
    """Each ``**请求**`` JSON block is sent in page order, signed; the status and any following
    ``**应答**`` block must be what the app answers."""
    bot = await make_bot()
    sent = 0
    for i, block in enumerate(BLOCKS):
        m = REQUEST.search(block.label)
        if block.lang != "json" or m is None:
            continue
        method, path, status = m.group(1), m.group(2), int(m.group(3))
        assert method == "POST", f"docs/api.md:{block.line}: only POST requests carry a JSON body"
        raw = block.text.encode()
        r = await bot.client.post(path, data=raw, headers=bot.signed_headers(raw))
        real = await r.json()
        where = f"docs/api.md:{block.line}: {path}"
        assert r.status == status, f"{where}: {r.status} {real}"
        sent += 1
        after = BLOCKS[i + 1] if i + 1 < len(BLOCKS) else None
        answer = RESPONSE.search(after.label) if after is not None and after.lang == "json" else None
        if after is not None and answer is not None:
            assert int(answer.group(1)) == status, f"docs/api.md:{after.line}"
            _assert_documented_answer(json.loads(after.text), real, bool(answer.group(2)),
                                      f"docs/api.md:{after.line}")
    assert sent >= 10
    # The walk of section 5 ends with the reopened ticket in its second round.
    view = await (await bot.get("/api/v1/tickets/12345/202612010001")).json()
    assert view["state"] == "reopened" and view["round"] == 2
    assert view["deadline"] == "2026-12-25T17:30:00+08:00"
    assert view["tags"].count("市级催办") == 1
    assert [e["action"] for e in view["events"]].count("urge") == 1  # the repeated id was not urged again
    # "写代码和写名称推送的是同一张工单": the example named 社会救助科; its code is the same ticket.
    by_name = next(b for b in _blocks("json", '"unit": "社会救助科"') if REQUEST.search(b.label))
    by_code = json.loads(by_name.text) | {"unit": "SHJZK"}
    assert (await bot.post_ticket(by_code)).status == 200


async def test_curl_example_registers_then_answers_200_and_read_example_finds_it(make_bot) -> None:
    bot = await make_bot()
    env = _env(bot)
    intake, read = _blocks("bash")
    assert "openssl dgst" in intake.text and "Authorization: Bearer" in read.text
    first = await _run(["bash", "-c", intake.text], env)
    assert first.rstrip().endswith("HTTP 201"), first
    created = json.loads(first.rstrip().rsplit("\n", 1)[0])
    assert created["state"] == "dispatched" and created["citizen"] == {"name": "张*", "phone": "138****1234"}
    again = await _run(["bash", "-c", intake.text], env)
    assert again.rstrip().endswith("HTTP 200"), again
    one, page = [json.loads(line) for line in (await _run(["bash", "-c", read.text], env)).splitlines()]
    assert one["number"] == "202612010001" and one["unit"] == "YLK"
    assert page["total"] == 1 and [t["number"] for t in page["items"]] == ["202612010001"]


async def test_python_example_prints_what_its_comments_say(make_bot) -> None:
    bot = await make_bot()
    code = _one("python", "def post_signed")
    expected = [line.split("#", 1)[1].strip() for line in code.splitlines() if line.startswith("print(")]
    out = await _run([sys.executable, "-c", code], _env(bot))
    assert out.splitlines() == expected
    view = await (await bot.get("/api/v1/tickets/12345/202612010002")).json()
    assert view["unit"] == "SHJZK" and "市级催办" in view["tags"]
    assert view["citizen"] == {"name": "李*", "phone": "139****1111"}


def _intake_error_pairs() -> set[tuple[int, str]]:
    source = (ROOT / "web" / "api.py").read_text(encoding="utf-8")
    return {(int(s), c) for s, c in re.findall(r'error_response\(\s*(\d{3}),\s*"(\w+)"', source)}


def _table_errors() -> dict[str, tuple[int, str]]:
    rows = [r for r in table_rows(DOC, "HTTP") if r[1] != "—"]
    return {r[1].strip("`"): (int(r[0]), r[2]) for r in rows}


def test_error_table_lists_exactly_the_codes_the_api_emits() -> None:
    documented = {(status, code) for code, (status, _) in _table_errors().items()}
    assert documented == _intake_error_pairs()
    shown = set(re.findall(r'"error":\s*"(\w+)"', DOC.read_text(encoding="utf-8")))
    assert shown <= {code for _, code in documented}


async def test_transport_errors_carry_the_documented_message(make_bot) -> None:
    """Requests that fail before their fields are read answer exactly the table's row."""
    bot = await make_bot()
    table = _table_errors()
    body = json.dumps({"source": "12345"}).encode()
    now = int(bot.clock.now().timestamp())
    bad_ts = {**bot.signed_headers(body), "X-Hotline-Timestamp": "1796000000000ms"}
    form = {**bot.signed_headers(b"a=1"), "Content-Type": "application/x-www-form-urlencoded"}
    big = b'{"content": "' + b"x" * (1024 * 1024) + b'"}'
    cases = {
        "unsigned": bot.client.post("/api/v1/tickets", data=body, headers={"Content-Type": "application/json"}),
        "bad_timestamp": bot.client.post("/api/v1/tickets", data=body, headers=bad_ts),
        "stale": bot.client.post("/api/v1/tickets", data=body,
                                 headers=bot.signed_headers(body, timestamp=now - 301)),
        "bad_signature": bot.client.post("/api/v1/tickets", data=body,
                                         headers=bot.signed_headers(body, secret="wrong")),
        "not_json": bot.client.post("/api/v1/tickets", data=b"a=1", headers=form),
        "too_large": bot.client.post("/api/v1/tickets", data=big, headers=bot.signed_headers(big)),
        "invalid_json": bot.client.post("/api/v1/tickets", data=b"{oops",
                                        headers=bot.signed_headers(b"{oops")),
        "unauthorized": bot.client.get("/api/v1/tickets", headers={"Authorization": "Bearer nope"}),
    }
    for code, request in cases.items():
        r = await request
        status, message = table[code]
        assert (r.status, await r.json()) == (status, {"error": code, "message": message, "fields": {}}), code
    # Just inside the window (the bot's clock has fractions of a second) is accepted.
    created = json.dumps({"source": "12345", "number": "EDGE-1", "received_at": "2026-12-01T09:30:00+08:00",
                          "content": "路灯不亮。"}).encode()
    r = await bot.client.post("/api/v1/tickets", data=created, headers=bot.signed_headers(created, timestamp=now - 299))
    assert r.status == 201


async def test_read_api_errors_as_documented(make_bot) -> None:
    bot = await make_bot()
    assert (await bot.get("/api/v1/tickets/12345/NOPE", token=None)).status == 401
    missing = await bot.get("/api/v1/tickets/12345/NOPE")
    assert missing.status == 404 and (await missing.json())["error"] == "not_found"
    for query, field in (("state=bogus", "state"), ("limit=ten", "limit"), ("offset=x", "offset"),
                         ("offset=" + "9" * 30, "offset"), ("unit=a%00b", "unit")):
        r = await bot.get(f"/api/v1/tickets?{query}")
        err = await r.json()
        assert r.status == 400 and err["error"] == "invalid" and field in err["fields"], query


async def test_report_verification_snippet_accepts_the_bots_real_report(make_bot) -> None:
    """The bot POSTs a result to a receiver that checks it with the doc's own ``verify_report``."""
    namespace: dict[str, Any] = {}
    exec(_one("python", "def verify_report"), namespace)  # the doc's snippet is the code under test
    verify_report = namespace["verify_report"]
    received: list[tuple[bytes, dict[str, str], dict[str, Any]]] = []

    async def receiver(request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            report = verify_report(request.headers, raw, REPORT_SECRET)
        except ValueError:
            return web.Response(status=401)
        received.append((raw, dict(request.headers), report))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hotline/report", receiver)
    server = TestServer(app)
    await server.start_server()
    try:
        bot = await make_bot(hotline={"report_url": str(server.make_url("/hotline/report")),
                                      "report_secret": REPORT_SECRET})
        ticket = next(b for b in _blocks("json") if REQUEST.search(b.label) and '"unit": "YLK"' in b.text
                      and '"tags"' in b.text)
        assert (await bot.post_ticket(json.loads(ticket.text))).status == 201
        example = json.loads(next(b.text for b in _blocks("json", '"result": "answer"')))
        chat = Chat(bot)
        await chat.say("张承办", "签收 202612010001")
        await chat.say("张承办", f"答复 202612010001 {example['content']}")
        await chat.say("李科长", "同意 202612010001")
        other = next(b for b in _blocks("json", '"unit": "社会救助科"') if REQUEST.search(b.label))
        assert (await bot.post_ticket(json.loads(other.text))).status == 201
        await chat.say("陈承办", "退单 202612010003 不属于本单位职责，建议转区医保局。", chat="shjzk")
        await chat.say("赵科长", "同意 202612010003", chat="shjzk")
        await Sender(bot.ctx).drain()
    finally:
        await server.close()
    assert [r["result"] for _, _, r in received] == ["answer", "giveback"]
    giveback = received[1][2]
    assert set(giveback) == {"source", "number", "result", "round", "at", "reason"}  # the doc's table row
    assert giveback["reason"] == "不属于本单位职责，建议转区医保局。"
    raw, headers, report = received[0]
    assert headers["Content-Type"] == "application/json"
    assert set(report) == set(example)
    assert {k: report[k] for k in ("source", "number", "result", "round", "content", "category", "unit")} == \
        {k: example[k] for k in ("source", "number", "result", "round", "content", "category", "unit")}
    assert datetime.fromisoformat(report["at"]).utcoffset().total_seconds() == 0
    # The snippet refuses what it should: a changed body, another secret, an old timestamp.
    with pytest.raises(ValueError):
        verify_report(headers, raw.replace(b"YLK", b"SHJZK"), REPORT_SECRET)
    with pytest.raises(ValueError):
        verify_report(headers, raw, "another-secret")
    old = str(int(time.time()) - 301)
    stale = {**headers, "X-Hotline-Timestamp": old,
             "X-Hotline-Signature": hmac.new(REPORT_SECRET.encode(), old.encode() + b"." + raw,
                                             hashlib.sha256).hexdigest()}
    with pytest.raises(ValueError):
        verify_report(stale, raw, REPORT_SECRET)
