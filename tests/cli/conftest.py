"""Helpers for the CLI tests: a copy of ``config.example.toml`` pointed at a temporary store."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"


def console_available() -> bool:
    """Whether the built-in console adapter can be imported (it is written by another issue)."""
    return importlib.util.find_spec("web.console") is not None


def example_text(store_url: str, *, console: bool = False) -> str:
    """The example config with its store at ``store_url``; the console off unless asked for."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text, n = re.subn(r'(?m)^url = "sqlite\+aiosqlite:///hotline\.db"', f'url = "{store_url}"', text)
    assert n == 1, "config.example.toml no longer has the default store url line"
    if not console:
        text, n = re.subn(r"(?m)^(\[platforms\.console\]\s*\nenabled = )true", r"\1false", text)
        assert n == 1
    return text


def cli_command() -> list[str]:
    """How to run ``hotline-bot`` in a subprocess: the console script when installed."""
    script = shutil.which("hotline-bot")
    return [script] if script else [sys.executable, "-m", "bot.cli"]


def clean_env() -> dict[str, str]:
    """The environment without HOTLINE_* variables, so the example's ``${VAR:-default}`` apply."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(autouse=True)
def _no_hotline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("HOTLINE_"):
            monkeypatch.delenv(key)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """``write_config(text=None, name="config.toml")`` → a config file in ``tmp_path``."""
    def write(text: str | None = None, name: str = "config.toml") -> Path:
        path = tmp_path / name
        body = text if text is not None else example_text(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
        path.write_text(body, encoding="utf-8")
        return path
    return write
