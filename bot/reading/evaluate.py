"""Judging the classifier on labelled texts: a stratified, seeded split, macro-F1, accuracy, the
confusion table and timings (``hotline-bot model evaluate``; ``bench/bench_classify.py``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from bot.reading.classifier import TextModel, timed

HEAD = "label"


def split(labels: Sequence[str], train_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Row indices for training and testing: each label split in the same proportion (a label
    with one row trains only), shuffled with ``seed``."""
    import random

    rng = random.Random(seed)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    train: list[int] = []
    test: list[int] = []
    for label in sorted(by_label):
        rows = by_label[label]
        rng.shuffle(rows)
        cut = len(rows) if len(rows) < 2 else min(len(rows) - 1, max(1, round(len(rows) * train_fraction)))
        train += rows[:cut]
        test += rows[cut:]
    return sorted(train), sorted(test)


def scores(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Macro-F1 (over the labels in ``truth``), accuracy, per-label F1 and the confusion table."""
    labels = sorted(set(truth))
    confusion = {t: {p: 0 for p in sorted(set(truth) | set(predicted))} for t in labels}
    for t, p in zip(truth, predicted, strict=True):
        confusion[t][p] += 1
    f1: dict[str, float] = {}
    for label in labels:
        tp = confusion[label][label]
        fp = sum(row.get(label, 0) for t, row in confusion.items() if t != label)
        fn = sum(confusion[label].values()) - tp
        f1[label] = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    correct = sum(t == p for t, p in zip(truth, predicted, strict=True))
    return {"macro_f1": sum(f1.values()) / len(f1) if f1 else 0.0,
            "accuracy": correct / len(truth) if truth else 0.0,
            "f1": f1, "confusion": confusion}


def evaluate(texts: Sequence[str], labels: Sequence[str], *, train_fraction: float = 0.7,
             seed: int = 1, words: Sequence[str] = ()) -> dict[str, Any]:
    """Train on a stratified part of the rows and score the rest: the ``model evaluate`` result.
    ``words`` is a user dictionary (place and organisation names kept whole)."""
    train, test = split(labels, train_fraction, seed)
    model, train_seconds = timed(TextModel.train, [texts[i] for i in train],
                                 {HEAD: [labels[i] for i in train]}, words=words)
    truth = [labels[i] for i in test]
    start = time.perf_counter()
    predicted = [model.guess(texts[i], HEAD)[0].label for i in test]  # one at a time, as the bot does
    per_item = (time.perf_counter() - start) * 1000 / len(test) if test else 0.0
    return {**scores(truth, predicted), "n_train": len(train), "n_test": len(test),
            "train_seconds": round(train_seconds, 3), "predict_ms": round(per_item, 3)}


def confusion_table(confusion: dict[str, dict[str, int]]) -> str:
    """The confusion table as text: a row per true label, a column per predicted one."""
    columns = sorted({p for row in confusion.values() for p in row})
    width = max([len(c) for c in columns] + [4]) + 2
    head = "真实＼预测".ljust(width) + "".join(c.ljust(width) for c in columns)
    lines = [head] + [t.ljust(width) + "".join(str(row.get(c, 0)).ljust(width) for c in columns)
                      for t, row in confusion.items()]
    return "\n".join(lines)
