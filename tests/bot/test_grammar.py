"""The command grammar, table-driven: every alias, full-width forms, @mentions, content lines."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.calendar import WorkCalendar
from bot.grammar import Command, GrammarError, parse_extension
from handlers import COMMANDS

ALIASES = COMMANDS.vocabulary.aliases
help_text = COMMANDS.help_text


def parse(text: str) -> Command:
    """Parse with the bot's own commands."""
    return COMMANDS.parse(text)

CASES = [
    ("签收 202611230001", "签收", "202611230001", ""),
    ("接单 0001", "签收", "0001", ""),
    ("@热线助手 签收 0001", "签收", "0001", ""),
    ("@热线助手　签收　０００１", "签收", "0001", ""),
    ("签收０００１", "签收", "0001", ""),
    ("联系 0001 已电话联系", "联系", "0001", "已电话联系"),
    ("先行联系 0001 已电话联系", "联系", "0001", "已电话联系"),
    ("进展：0001，已协调社区", "进展", "0001", "已协调社区"),
    ("报送 0001 第二次报送", "进展", "0001", "第二次报送"),
    ("答复 0001 实际解决。\n11月23日电话沟通", "答复", "0001", "实际解决。\n11月23日电话沟通"),
    ("回复 0001 内容", "答复", "0001", "内容"),
    ("办结 0001 内容", "答复", "0001", "内容"),
    ("延期 0001 5天 需协调", "延期", "0001", "5天 需协调"),
    ("延期 5天 需协调", "延期", None, "5天 需协调"),
    ("退单 0001 非本单位职责", "退单", "0001", "非本单位职责"),
    ("退回 0001 非本单位职责", "退单", "0001", "非本单位职责"),
    ("说明 0001 附政策文件", "说明", "0001", "附政策文件"),
    ("情况说明 0001 附印证资料", "说明", "0001", "附印证资料"),
    ("附件 0001", "附件", "0001", ""),
    ("同意 0001", "同意", "0001", ""),
    ("通过 0001 好", "同意", "0001", "好"),
    ("批准 0001", "同意", "0001", ""),
    ("驳回 0001 请补充", "驳回", "0001", "请补充"),
    ("不同意 0001 请补充", "驳回", "0001", "请补充"),
    ("转办 0001 YLK", "转办", "0001", "YLK"),
    ("派单 0001 养老服务科", "转办", "0001", "养老服务科"),
    ("转办 0001 YLK 配合 SHJZK 民政局", "转办", "0001", "YLK 配合 SHJZK 民政局"),
    ("转办 0001 不等配合 已电话说明", "转办", "0001", "不等配合 已电话说明"),
    ("延期结果 0001 同意 2026-12-20", "延期结果", "0001", "同意 2026-12-20"),
    ("延期结果 0001 不同意 可按期办结", "延期结果", "0001", "不同意 可按期办结"),
    ("时限 0001 2026-12-20", "时限", "0001", "2026-12-20"),
    ("定时限 0001 12月20日", "时限", "0001", "12月20日"),
    ("包案 0001 李科长", "包案", "0001", "李科长"),
    ("主管领导 0001 李科长", "包案", "0001", "李科长"),
    ("督办 0001 现场 请报送方案", "督办", "0001", "现场 请报送方案"),
    ("按建议派单 0001", "按建议派单", "0001", ""),
    ("按重复件答复 0001", "按重复件答复", "0001", ""),
    ("查询 0001", "查询", "0001", ""),
    ("查 0001", "查询", "0001", ""),
    ("模板 0001", "模板", "0001", ""),
    ("答复模板 0001", "模板", "0001", ""),
    ("待办", "待办", None, ""),
    ("我的", "待办", None, ""),
    ("回访 0001 过程满意 结果满意", "回访", "0001", "过程满意 结果满意"),
    ("电话回访 0001 不满意 仍未整改", "回访", "0001", "不满意 仍未整改"),
    ("帮助", "帮助", None, ""),
    ("help", "帮助", None, ""),
    ("HELP", "帮助", None, ""),
    ("？", "帮助", None, ""),
    ("?", "帮助", None, ""),
]


@pytest.mark.parametrize(("text", "name", "ref", "rest"), CASES)
def test_parse(text: str, name: str, ref: str | None, rest: str) -> None:
    cmd = parse(text)
    assert (cmd.name, cmd.ref, cmd.rest) == (name, ref, rest)
    assert cmd.raw == text


def test_every_alias_is_covered() -> None:
    parsed = {(c[0], c[1]) for c in CASES}
    for name, aliases in ALIASES.items():
        for alias in aliases:
            assert any(alias.lower() in text.lower() and n == name for text, n in parsed), alias


@pytest.mark.parametrize("text", ["你好", "查看一下工单", "签到 0001", ""])
def test_not_a_command_gets_a_chinese_hint(text: str) -> None:
    with pytest.raises(GrammarError) as err:
        parse(text)
    assert "帮助" in str(err.value)


def test_help_lists_every_command_with_an_example() -> None:
    text = help_text()
    for name in ALIASES:
        assert f"· {name}" in text


TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("rest", "until", "reason"), [
    ("5天 需协调", datetime(2026, 12, 7, 17, 30, tzinfo=TZ), "需协调"),
    ("3个工作日 需协调", datetime(2026, 12, 7, 17, 30, tzinfo=TZ), "需协调"),  # Wed 2 Dec + 3wd = Mon 7 Dec
    ("2026-12-10 现场核实", datetime(2026, 12, 10, 17, 30, tzinfo=TZ), "现场核实"),
    ("12月11日 现场核实", datetime(2026, 12, 11, 17, 30, tzinfo=TZ), "现场核实"),
])
def test_extension_arguments(rest: str, until: datetime, reason: str) -> None:
    cal = WorkCalendar()
    deadline = datetime(2026, 12, 2, 17, 30, tzinfo=TZ)
    got, why = parse_extension(rest, cal, datetime(2026, 11, 23, 10, tzinfo=TZ), deadline)
    assert (got, why) == (until, reason)


@pytest.mark.parametrize("rest", ["", "很久", "0天 理由", "2026-13-40 x"])
def test_bad_extension_arguments(rest: str) -> None:
    with pytest.raises(GrammarError) as err:
        parse_extension(rest, WorkCalendar(), datetime(2026, 11, 23, 10, tzinfo=TZ), None,
                        COMMANDS.vocabulary.usage("延期"))
    assert "延期" in str(err.value)


@pytest.mark.parametrize("rest", ["9999-12-31 理由", "1000-01-01 理由", "2101-01-01 理由"])
def test_extension_dates_outside_the_plausible_range(rest: str) -> None:
    # Issue 14, root cause 4: a year-9999 date overflowed the calendar's arithmetic (500 / crash).
    with pytest.raises(GrammarError) as err:
        parse_extension(rest, WorkCalendar(), datetime(2026, 11, 23, 10, tzinfo=TZ), None,
                        COMMANDS.vocabulary.usage("延期"))
    assert "2000" in str(err.value) and "延期" in str(err.value)
