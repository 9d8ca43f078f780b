"""Hot topics: clusters of tickets about the same matter (content and place), each with a
readable label (key words and place), ranked by a heat score.

Clustering: TF-IDF of jieba words and of the character pairs across jieba's cuts, with the place
names taken out, so that a shared district does not pass for a shared matter. Each ticket is
linked to its nearest neighbours (at most :data:`NEIGHBOURS`, so one vague ticket does not chain
unrelated matters) whose cosine reaches :data:`LINK` and which are about one place: they name a
common place (a district, street, estate, school…; a city or province is too wide), or one of
them names none and the cosine reaches :data:`LINK_UNPLACED`, or they share a whole account
(:data:`EVIDENCE` words and pairs, wherever its place names were written). So two short texts
sharing a subject word (生育保险, 养老金调整) and no place are not one matter, nor the same words at
two estates. The linked groups are the topics. Key words are the words that weigh most in the
topic against the whole period (class-based TF-IDF); the place is the most frequent place name of
its tickets. Topics of equal heat rank tighter first (the mean cosine of their tickets)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

import numpy as np

from bot.reading.text import fold
from bot.reading.words import folded_names

LINK = 0.45  # cosine (places apart) of two tickets about one matter (bench/README.md, "hot topics")
LINK_UNPLACED = 0.6  # … of two tickets naming no common place and sharing few words
EVIDENCE = 15  # shared words that make two accounts one matter without a common place
NEIGHBOURS = 8
MIN_SIZE = 2
KEYWORDS = 4
SMALL_PERIOD = 100
FLAG_TAGS = frozenset({"涉众", "扬言", "涉稳"})

# A place is a run of Chinese/ASCII ending in one of these words (A3区, 丽发新城小区, 人民路).
# (路灯 is a street lamp, not the end of a road name: "门口路灯坏了")
_PLACE = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9]{1,10}?(?:省|市(?![民场])|区(?!域)|县|镇|乡(?![村亲镇])|街道|村|社区|小区|花园|大道|路(?!灯)|街|巷|广场|"
                    r"公园|学校|中学|小学|医院|市场|新城|大厦|园|湖|河)")
_PLACE_TAIL = re.compile(r"^(?:在|于|位于|我是|我们|我家|本人|请问|关于|反映|投诉|举报)")
# Characters that end the clause before a place name ("2016年12月在H3县", "以下简称K2区"): the
# name is what follows the last of them, when that leaves 3 characters ("和平路" keeps its 和).
_PLACE_LEAD = frozenset("年月日号在去从于对向到按为是被把让给将及或但而与和了也都就还又再仅称现即至往由经住")
# Places too wide to make two tickets one matter (every ticket of a city names the city).
_WIDE = ("省", "市")
# Words a place name does not hold: a match holding one is a clause ending in 路/区/园… ("希望相关
# 部门上路", "就我所知我小区", "噪音影响丽景花园"); the name is what follows the last of them, if
# that is 3 characters or more.
_NOT_PLACE = re.compile(r"我|你|他|了|的|在|解决|希望|相关|部门|参加|所知|要求|请|影响|附近|表示|严惩|市民|上路|一路|走路|"
                        r"住进|搬进|误入|全[国省市县区]|[一这那][段条]")
# Words before a place name that are not part of it ("我们小区", "建议A市", "这个小区", "根据西地省");
# taken off the front however short that leaves the name (a name shorter than 3 is then dropped)
_PLACE_FRONT = re.compile(r"^(?:根据|建议|咨询|问政|什么|导致|造成|随着|按照|属于|要求|一个|一所|这个|这些|这所|那个|"
                          r"有些|整个|所有|大多数|周边|当地|全体|本身|很多|一些|一名|每个|目前|如今|严禁|难道|来自|落户|惠及|多次|下放|普通|"
                          r"们|是|但|去|于|从|与|到|把|对|为|该|这|本|各|求|原|由|会|而|因|使|让|将|向|至|经|及|望|搞|内|过|还)+")
# Names of a kind of place, not of a place ("文明城市", "棚户区", "城际铁路"): two tickets that
# both say 「棚户区」 are not thereby at one place
_KIND_OF_PLACE = re.compile(r"城市$|^(?:[县地省]级市|直辖市|自治区|行政区|[主中心]*城区|[居住生活宅]*民?区|棚户区|"
                            r"[老灾山]区|[a-z]*地区|革命老区|重灾区|贫困地区|偏远(?:山区|地区)|小城镇|新农村|中小学|"
                            r"幼儿园|[公民私]立学校|[公民]办(?:学校|幼儿园)|培训学校|招生学校|城际铁路|高速公路|"
                            r"公交线路|十字路|走投无路|自谋生路|母亲河|工业园|[一二三]?级(?:医院|公路))$")
_HAN_FIRST, _HAN_LAST = "\u4e00", "\u9fa5"
_STOP = frozenset("的 了 是 在 我 我们 你 您 他 她 它 和 与 及 有 没有 不 也 就 都 而 被 把 对 从 到 为 以 这 那 这个 那个 "
                  "一个 问题 情况 反映 请问 希望 要求 领导 你好 您好 尊敬 相关 部门 政府 谢谢 能否 是否 什么 怎么 "
                  "如何 现在 已经 可以 进行 目前 一直 因为 所以 但是 如果 还是 这样 给 让 吗 呢 啊 吧".split())


@dataclass(frozen=True, slots=True)
class TopicItem:
    """One ticket (or one exported row) as the clustering sees it."""

    id: str
    text: str
    at: datetime | None = None
    citizen: str | None = None
    tags: tuple[str, ...] = ()
    unit: str | None = None
    dissatisfied: bool = False
    weight: float = 0.0


@dataclass
class Topic:
    """A cluster of items about one matter."""

    label: str
    keywords: list[str]
    place: str | None
    ids: list[str]
    heat: float
    units: list[str] = field(default_factory=list)
    trend: dict[str, int] = field(default_factory=dict)
    growth: int = 0

    @property
    def count(self) -> int:
        """How many tickets the topic holds."""
        return len(self.ids)

    def as_json(self) -> dict[str, Any]:
        """The ``topics --json`` entry: the contract's keys first, then the rest."""
        return {"label": self.label, "keywords": self.keywords, "count": self.count,
                "heat": round(self.heat, 2), "ids": self.ids, "place": self.place, "units": self.units,
                "trend": self.trend, "growth": self.growth}


