"""The shipped presets: one hand-computed case per rule, plus config overrides.

Base case: received Tuesday 2026-03-10 10:00 Shanghai time (March 2026 has no holidays), so
1wd = Wed 03-11, 3wd = Fri 03-13, 4wd = Mon 03-16, 5wd = Tue 03-17, 6wd = Wed 03-18,
7wd = Thu 03-19, 10wd = Tue 03-24, all at 17:30.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import get_args
from zoneinfo import ZoneInfo

import pytest

from bot.calendar import WorkCalendar
from bot.deadlines import ReplyCheckName, Rule, TicketFacts
from bot.presets import PRESETS, build_rulebook
from bot.reply_checks import REPLY_CHECKS

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()


def at(y: int, m: int, d: int, hh: int = 17, mm: int = 30) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


TUE = at(2026, 3, 10, 10, 0)


@dataclass(frozen=True)
class Case:
    preset: str
    rule: str
    received: datetime
    facts: TicketFacts
    deadline: datetime | None
    internal_due: datetime | None = None
    first_contact_due: datetime | None = None
    progress: str | None = None


def tags(*names: str) -> frozenset[str]:
    return frozenset(names)


CASES = [
    # 利川
    Case("lichuan", "lichuan-即办", TUE, TicketFacts(category="即办"), at(2026, 3, 11)),
    Case("lichuan", "lichuan-复杂", TUE, TicketFacts(category="复杂"), at(2026, 3, 13)),
    Case("lichuan", "lichuan-疑难", TUE, TicketFacts(category="疑难"), at(2026, 3, 19), progress="3wd"),
    # 松江
    Case(
        "songjiang",
        "songjiang-962200",
        TUE,
        TicketFacts(source="962200"),
        at(2026, 3, 17),
        internal_due=at(2026, 3, 16),
    ),
    Case(
        "songjiang",
        "songjiang-信访",
        TUE,
        TicketFacts(source="xinfang"),
        None,
        internal_due=at(2026, 3, 24),
        first_contact_due=at(2026, 3, 11),
    ),
    Case(
        "songjiang",
        "songjiang-紧急",
        at(2026, 3, 10, 15, 59),
        TicketFacts(tags=tags("次紧急")),
        at(2026, 3, 10),
        first_contact_due=at(2026, 3, 10),  # never after the ticket's own deadline
    ),
    Case(
        "songjiang",
        "songjiang-随申拍",
        at(2026, 3, 12, 10, 0),  # Thursday: 3 natural days end on Sunday
        TicketFacts(channel="随申拍"),
        at(2026, 3, 15),
        first_contact_due=at(2026, 3, 13),
    ),
    Case(
        "songjiang",
        "songjiang-3wd",
        TUE,
        TicketFacts(tags=tags("咨询")),
        at(2026, 3, 13),
        first_contact_due=at(2026, 3, 11),
    ),
    Case(
        "songjiang",
        "songjiang-普通",
        TUE,
        TicketFacts(),
        at(2026, 3, 19),
        internal_due=at(2026, 3, 18),
        first_contact_due=at(2026, 3, 11),
    ),
    # overlays, seen through the rule they complete
    Case(
        "songjiang",
        "songjiang-12345-先行联系",
        TUE,
        TicketFacts(source="12345", kind="投诉"),
        at(2026, 3, 19),
        internal_due=at(2026, 3, 18),
        first_contact_due=at(2026, 3, 11),
    ),
    Case(
        "songjiang",
        "songjiang-每日报送",
        TUE,
        TicketFacts(tags=tags("涉众")),
        at(2026, 3, 19),
        internal_due=at(2026, 3, 18),
        first_contact_due=at(2026, 3, 11),
        progress="daily",
    ),
    # 平顶山
    Case(
        "pingdingshan",
        "pingdingshan-A",
        at(2026, 10, 1, 9, 0),  # 国庆: holidays do not stop the clock
        TicketFacts(category="A"),
        at(2026, 10, 2, 9, 0),
    ),
    Case(
        "pingdingshan",
        "pingdingshan-D",
        at(2026, 3, 14, 22, 15),
        TicketFacts(category="D"),
        at(2026, 3, 15, 22, 15),
    ),
    Case("pingdingshan", "pingdingshan-C", TUE, TicketFacts(category="C"), at(2026, 3, 17)),
    Case("pingdingshan", "pingdingshan-B", TUE, TicketFacts(category="B"), at(2026, 3, 17)),
    # 吉林
    Case(
        "jilin",
        "jilin-紧急",
        TUE,
        TicketFacts(category="紧急"),
        at(2026, 3, 11, 10, 0),
        first_contact_due=at(2026, 3, 11, 10, 0),
    ),
    Case(
        "jilin",
        "jilin-一般",
        TUE,
        TicketFacts(category="一般"),
        at(2026, 3, 17),
        first_contact_due=at(2026, 3, 11, 10, 0),
    ),
    # 信访: 30 days from Sep 1 is Oct 1 (国庆), rolled to Oct 8
    Case(
        "xinfang",
        "xinfang-复查复核",
        at(2026, 9, 1, 10, 0),
        TicketFacts(source="xinfang", kind="复查"),
        at(2026, 10, 8),
    ),
    # 60 days from Sep 30 is Sun Nov 29, rolled to Mon Nov 30
    Case(
        "xinfang",
        "xinfang-办理",
        at(2026, 9, 30, 10, 0),
        TicketFacts(source="xinfang", kind="投诉"),
        at(2026, 11, 30),
    ),
]

# Overlay rules are checked through the winning rule they complete; these are the winners.
WINNER = {
    "songjiang-12345-先行联系": "songjiang-普通",
    "songjiang-每日报送": "songjiang-普通",
}


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_preset_rule(case: Case) -> None:
    result = build_rulebook(case.preset).compute(CAL, case.received, case.facts)
    assert result.rule == WINNER.get(case.rule, case.rule)
    assert result.deadline == case.deadline
    assert result.internal_due == case.internal_due
    assert result.first_contact_due == case.first_contact_due
    assert result.progress == case.progress


def test_every_preset_rule_has_a_case() -> None:
    policy_only = {"lichuan-all", "songjiang-退单", "songjiang-办结规范", "pingdingshan-督办",  # below
                   "songjiang-信访答复", "songjiang-咨询答复", "jilin-all", "pingdingshan-回访", "pingdingshan-all",
                   "xinfang-重大标签报告", "xinfang-重大类别报告",
                   *(f"{p}-紧急{w}报告" for p in PRESETS for w in ("标签", "类别"))}
    covered = {c.rule for c in CASES} | policy_only
    assert covered == {rule.name for preset in PRESETS.values() for rule in preset.rules}


# -- policies the table compresses ---------------------------------------------------------------


def test_lichuan_extension_and_giveback() -> None:
    book = build_rulebook("lichuan")
    for category in ("即办", "复杂", "疑难", None):
        policy = book.match(TicketFacts(category=category))
        assert policy.extension_notice_wd == 2
        assert policy.max_extensions == 1
        assert policy.giveback_within == "same-day@17:30"
        assert policy.review is True
        # “由局办公室向市长热线办申请延期”
        assert policy.extension_chain == ("office", "hotline")
    assert book.match(TicketFacts(category="即办")).first_contact is None  # “此类事项不需先行核实”


def test_songjiang_giveback_progress_and_first_contact() -> None:
    book = build_rulebook("songjiang")
    for facts in (TicketFacts(), TicketFacts(source="962200"), TicketFacts(source="xinfang")):
        assert book.match(facts).giveback_within == "1wd"
    # （二）办结规范 for every answer, each source and kind to its own template (附件2, 附件3 一/二)
    assert book.match(TicketFacts()).reply_check == "songjiang"
    assert book.match(TicketFacts(source="962200")).reply_check == "songjiang"
    assert book.match(TicketFacts(kind="咨询")).reply_check == "songjiang-consult"
    assert book.match(TicketFacts(kind="建议", source="962200")).reply_check == "songjiang-consult"
    assert book.match(TicketFacts(source="xinfang")).reply_check == "xinfang"
    assert book.match(TicketFacts(source="xinfang")).reconsider_days == 30
    assert book.match(TicketFacts()).reconsider_days is None
    assert book.match(TicketFacts(tags=tags("扬言"))).progress == "daily"
    assert book.match(TicketFacts(tags=tags("扬言"))).name == "songjiang-3wd"
    assert book.match(TicketFacts(source="962200", tags=tags("涉稳"))).progress == "daily"
    assert book.match(TicketFacts(source="962200")).first_contact is None
    assert book.match(TicketFacts(source="xinfang")).receipt_sms is True
    # the 12345 deadline list does not apply to other sources
    assert book.match(TicketFacts(source="962200", tags=tags("紧急"))).name == "songjiang-962200"


def test_songjiang_same_day_at_the_cutoff() -> None:
    book = build_rulebook("songjiang")
    urgent = TicketFacts(tags=tags("紧急"))
    assert book.compute(CAL, at(2026, 3, 10, 15, 59), urgent).deadline == at(2026, 3, 10)
    assert book.compute(CAL, at(2026, 3, 10, 16, 0), urgent).deadline == at(2026, 3, 11)


def test_pingdingshan_policies() -> None:
    book = build_rulebook("pingdingshan")
    d = book.match(TicketFacts(category="D"))
    assert d.leader_at_accept is True and d.deadline_by_office is False
    c = book.match(TicketFacts(category="C"))
    assert c.deadline_by_office is True and c.leader_at_accept is True
    assert book.match(TicketFacts(category=None)).name == "pingdingshan-B"
    # “市长热线一级、二级网络单位要对反映人进行回访” (the 回访 overlay fills every category)
    for category in ("A", "B", "C", "D", None):
        policy = book.match(TicketFacts(category=category))
        assert (policy.feedback, policy.feedback_via, policy.followup_by_unit) == ("all", "office", True)
    for category in ("A", "B", "C", "D", None):
        assert book.match(TicketFacts(category=category)).max_extensions == 1
        # “网络单位应及时提交延期申请,由市长热线办公室根据具体情况重新确定办理时限”
        assert book.match(TicketFacts(category=category)).extension_chain == ("leader", "hotline")
    assert book.match(TicketFacts(category="B")).leader_at_accept is False


def test_jilin_feedback() -> None:
    book = build_rulebook("jilin")
    assert book.match(TicketFacts(category="紧急")).feedback == "all"
    assert book.match(TicketFacts(category="一般")).feedback == "sampled"
    assert book.match(TicketFacts()).feedback == "sampled"
    # “未在规定时限内解决的，要向诉求人做好解释说明，取得理解，并承诺办结时限”: every 诉求
    assert book.match(TicketFacts(category="紧急")).delay_sms and book.match(TicketFacts()).delay_sms
    assert not build_rulebook("songjiang").match(TicketFacts()).delay_sms
    # “紧急类诉求…同时转至其上级单位督促解决”: only the 紧急 class is copied to the parent unit
    assert book.match(TicketFacts(category="紧急")).copy_to_parent is True
    assert book.match(TicketFacts()).copy_to_parent is False
    assert book.match(TicketFacts()).extension_chain == ("leader",)


def test_xinfang_roll_and_kinds() -> None:
    book = build_rulebook("xinfang")
    assert book.match(TicketFacts(kind="复核")).name == "xinfang-复查复核"
    assert all(book.match(TicketFacts(kind=k)).roll for k in ("复查", "复核", None))
    # Without a day off at the end nothing moves: Sep 1 + 30 = Oct 1 only because of 国庆
    result = book.compute(CAL, at(2026, 3, 10, 10, 0), TicketFacts(kind="复查"))
    assert result.deadline == at(2026, 4, 9)


# -- around holidays -----------------------------------------------------------------------------


def test_received_the_day_before_national_day() -> None:
    received = at(2026, 9, 30, 10, 0)
    songjiang = build_rulebook("songjiang").compute(CAL, received, TicketFacts())
    assert songjiang.to_json(CAL) == {
        "rule": "songjiang-普通",
        "deadline": "2026-10-15T17:30:00+08:00",
        "internal_due": "2026-10-14T17:30:00+08:00",
        "first_contact_due": "2026-10-08T17:30:00+08:00",
        "progress": None,
    }
    lichuan = build_rulebook("lichuan").compute(CAL, received, TicketFacts(category="即办"))
    assert lichuan.deadline == at(2026, 10, 8)
    # 10-08, 10-09, 10-10 (working Saturday), 10-12, 10-13
    assert build_rulebook("pingdingshan").compute(CAL, received, TicketFacts()).deadline == at(2026, 10, 13)


def test_received_on_the_working_saturday() -> None:
    received = at(2026, 10, 10, 9, 0)
    result = build_rulebook("songjiang").compute(CAL, received, TicketFacts())
    assert result.deadline == at(2026, 10, 20)  # 12, 13, 14, 15, 16, 19, 20
    assert result.internal_due == at(2026, 10, 19)
    assert result.first_contact_due == at(2026, 10, 12)


def test_received_on_a_saturday() -> None:
    received = at(2026, 3, 7, 11, 0)
    lichuan = build_rulebook("lichuan").compute(CAL, received, TicketFacts(category="即办"))
    assert lichuan.deadline == at(2026, 3, 9)
    assert build_rulebook("jilin").compute(CAL, received, TicketFacts()).deadline == at(2026, 3, 13)


def test_hotline_deadline_wins_over_a_preset() -> None:
    hotline = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)  # Mon 17:30 Shanghai
    result = build_rulebook("songjiang").compute(CAL, TUE, TicketFacts(), hotline_deadline=hotline)
    assert result.deadline == at(2026, 3, 16)
    assert result.internal_due == at(2026, 3, 16)  # 6wd (03-18) clipped to the deadline


# -- build_rulebook ------------------------------------------------------------------------------


def test_config_rule_with_a_preset_name_replaces_it_in_place() -> None:
    override = Rule(name="songjiang-随申拍", channel="随申拍", deadline="5d", roll=True)
    book = build_rulebook("songjiang", [override])
    names = [r.name for r in book.rules]
    assert names == [r.name for r in PRESETS["songjiang"].rules]
    assert book.rules[names.index("songjiang-随申拍")] is override
    result = book.compute(CAL, at(2026, 3, 12, 10, 0), TicketFacts(channel="随申拍"))
    assert result.deadline == at(2026, 3, 17)  # Thu + 5 = Tue


def test_other_config_rules_go_first_and_win() -> None:
    extra = Rule(name="office-市级催办", tags="市级催办", deadline="2wd")
    other = Rule(name="office-网站", channel="网站", deadline="4wd")
    book = build_rulebook("songjiang", [extra, other])
    assert [r.name for r in book.rules[:2]] == ["office-市级催办", "office-网站"]
    assert book.rules[2:] == PRESETS["songjiang"].rules
    result = book.compute(CAL, TUE, TicketFacts(tags=tags("市级催办", "咨询")))
    assert result.rule == "office-市级催办"
    assert result.deadline == at(2026, 3, 12)
    assert result.first_contact_due == at(2026, 3, 11)  # preset overlays still fill it


def test_presets_are_not_modified_by_overrides() -> None:
    before = PRESETS["lichuan"].rules
    build_rulebook("lichuan", [Rule(name="lichuan-即办", category="即办", deadline="2wd")])
    assert PRESETS["lichuan"].rules is before
    assert PRESETS["lichuan"].rules[0].deadline == "1wd"


def test_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="beijing") as err:
        build_rulebook("beijing")
    for name in ("jilin", "lichuan", "pingdingshan", "songjiang", "xinfang"):
        assert name in str(err.value)


def test_duplicate_config_rule_names_are_an_error() -> None:
    with pytest.raises(ValueError, match="'x'"):
        build_rulebook("jilin", [Rule(name="x"), Rule(name="x")])


def test_answer_checks_by_preset() -> None:
    assert set(get_args(ReplyCheckName)) == set(REPLY_CHECKS)
    expected = {"songjiang": {"songjiang"}, "xinfang": {"xinfang"}}
    for preset in PRESETS:
        checks = {build_rulebook(preset).match(TicketFacts(category=c)).reply_check for c in ("A", None)}
        assert checks == expected.get(preset, {None}), preset
