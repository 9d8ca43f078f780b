"""``hotline-bot check`` validates every ``[platforms.<p>.<bot>]`` section with the adapter's own
config model and names the path of a wrong key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import base_config
from tests.system.world import ROOT, WECOM_AES_KEY, toml

BOTS: dict[str, dict[str, Any]] = {
    "wecom": {"mode": "webhook", "name": "热线助手", "token": "tok", "aes_key": WECOM_AES_KEY,
              "corp_id": "wwCORP", "agent_id": 1000002, "app_secret": "s"},
    "dingtalk": {"mode": "stream", "name": "热线助手", "app_key": "k", "app_secret": "s",
                 "card_template_id": "tpl.schema"},
    "feishu": {"mode": "webhook", "name": "热线助手", "app_id": "cli_x", "app_secret": "s",
               "verification_token": "v", "encrypt_key": "e"},
}


def _check(tmp_path: Path, platforms: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    doc = base_config(f"sqlite+aiosqlite:///{tmp_path / 'h.db'}",
                      platforms={"console": {"enabled": False}, **platforms})
    doc["units"][1]["chats"] = [{"platform": p, "bot": "main", "chat_id": f"{p}-chat"}
                                for p in ("wecom", "dingtalk", "feishu")]
    path = tmp_path / "hotline.toml"
    path.write_text(toml(doc), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "bot.cli", "check", "-c", str(path)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)


def test_check_accepts_all_three_platforms(tmp_path: Path) -> None:
    result = _check(tmp_path, {p: {"main": bot} for p, bot in BOTS.items()})
    assert result.returncode == 0, result.stderr
    assert "config OK" in result.stdout


@pytest.mark.parametrize(("platform", "change", "path"), [
    ("wecom", {"agent_idd": 1}, "platforms.wecom.main.agent_idd"),
    ("wecom", {"aes_key": "short"}, "platforms.wecom.main.aes_key"),
    ("dingtalk", {"mode": "websocket"}, "platforms.dingtalk.main.mode"),
    ("feishu", {"robot_messages_per_minute": 0}, "platforms.feishu.main.robot_messages_per_minute"),
])
def test_check_names_the_wrong_key(tmp_path: Path, platform: str, change: dict[str, Any],
                                   path: str) -> None:
    platforms = {p: {"main": dict(bot)} for p, bot in BOTS.items()}
    platforms[platform]["main"].update(change)
    result = _check(tmp_path, platforms)
    assert result.returncode != 0
    assert path in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_check_names_a_chat_bound_to_an_unknown_bot(tmp_path: Path) -> None:
    result = _check(tmp_path, {p: {"other": bot} for p, bot in BOTS.items()})
    assert result.returncode != 0
    assert "units[1].chats[0].bot" in result.stderr
