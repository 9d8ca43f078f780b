"""Config errors are one Chinese line per problem, each naming its key path; no pydantic English."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_config

BASE = """
[intake]
secret = "s"

[api]
tokens = ["t"]

[[units]]
code = "BGS"
name = "局办公室"

[[units]]
code = "YLK"
name = "养老服务科"
parent = "BGS"
chats = [{ platform = "console", chat_id = "ylk" }]
"""

# (the TOML text, the exact line the loader must report)
CASES: list[tuple[str, str]] = [
    (BASE + '[server]\nport = "eighty"\n', "server.port: 应为整数"),
    (BASE + "[server]\nport = 70000\n", "server.port: 应不大于 65535"),
    (BASE + "[store]\ncolour = 1\n", "store.colour: 不认识的配置项"),
    (BASE.replace('[intake]\nsecret = "s"\n', ""), "intake: 缺少此项"),
    (BASE.replace('platform = "console"', 'platform = "qq"'),
     "units[1].chats[0].platform: 应为以下之一：console、wecom、dingtalk、feishu（当前为 'qq'）"),
    (BASE.replace('code = "BGS"', 'code = ""'), "units[0].code: 不能为空"),
    (BASE.replace('tokens = ["t"]', "tokens = []"), "api.tokens: 至少要有 1 项"),
    (BASE.replace('tokens = ["t"]', 'tokens = [""]'), "api.tokens: 令牌不能为空字符串"),
    (BASE + '[calendar]\noffice_day_end = "late"\n', 'calendar.office_day_end: 应为时刻，如 "17:30"'),
    (BASE + '[calendar]\nextra_holidays = ["2027-02-30"]\n', "calendar.extra_holidays[0]: 应为日期，如 2027-01-01"),
    (BASE + '[calendar]\ntimezone = "Mars/Olympus"\n',
     "calendar.timezone: 未知的时区 'Mars/Olympus'，例如 Asia/Shanghai"),
    (BASE + '[calendar.years.2027]\nholidays = ["2028-01-01"]\n',
     "calendar.years.2027.holidays[0]: 2028-01-01 不在 2027 年"),
    (BASE + "[calendar.years.2027]\nworkdays = []\n", "calendar.years.2027.holidays: 缺少此项"),
    (BASE + '[scheduler]\nenabled = "maybe"\n', "scheduler.enabled: 应为 true 或 false"),
    (BASE + '[scheduler]\nquiet_hours = "night"\n',
     "scheduler.quiet_hours: 应写成 21:00-08:00 的形式（或留空），当前为 'night'"),
    (BASE + '[procedure]\npreset = "shanghai"\n',
     "procedure.preset: 应为以下之一：lichuan、songjiang、pingdingshan、jilin、xinfang（当前为 'shanghai'）"),
    (BASE + '[[procedure.rules]]\ndeadline = "3wd"\n', "procedure.rules[0].name: 缺少此项"),
    (BASE + '[[procedure.rules]]\nname = "r"\ntags = 5\n',
     'procedure.rules[0].tags: 应为字符串（用引号括起来），或应为列表，如 ["a", "b"]'),
    (BASE + '[sms]\nprovider = "qq"\n', "sms.provider: 应为以下之一：log、aliyun、tencent、generic（当前为 'qq'）"),
    (BASE + "[sms]\ncitizen_link_days = 0\n", "sms.citizen_link_days: 应不小于 1"),
    (BASE + '[platforms.wecom.main]\nagent_id = "x"\n', "platforms.wecom.main.agent_id: 应为整数"),
    (BASE + '[platforms.feishu.main]\nrobot_messages_per_minute = 0\n',
     "platforms.feishu.main.robot_messages_per_minute: 应大于 0"),
    (BASE + "[platforms.qq.main]\n", "platforms.qq: 不认识的配置项"),
    (BASE.replace('chat_id = "ylk"', 'chat_id = "ylk", robot_key = "k"'),
     "units[1].chats[0].robot_key: 不认识的配置项"),  # the console's chats have no robot
    (BASE.replace('platform = "console", chat_id = "ylk"', 'platform = "wecom", bot = "main", chat_id = "ylk", '
                  'robot_key = 1') + "[platforms.wecom.main]\n",
     "units[1].chats[0].robot_key: 应为字符串（用引号括起来）"),
    (BASE + "[intake]\n", "intake: 不是有效的 TOML"),  # a table defined twice: the TOML parser's own words
    (BASE.replace('parent = "BGS"', 'parent = "XXX"'), "units[1].parent: 'XXX' 不是已配置的单位代码"),
    (BASE.replace('secret = "s"', 'secret = "${HOTLINE_NOT_SET_ANYWHERE_H5}"'),
     "intake.secret: 环境变量 HOTLINE_NOT_SET_ANYWHERE_H5 未设置"),
]

PYDANTIC_ENGLISH = ("Input should", "Field required", "Extra inputs", "validation error", "Value error",
                    "String should", "List should", "type=")


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "hotline.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value).splitlines()


def test_the_base_config_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text(BASE, encoding="utf-8")
    assert [u.code for u in load_config(path).units] == ["BGS", "YLK"]


@pytest.mark.parametrize(("text", "line"), CASES, ids=[line.split(":")[0] for _, line in CASES])
def test_a_bad_key_gets_one_chinese_line_with_its_path(tmp_path: Path, text: str, line: str) -> None:
    lines = _problems(tmp_path, text)
    if line.startswith("intake: 不是有效的 TOML"):  # the file's path comes first, then the parser's reason
        assert len(lines) == 1 and "不是有效的 TOML" in lines[0] and str(tmp_path) in lines[0]
        return
    assert lines == [line]
    for english in PYDANTIC_ENGLISH:
        assert english not in lines[0]


def test_every_problem_is_its_own_line(tmp_path: Path) -> None:
    text = BASE.replace('tokens = ["t"]', 'tokens = ["t"]\ncolour = 1') + '[server]\nport = "x"\nhost = 1\n'
    assert sorted(_problems(tmp_path, text)) == sorted([
        "server.port: 应为整数", "server.host: 应为字符串（用引号括起来）", "api.colour: 不认识的配置项"])


def test_check_prints_the_chinese_lines_without_a_traceback(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text(BASE.replace('platform = "console"', 'platform = "qq"') + '[server]\nport = "x"\n',
                    encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        main(["check", "-c", str(path)])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert "server.port: 应为整数" in err
    assert "units[1].chats[0].platform: 应为以下之一：console、wecom、dingtalk、feishu（当前为 'qq'）" in err
