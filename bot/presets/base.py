"""What a deadline preset is: one real unit procedure's rules, in match order."""

from __future__ import annotations

from dataclasses import dataclass

from bot.deadlines import Rule

# The issue's rule for every preset, in the seeds' words: 吉林 “紧急类诉求，要急事急办、优先处理”;
# 信访 “对于重大、紧急信访事项，要及时向市政府办领导报告” — a 紧急 ticket, by tag or by category, is
# announced at registration to the office and the unit's leaders, quiet hours not applied.


def urgent_overlays(preset: str, label: str) -> tuple[Rule, Rule]:
    """The two overlay rules that announce a 紧急 ticket (tagged, or of category 紧急) at registration."""
    return (Rule(name=f"{preset}-紧急标签报告", label=f"{label}·紧急件登记即报告", overlay=True,
                 tags=["紧急"], announce=True),
            Rule(name=f"{preset}-紧急类别报告", label=f"{label}·紧急类登记即报告", overlay=True,
                 category="紧急", announce=True))


@dataclass(frozen=True)
class Preset:
    """One shipped procedure: the config name (``[procedure] preset``), the place (or kind of work) it
    comes from as people say it, its rules in match order, and the procedure it encodes."""

    name: str
    label: str
    rules: tuple[Rule, ...]
    source: str