def places(text: str) -> list[str]:
    """Place names in ``text`` (folded), in order of appearance."""
    return _places(fold(text))


def _places(folded: str) -> list[str]:
    out = []
    for m in _PLACE.finditer(folded):
        name = _PLACE_TAIL.sub("", m.group(0))
        clauses = [c.end() for c in _NOT_PLACE.finditer(name)]
        if clauses:
            name = name[clauses[-1]:]
        cuts = [i + 1 for i, c in enumerate(name) if c in _PLACE_LEAD and len(name) - i > 3]
        if cuts:
            name = name[cuts[-1]:]
        name = _PLACE_FRONT.sub("", name)
        if len(name) >= 3 and not _NOT_PLACE.search(name) and not _KIND_OF_PLACE.search(name):
            out.append(name)
    return out


@dataclass(frozen=True, slots=True)
class _Read:
    """A text as the clustering reads it: its words without its place names, and the places."""

    folded: str
    words: list[str]
    pairs: list[str]
    places: list[str]


def _read(text: str, known: Sequence[str] = ()) -> _Read:
    import jieba

    folded = fold(text)
    # the office's own place names first (its user dictionary: 「鹿鸣湾」 has no 路/区 the pattern
    # could end on), then what the pattern finds outside them
    named = [k for k in known if k in folded]
    where = named + [p for p in _places(folded) if not any(p in k or k in p for k in named)]
    rest = folded
    for p in sorted(set(where), key=len, reverse=True):  # cut apart, so "人民路路灯" still gives 路灯
        rest = rest.replace(p, "，")
    cut = jieba.lcut(rest, HMM=False)
    words = [w for w in cut if len(w) > 1 and w not in _STOP and not w.isdigit()]
    # and the character pair across each cut: jieba reads "路灯不亮" as 路 + 灯不亮, the pair is 路灯
    pairs = [a[-1] + b[0] for a, b in pairwise(cut) if (len(a) == 1 or len(b) == 1)
             and _HAN_FIRST <= a[-1] <= _HAN_LAST and _HAN_FIRST <= b[0] <= _HAN_LAST]
    return _Read(folded, words, pairs, where)


