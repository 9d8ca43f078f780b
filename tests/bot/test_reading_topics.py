"""Hot topics: tickets about one matter at one place cluster together, get a label of key words
and place, and rank by heat (tickets, citizens, 涉众/扬言 tags, growth, dissatisfaction)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.reading.topics import TopicItem, heat, places, topics

START = datetime(2026, 11, 2, 9, 0)
LIGHTS = ["人民路的路灯坏了好几盏，晚上走路看不见", "人民路路灯晚上不亮，行人容易摔倒", "人民路一段路灯全坏了，夜里一片漆黑",
          "晚上人民路路灯不亮，骑车很危险", "人民路的路灯损坏多日无人维修"]
NOISE = ["丽景花园小区旁边工地夜间施工噪音太大，吵得睡不着", "丽景花园小区附近工地半夜施工，噪音扰民",
         "工地深夜施工噪音影响丽景花园小区居民休息"]
SINGLES = ["孩子的医保卡丢了怎么补办", "公积金提取需要哪些材料", "驾驶证到期换证在哪里办理", "退休金什么时候调整"]


def items(texts: list[str], prefix: str, *, tags: tuple[str, ...] = (), day: int = 0) -> list[TopicItem]:
    return [TopicItem(id=f"{prefix}{i}", text=t, at=START + timedelta(days=day, hours=i), citizen=f"{prefix}-c{i}",
                      tags=tags, unit="城管局" if prefix == "L" else "生态环境局") for i, t in enumerate(texts)]


def test_clusters_are_one_matter_each_with_key_words_and_place() -> None:
    found = topics([*items(LIGHTS, "L"), *items(NOISE, "N"), *items(SINGLES, "S")])
    assert [sorted(t.ids) for t in found] == [sorted(f"L{i}" for i in range(5)), sorted(f"N{i}" for i in range(3))]
    lights, noise = found
    assert "路灯" in lights.keywords and lights.place == "人民路" and lights.label.endswith("（人民路）")
    assert "噪音" in noise.keywords and noise.place is not None and "丽景花园" in noise.place
    assert lights.units == ["城管局"] and sum(lights.trend.values()) == 5


def test_heat_counts_flags_and_growth_not_only_size() -> None:
    flagged = topics([*items(LIGHTS, "L"), *items(NOISE, "N", tags=("涉众",))])
    assert [t.ids[0][0] for t in flagged] == ["N", "L"]  # 3 涉众 tickets outweigh 5 plain ones
    before = items(LIGHTS, "P", day=-7)
    grown = topics([*items(LIGHTS, "L"), *items(NOISE, "N")], previous=before)
    lights = next(t for t in grown if t.ids[0].startswith("L"))
    assert lights.growth == 0  # as many as the week before
    assert heat(items(NOISE, "N"), 3) > heat(items(NOISE, "N"), 0)


def test_nothing_repeats_no_topic() -> None:
    assert topics(items(SINGLES, "S")) == []
    assert topics([]) == []


LIFTS = ["丽景花园小区3栋电梯坏了一个星期，老人上下楼很难", "阳光新城小区3栋电梯坏了一个星期，老人上下楼很难"]
DISTRICT = ["东城区人民路的路灯坏了好几盏", "东城区中山路的下水道堵了，污水漫到路上", "东城区解放路的垃圾好几天没人清运"]


def test_the_same_words_at_two_estates_are_two_matters() -> None:
    found = topics([*items(LIGHTS, "L"), *items(NOISE, "N"), *items(LIFTS, "E")])
    assert [sorted(t.ids) for t in found] == [sorted(f"L{i}" for i in range(5)), sorted(f"N{i}" for i in range(3))]


def test_a_shared_district_is_not_a_shared_matter() -> None:
    found = topics([*items(LIGHTS, "L"), *items(NOISE, "N"), *items(DISTRICT, "D")])
    # the district's lights on 人民路 join the 人民路 lights; its drains and its rubbish stay apart
    assert [sorted(t.ids) for t in found] == [sorted(["D0", *(f"L{i}" for i in range(5))]),
                                              sorted(f"N{i}" for i in range(3))]
    assert found[0].place == "人民路"


TIGHT = ["北山小学门口违建的铁皮房挡住校门", "北山小学门口违建的铁皮房挡住了校门"]
LOOSE = ["和平路的下水道堵了三天，污水漫到路上", "和平路下水道好几天没人疏通，臭气熏天"]
OTHERS = ["东湖村的工厂往河里排污水", "西山小区停水三天了还没来水", "南门公园的公厕臭气熏天"]  # other places


def test_equal_heat_ranks_the_tighter_topic_first() -> None:
    found = topics([*items(LOOSE, "A"), *items(TIGHT, "B"), *items(OTHERS, "O")])
    assert [sorted(t.ids) for t in found] == [["B0", "B1"], ["A0", "A1"]]
    assert found[0].heat == found[1].heat and found[0].label > found[1].label  # not the labels' order


# Two estates whose names end in no 路/区/小区 the place pattern could find: only the office's user
# dictionary (``[intelligence] user_words`` / ``user_dict``) says they are places.
DEER = ["鹿鸣湾的路灯坏了好几盏，晚上走路看不见", "鹿鸣湾的路灯坏了，晚上走路看不见很危险", "鹿鸣湾路灯坏了好几盏，晚上看不见路"]
APRICOT = ["望江台的路灯坏了好几盏，晚上走路看不见", "望江台的路灯坏了，晚上走路看不见很危险"]


def test_the_offices_place_names_are_places() -> None:
    texts = [*items(DEER, "D"), *items(APRICOT, "A"), *items(SINGLES, "S")]
    # without the names, the same words at the two estates read as one matter
    unknown = topics(texts)
    assert unknown and all({i[0] for i in t.ids} == {"A", "D"} and t.place is None for t in unknown)
    found = topics(texts, places=["鹿鸣湾", "望江台"])
    assert [sorted(t.ids) for t in found] == [["D0", "D1", "D2"], ["A0", "A1"]]
    assert [t.place for t in found] == ["鹿鸣湾", "望江台"] and found[0].label.endswith("（鹿鸣湾）")
    assert "鹿鸣湾" not in found[0].keywords  # the place is the label's, not a key word


@pytest.mark.parametrize(("text", "found"), [
    ("我们小区停水三天", []),  # not 「们小区」
    ("这个小区的路灯坏了", []),
    ("建议A市尽快处理", []),  # not 「建议a市」; a city alone is too short to be a matter's place
    ("作为一个城市的市民", []),  # a kind of place, not a place
    ("棚户区改造进度慢", []),
    ("一名普通市民反映", []),  # 市民 is a citizen
    ("咨询西地省社保政策", ["西地省"]),
    ("我家住在鹿鸣湾社区", ["鹿鸣湾社区"]),
    ("和平路的路灯坏了", ["和平路"]),
])
def test_place_names_leave_out_the_words_before_them_and_kinds_of_place(text: str, found: list[str]) -> None:
    assert places(text) == found
