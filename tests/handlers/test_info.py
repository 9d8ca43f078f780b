"""帮助: the 转办 example names a unit of this office's config, never a made-up code."""

from __future__ import annotations

import re

from tests.conftest import base_config
from tests.handlers.chat import Chat, only_answer

_TRANSFER = re.compile(r"· 转办(?:（[^）]*）)?：转办 \d+ (\S+)（(\S+?)的单位代码）")


async def test_help_transfer_example_uses_a_configured_unit(make_bot) -> None:
    bot = await make_bot()
    text = only_answer(await Chat(bot).say("张承办", "帮助"))
    code, name = _TRANSFER.search(text).groups()  # type: ignore[union-attr]
    units = {u["code"]: u for u in base_config("sqlite://")["units"]}
    assert code in units and units[code]["name"] == name
    assert code not in ("BGS", "YLK"), "not the office, and not the speaker's own unit"
    for command in ("签收", "答复", "同意", "驳回", "查询", "待办"):
        assert f"· {command}" in text


async def test_help_follows_another_office_s_units(make_bot) -> None:
    doc = base_config("sqlite://")
    renamed = {"YLK": "ZJJ", "SHJZK": "CGJ"}
    units = [{**u, "code": renamed.get(u["code"], u["code"])} for u in doc["units"]]
    people = [{**p, "roles": [{**r, "unit": renamed.get(r["unit"], r["unit"])} for r in p["roles"]]}
              for p in doc["people"]]
    names = {u["code"]: u["name"] for u in units}
    bot = await make_bot(units=units, people=people)
    text = only_answer(await Chat(bot).say("王办公", "帮助", direct=True))
    code, name = _TRANSFER.search(text).groups()  # type: ignore[union-attr]
    assert code in renamed.values() and names[code] == name
    assert "MZJ" not in text
