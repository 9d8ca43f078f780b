"""docs/sms.md is executed: template texts equal what the code renders, every TOML snippet loads,
every callback body is accepted by the real app and does what the page says, and the curl examples run.

Blocks are tagged after the language (```` ```text aliyun:answer ````, ```` ```json tencent:receipt ````);
``test_every_block_is_checked`` makes sure no block escapes the other tests.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from adapters.sms.aliyun import AliyunConfig, AliyunSmsProvider
from adapters.sms.generic import GenericGatewayConfig
from adapters.sms.log import LogSmsProvider
from adapters.sms.templates import KINDS, count_segments, provider_template
from adapters.sms.tencent import TencentConfig, TencentSmsProvider
from adapters.sms.webhook import setup_routes
from bot.config import load_config, parse_config
from bot.sms_providers import SmsConfig, build_provider
from tests.bot.sms_rig import rig
from tests.conftest import base_config
from tests.docs.fenced import Block, fenced_blocks, table_rows
from tests.fakes.sms_servers import FakeAliyunSms, FakeTencentSms

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "sms.md"
PROVIDERS = ("aliyun", "tencent", "generic", "log")
# The page's sample values, as its §1 states them.
SAMPLE = {"number": "202611230001", "unit": "养老服务科"}
SIGN = "某某区民政局"
PHONE = "13800138000"
_FENCE_TAG = re.compile(r"^`{3,}([\w+-]*)\s*(\S*)")
_ENV_REF = re.compile(r"\$\{([A-Z0-9_]+)(?::-[^}]*)?\}")


def tagged() -> list[tuple[str, str, Block]]:
    """(language, tag, block) for every fenced block of the page."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    out = []
    for block in fenced_blocks(DOC):
        match = _FENCE_TAG.match(lines[block.line - 1])
        assert match is not None
        out.append((match.group(1), match.group(2), block))
    return out


def blocks(lang: str, tag: str | None = None) -> list[Block]:
    return [b for lg, tg, b in tagged() if lg == lang and (tag is None or tg == tag)]


def one(lang: str, tag: str) -> str:
    [block] = blocks(lang, tag)
    return block.text.strip()


def test_every_block_is_checked() -> None:
    templates = {f"{p}:{k}" for p in PROVIDERS for k in KINDS}
    known = {
        "text": templates | {"aliyun:answer:shown", "tencent:answer:shown", "log:line", "callback:url"},
        "json": {f"{p}:{w}" for p in ("aliyun", "tencent", "generic") for w in ("receipt", "reply", "ack")}
        | {"log:ack"},
        "toml": {""},
        "bash": {""},
    }
    seen = set()
    for lang, tag, block in tagged():
        assert lang in known and tag in known[lang], f"sms.md:{block.line}: block not checked ({lang} {tag})"
        seen.add((lang, tag))
    assert {("text", t) for t in templates} <= seen, "a provider or a kind lacks its template text"
    assert len(blocks("toml")) >= 5 and len(blocks("bash")) == 2


# ---- templates --------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("kind", KINDS)
def test_template_texts_are_what_the_code_renders(provider: str, kind: str) -> None:
    documented = one("text", f"{provider}:{kind}")
    if provider == "generic":
        assert documented == GenericGatewayConfig().texts[kind]
    else:
        assert documented == provider_template(provider, kind)


@pytest.fixture
async def http() -> aiohttp.ClientSession:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_aliyun_shown_text(aiohttp_server: Any, http: aiohttp.ClientSession) -> None:
    # The fake Alibaba server holds the documented template and renders what the phone shows.
    fake = FakeAliyunSms(keys={"k": "s"}, sign_names={SIGN}, templates={"SMS_1": one("text", "aliyun:answer")})
    server = await aiohttp_server(fake.make_app())
    provider = AliyunSmsProvider(AliyunConfig(access_key_id="k", access_key_secret="s", sign_name=SIGN,
                                              templates={"answer": "SMS_1"},
                                              api_base=str(server.make_url("")).rstrip("/")))
    await provider.send(http, PHONE, "answer", dict(SAMPLE), "t1-answer-r1")
    assert fake.sent[-1].text == one("text", "aliyun:answer:shown")


async def test_tencent_shown_text_on_a_default_account(aiohttp_server: Any, http: aiohttp.ClientSession) -> None:
    fake = FakeTencentSms(keys={"id": "key"}, sdk_app_id="1400006666", sign_names={SIGN},
                          templates={"2000001": one("text", "tencent:answer")}, param_max_length=6)
    server = await aiohttp_server(fake.make_app())
    provider = TencentSmsProvider(TencentConfig(secret_id="id", secret_key="key", sdk_app_id="1400006666",
                                                sign_name=SIGN, templates={"answer": "2000001"},
                                                api_base=str(server.make_url("")).rstrip("/")))
    assert provider.config.param_max_length == 6  # the documented default
    await provider.send(http, PHONE, "answer", dict(SAMPLE), "t1-answer-r1")
    assert fake.sent[-1].text == one("text", "tencent:answer:shown")


