"""A text classifier for tickets: TF-IDF of character 1–2-grams and jieba words (HMM on; a user
dictionary's place and organisation names kept whole), plus the title's own words and characters
as a block of their own; an NB-SVM (linear SVMs on naive-Bayes-scaled features,
:mod:`bot.reading.nbsvm`) per label set (category, unit), learning from the features that tell its
labels apart best (chi²), with calibrated confidence; and the training texts' vectors to find the
most similar past tickets. Trained in seconds on a few thousand tickets, CPU only."""

from __future__ import annotations

import math
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.reading.text import fold
from bot.reading.words import Segmenter, title_of

C = 1.0  # the SVM's regularisation, chosen on bench/bench_classify.py
# the title block's share beside the whole text's: a title names the matter in a few words, and
# read apart it lifts macro-F1 by ~0.009 on 20 seeds of the public set (bench/README.md)
TITLE_WEIGHT = 0.5
# the word block's share beside the characters' (jieba's HMM joins the words its dictionary lacks)
# and the share of the features a head learns from: those that tell its labels apart best by chi².
# The rest (two thirds of them in three training texts or fewer) fit the texts' noise; without them
# a lighter word block scores best. Together +0.0035 macro-F1 over every feature with words at 0.6,
# on the means of 40 seeds and of 40 more that chose nothing (bench/README.md, "Fifth round")
WORD_WEIGHT = 0.4
KEEP_SHARE = 0.3
# bumped when the pickled layout changes; an older file is retrained, not loaded. The NB-SVM kept
# format 1: a head is still linear weights + Platt sigmoids, so an older model is applied as it was
FORMAT = 1


