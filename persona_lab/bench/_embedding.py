"""A fold-fitted TF-IDF embedder whose tokenising is done once per benchmark, for fast cross-validation.

Cross-validating a learned router refits its TF-IDF embedder on every fold, and most of that
time is tokenising the same prompts again. :class:`TextCounts` counts the words and word
pairs of every benchmark prompt once (no labels are involved); :class:`FoldTfidfEmbedder`
then fits on a fold's training prompts exactly what ``TfidfVectorizer`` would learn from them
(the ``max_features`` most frequent terms, smoothed IDF, sublinear TF, L2 rows), so a fold's
router never sees another fold's statistics. It plugs into the routers' ``embedder=`` slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

from persona_lab.core import InvalidArgument, NotFittedError

__all__ = ["FoldTfidfEmbedder", "TextCounts"]


class TextCounts:
    """Word and word-pair counts of a fixed collection of texts, computed once and shared.

    Copies (``copy.deepcopy``, which ``sklearn.base.clone`` uses on plain parameters) return
    the same object: the counts are read-only.
    """

    def __init__(self, texts: Iterable[str], *, ngram_range: tuple[int, int] = (1, 2)):
        unique = list(dict.fromkeys(texts))
        self.ngram_range = ngram_range
        self._vectorizer = CountVectorizer(ngram_range=ngram_range, dtype=np.float64)
        self._counts = sp.csr_matrix(self._vectorizer.fit_transform(unique))
        self._row = {text: n for n, text in enumerate(unique)}

    def __repr__(self) -> str:
        return f"TextCounts({len(self._row)} texts, {self._counts.shape[1]} terms)"

    def __deepcopy__(self, memo: dict[int, Any]) -> TextCounts:
        return self

    @property
    def n_terms(self) -> int:
        return int(self._counts.shape[1])

    def rows(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Count rows for ``texts`` (texts never seen are counted on the fly, known terms only)."""
        index = [self._row.get(t, -1) for t in texts]
        missing = [i for i, row in enumerate(index) if row < 0]
        known = self._counts[[max(r, 0) for r in index]]
        if not missing:
            return sp.csr_matrix(known)
        extra = sp.csr_matrix(self._vectorizer.transform([texts[i] for i in missing]))
        known = sp.lil_matrix(known)
        for position, i in enumerate(missing):
            known[i] = extra[position]
        return sp.csr_matrix(known)


class FoldTfidfEmbedder(BaseEstimator):  # type: ignore[misc]
    """TF-IDF (words and word pairs) fitted on the prompts given to ``fit``, from shared counts.

    Same result as ``TfidfVectorizer(ngram_range=(1, 2), max_features=…, sublinear_tf=True)``
    fitted on those prompts ``counts`` should cover them (others are counted on the fly).
    """

    def __init__(self, *, counts: TextCounts | None = None, max_features: int | None = 50_000,
                 sublinear_tf: bool = True):
        self.counts = counts
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    def fit(self, texts: Sequence[str]) -> FoldTfidfEmbedder:
        if self.counts is None:
            raise InvalidArgument("FoldTfidfEmbedder: counts is missing; pass counts=TextCounts(texts)")
        rows = self.counts.rows(list(texts))
        term_freq = np.asarray(rows.sum(axis=0)).ravel()
        doc_freq = np.asarray((rows > 0).sum(axis=0)).ravel()
        present = np.flatnonzero(term_freq > 0)
        if self.max_features is not None and present.size > self.max_features:
            # the same (default-kind) argsort over the same alphabetical terms as TfidfVectorizer
            present = present[(-term_freq[present]).argsort()[: self.max_features]]
        self.features_ = np.sort(present)
        n = rows.shape[0]
        self.idf_ = np.log((1.0 + n) / (1.0 + doc_freq[self.features_])) + 1.0
        return self

    def __call__(self, texts: Sequence[str]) -> sp.csr_matrix:
        if not hasattr(self, "features_") or self.counts is None:
            raise NotFittedError("FoldTfidfEmbedder is not fitted yet; call fit(texts) first")
        matrix = sp.csr_matrix(self.counts.rows(list(texts))[:, self.features_])
        if self.sublinear_tf:
            matrix.data = np.log(matrix.data) + 1.0
        matrix = sp.csr_matrix(matrix @ sp.diags(self.idf_))
        return sp.csr_matrix(normalize(matrix, norm="l2", copy=False))