async def test_log_line(http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hotline.sms")
    provider = build_provider(SmsConfig(log_sign_name=SIGN))
    assert isinstance(provider, LogSmsProvider)
    await provider.send(http, PHONE, "answer", dict(SAMPLE), "t1-answer-r1")
    [record] = [r for r in caplog.records if r.name == "hotline.sms"]
    assert record.getMessage() == one("text", "log:line")


def test_callback_url_is_the_route() -> None:
    url = one("text", "callback:url")
    path = url.split("<机器人对外地址>", 1)[1]
    assert path == "/webhooks/sms/{provider}?token=<callback_token>"
    app = web.Application()
    setup_routes(app)
    routes = {r.resource.canonical for r in app.router.routes() if r.method == "POST"}
    assert path.split("?")[0] in routes


# ---- configuration ----------------------------------------------------------------------------------


def merged(snippet: dict[str, Any]) -> dict[str, Any]:
    """The test config document with the snippet's tables laid over it (units replaced by code)."""
    doc = base_config("sqlite+aiosqlite:///unused.db")
    for key, value in snippet.items():
        if key == "units":
            codes = {u["code"] for u in value}
            doc["units"] = [u for u in doc["units"] if u["code"] not in codes] + value
        elif key == "sms":
            sms = dict(doc.get("sms", {}))
            for sub, sub_value in value.items():
                sms[sub] = {**sms.get(sub, {}), **sub_value} if isinstance(sub_value, dict) else sub_value
            doc["sms"] = sms
        else:
            doc[key] = value
    return doc


@pytest.mark.parametrize("index", range(len(blocks("toml"))))
def test_toml_snippets_load(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    text = blocks("toml")[index].text
    for name in _ENV_REF.findall(text):
        monkeypatch.setenv(name, f"test-{name.lower()}")
    snippet = tomllib.loads(text)
    config = parse_config(merged(snippet))
    for key, value in snippet.get("sms", {}).items():
        if not isinstance(value, dict) and not _ENV_REF.search(str(value)):
            assert getattr(config.sms, key) == value, key
    for sub in ("aliyun", "tencent", "generic"):
        for key, value in snippet.get("sms", {}).get(sub, {}).items():
            if not _ENV_REF.search(str(value)):
                got = getattr(config.sms.section(sub), key)
                assert got == value, f"sms.{sub}.{key}"
    for unit in snippet.get("units", []):
        [loaded] = [u for u in config.units if u.code == unit["code"]]
        assert loaded.short_name == unit.get("short_name", "")
    build_provider(config.sms)  # the section makes a working provider


def test_segment_table() -> None:
    rows = table_rows(DOC, "字数（含签名）")
    assert rows
    for length, parts in rows:
        assert count_segments(int(length)) == int(parts), length


def test_variable_limit_table() -> None:
    defaults = SmsConfig()
    for _, key, default in table_rows(DOC, "通道"):
        section, name = re.fullmatch(r"`\[(sms(?:\.\w+)?)\] (\w+)`", key).groups()  # type: ignore[union-attr]
        model = defaults if section == "sms" else defaults.section(section.split(".")[1])
        assert str(getattr(model, name)) == re.match(r"\d+", default).group(0), key  # type: ignore[union-attr]


# ---- callbacks --------------------------------------------------------------------------------------

ID_FIELD = {"aliyun": "biz_id", "tencent": "sid", "generic": "msgGroup"}


@pytest.mark.parametrize("provider", ("aliyun", "tencent", "generic"))
async def test_callback_examples_are_accepted_and_act(make_bot: Any, aiohttp_server: Any, clock: Any,
                                                      provider: str) -> None:
    r = await rig(make_bot, aiohttp_server, clock, provider)
    await r.answered(phone=PHONE)
    await r.drain()
    [sent] = r.accepted()
    ack = json.loads(one("json", f"{provider}:ack"))

    # The receipt, with the id this run's provider issued in place of the page's sample id.
    receipt = json.loads(one("json", f"{provider}:receipt"))
    for item in receipt:
        item[ID_FIELD[provider]] = sent.provider_id
        if "out_id" in item:
            item["out_id"] = sent.out_id
    resp = await r.push(json.dumps(receipt, ensure_ascii=False).encode())
    assert resp.status == 200 and json.loads(await resp.text()) == ack
    [sms] = await r.sms()
    assert sms.state == "delivered"

    # The reply, exactly as the page shows it: "1" counts as 满意 and archives the ticket.
    resp = await r.push(one("json", f"{provider}:reply").encode())
    assert resp.status == 200 and json.loads(await resp.text()) == ack
    [reply] = await r.replies()
    assert reply.verdict == "满意" and reply.phone == PHONE and reply.ticket_id == sms.ticket_id
    ticket = await r.ticket()
    assert ticket.state == "archived" and ticket.feedback == "满意"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_log_curl_examples(make_bot: Any, aiohttp_server: Any, clock: Any,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    receipt_cmd, reply_cmd = (b.text for b in blocks("bash"))
    base, token = re.search(r"'(http://[^/]+)/webhooks/sms/log\?token=([^']+)'", receipt_cmd).groups()  # type: ignore[union-attr]
    # The page says: start the bot as the README does; the example config answers on that address and token.
    monkeypatch.delenv("HOTLINE_SMS_CALLBACK_TOKEN", raising=False)
    example = load_config(ROOT / "config.example.toml")
    assert example.sms.provider == "log" and example.sms.callback_token == token
    assert base == f"http://{example.server.host}:{example.server.port}"

    r = await rig(make_bot, aiohttp_server, clock, "log", sms={"callback_token": token})
    await r.answered(phone=PHONE)
    await r.drain()
    [sms] = await r.sms()
    here = str(r.bot.client.make_url("")).rstrip("/")
    ack = json.loads(one("json", "log:ack"))

    async def run(command: str) -> Any:
        proc = await asyncio.create_subprocess_exec("bash", "-c", command.replace(base, here),
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return json.loads(out)

    assert f"log-{sms.out_id}" in receipt_cmd  # the page's id is the one this run's log provider issued
    assert await run(receipt_cmd) == ack
    [sms] = await r.sms()
    assert sms.state == "delivered"
    assert await run(reply_cmd) == ack
    ticket = await r.ticket()
    assert ticket.state == "archived" and ticket.feedback == "满意"
    [reply] = await r.replies()
    assert reply.verdict == "满意"