def _narrow(r: _Read) -> list[str]:
    return [p for p in r.places if not p.endswith(_WIDE)]


def _same_place(a: _Read, b: _Read) -> bool | None:
    """Whether ``a`` and ``b`` name a common place narrower than a city (one's place name is in
    the other's text: a place the extraction cut short or long still counts); None when one of
    them names none, so that their places neither agree nor differ."""
    pa, pb = _narrow(a), _narrow(b)
    if any(p in b.folded for p in pa) or any(p in a.folded for p in pb):
        return True
    return False if pa and pb else None


def heat(items: Sequence[TopicItem], growth: int) -> float:
    """The heat of a topic: tickets + ½ per distinct citizen + 2 per 涉众/扬言/涉稳 ticket + 1 per
    dissatisfied citizen + ½ per ticket more than the previous period + log(1 + weight)."""
    citizens = {i.citizen for i in items if i.citizen}
    flagged = sum(1 for i in items if FLAG_TAGS & set(i.tags))
    unhappy = sum(1 for i in items if i.dissatisfied)
    weight = sum(max(i.weight, 0.0) for i in items)
    return len(items) + 0.5 * len(citizens) + 2 * flagged + unhappy + 0.5 * max(growth, 0) + math.log1p(weight)


def _linked(matrix: Any, reads: Sequence[_Read], i: int, j: int, cosine: float) -> bool:
    """Whether rows ``i`` and ``j`` (cosine ≥ :data:`LINK`) are one matter: a common place; or a
    whole account in common (:data:`EVIDENCE` words and pairs, wherever the places were written);
    or, when one of them names no place, a cosine of :data:`LINK_UNPLACED`. The same words at two
    different places ("电梯坏了" at two estates) are two matters."""
    same = _same_place(reads[i], reads[j])
    if same or (same is None and cosine >= LINK_UNPLACED):
        return True
    a, b = matrix.indices[matrix.indptr[i]:matrix.indptr[i + 1]], matrix.indices[matrix.indptr[j]:matrix.indptr[j + 1]]
    return len(np.intersect1d(a, b, assume_unique=True)) >= EVIDENCE


def _groups(matrix: Any, reads: Sequence[_Read]) -> list[list[int]]:
    """Connected groups of rows, each linked to those of its nearest that are one matter with it."""
    n = matrix.shape[0]
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    step = 2000
    for start in range(0, n, step):
        sims = (matrix[start:start + step] @ matrix.T).toarray()
        for row, sim in enumerate(sims):
            i = start + row
            sim[i] = 0.0
            near = np.argpartition(-sim, min(NEIGHBOURS, n - 1) - 1)[:NEIGHBOURS] if n > 1 else []
            for j in near:
                if sim[j] >= LINK:
                    a, b = root(i), root(int(j))
                    if a != b and _linked(matrix, reads, i, int(j), float(sim[j])):  # joined already: no check
                        parent[a] = b
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return [g for g in groups.values() if len(g) >= MIN_SIZE]


