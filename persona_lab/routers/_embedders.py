"""Text embedders for learned routers: offline defaults and the pluggable interface.

An embedder is any callable ``texts -> matrix`` with one row per text: a NumPy array or a
SciPy sparse matrix. Rows are L2-normalised after the call unless the embedder has a
``normalized = True`` attribute. sentence-transformers (``SentenceTransformer(...).encode``), an OpenAI
embeddings call or anything else fits. The two defaults here need no model download:
:class:`TfidfEmbedder` (fitted on the training prompts) and :class:`HashingEmbedder` (no fit).
Both are row-independent: a text embeds the same alone or in a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2
from sklearn.utils.validation import check_is_fitted

from persona_lab.core import NotFittedError, RouterError

__all__ = ["Embedder", "HashingEmbedder", "TfidfEmbedder", "embed", "resolve_embedder"]

Embedder = Callable[[Sequence[str]], Any]
"""``texts -> (len(texts), dim)`` NumPy array or SciPy sparse matrix."""


class TfidfEmbedder(BaseEstimator):  # type: ignore[misc]
    """TF-IDF over words and word pairs, fitted on the training prompts; rows are L2-normalised."""

    normalized = True

    def __init__(self, *, max_features: int | None = 50_000, ngram_range: tuple[int, int] = (1, 2),
                 sublinear_tf: bool = True, min_df: int = 1):
        self.max_features = max_features
        self.ngram_range = ngram_range
        self.sublinear_tf = sublinear_tf
        self.min_df = min_df

    def fit(self, texts: Sequence[str]) -> TfidfEmbedder:
        self.vectorizer_ = TfidfVectorizer(
            max_features=self.max_features,
            ngram_range=self.ngram_range,
            sublinear_tf=self.sublinear_tf,
            min_df=self.min_df,
            dtype=np.float64,
        ).fit(list(texts))
        return self

    def __call__(self, texts: Sequence[str]) -> Any:
        try:
            check_is_fitted(self, "vectorizer_")
        except SklearnNotFittedError:
            raise NotFittedError("TfidfEmbedder is not fitted yet; call fit(texts) first") from None
        vectorizer = self.vectorizer_
        # TfidfVectorizer.transform's own steps on the counts, without re-validating the count
        # matrix it has just built (about 250 µs a call): the same matrix, bit for bit.
        matrix = sp.csr_matrix(CountVectorizer.transform(vectorizer, list(texts)), dtype=np.float64)
        if vectorizer.sublinear_tf:
            np.log(matrix.data, out=matrix.data)
            matrix.data += 1.0
        matrix.data *= vectorizer.idf_[matrix.indices]
        inplace_csr_row_normalize_l2(matrix)
        return matrix


class HashingEmbedder(BaseEstimator):  # type: ignore[misc]
    """Hashed word and word-pair counts (no vocabulary, no fit needed); rows are L2-normalised."""

    normalized = True

    def __init__(self, *, n_features: int = 2**18, ngram_range: tuple[int, int] = (1, 2)):
        self.n_features = n_features
        self.ngram_range = ngram_range

    def fit(self, texts: Sequence[str] | None = None) -> HashingEmbedder:
        """Nothing to learn; kept so the embedder fits the same slot as :class:`TfidfEmbedder`."""
        del texts
        return self

    def __call__(self, texts: Sequence[str]) -> Any:
        vectorizer = HashingVectorizer(
            n_features=self.n_features, ngram_range=self.ngram_range, alternate_sign=False, norm=None
        )
        # what norm="l2" does, without normalize()'s argument checks (about 100 µs a call)
        matrix = sp.csr_matrix(vectorizer.transform(list(texts)), dtype=np.float64)
        inplace_csr_row_normalize_l2(matrix)
        return matrix


def resolve_embedder(embedder: object, prompts: Sequence[str], who: str) -> Embedder:
    """The embedder a router uses after ``fit``: defaults built and fitted, estimators cloned."""
    if embedder is None or (isinstance(embedder, str) and embedder == "tfidf"):
        return TfidfEmbedder().fit(prompts)
    if isinstance(embedder, str) and embedder == "hashing":
        return HashingEmbedder()
    if isinstance(embedder, str):
        raise RouterError(f"{who}: unknown embedder {embedder!r}; use 'tfidf', 'hashing' or a callable")
    if not callable(embedder):
        raise RouterError(f"{who}: embedder must be callable (texts -> matrix), got {type(embedder).__name__}")
    if hasattr(embedder, "fit") and hasattr(embedder, "get_params"):
        fitted: Embedder = clone(embedder).fit(prompts)
        return fitted
    return embedder  # type: ignore[return-value]


def embed(embedder: Embedder, texts: Sequence[str], who: str) -> Any:
    """Call ``embedder`` and check its output: float64 rows, one per text, L2-normalised."""
    matrix = embedder(list(texts))
    if isinstance(matrix, sp.csr_matrix) and matrix.dtype == np.float64:
        out = matrix
    elif sp.issparse(matrix):
        out = sp.csr_matrix(matrix, dtype=np.float64)
    else:
        out = np.asarray(matrix, dtype=np.float64)
        if out.ndim == 1 and len(texts) == 1:
            out = out[None, :]
        if out.ndim != 2:
            raise RouterError(f"{who}: the embedder returned an array of shape {out.shape}; expected (texts, dim)")
    if out.shape[0] != len(texts):
        raise RouterError(f"{who}: the embedder returned {out.shape[0]} rows for {len(texts)} texts")
    if getattr(embedder, "normalized", False) is True:
        return out  # the embedder says its rows are unit length already
    if sp.issparse(out):
        return normalize(out, norm="l2", copy=False)
    norms = np.sqrt((out * out).sum(axis=1))  # reduced row by row: the same alone or in a batch
    norms[norms == 0] = 1.0
    return out / norms[:, None]
