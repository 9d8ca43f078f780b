"""The platform guides (``docs/platforms/{wecom,dingtalk,feishu}.md``) are executed, not trusted.

Each TOML snippet is merged, in document order, into a minimal valid config and loaded by the real
loader; the ``hotline-bot`` commands shown are run on the result; every config key a guide names
is a field of the adapter's config model (and every field is documented); every webhook route a
guide names answers on the running app (401 for an unsigned request, never 404); every rate
limit and back-off number equals what the adapter applies; every signature recipe is recomputed
by the adapter's own code; the SQL that finds a chat id finds the one a signed callback carried;
and the metric names, refusal reasons and log lines the checklists quote exist.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import shlex
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from adapters.dingtalk.adapter import MAX_BODY as DINGTALK_MAX_BODY
from adapters.dingtalk.adapter import DingTalkAdapter, DingTalkBotConfig
from adapters.dingtalk.api import ROBOT_RETRY_AFTER, DingTalkApi
from adapters.dingtalk.config import DingTalkChatOptions
from adapters.dingtalk.crypto import callback_sign, robot_webhook_sign, verify_callback
from adapters.feishu.adapter import MAX_BODY as FEISHU_MAX_BODY
from adapters.feishu.adapter import FeishuAdapter, FeishuBotConfig
from adapters.feishu.api import _check as feishu_check
from adapters.feishu.config import FeishuChatOptions
from adapters.feishu.crypto import event_signature, robot_sign, verify_event_signature
from adapters.wecom.adapter import WeComAdapter, WeComBotConfig
from adapters.wecom.api import TOO_FAST
from adapters.wecom.config import WeComChatOptions
from bot.cli import build_parser, main
from bot.clock import SystemClock
from bot.config import ChatBinding, parse_config
from bot.messages import Destination
from bot.platform_config import platform_model
from bot.platforms import platform as registered
from bot.send_errors import TransientSendError
from tests.conftest import base_config
from tests.fakes.dingtalk_server import http_callback, robot_message
from tests.fakes.feishu_server import callback_request, mention, message_event
from tests.fakes.wecom_server import aibot_text, build_callback
from tests.system.world import WECOM_AES_KEY, toml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "platforms"
PLATFORMS = ("wecom", "dingtalk", "feishu")
BOT = "main"  # the bot table name every guide uses
UNREACHABLE = "http://127.0.0.1:9"  # nothing listens: start-up calls to the platform fail at once

# The value each ${ENV_VAR} a guide writes stands for while its snippets are loaded.
ENV: dict[str, str] = {
    "WECOM_BOT_ID": "aibDocBotId",
    "WECOM_BOT_SECRET": "doc-bot-secret",
    "WECOM_TOKEN": "doc-callback-token",
    "WECOM_AES_KEY": WECOM_AES_KEY,
    "WECOM_CORP_ID": "wwDocCorp",
    "WECOM_APP_SECRET": "doc-app-secret",
    "WECOM_YLK_ROBOT_KEY": "doc-robot-key",
    "DINGTALK_APP_KEY": "dingdocappkey",
    "DINGTALK_APP_SECRET": "doc-ding-secret",
    "DINGTALK_SHJZK_ROBOT_TOKEN": "doc-robot-token",
    "DINGTALK_SHJZK_ROBOT_SECRET": "SECdocrobotsecret",
    "FEISHU_APP_ID": "cli_doc",
    "FEISHU_APP_SECRET": "doc-feishu-secret",
    "FEISHU_VERIFICATION_TOKEN": "doc-verification-token",
    "FEISHU_ENCRYPT_KEY": "doc-encrypt-key",
    "FEISHU_SHJZK_HOOK": "doc-hook",
    "FEISHU_SHJZK_HOOK_SECRET": "doc-hook-secret",
}
WEBHOOK_MODES = {"wecom": "webhook", "dingtalk": "http", "feishu": "webhook"}
_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\n(?P<body>.*?)^(?P=indent)```", re.M | re.S)
_ROUTE = re.compile(r"/webhooks/(wecom|dingtalk|feishu)/(<bot>|\{bot\}|[A-Za-z0-9_-]+)")


# -- reading the guides ----------------------------------------------------------------------------

def guide(platform: str) -> str:
    return (DOCS / f"{platform}.md").read_text(encoding="utf-8")


def blocks(markdown: str, lang: str) -> list[str]:
    """The fenced code blocks of one language, dedented (blocks inside list items included)."""
    return [textwrap.dedent(m["body"]) for m in _FENCE.finditer(markdown) if m["lang"] == lang]


def tables(markdown: str, first_header: str) -> list[list[list[str]]]:
    """Body rows (cells) of every table whose first header cell is ``first_header``."""
    found: list[list[list[str]]] = []
    lines = [line.strip() for line in markdown.splitlines()]
    for i, line in enumerate(lines):
        if not line.startswith("|") or i + 1 >= len(lines) or not lines[i + 1].startswith("|---"):
            continue
        if (i > 0 and lines[i - 1].startswith("|")) or _cells(line)[0] != first_header:
            continue
        rows = []
        for row in lines[i + 2:]:
            if not row.startswith("|"):
                break
            rows.append(_cells(row))
        found.append(rows)
    return found


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def ticks(markdown: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", markdown)


def section(markdown: str, title_part: str) -> str:
    """The text of the ``## `` section whose title contains ``title_part``."""
    parts = re.split(r"^## ", markdown, flags=re.M)
    matches = [p for p in parts if title_part in p.splitlines()[0]]
    assert len(matches) == 1, f"one section titled …{title_part}… expected"
    return matches[0]


