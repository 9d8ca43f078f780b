"""The words the classifier reads (issue 17 §1: "jieba (segmentation, user dictionary of the unit's
place and organisation names)"): a user dictionary keeps local names whole, the office's names come
from its config, and a ticket's title is read apart from its body."""

from __future__ import annotations

from pathlib import Path

import jieba
import pytest

from bot.config import ConfigError, load_config
from bot.reading.classifier import WORD_WEIGHT, TextModel
from bot.reading.words import Segmenter, office_words, read_user_dict, title_of

PLACE = "鹿鸣湾社区"  # a made-up estate: jieba's own dictionary does not know it
COMPANY = "城东供水公司"


def test_jieba_alone_cuts_the_local_names() -> None:
    # the premise of the tests below: without a user dictionary these names are not one word
    words = jieba.lcut(f"{PLACE}的{COMPANY}停水三天", HMM=False)
    assert PLACE not in words and COMPANY not in words


def test_user_words_stay_whole_and_the_rest_is_cut_as_before() -> None:
    text = f"{PLACE}的{COMPANY}停水三天，居民生活困难"
    plain = Segmenter()(text)
    with_names = Segmenter([PLACE, COMPANY])(text)
    assert PLACE in with_names and COMPANY in with_names
    assert with_names[:1] == [PLACE] and with_names.index(COMPANY) == 1
    # the words outside the names are jieba's, unchanged
    assert [w for w in with_names if w not in (PLACE, COMPANY)] == [w for w in plain if w not in PLACE + COMPANY
                                                                    and w in Segmenter()("停水三天，居民生活困难")]


def test_the_longest_name_wins_and_names_are_folded() -> None:
    seg = Segmenter(["鹿鸣湾", PLACE, "城東供水公司"])  # traditional 東, folded like the texts
    assert seg(f"{PLACE}和{COMPANY}") == [PLACE, COMPANY]
    assert seg("鹿鸣湾一带")[0] == "鹿鸣湾"


def test_a_segmenter_round_trips_through_pickle() -> None:
    import pickle

    seg = pickle.loads(pickle.dumps(Segmenter([PLACE])))
    assert seg.words == (PLACE,) and PLACE in seg(f"{PLACE}停水")


def test_new_models_let_jieba_join_words_its_dictionary_lacks() -> None:
    # jieba's HMM joins 杭 + 研 into a word; without it they are two single characters, dropped
    text = "他来到了网易杭研大厦"
    assert "杭研" in Segmenter(hmm=True)(text) and "杭研" not in Segmenter()(text)
    model = TextModel.train(WATER + ROADS, {"label": ["供水"] * 5 + ["交通"] * 5})
    assert model._word.tokenizer.hmm and model._word_weight == WORD_WEIGHT


def test_models_stored_before_the_hmm_read_as_they_were_trained() -> None:
    import pickle

    older = Segmenter.__new__(Segmenter)
    older.__setstate__({"words": (PLACE,)})  # the state a segmenter was pickled with before
    assert not older.hmm and "杭研" not in older("他来到了网易杭研大厦")
    model = TextModel.train(WATER + ROADS, {"label": ["供水"] * 5 + ["交通"] * 5})
    del model.__dict__["_word_weight"]
    old = TextModel.loads(model.dumps())
    assert old is not None and old._word_weight == 1.0
    assert old.guess("家里停水了", "label")[0].label == "供水"
    assert pickle.loads(pickle.dumps(Segmenter(hmm=True))).hmm


def test_title_is_the_first_of_several_lines_and_short() -> None:
    assert title_of("路灯坏了\n人民路的路灯坏了三天") == "路灯坏了"
    assert title_of("人民路的路灯坏了三天") == ""  # one line: no part is known to be a title
    assert title_of("长" * 61 + "\n正文") == ""  # a paragraph, not a title


def test_user_dict_file_in_jieba_format(tmp_path: Path) -> None:
    path = tmp_path / "places.txt"
    path.write_text(f"# 本地地名\n{PLACE} 10 ns\n\n{COMPANY}\n", encoding="utf-8")
    assert read_user_dict(path) == [PLACE, COMPANY]