@dataclass(frozen=True, slots=True)
class Guess:
    """One label with its confidence (0–1)."""

    label: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A past ticket like the one read: its key and cosine similarity (0–1)."""

    key: str
    similarity: float


def _words(text: str) -> list[str]:
    """jieba's words of two characters or more: the tokenizer of models stored before the user
    dictionary (their pickles name this function)."""
    return Segmenter()(text)


def _quiet_jieba() -> None:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)


class _Head:
    """One label set's NB-SVM, kept as its folded linear weights. Confidence is Platt-calibrated on 2-fold cross-validated margins
    (scikit-learn's ``CalibratedClassifierCV``, ``ensemble=False``), then applied here with numpy:
    the library's own ``predict_proba`` spends ~40 ms of input checks on one row."""

    def __init__(self, x: Any, labels: Sequence[str]) -> None:
        from sklearn.calibration import CalibratedClassifierCV

        from bot.reading.nbsvm import NBLinearSVC

        counts = {label: labels.count(label) for label in set(labels)}
        self.classes = sorted(counts)
        self.sigmoid: Any = None
        if len(self.classes) == 1:
            self._keep(x.shape[1], [], np.zeros((1, 0)))
            self.intercept = np.zeros(1, dtype=np.float32)
            return
        columns = informative_columns(x, labels, KEEP_SHARE)
        # two folds: the same macro-F1 as three on bench_classify.py, one SVM fit fewer
        folds = min(2, min(counts.values()))
        if folds >= 2:
            calibrated = CalibratedClassifierCV(NBLinearSVC(C=C), cv=folds, ensemble=False).fit(x[:, columns], labels)
            one = calibrated.calibrated_classifiers_[0]
            svm = one.estimator
            self.sigmoid = np.array([[c.a_, c.b_] for c in one.calibrators], dtype=np.float64)
        else:
            svm = NBLinearSVC(C=C).fit(x[:, columns], labels)
        self.classes = [str(c) for c in svm.classes_]
        self._keep(x.shape[1], columns, svm.coef_)
        self.intercept = np.asarray(svm.intercept_, dtype=np.float32)

    def _keep(self, width: int, columns: Any, weights: Any) -> None:
        """Hold the weights of ``columns`` (of ``width`` features) only: with the selection, 70 %
        of a head's features have none, and a 280-unit head over every one of 229,000 features
        held 251 MB of zeros and weights (bench/README.md, "Many units").
        Column-major, as liblinear returns them: ``x @ coef.T`` then reads a C-ordered array,
        which scipy multiplies in place; a row-major one is copied on every call (+0.7 ms a
        suggestion)."""
        self.width = int(width)
        self.columns = np.asarray(columns, dtype=np.int32)
        self.coef = np.asarray(weights, dtype=np.float32, order="F")
        self._position: Any = None

    def __getstate__(self) -> dict[str, Any]:
        # the stored form since heads learn from chosen features: (width, columns, their weights)
        state = {k: v for k, v in self.__dict__.items() if k not in ("width", "columns", "_position")}
        state["coef"] = (self.width, self.columns, np.ascontiguousarray(self.coef))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # (width, columns in use, their weights); a head stored before kept the whole array
        stored = state.pop("coef")
        self.__dict__.update(state)
        if isinstance(stored, tuple):
            self._keep(*stored)
        else:
            used = np.flatnonzero(stored.any(axis=0))
            self._keep(stored.shape[1], used, stored[:, used])

    def _narrow(self, x: Any) -> Any:
        """The CSR rows ``x`` (of every feature) on the head's own columns: an index lookup per
        nonzero, as cheap as the product itself (scipy's ``x[:, columns]`` costs 10 times more)."""
        from scipy.sparse import csr_matrix

        if self._position is None:
            self._position = np.full(self.width, -1, dtype=np.int32)
            self._position[self.columns] = np.arange(len(self.columns), dtype=np.int32)
        position = self._position[x.indices]
        kept = position >= 0
        ends = np.concatenate(([0], np.cumsum(kept)))
        return csr_matrix((x.data[kept], position[kept], ends[x.indptr]), shape=(x.shape[0], len(self.columns)))

    def _margins(self, x: Any) -> Any:
        return np.asarray(self._narrow(x) @ self.coef.T) + self.intercept

    def guess(self, x: Any) -> list[Guess]:
        """Every label with its confidence, best first, for one row ``x``."""
        if len(self.classes) == 1:
            return [Guess(self.classes[0], 1.0)]
        margins = self._margins(x)[0]
        if self.sigmoid is not None:
            p = 1.0 / (1.0 + np.exp(self.sigmoid[:, 0] * margins + self.sigmoid[:, 1]))
            scores = np.array([1.0 - p[0], p[0]]) if len(self.classes) == 2 else p
        else:
            if len(self.classes) == 2:  # binary: one margin, for classes[1]
                margins = np.array([-margins[0], margins[0]])
            scores = np.exp(margins - margins.max())
        total = scores.sum()
        scores = scores / total if total > 0 else np.full(len(self.classes), 1 / len(self.classes))
        order = np.argsort(-scores)
        return [Guess(self.classes[i], float(scores[i])) for i in order]

    def predict(self, x: Any) -> list[str]:
        """The best label of each row of ``x``."""
        if len(self.classes) == 1:
            return [self.classes[0]] * x.shape[0]
        margins = self._margins(x)
        if len(self.classes) == 2:
            return [self.classes[int(m[0] > 0)] for m in margins]
        return [self.classes[i] for i in np.argmax(margins, axis=1)]


@dataclass
class TextModel:
    """Category and unit suggestion trained from labelled texts (either label may be missing on
    a row: each head learns from the rows that have it)."""

    version: int = 0
    trained_at: str = ""
    score: float | None = None
    n_train: int = 0
    keys: list[str] = field(default_factory=list)
    heads: dict[str, _Head] = field(default_factory=dict)
    _char: Any = None
    _word: Any = None
    _title: Any = None  # None in models stored before the title block: they are applied without it
    _word_weight: float = 1.0  # models stored before WORD_WEIGHT read their word block at 1
    _matrix: Any = None

    @classmethod
    def train(cls, texts: Sequence[str], labels: dict[str, Sequence[str | None]],
              keys: Sequence[str] | None = None, *, version: int = 1, trained_at: str = "",
              words: Sequence[str] = ()) -> TextModel:
        """Fit the features on ``texts`` and one head per entry of ``labels`` (name → a label per
        text, None where unknown). ``keys`` name the texts for :meth:`similar`; ``words`` is the
        user dictionary (place and organisation names jieba should not cut)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        _quiet_jieba()
        model = cls(version=version, trained_at=trained_at, n_train=len(texts),
                    keys=list(keys) if keys is not None else [str(i) for i in range(len(texts))])
        folded = [fold(t) for t in texts]
        segmenter = Segmenter(words, hmm=True)
        model._word_weight = WORD_WEIGHT
        model._char, chars = _fitted_block(TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True, min_df=2,
                                                  max_df=0.6, dtype=np.float32), folded)
        if model._char is None:
            raise ValueError("nothing to learn from: every text is empty")
        blocks = [chars]
        model._word, words_x = _fitted_block(TfidfVectorizer(tokenizer=segmenter, token_pattern=None, lowercase=False,
                                                    sublinear_tf=True, min_df=2, dtype=np.float32), folded)
        if model._word is not None:
            blocks.append(words_x * WORD_WEIGHT)
        titles = [title_of(t) for t in folded]
        if any(titles):
            # every title term counts (min_df 1): a title is a dozen characters, its rare words matter
            model._title = TfidfVectorizer(analyzer=segmenter.title_terms, sublinear_tf=True, dtype=np.float32)
            blocks.append(model._title.fit_transform(titles) * TITLE_WEIGHT)
        matrix = model._stack(*blocks)
        model._matrix = matrix
        for name, values in labels.items():
            rows = [i for i, v in enumerate(values) if v]
            if rows:
                model.heads[name] = _Head(matrix[rows], [str(values[i]) for i in rows])
        return model

    @staticmethod
    def _stack(*blocks: Any) -> Any:
        from scipy.sparse import hstack

        return _unit_rows(hstack(blocks, format="csr", dtype=np.float32))

    def vector(self, texts: Sequence[str]) -> Any:
        """The rows of ``texts`` in the model's feature space (L2-normalised)."""
        folded = [fold(t) for t in texts]
        blocks = [tfidf(self._char, folded)]
        if self._word is not None:
            blocks.append(tfidf(self._word, folded) * self._word_weight)
        if self._title is not None:
            blocks.append(tfidf(self._title, [title_of(t) for t in folded]) * TITLE_WEIGHT)
        return self._stack(*blocks)

    def guess(self, text: str, head: str) -> list[Guess]:
        """The labels of ``head`` for ``text``, best first, each with its confidence."""
        return self.heads[head].guess(self.vector([text]))

    def predict(self, texts: Sequence[str], head: str) -> list[str]:
        """The best label of ``head`` for each text."""
        return self.heads[head].predict(self.vector(texts))

    def similar(self, text: str, n: int = 3, *, exclude: str | None = None, vector: Any = None) -> list[Neighbour]:
        """The ``n`` training texts most like ``text`` (cosine of the features); ``vector`` is
        ``text``'s :meth:`vector` when the caller has it already."""
        if self._matrix is None or self._matrix.shape[0] == 0:
            return []
        sims = (self._matrix @ (self.vector([text]) if vector is None else vector).T).toarray().ravel()
        best = min(n + 1, len(sims))  # one more: ``exclude`` may be among them
        order = np.argpartition(-sims, best - 1)[:best]
        out: list[Neighbour] = []
        for i in order[np.argsort(-sims[order])]:
            if self.keys[i] != exclude and sims[i] > 0:
                out.append(Neighbour(self.keys[i], float(sims[i])))
            if len(out) == n:
                break
        return out

    def dumps(self) -> bytes:
        """The model as bytes (pickle, with the format number first)."""
        return pickle.dumps((FORMAT, self), protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def loads(data: bytes) -> TextModel | None:
        """A model from :meth:`dumps`' bytes, or None when written by another format.

        Only files the bot wrote itself are read (the model file beside the store)."""
        fmt, model = pickle.loads(data)
        return model if fmt == FORMAT else None


def informative_columns(x: Any, labels: Sequence[str], share: float) -> Any:
    """The indices of the ``share`` of ``x``'s columns (at least one) whose values tell ``labels``
    apart best by the chi² statistic (scikit-learn's ``SelectKBest``), in column order."""
    from sklearn.feature_selection import SelectKBest

    k = min(x.shape[1], max(1, math.ceil(x.shape[1] * share)))
    return SelectKBest(chi2_scores, k=k).fit(x, labels).get_support(indices=True)


def chi2_scores(x: Any, labels: Sequence[str]) -> Any:
    """scikit-learn's ``chi2`` statistic of each column of the non-negative sparse ``x`` against
    ``labels`` (NaN for an empty column, as the library's), read from the nonzeros only.

    The library builds dense labels × features arrays of float64: two of 513 MB each for a
    280-unit head over 229,000 features. With O the label's observed sum, E = p·F its expected
    one (p the label's share of the rows, F the column's total) and ΣO = ΣE = F, the statistic
    Σ(O − E)²/E is Σ O²/(p·F) − F, so only the nonzero O count."""
    classes, index = np.unique(np.asarray(labels), return_inverse=True)
    x = x.tocsr()
    share = np.bincount(index, minlength=len(classes)) / len(index)
    total = np.bincount(x.indices, weights=x.data, minlength=x.shape[1])
    squares = np.zeros(x.shape[1])
    for label in range(len(classes)):  # a label's rows at a time: one dense row, never labels × features
        rows = x[index == label]
        squares += np.bincount(rows.indices, weights=rows.data, minlength=x.shape[1]) ** 2 / share[label]
    with np.errstate(divide="ignore", invalid="ignore"):
        return squares / total - total


def _fitted_block(vectorizer: Any, texts: Sequence[str]) -> tuple[Any, Any]:
    """``vectorizer`` fitted on ``texts`` and their rows. A few short texts may share no term
    ``min_df``/``max_df`` keep: then every term counts; and texts with no term at all (no word of
    two characters) give ``(None, None)``, a block the model goes without."""
    for relaxed in (False, True):
        if relaxed:
            vectorizer.set_params(min_df=1, max_df=1.0)
        try:
            return vectorizer, vectorizer.fit_transform(texts)
        except ValueError:  # scikit-learn's "no terms remain" / "empty vocabulary"
            continue
    return None, None


def tfidf(vectorizer: Any, texts: Sequence[str]) -> Any:
    """``vectorizer.transform(texts)`` for a fitted ``TfidfVectorizer`` (l2 norm or none), worked
    out from its own counts, idf and settings: its ``transform`` spends ~1 ms of input checks on
    one row, and a suggestion reads three blocks (bench/README.md, "Fourth round")."""
    from sklearn.feature_extraction.text import CountVectorizer

    if vectorizer.norm not in ("l2", None):
        return vectorizer.transform(texts)
    weights = CountVectorizer.transform(vectorizer, texts).astype(vectorizer.dtype)
    if vectorizer.sublinear_tf:
        np.log(weights.data, out=weights.data)
        weights.data += 1
    if vectorizer.use_idf:
        weights.data *= vectorizer.idf_[weights.indices]
    return _unit_rows(weights) if vectorizer.norm == "l2" else weights


def _unit_rows(matrix: Any) -> Any:
    """``matrix`` (CSR) with each nonzero row scaled to length 1, in place."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    norms = np.sqrt(np.bincount(rows, weights=matrix.data.astype(np.float64) ** 2, minlength=matrix.shape[0]))
    norms[norms == 0] = 1.0
    matrix.data /= norms[rows].astype(matrix.data.dtype)
    return matrix


def save(model: TextModel, path: Path) -> None:
    """Write ``model`` to ``path`` atomically (a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(model.dumps())
    tmp.replace(path)


def load(path: Path) -> TextModel | None:
    """The model stored at ``path``, or None when there is none (or it is of an older format)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return TextModel.loads(data)


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``fn(*args, **kwargs)`` and the seconds it took."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start
