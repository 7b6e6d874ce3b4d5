"""A classifier router: predicts, from the text, whether a cheaper tier will do.

For every fitted tier below the strongest, a binary classifier (logistic regression by
default) learns ``P(tier's quality >= strongest tier's quality − margin)``. That probability is
the tier's predicted quality and the strongest tier's is 1, so with two tiers the score is
``1 − P(cheap tier will do)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from persona_lab.core import RouterError
from persona_lab.routers._learned import FloatArray, LearnedRouter
from persona_lab.routers._training_frame import TrainingSet

__all__ = ["ClassifierRouter"]


def _sigmoid(z: FloatArray) -> FloatArray:
    result: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return result


class ClassifierRouter(LearnedRouter):
    """Route by a classifier's estimate that the cheaper tier's answer is good enough.

    Parameters
    ----------
    estimator:
        A scikit-learn classifier with ``predict_proba`` (cloned per tier); default
        ``LogisticRegression(C=1.0, solver="liblinear")`` (fast on sparse text features).
    margin:
        A cheaper tier "will do" when its quality is at least the strongest tier's minus this.
    embedder:
        ``None``/"tfidf" (fitted on the prompts), "hashing", or any ``texts -> matrix`` callable.
    threshold:
        Cost knob: the stronger of two tiers when ``1 − P(cheap will do) >= threshold``.
        Over N tiers it is λ in ``predicted quality − λ × relative cost``; None (default): chosen
        at fit from the training data (the knee, see :class:`LearnedRouter`); ``calibrate`` sets it.
    respect_pin:
        Follow the persona's pinned tier.

    Fitted attributes (besides the base ones): ``classifiers_`` (tier → fitted classifier, or
    the constant probability when the training labels were all the same), ``positive_rate_``.
    """

    def __init__(
        self,
        *,
        estimator: Any = None,
        margin: float = 0.0,
        embedder: object = None,
        threshold: float | None = None,
        respect_pin: bool = True,
    ):
        self.estimator = estimator
        self.margin = margin
        self.embedder = embedder
        self.threshold = threshold
        self.respect_pin = respect_pin

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.estimator is not None and not hasattr(self.estimator, "predict_proba"):
            raise RouterError(
                f"ClassifierRouter: estimator {type(self.estimator).__name__} has no predict_proba"
            )

    def _fit_model(self, X: Any, data: TrainingSet) -> None:
        strongest = data.quality[:, -1]
        self.classifiers_: dict[str, Any] = {}
        self.positive_rate_: dict[str, float] = {}
        for column, tier in enumerate(data.tiers[:-1]):
            labels = (data.quality[:, column] >= strongest - self.margin).astype(int)
            rate = float(labels.mean())
            self.positive_rate_[tier] = rate
            if rate in (0.0, 1.0):
                self.classifiers_[tier] = rate
                continue
            base = self.estimator if self.estimator is not None else LogisticRegression(C=1.0, solver="liblinear")
            self.classifiers_[tier] = clone(base).fit(X, labels)

    def _probability(self, model: Any, X: Any) -> FloatArray:
        rows = X.shape[0]
        if isinstance(model, float):
            return np.full(rows, model)
        if isinstance(model, LogisticRegression) and model.coef_.shape[0] == 1:
            coef = model.coef_[0]
            # row by row either way, so a text scores the same alone or in a batch
            z = np.asarray(X @ coef).ravel() if sp.issparse(X) else np.array([float(X[i] @ coef) for i in range(rows)])
            positive = int(np.flatnonzero(model.classes_ == 1)[0])
            p: FloatArray = _sigmoid(z + float(model.intercept_[0]))
            return p if positive == 1 else 1.0 - p
        proba = model.predict_proba(X)
        column = int(np.flatnonzero(model.classes_ == 1)[0])
        return np.asarray(proba[:, column], dtype=np.float64)

    def _predict_rows(self, X: Any) -> FloatArray:
        out = np.ones((X.shape[0], len(self.tiers_)))
        for column, tier in enumerate(self.tiers_[:-1]):
            out[:, column] = self._probability(self.classifiers_[tier], X)
        return out