# -- configs built from the guides -----------------------------------------------------------------

def merge(doc: dict[str, Any], snippet: dict[str, Any]) -> None:
    """Apply a snippet: a bot table replaces the bot; units/people replace by code/name or append."""
    for key, value in snippet.items():
        if key == "platforms":
            for platform, bots in value.items():
                doc["platforms"].setdefault(platform, {}).update(copy.deepcopy(bots))
        elif key in ("units", "people"):
            ident = "code" if key == "units" else "name"
            for item in value:
                at = [i for i, old in enumerate(doc[key]) if old[ident] == item[ident]]
                if at:
                    doc[key][at[0]] = copy.deepcopy(item)
                else:
                    doc[key].append(copy.deepcopy(item))
        else:
            doc[key] = {**doc.get(key, {}), **copy.deepcopy(value)}


def snippets(platform: str) -> list[dict[str, Any]]:
    return [tomllib.loads(b) for b in blocks(guide(platform), "toml")]


def documented_config(platform: str, store_url: str, *, webhook: bool = False) -> dict[str, Any]:
    """Every snippet applied in order; with ``webhook``, the webhook-mode bot table last of all."""
    doc = base_config(store_url)
    parts = snippets(platform)
    for part in parts:
        merge(doc, part)
    if webhook:
        hooks = [p for p in parts if p.get("platforms", {}).get(platform, {}).get(BOT, {}).get("mode")
                 == WEBHOOK_MODES[platform]]
        assert hooks, f"{platform}.md shows no {WEBHOOK_MODES[platform]}-mode bot table"
        merge(doc, hooks[-1])
    return doc


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return ENV


async def start_documented_bot(make_bot: Any, platform: str, store_url: str) -> Any:
    """The app running the guide's webhook-mode config (platform calls go nowhere)."""
    doc = documented_config(platform, store_url, webhook=True)
    doc["platforms"][platform][BOT]["api_base"] = UNREACHABLE
    return await make_bot(**{k: v for k, v in doc.items() if k != "store"})


# -- the tests -------------------------------------------------------------------------------------

