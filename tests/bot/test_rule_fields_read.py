"""No preset field is left unread (issue 15, "Done means"): every field a rule sets is read by the
product as a rule's attribute (``policy.review``, ``rule.roll``, ``.duration("giveback_within")`` …)
somewhere in the code. A field that nothing reads would be policy written down and never applied.

Duration fields are read by ``bot.deadlines.evaluate`` itself (``due("deadline")``); every other
field must be read outside ``bot/deadlines.py``, where the commands, scans and pages apply it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.deadlines import Rule

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("bot", "handlers", "scheduler", "web", "adapters")
# what a rule is called where it is read: policy / rule / the merged rule of a ticket
_OWNER = r"(?:\bpolicy|\brule|\bwinner|\bpolicy\([^()]*\)|\.match\([^()]*\))"
MATCH_AND_NAMING = {"name", "label", "source", "kind", "category", "channel", "tags", "overlay"}
READ_BY_EVALUATE = {"deadline", "internal_due", "first_contact", "progress", "max_extensions", "roll"}
# read by a Rule method the product calls: field → method
READ_BY_METHOD = {"clock": "runs_every_day", "announce": "is_announced"}
# read nowhere yet, each with the work that will read it; the list can only shrink (the test below
# fails once a field here gains a reader, so it is removed from here)
NOT_READ_YET: dict[str, str] = {}


def _sources(skip_deadlines: bool) -> str:
    texts = []
    for top in PRODUCT:
        for path in (ROOT / top).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("bot/presets/") or rel == "bot/config_docs.py":
                continue  # they set fields and describe them; they do not apply them
            if skip_deadlines and rel == "bot/deadlines.py":
                continue
            texts.append(path.read_text(encoding="utf-8"))
    return "\n".join(texts)


OUTSIDE = _sources(skip_deadlines=True)
EVERYWHERE = _sources(skip_deadlines=False)
POLICY_FIELDS = sorted(set(Rule.model_fields) - MATCH_AND_NAMING)


@pytest.mark.parametrize("field", POLICY_FIELDS)
def test_every_rule_field_is_read(field: str) -> None:
    attribute = re.compile(rf"{_OWNER}\.{field}\b|\.duration\(\"{field}\"\)")
    if field in NOT_READ_YET:
        assert not attribute.search(EVERYWHERE), f"Rule.{field} is read now: remove it from NOT_READ_YET"
        return
    if field in READ_BY_EVALUATE:
        assert re.search(rf'due\("{field}"\)|\brule\.{field}\b', EVERYWHERE), f"{field}: evaluate() does not read it"
        return
    if field in READ_BY_METHOD:
        method = READ_BY_METHOD[field]
        assert re.search(rf"def {method}\(self\)[^@]*?self\.{field}\b", EVERYWHERE, re.S)
        assert re.search(rf"\.{method}\(\)", OUTSIDE), f"Rule.{method}() is called nowhere"
        return
    assert attribute.search(OUTSIDE), f"Rule.{field} is set by presets but read nowhere"


def test_the_check_can_fail() -> None:
    assert not re.search(rf"{_OWNER}\.no_such_field\b", OUTSIDE)
