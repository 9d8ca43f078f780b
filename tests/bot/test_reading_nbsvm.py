"""The NB-SVM behind the category and unit suggestion: its folded weights are the SVM's on the
NB-scaled features, two labels give one margin as scikit-learn's own linear models do, and the
text model trained with it suggests, calibrates and round-trips through its stored bytes."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.svm import LinearSVC

from bot.reading.classifier import TITLE_WEIGHT, TextModel
from bot.reading.nbsvm import NBLinearSVC

ROADS = ["人民路路灯坏了晚上很黑", "解放路路面塌陷车辆难行", "中山路红绿灯故障路口拥堵", "建设路公交站台破损无人修",
         "人民路井盖丢失行人危险", "解放路占道停车堵塞交通"]
SCHOOLS = ["第一小学放学时校门口拥堵", "实验中学乱收资料费家长不满", "第二小学食堂饭菜质量差",
           "实验中学补课收费不合理", "第一小学校车超载很危险", "第三中学教室漏雨无人修"]
CLINICS = ["社区医院排队太久看病难", "人民医院收费不透明多收钱", "卫生院医生态度恶劣",
           "社区医院药品短缺买不到药", "人民医院挂号难黄牛多", "卫生院设备陈旧无法检查"]


def _rows() -> tuple[csr_matrix, np.ndarray]:
    x = csr_matrix(np.array([[1.0, 0.5, 0.0, 0.0], [0.8, 0.0, 0.3, 0.0], [0.9, 0.2, 0.0, 0.1],
                             [0.0, 0.0, 1.0, 0.7], [0.1, 0.0, 0.6, 0.9], [0.0, 0.3, 0.8, 1.0]]))
    return x, np.array(["a", "a", "a", "b", "b", "b"])


def test_folded_weights_are_the_svm_on_nb_scaled_features() -> None:
    x, y = _rows()
    model = NBLinearSVC(C=1.0).fit(x, y)
    present = (x.toarray() > 0).astype(float)
    p = present[y == "b"].sum(axis=0) + 1.0
    q = present[y == "a"].sum(axis=0) + 1.0
    ratio = np.log((p / p.sum()) / (q / q.sum()))
    svm = LinearSVC(C=1.0).fit(x.multiply(ratio).tocsr(), y == "b")
    assert np.allclose(model.decision_function(x), svm.decision_function(x.multiply(ratio).tocsr()))


def test_two_labels_give_one_margin_for_the_second() -> None:
    x, y = _rows()
    model = NBLinearSVC().fit(x, y)
    assert model.coef_.shape == (1, 4) and model.decision_function(x).shape == (6,)
    assert list(model.predict(x)) == list(y)


def test_three_labels_give_a_margin_each() -> None:
    x, y = _rows()
    y = np.array(["a", "a", "c", "b", "b", "c"])
    model = NBLinearSVC().fit(x, y)
    assert model.coef_.shape == (3, 4) and model.decision_function(x).shape == (6, 3)
    assert list(model.classes_) == ["a", "b", "c"]


def test_text_model_suggests_with_calibrated_confidence_and_round_trips() -> None:
    texts = ROADS + SCHOOLS + CLINICS
    labels = ["交通运输"] * 6 + ["教育文体"] * 6 + ["卫生计生"] * 6
    model = TextModel.train(texts, {"label": labels})
    loaded = TextModel.loads(model.dumps())
    assert loaded is not None
    for m in (model, loaded):
        for text, label in (("人民路路灯不亮，晚上行人看不见", "交通运输"), ("实验中学乱收费，家长意见大", "教育文体"),
                            ("社区医院看病排队太久", "卫生计生")):
            guesses = m.guess(text, "label")
            assert guesses[0].label == label
            assert abs(sum(g.confidence for g in guesses) - 1.0) < 1e-6
    assert model.predict(["第一小学门口拥堵", "人民医院收费贵"], "label") == ["教育文体", "卫生计生"]
    # column-major weights, as liblinear's: a suggestion multiplies by them without copying them
    assert all(m.heads["label"].coef.T.flags["C_CONTIGUOUS"] for m in (model, loaded))


def test_the_fast_tfidf_is_scikit_learns_own() -> None:
    # a suggestion works out each block's tf-idf from the vectorizer's counts and idf (its own
    # transform spends ~1 ms of input checks on one row); the rows must be the library's
    from scipy.sparse import hstack
    from sklearn.preprocessing import normalize

    from bot.reading.classifier import tfidf
    from bot.reading.text import fold
    from bot.reading.words import title_of

    texts = [f"{a}\n{b}" for a, b in zip(ROADS, SCHOOLS + CLINICS, strict=False)] + CLINICS
    model = TextModel.train(texts, {"label": ["路"] * 6 + ["医"] * 6})
    fresh = ["人民路路灯又坏了\n晚上很黑，社区医院门口", "实验中学", "", "ＡＢＣ　１２３"]
    folded = [fold(t) for t in fresh]
    for vectorizer, docs in ((model._char, folded), (model._word, folded),
                             (model._title, [title_of(t) for t in folded])):
        assert np.allclose(tfidf(vectorizer, docs).toarray(), vectorizer.transform(docs).toarray(), atol=1e-6)
    library = normalize(hstack([model._char.transform(folded), model._word.transform(folded) * model._word_weight,
                                model._title.transform([title_of(t) for t in folded]) * TITLE_WEIGHT]).tocsr())
    assert np.allclose(model.vector(fresh).toarray(), library.toarray(), atol=1e-6)
    assert model.vector(fresh).shape[1] == model._matrix.shape[1]


def test_the_most_similar_are_the_best_cosines_without_the_excluded() -> None:
    texts = ROADS + SCHOOLS + CLINICS
    model = TextModel.train(texts, {"label": ["路"] * 6 + ["校"] * 6 + ["医"] * 6}, keys=[f"k{i}" for i in range(18)])
    query = "人民路路灯坏了，解放路路面也塌陷了"
    sims = (model._matrix @ model.vector([query]).T).toarray().ravel()
    ranked = [f"k{i}" for i in np.argsort(-sims, kind="stable") if sims[i] > 0]
    assert [n.key for n in model.similar(query, 3)] == ranked[:3]
    assert [n.key for n in model.similar(query, 3, exclude=ranked[0])] == ranked[1:4]
    assert model.similar(query, 3, vector=model.vector([query])) == model.similar(query, 3)
    assert len(model.similar(query, 50)) == len(ranked)  # more than there are: all that are alike


def test_a_few_texts_that_share_no_word_still_train() -> None:
    # four short tickets: no word is in two of them, which min_df 2 would keep (sklearn: "After
    # pruning, no terms remain"); every term then counts
    texts = ["路灯坏了\n人民路路灯坏了", "停水\n小区停水三天", "路面塌陷\n解放路路面塌陷", "水费\n水费多收了"]
    model = TextModel.train(texts, {"label": ["路", "水", "路", "水"]})
    assert model._word is not None and model.guess("人民路路灯又坏了", "label")[0].label == "路"
    # texts without a word of two characters: the model goes without the word block
    bare = TextModel.train(["甲", "乙", "丙", "丁"], {"label": ["a", "b", "a", "b"]})
    assert bare._word is None and bare.vector(["甲乙"]).shape[1] == bare._matrix.shape[1]
    assert bare.similar("甲", 1)[0].key == "0"
    loaded = TextModel.loads(bare.dumps())
    assert loaded is not None and {g.label for g in loaded.guess("乙", "label")} == {"a", "b"}


def test_informative_columns_are_those_that_tell_the_labels_apart() -> None:
    from bot.reading.classifier import informative_columns

    # column 0 is only in "a" rows, 3 only in "b" rows; 1 and 2 are spread evenly over both
    x = csr_matrix(np.array([[1.0, 0.5, 0.5, 0.0], [0.9, 0.5, 0.5, 0.0], [0.8, 0.5, 0.5, 0.0],
                             [0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 0.9], [0.0, 0.5, 0.5, 0.8]]))
    y = ["a", "a", "a", "b", "b", "b"]
    assert list(informative_columns(x, y, 0.5)) == [0, 3]
    assert list(informative_columns(x, y, 0.25)) in ([0], [3])
    assert len(informative_columns(x, y, 0.01)) == 1  # never none


def test_chi2_scores_are_scikit_learns_read_sparse() -> None:
    from sklearn.feature_selection import chi2

    from bot.reading.classifier import chi2_scores

    rng = np.random.default_rng(7)
    for n_labels in (2, 3, 40):  # two labels: the library makes them two columns too
        dense = rng.random((200, 60)) * (rng.random((200, 60)) < 0.1)
        dense[:, 5] = 0.0  # an empty column: NaN in both
        x = csr_matrix(dense)
        y = [f"u{i}" for i in rng.integers(0, n_labels, 200)]
        assert np.allclose(chi2_scores(x, y), chi2(x, y)[0], rtol=1e-9, equal_nan=True)
        assert np.isnan(chi2_scores(x, y)[5])


def test_a_head_learns_from_its_informative_features_only() -> None:
    from bot.reading.classifier import KEEP_SHARE, informative_columns

    texts = [f"{t}，请尽快处理" for t in ROADS + SCHOOLS + CLINICS]
    labels = ["交通运输"] * 6 + ["教育文体"] * 6 + ["卫生计生"] * 6
    model = TextModel.train(texts, {"label": labels})
    head = model.heads["label"]
    kept = informative_columns(model._matrix, labels, KEEP_SHARE)
    # the head holds the weights of its chosen columns only
    assert list(head.columns) == list(kept) and head.coef.shape == (3, len(kept))
    assert head.width == model._matrix.shape[1] and len(kept) < 0.4 * head.width
    # a word every ticket ends with tells nothing: it is not among them
    word = model._word.vocabulary_["尽快"] + len(model._char.vocabulary_)
    assert word not in kept
    assert model.guess("人民路路灯坏了，请尽快处理", "label")[0].label == "交通运输"


def test_a_heads_margins_are_those_of_its_weights_over_every_feature() -> None:
    model = TextModel.train(ROADS + SCHOOLS + CLINICS, {"label": ["路"] * 6 + ["校"] * 6 + ["医"] * 6})
    head = model.heads["label"]
    whole = np.zeros((head.coef.shape[0], head.width), dtype=np.float32)
    whole[:, head.columns] = head.coef
    rows = model.vector(["人民路路灯坏了", "", "实验中学乱收费，社区医院排队", "ＸＹＺ"])  # one empty, one unknown
    assert np.allclose(head._margins(rows), rows.toarray() @ whole.T + head.intercept, atol=1e-6)
    assert np.allclose(head._margins(rows[2]), head._margins(rows)[2:3])


def test_a_head_is_stored_as_its_columns_and_loads_as_it_was() -> None:
    import pickle

    texts = ROADS + SCHOOLS + CLINICS
    model = TextModel.train(texts, {"label": ["交通运输"] * 6 + ["教育文体"] * 6 + ["卫生计生"] * 6})
    head = model.heads["label"]
    width, used, weights = head.__getstate__()["coef"]
    assert width == head.width and list(used) == list(head.columns)
    assert weights.shape == (3, len(used)) and len(used) <= 0.3 * width + 1
    probe = model.vector(["人民路路灯坏了", "实验中学补课"])
    loaded = pickle.loads(pickle.dumps(head))
    assert np.array_equal(loaded.coef, head.coef) and loaded.coef.T.flags["C_CONTIGUOUS"]
    assert loaded.guess(probe[0]) == head.guess(probe[0]) and loaded.predict(probe) == head.predict(probe)
    # a head pickled before the selection kept its weights over every feature: it loads on the
    # columns it used and guesses as it did
    whole = np.zeros((3, width), dtype=np.float32, order="F")
    whole[:, used] = weights
    legacy = object.__new__(type(head))
    legacy.__setstate__(pickle.loads(pickle.dumps(head.__getstate__() | {"coef": whole})))
    assert set(legacy.columns) <= set(used) and legacy.coef.T.flags["C_CONTIGUOUS"]
    assert legacy.guess(probe[0]) == head.guess(probe[0]) and legacy.predict(probe) == head.predict(probe)
