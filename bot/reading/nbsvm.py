"""NB-SVM (Wang & Manning 2012): a linear SVM per label on features scaled by their naive-Bayes
log-count ratio, so words typical of one label weigh more in that label's problem. The scaling
folds into the weights, so a fitted model is an ordinary linear one (``coef_``, ``intercept_``)
and costs nothing more to apply than a plain linear SVM."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.svm import LinearSVC


class NBLinearSVC(ClassifierMixin, BaseEstimator):
    """One-vs-rest linear SVMs on NB-scaled features, usable inside ``CalibratedClassifierCV``.

    The ratio of each label is computed on binarised features (present or not) with add-``alpha``
    smoothing; on the 2,000 public messages this beat the plain SVM on 8 seeds of 10
    (bench/README.md, "Reading the tickets"). With two labels there is one problem, for
    ``classes_[1]``, as with scikit-learn's own linear models."""

    def __init__(self, C: float = 1.0, alpha: float = 1.0) -> None:
        self.C = C
        self.alpha = alpha

    def fit(self, x: Any, y: Any) -> NBLinearSVC:
        """Fit on the sparse or dense rows ``x`` and their labels ``y``."""
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        base = csr_matrix(x, dtype=np.float64)  # liblinear's dtype: one copy here, none per label
        # document counts a label at a time: as a labels × features array they were 150 MB for a
        # 280-unit head (bench/README.md, "Many units")
        total = np.bincount(base.indices[base.data > 0], minlength=base.shape[1])
        targets = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        # float32, as the text model keeps them: a 280-unit head's are 75 MB, not 150 (+ a copy)
        self.coef_ = np.empty((len(targets), base.shape[1]), dtype=np.float32, order="F")
        self.intercept_ = np.empty(len(targets))
        for row, label in enumerate(targets):
            rows = base[y == label]
            count = np.bincount(rows.indices[rows.data > 0], minlength=base.shape[1])
            p = count + self.alpha
            q = total - count + self.alpha
            ratio = np.log((p / p.sum()) / (q / q.sum()))
            # the scaled rows share the structure of ``base``: only their values are new
            values = ratio[base.indices]
            values *= base.data  # in place: one array of values per label, not two
            scaled = csr_matrix((values, base.indices, base.indptr), shape=base.shape)
            svm = LinearSVC(C=self.C).fit(scaled, y == label)
            del scaled, values
            self.coef_[row] = svm.coef_.ravel() * ratio
            self.intercept_[row] = svm.intercept_[0]
        return self

    def decision_function(self, x: Any) -> Any:
        """The margins: one column per label, or one value per row with two labels."""
        margins = np.asarray(x @ self.coef_.T) + self.intercept_
        return margins.ravel() if len(self.classes_) == 2 else margins

    def predict(self, x: Any) -> Any:
        """The best label of each row."""
        margins = self.decision_function(x)
        if len(self.classes_) == 2:
            return self.classes_[(margins > 0).astype(int)]
        return self.classes_[np.argmax(margins, axis=1)]
