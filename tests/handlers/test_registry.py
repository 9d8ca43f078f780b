"""The command registry: a command is declared once; clashes fail when the declaring module loads."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from bot.commands import Call, CommandError, CommandRegistry, CommandSpec
from handlers import COMMANDS


async def _noop(call: Call) -> str:
    return ""


def _load(path: Path) -> None:
    """Import ``path`` as a module, as the handlers package imports its modules."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(path.stem, None)


def test_two_routes_with_one_name_fail_at_import(tmp_path: Path) -> None:
    before = [(s.name, s.words, s.handler) for s in COMMANDS]
    module = tmp_path / "second_accept.py"
    module.write_text(
        "from handlers.registry import command\n\n"
        "@command('签收', example='签收 1')\n"
        "async def accept_again(call):\n"
        "    return ''\n", encoding="utf-8")
    with pytest.raises(CommandError, match="two commands are named '签收'"):
        _load(module)
    assert [(s.name, s.words, s.handler) for s in COMMANDS] == before  # nothing half-registered


def test_an_alias_without_a_route_fails_at_import(tmp_path: Path) -> None:
    module = tmp_path / "stray_alias.py"
    module.write_text("from handlers.registry import COMMANDS\n\nCOMMANDS.alias('盖章', '用印')\n",
                      encoding="utf-8")
    with pytest.raises(CommandError, match="no handler declares"):
        _load(module)
    assert "盖章" not in COMMANDS
    assert all("用印" not in s.words for s in COMMANDS)


def test_a_word_of_another_command_is_refused() -> None:
    registry = CommandRegistry()
    registry.add(CommandSpec("同意", ("通过",), "同意 1", _noop))
    with pytest.raises(CommandError, match="already a word of '同意'"):
        registry.add(CommandSpec("审核", ("通过",), "审核 1", _noop))
    registry.add(CommandSpec("帮助", ("help",), "帮助", _noop, needs_ticket=False))
    with pytest.raises(CommandError):  # folded: a full-width copy is the same word
        registry.add(CommandSpec("说明", ("ＨＥＬＰ",), "说明", _noop, needs_ticket=False))
    assert registry.names == ["同意", "帮助"]


def test_a_new_command_is_one_declaration() -> None:
    registry = CommandRegistry()

    @registry.command("盖章", "用印", example="盖章 202611230001 已盖章", content="请写明用印事由。")
    async def stamp(call: Call) -> str:
        return "已盖章"

    registry.alias("盖章", "签章")
    assert registry["盖章"].handler is stamp
    cmd = registry.parse("@热线助手 签章 0001 已盖章")
    assert (cmd.name, cmd.ref, cmd.rest) == ("盖章", "0001", "已盖章")
    assert "· 盖章（用印/签章）：盖章 202611230001 已盖章" in registry.help_text()
    assert registry.vocabulary.usage("盖章") == "格式：盖章 202611230001 已盖章"


def test_the_bots_commands_in_help_order() -> None:
    assert COMMANDS.names == ["签收", "联系", "进展", "答复", "延期", "退单", "按重复件答复", "说明", "附件", "同意",
                              "驳回", "转办", "按建议派单", "延期结果", "时限", "包案", "督办", "回访", "查询", "模板",
                              "待办", "帮助"]
    assert {s.name for s in COMMANDS if s.read_only} == {"查询", "模板", "待办", "帮助", "附件"}