@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_toml_snippet_loads_through_the_config_loader(platform: str, env: dict[str, str],
                                                           tmp_path: Path) -> None:
    markdown = guide(platform)
    referenced = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", "\n".join(blocks(markdown, "toml"))))
    assert referenced <= set(env), f"give the test a value for {sorted(referenced - set(env))}"
    parts = snippets(platform)
    assert len(parts) >= 4
    assert any(p.get("platforms", {}).get(platform) for p in parts)
    assert any(c["platform"] == platform for p in parts for u in p.get("units", []) for c in u["chats"])
    doc = base_config(f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    for part in parts:
        merge(doc, part)
        config = parse_config(doc)  # raises ConfigError naming the key when a snippet is wrong
    bound = [c for u in config.units for c in u.chats if c.platform == platform]
    assert bound and all(c.bot in getattr(config.platforms, platform) for c in bound)
    model = platform_model(platform)
    for name, table in getattr(config.platforms, platform).items():
        model.model_validate(table)
        assert name == BOT


@pytest.mark.parametrize("platform", PLATFORMS)
def test_shell_commands_shown_run_on_the_documented_config(platform: str, env: dict[str, str],
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    doc = documented_config(platform, f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    (tmp_path / "hotline.toml").write_text(toml(doc), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    commands = [line for b in blocks(guide(platform), "bash") for line in b.splitlines() if line.strip()]
    assert commands
    for line in commands:
        argv = shlex.split(line)
        assert argv[0] == "hotline-bot", line
        build_parser().parse_args(argv[1:])  # exits on an option the CLI does not have
        assert argv[1] == "check", f"no runner for {line!r}"
        capsys.readouterr()
        assert main(argv[1:]) == 0
        assert "config OK" in capsys.readouterr().out


@pytest.mark.parametrize("platform", PLATFORMS)
def test_config_keys_named_exist_and_every_key_is_documented(platform: str) -> None:
    markdown = guide(platform)
    fields = set(platform_model(platform).model_fields)
    chat_fields = set(ChatBinding.model_fields) | set(registered(platform).chat_options.model_fields)
    key_tables = tables(markdown, "配置项")
    assert key_tables
    for rows in key_tables:
        for cells in rows:
            keys = re.findall(r"`([a-z_]+)`", cells[0])
            assert keys, cells
            for key in keys:
                assert key in fields | chat_fields, f"{platform}.md names a key {key!r} the config lacks"
    named = set(ticks(markdown))
    assert fields <= named, f"{platform}.md does not document {sorted(fields - named)}"
    assert {"robot_token", "robot_secret"} <= named or "robot_key" in named


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_documented_routes_are_served(platform: str, env: dict[str, str], make_bot: Any,
                                            store_url: str) -> None:
    markdown = guide(platform)
    routes = {(p, name) for p, name in _ROUTE.findall(markdown)}
    assert routes and {p for p, _ in routes} == {platform}
    bot = await start_documented_bot(make_bot, platform, store_url)
    registered = {r.canonical for r in bot.client.app.router.resources()}
    assert f"/webhooks/{platform}/{{bot}}" in registered
    for _, name in routes:
        path = f"/webhooks/{platform}/{BOT if name in ('<bot>', '{bot}') else name}"
        methods = ("GET", "POST") if platform == "wecom" else ("POST",)
        for method in methods:
            r = await bot.client.request(method, path, data=b"{}")
            assert r.status == 401, f"{method} {path} answered {r.status}"  # unsigned: refused, but served


RATE_CASES: dict[str, list[tuple[str, dict[str, Any], Destination]]] = {
    "wecom": [
        ("消息推送", {"mode": "webhook", "token": "t", "aes_key": WECOM_AES_KEY},
         Destination("wecom", BOT, chat_id="wr-robot")),
        ("智能机器人长连接", {"bot_id": "b", "secret": "s"}, Destination("wecom", BOT, chat_id="wr1")),
        ("自建应用", {"mode": "webhook", "token": "t", "aes_key": WECOM_AES_KEY, "corp_id": "ww",
                   "agent_id": 1000002, "app_secret": "x"}, Destination("wecom", BOT, user_id="u1")),
    ],
    "dingtalk": [
        ("自定义机器人", {}, Destination("dingtalk", BOT, chat_id="cid-robot")),
        ("应用机器人接口", {}, Destination("dingtalk", BOT, chat_id="cid1")),
    ],
    "feishu": [
        ("发到群", {}, Destination("feishu", BOT, chat_id="oc_1")),
        ("发给个人", {}, Destination("feishu", BOT, user_id="ou_1")),
        ("自定义机器人", {}, Destination("feishu", BOT, chat_id="oc-robot")),
    ],
}


# The groups with a send-only robot in RATE_CASES, and that robot's keys.
ROBOT_CHATS: dict[str, dict[tuple[str, str], Any]] = {
    "wecom": {(BOT, "wr-robot"): WeComChatOptions(robot_key="k")},
    "dingtalk": {(BOT, "cid-robot"): DingTalkChatOptions(robot_token="t", robot_secret="s")},
    "feishu": {(BOT, "oc-robot"): FeishuChatOptions(robot_token="t")},
}


def _adapter(platform: str, cfg: dict[str, Any]) -> Any:
    chats = ROBOT_CHATS[platform]
    if platform == "wecom":
        return WeComAdapter({BOT: WeComBotConfig(**cfg)}, chats=chats)
    if platform == "dingtalk":
        return DingTalkAdapter({BOT: DingTalkBotConfig(**cfg)}, chats=chats)
    return FeishuAdapter({BOT: FeishuBotConfig(**cfg)}, chats=chats)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_stated_rate_limits_are_the_adapters(platform: str) -> None:
    (rows,) = tables(guide(platform), "发送路径")
    cases = RATE_CASES[platform]
    assert len(rows) == len(cases)
    model = platform_model(platform)
    for label, cfg, dest in cases:
        matching = [r for r in rows if label in r[0]]
        assert len(matching) == 1, f"one row for {label!r} expected"
        row = " ".join(matching[0])
        m = re.search(r"(\d+) 条 / (\d+(?:\.\d+)?) 秒", row)
        assert m, row
        stated = (int(m[1]), float(m[2]))
        assert _adapter(platform, cfg).rate_limit(dest) == stated
        keys = re.findall(r"`([a-z_]+)`", matching[0][-1])
        assert keys and all(k in model.model_fields for k in keys)
        assert model.model_fields[keys[0]].default == stated[0]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_stated_back_offs_are_the_adapters(platform: str) -> None:
    (rows,) = tables(guide(platform), "平台返回")
    assert rows
    for cells in rows:
        row = " ".join(cells)
        codes = [int(c) for c in re.findall(r"`(-?\d+)`", cells[0])]
        seconds = float(re.findall(r"(\d+) 秒", cells[1])[-1])
        if platform == "wecom":
            assert codes
            assert all(TOO_FAST[c] == seconds for c in codes)
        elif platform == "dingtalk" and codes:
            assert all(ROBOT_RETRY_AFTER[c] == seconds for c in codes)
        elif platform == "dingtalk":
            assert "Retry-After" in row and "429" in row
            api = DingTalkApi(BOT, DingTalkBotConfig(), clock=SystemClock())
            assert api._api_error(429, {}, {}, what="send").retry_after == seconds
            assert api._api_error(429, {}, {"Retry-After": "7"}, what="send").retry_after == 7.0
        else:
            assert codes
            for code in codes:
                header = "x-ogw-ratelimit-reset" in row
                with pytest.raises(TransientSendError) as plain:
                    feishu_check(200, {}, {"code": code, "msg": ""})
                assert plain.value.retry_after == seconds
                if header:
                    with pytest.raises(TransientSendError) as told:
                        feishu_check(200, {"x-ogw-ratelimit-reset": "7"}, {"code": code, "msg": ""})
                    assert told.value.retry_after == 7.0
                    with pytest.raises(TransientSendError) as http429:
                        feishu_check(429, {}, None)
                    assert http429.value.retry_after == seconds


def _check_signature(platform: str, ns: dict[str, Any]) -> str:
    """Recompute what a recipe computed with the adapter's code; the value it must print."""
    if platform == "dingtalk" and "app_secret" in ns:
        assert ns["sign"] == callback_sign(ns["app_secret"], ns["timestamp"])
        assert verify_callback(ns["app_secret"], ns["timestamp"], ns["sign"], int(ns["timestamp"])) is None
        return str(ns["sign"])
    if platform == "dingtalk" and "robot_secret" in ns:
        assert ns["url_sign"] == robot_webhook_sign(ns["robot_secret"], ns["timestamp"])
        return str(ns["url_sign"])
    if platform == "feishu" and "encrypt_key" in ns:
        args = (ns["timestamp"], ns["nonce"], ns["encrypt_key"], ns["body"])
        assert ns["signature"] == event_signature(*args)
        assert verify_event_signature(*args, ns["signature"])
        return str(ns["signature"])
    if platform == "feishu" and "robot_secret" in ns:
        assert ns["sign"] == robot_sign(ns["robot_secret"], ns["timestamp"])
        return str(ns["sign"])
    raise AssertionError(f"no checker for this {platform} python example: {sorted(ns)}")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_signature_recipes_match_the_adapter(platform: str) -> None:
    recipes = blocks(guide(platform), "python")
    if platform != "wecom":
        assert len(recipes) == 2
    for source in recipes:
        ns: dict[str, Any] = {}
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(source, f"{platform}.md", "exec"), ns)  # the guide's own example
        assert _check_signature(platform, ns) in out.getvalue()


async def _post_unknown_chat(bot: Any, platform: str) -> tuple[str, str]:
    """A signed @bot message from a stranger in an unbound chat; its (chat id, sender id)."""
    now = int(bot.clock.now().timestamp())
    path = f"/webhooks/{platform}/{BOT}"
    if platform == "wecom":
        chat, who = "wrDocNewGroup", "doc-newcomer"
        query, body = build_callback(ENV["WECOM_TOKEN"], ENV["WECOM_AES_KEY"], "", json.dumps(
            aibot_text("@热线助手 帮助", userid=who, chatid=chat), ensure_ascii=False), timestamp=str(now))
        r = await bot.client.post(f"{path}?{query}", data=body, headers={"Content-Type": "application/json"})
    elif platform == "dingtalk":
        chat, who = "cidDocNewGroup==", "0123456789012345"
        headers, body = http_callback(ENV["DINGTALK_APP_SECRET"], robot_message(
            text=" 帮助", conversation_id=chat, sender_staff_id=who), now * 1000, restamp=True)
        r = await bot.client.post(path, data=body, headers=headers)
    else:
        chat, who = "oc_docnewgroup", "ou_docnewcomer"
        event = message_event("@_user_1 帮助", chat_id=chat, sender=who, token=ENV["FEISHU_VERIFICATION_TOKEN"],
                              mentions=[mention("@_user_1", "ou_bot", "热线助手")])
        body, headers = callback_request(event, encrypt_key=ENV["FEISHU_ENCRYPT_KEY"], timestamp=str(now))
        r = await bot.client.post(path, data=body, headers=headers)
    assert r.status == 200, await r.text()
    return chat, who


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_the_sql_that_finds_ids_finds_them(platform: str, env: dict[str, str], make_bot: Any,
                                                 store_url: str) -> None:
    queries = blocks(guide(platform), "sql")
    dialects = {q.splitlines()[0]: q for q in queries}
    assert len(queries) == 2 and any("SQLite" in d for d in dialects) and any("PostgreSQL" in d for d in dialects)
    bot = await start_documented_bot(make_bot, platform, store_url)
    chat, who = await _post_unknown_chat(bot, platform)
    wanted = "SQLite" if store_url.startswith("sqlite") else "PostgreSQL"
    (sql,) = [q for first, q in dialects.items() if wanted in first]
    async with bot.ctx.sessions() as s:
        rows = (await s.execute(text(sql))).all()
    assert [(r.chat_id, r.sender_id) for r in rows] == [(chat, who)]
    assert rows[0].received_at is not None


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_checklist_names_real_metrics_reasons_and_log_lines(platform: str, env: dict[str, str],
                                                                  make_bot: Any, store_url: str) -> None:
    markdown = guide(platform)
    checklist = section(markdown, "收不到消息")
    pipeline = ROOT / "adapters" / "webhooks.py"  # the refusals every platform shares
    sources = {p: p.read_text(encoding="utf-8") for p in [*(ROOT / "adapters" / platform).glob("*.py"), pipeline]}
    everywhere = "\n".join(p.read_text(encoding="utf-8")
                           for folder in ("adapters", "bot") for p in (ROOT / folder).rglob("*.py"))

    bot = await start_documented_bot(make_bot, platform, store_url)
    assert (await bot.client.post(f"/webhooks/{platform}/{BOT}", data=b"{}")).status == 401
    exposition = await (await bot.client.get("/metrics")).text()
    metrics = set(re.findall(r"\bhotline_[a-z_]+\b", checklist))
    assert "hotline_webhook_rejected_total" in metrics
    for name in metrics:
        assert re.search(rf"^{name}[{{ ]", exposition, re.M) or f"# HELP {name} " in exposition, name

    (reasons,) = tables(checklist, "reason")
    platform_source = "\n".join(sources.values())
    for cells in reasons:
        (reason,) = re.findall(r"`([a-z_]+)`", cells[0])
        assert f'"{reason}"' in platform_source, f"{platform} never refuses with reason {reason!r}"
        size = re.search(r"超过 (\d+) (KB|MB)", cells[1])
        if size:
            limit = int(size[1]) * (1024 if size[2] == "KB" else 1024 * 1024)
            assert limit == {"dingtalk": DINGTALK_MAX_BODY, "feishu": FEISHU_MAX_BODY}[platform]

    quoted = [t for t in ticks(checklist) if " " in t and "{" not in t and not t.startswith("hotline-bot")]
    assert quoted
    for line in quoted:
        for piece in filter(None, (p.strip() for p in line.split("…"))):
            assert piece in everywhere, f"{platform}.md quotes a log line the code never writes: {line!r}"
    for logger in set(re.findall(r"`(adapters\.\w+)`", checklist)):
        assert (ROOT / (logger.replace(".", "/") + ".py")).exists(), logger
