"""docs/reports.md against the code: the definitions table is the reports' own (the workbook's
口径 sheet), and the 回访 rules it states are the code's."""

from __future__ import annotations

import re
from pathlib import Path

from bot.reply_classifier import Reading, classify
from scheduler.period_reports import DEFINITIONS

TEXT = (Path(__file__).resolve().parents[2] / "docs" / "reports.md").read_text(encoding="utf-8")


def test_definitions_table_is_the_code_table() -> None:
    block = re.search(r"<!-- definitions -->\n(.*?)<!-- /definitions -->", TEXT, re.S)
    assert block, "docs/reports.md lost its definitions markers"
    rows = [tuple(c.strip() for c in line.strip().strip("|").split("|"))
            for line in block.group(1).splitlines()[2:]]
    assert rows == list(DEFINITIONS)


def test_the_reply_examples_read_as_the_page_says() -> None:
    table = {"不满意（工单重办）": Reading.UNSATISFIED, "满意（工单归档）": Reading.SATISFIED}
    checked = 0
    for line in TEXT.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or (cells[1] not in table and not cells[1].startswith("无法判断")):
            continue
        expected = table.get(cells[1], Reading.UNCLEAR)
        for reply in (r.strip() for r in cells[0].split(" / ")):
            assert classify(reply) is expected, reply
            checked += 1
    assert checked >= 10
    assert classify("满意，但是路灯还是不亮") is Reading.UNSATISFIED