def _config(tmp_path: Path, intelligence: str) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(f"""
[intake]
secret = "intake-secret-0123456789abcdef"
[api]
tokens = ["api-token-0123456789abcdef"]
[[units]]
code = "water"
name = "{COMPANY}"
short_name = "供水"
[[procedure.routing]]
unit = "water"
keywords = ["停水", "水压低"]
[intelligence]
{intelligence}
""", encoding="utf-8")
    return path


def test_office_words_come_from_the_units_the_routing_and_the_dictionary(tmp_path: Path) -> None:
    (tmp_path / "dict").mkdir()
    (tmp_path / "dict" / "places.txt").write_text("杏花村 5\n", encoding="utf-8")
    config = load_config(_config(tmp_path, f'user_words = ["{PLACE}"]\nuser_dict = "dict/places.txt"'))
    assert office_words(config) == [COMPANY, "供水", "停水", "水压低", PLACE, "杏花村"]


def test_a_missing_user_dict_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"intelligence\.user_dict"):
        load_config(_config(tmp_path, 'user_dict = "nowhere.txt"'))


WATER = ["停水三天没人管", "自来水发黄有异味", "水压低楼上没水", "水表读数不准多收水费", "供水管道爆裂漏水"]
ROADS = ["路灯坏了很黑", "路面塌陷很危险", "红绿灯故障拥堵", "公交站台破损", "井盖丢失很危险"]


def test_the_model_reads_the_user_words_and_keeps_them() -> None:
    texts = [f"{PLACE}{w}" for w in WATER] + [f"人民路{w}" for w in ROADS]
    labels = ["供水"] * 5 + ["交通"] * 5
    model = TextModel.train(texts * 2, {"label": labels * 2}, words=[PLACE])
    assert PLACE in model._word.vocabulary_
    loaded = TextModel.loads(model.dumps())
    assert loaded is not None and PLACE in loaded._word.vocabulary_
    assert loaded.guess(f"{PLACE}又停水了", "label")[0].label == "供水"


STREETS = ["人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "东风路", "胜利路"]


def test_the_title_is_read_apart_and_outweighs_the_same_words_in_the_body() -> None:
    # every body reports a water cut and a broken street lamp alike; only the title says which
    # of the two the ticket is about
    body = "{s}停水两天了，{s}的路灯也坏了"
    water = [f"{s}停水\n" + body.format(s=s) for s in STREETS]
    roads = [f"{s}路灯坏了\n" + body.format(s=s) for s in STREETS]
    model = TextModel.train(water + roads, {"label": ["供水"] * 8 + ["交通"] * 8})
    assert model._title is not None and "T:停水" in model._title.vocabulary_
    # the same words, in the other order: read as one bag of words the two texts are alike
    assert model.guess("青年路停水两天了\n青年路的路灯也坏了", "label")[0].label == "供水"
    assert model.guess("青年路的路灯坏了\n青年路也停水两天了", "label")[0].label == "交通"


def test_one_line_texts_have_no_title_block_and_older_models_still_apply() -> None:
    model = TextModel.train(WATER + ROADS, {"label": ["供水"] * 5 + ["交通"] * 5})
    assert model._title is None
    # a model stored before the title block has no such attribute at all: it loads and is applied
    # with the blocks it was trained on
    del model.__dict__["_title"]
    old = TextModel.loads(model.dumps())
    assert old is not None and "_title" not in old.__dict__ and old._title is None
    assert old.vector(["停水"]).shape[1] == old._matrix.shape[1]
    assert old.guess("家里停水了", "label")[0].label == "供水"


def test_look_alike_characters_are_folded() -> None:
    from bot.reading.text import fold

    # 巿 (U+5DFF) typed for 市: NFKC keeps it, and so would the traditional → simplified table
    assert fold("张巿长：巿政道路") == "张市长:市政道路"
    assert Segmenter()(fold("巿政道路")) == Segmenter()("市政道路")


def test_a_history_limit_below_the_minimum_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"max_history.*min_history"):
        load_config(_config(tmp_path, "min_history = 50\nmax_history = 40"))