def topics(items: Sequence[TopicItem], *, previous: Sequence[TopicItem] = (), top: int = 10,
           period: str = "day", places: Sequence[str] = ()) -> list[Topic]:
    """The ``top`` topics of ``items`` by heat; ``previous`` (the period before) gives the growth;
    ``places`` are the office's own place names (:func:`bot.reading.words.place_words`)."""
    if len(items) < MIN_SIZE:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer

    known = folded_names(places)
    reads = [_read(i.text, known) for i in items]
    # a word in a fifth of a large period says nothing about one matter; a small period keeps all
    max_df = 0.2 if len(items) >= SMALL_PERIOD else 1.0
    vectorizer = TfidfVectorizer(analyzer=lambda t: t, sublinear_tf=True, min_df=2, max_df=max_df, dtype=np.float32)
    try:
        now = vectorizer.fit_transform([r.words + r.pairs for r in reads]).tocsr()
    except ValueError:  # no word occurs twice: nothing repeats, no topic
        return []
    now.sort_indices()
    before = now[:0]
    if previous:
        before = vectorizer.transform([r.words + r.pairs for r in (_read(i.text, known) for i in previous)])
    vocabulary = np.array(vectorizer.get_feature_names_out())
    said = {w for r in reads for w in r.words}
    found: list[tuple[Topic, float]] = []
    for group in _groups(now, reads):
        members = [items[i] for i in group]
        total = np.asarray(now[group].sum(axis=0)).ravel()
        centre = total / len(group)
        growth = len(group) - _matching(before, centre)
        words = _keywords(vocabulary, centre, said)
        place = _place([reads[i].places for i in group])
        label = "、".join(words[:3]) + (f"（{place}）" if place else "")
        # the mean cosine of the topic's pairs of tickets, from the sum of their unit vectors
        tightness = (float(total @ total) - len(group)) / (len(group) * (len(group) - 1))
        found.append((Topic(label=label, keywords=words, place=place, ids=[m.id for m in members],
                            heat=heat(members, growth), units=_units(members), trend=_trend(members, period),
                            growth=growth), tightness))
    found.sort(key=lambda f: (-f[0].heat, -f[0].count, -round(f[1], 2), f[0].label))
    return [t for t, _ in found[:top]]


def _keywords(vocabulary: Any, centre: Any, said: set[str]) -> list[str]:
    """The :data:`KEYWORDS` heaviest words of a topic's mean vector, of those jieba read as words
    (a pair across a cut, "了好", weighs but is no key word). Only the topic's own nonzero columns
    are sorted: sorting the whole vocabulary once per topic was most of the time of a
    10,000-ticket period."""
    present = np.flatnonzero(centre)
    words: list[str] = []
    for w in vocabulary[present[np.argsort(-centre[present])]]:
        if w in said:
            words.append(str(w))
            if len(words) == KEYWORDS:
                break
    return words


def _matching(before: Any, centre: Any) -> int:
    """How many rows of the previous period are about the topic whose mean vector is ``centre``."""
    if before.shape[0] == 0:
        return 0
    norm = float(np.linalg.norm(centre)) or 1.0
    return int(((before @ (centre / norm)) >= LINK).sum())


def _place(place_lists: Sequence[list[str]]) -> str | None:
    """The place named by most of a topic's tickets (by two at least)."""
    counts = Counter(p for where in place_lists for p in dict.fromkeys(where))
    if not counts:
        return None
    place, n = counts.most_common(1)[0]
    return place if n >= 2 or len(place_lists) == 1 else None


def _units(members: Sequence[TopicItem]) -> list[str]:
    return [u for u, _ in Counter(m.unit for m in members if m.unit).most_common()]


def _trend(members: Sequence[TopicItem], period: str) -> dict[str, int]:
    """Tickets per day (``period="day"``) or per month, oldest first."""
    width = 10 if period == "day" else 7
    counts = Counter(m.at.date().isoformat()[:width] for m in members if m.at is not None)
    return dict(sorted(counts.items()))
