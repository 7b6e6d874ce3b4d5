"""A similarity-weighted nearest-neighbour router (in the spirit of RouteLLM's ``sw_ranking``).

A new text's predicted quality per tier is the weighted mean over its ``n_neighbors`` most
similar training prompts (cosine similarity of embeddings), with RouteLLM's weighting
``weight_base ** (similarity / max_similarity)``: the closest prompts count up to
``weight_base`` times more than unrelated ones. A text that shares nothing with the training
set gets the mean quality of each tier.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from persona_lab.core import RouterError
from persona_lab.routers._learned import FloatArray, LearnedRouter
from persona_lab.routers._training_frame import TrainingSet

__all__ = ["KNNRouter"]

_CHUNK_ROWS = 64


class KNNRouter(LearnedRouter):
    """Route by the outcomes of the most similar training prompts.

    Parameters
    ----------
    n_neighbors:
        Training prompts to average over (``None``: all of them, as RouteLLM does).
    weight_base:
        Similarity weighting ``weight_base ** (sim / max_sim)``; 1 gives a plain mean.
    embedder:
        ``None``/"tfidf" (fitted on the prompts), "hashing", or any ``texts -> matrix`` callable.
    threshold:
        Cost knob: the stronger of two tiers when ``q_strong − q_weak >= threshold`` (in the
        training frame's quality units; the default 0.1 suits 0/1 correctness).
        Over N tiers it is λ in ``predicted quality − λ × relative cost``; None (default): chosen
        at fit from the training data (the knee, see :class:`LearnedRouter`); ``calibrate`` sets it.
    respect_pin:
        Follow the persona's pinned tier.

    Fitted attributes (besides the base ones): ``embeddings_`` (training prompts, one row
    each), ``quality_`` (their outcomes, one column per tier), ``prior_`` (mean per tier).
    """

    def __init__(
        self,
        *,
        n_neighbors: int | None = 20,
        weight_base: float = 10.0,
        embedder: object = None,
        threshold: float | None = None,
        respect_pin: bool = True,
    ):
        self.n_neighbors = n_neighbors
        self.weight_base = weight_base
        self.embedder = embedder
        self.threshold = threshold
        self.respect_pin = respect_pin

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.n_neighbors is not None and (not isinstance(self.n_neighbors, int) or self.n_neighbors < 1):
            raise RouterError(f"KNNRouter: n_neighbors must be a positive int or None, got {self.n_neighbors!r}")
        if not self.weight_base >= 1.0:
            raise RouterError(f"KNNRouter: weight_base must be >= 1, got {self.weight_base!r}")

    def _fit_model(self, X: Any, data: TrainingSet) -> None:
        self.embeddings_ = X.T.tocsr() if sp.issparse(X) else np.ascontiguousarray(X)
        self.quality_ = data.quality
        self.prior_ = data.quality.mean(axis=0)

    def _sparse_similarities(self, columns: Any, values: Any) -> FloatArray:
        """``x @ embeddings_`` for one sparse row ``x`` (its column indices and values).

        The products and their sums in the order SciPy's sparse product uses (row ``x``'s
        entries in turn, each over its training postings), so the result is the same to the
        bit, without building two sparse matrices for a single row.
        """
        postings: Any = self.embeddings_
        starts = postings.indptr[columns]
        lengths = postings.indptr[columns + 1] - starts
        total = int(lengths.sum())
        n = postings.shape[1]
        if total == 0:
            return np.zeros(n)
        # positions of every posting of every column, in order: starts[c], starts[c] + 1, …
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)
        weights = postings.data[offsets] * np.repeat(values, lengths)
        return np.bincount(postings.indices[offsets], weights=weights, minlength=n).astype(np.float64, copy=False)

    def _predict_one(self, sims: FloatArray) -> FloatArray:
        n = sims.shape[0]
        k = n if self.n_neighbors is None else min(self.n_neighbors, n)
        idx = np.argpartition(-sims, k - 1)[:k] if k < n else np.arange(n)
        top = sims[idx]
        best = float(top.max())
        if best <= 0.0:
            return np.asarray(self.prior_, dtype=np.float64)
        weights = np.power(self.weight_base, np.clip(top, 0.0, None) / best)
        result: FloatArray = (weights @ self.quality_[idx]) / weights.sum()
        return result

    def _predict_rows(self, X: Any) -> FloatArray:
        rows = X.shape[0]
        out = np.empty((rows, len(self.tiers_)))
        if sp.issparse(X):
            if not sp.issparse(self.embeddings_):
                raise RouterError("KNNRouter: the embedder changed from dense to sparse output after fit")
            if not isinstance(X, sp.csr_matrix):
                X = sp.csr_matrix(X)
            if rows == 1:
                out[0] = self._predict_one(self._sparse_similarities(X.indices, X.data))
                return out
            # SciPy's product works row by row, with the same sums as one row alone; in chunks,
            # so the (rows × training prompts) similarities stay small.
            for start in range(0, rows, _CHUNK_ROWS):
                sims = (X[start : start + _CHUNK_ROWS] @ self.embeddings_).toarray()
                for offset, row_sims in enumerate(sims):
                    out[start + offset] = self._predict_one(np.asarray(row_sims, dtype=np.float64))
            return out
        if sp.issparse(self.embeddings_):
            raise RouterError("KNNRouter: the embedder changed from sparse to dense output after fit")
        for i in range(rows):
            out[i] = self._predict_one(np.asarray(self.embeddings_ @ np.asarray(X[i]).ravel()))
        return out
