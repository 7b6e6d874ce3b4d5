"""Cheap prompt features (length, digits, maths and code markers...) and an embedder that adds them.

:func:`prompt_features` turns each text into :data:`PROMPT_FEATURES` numbers, row by row (a
text gets the same numbers alone or in a batch). :class:`PromptFeatureEmbedder` appends them,
standardised on the training prompts and scaled by ``weight``, to any embedder's rows
(TF-IDF by default), so every learned router can use them through its ``embedder=`` slot.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from persona_lab.core import NotFittedError, RouterError
from persona_lab.routers._params import RouterParams

__all__ = ["PROMPT_FEATURES", "PromptFeatureEmbedder", "prompt_features"]

PROMPT_FEATURES: tuple[str, ...] = (
    "log_chars",
    "log_words",
    "digit_share",
    "log_numbers",
    "math_markers",
    "code_markers",
    "questions",
    "log_lines",
    "options",
)
"""The columns of :func:`prompt_features`, in order."""

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_MATH = re.compile(
    r"[-+*/^=×÷%$]\s*\d|\b(?:how (?:many|much|long|far|old)|total|percent|average|sum|product|ratio|"
    r"equation|solve|calculate|probability|integral|derivative)\b",
    re.IGNORECASE,
)
_CODE = re.compile(r"```|\bdef \w+\(|\bclass \w+|\breturn\b|[{};]\s*$|\bimport \w+|=>|\bfunction\b", re.MULTILINE)
_OPTION = re.compile(r"(?m)^\s*\(?[A-J][.)]\s+\S")


def _row(text: str) -> list[float]:
    chars = len(text)
    words = len(text.split())
    digits = sum(c.isdigit() for c in text)
    return [
        math.log1p(chars),
        math.log1p(words),
        digits / chars if chars else 0.0,
        math.log1p(len(_NUMBER.findall(text))),
        math.log1p(len(_MATH.findall(text))),
        math.log1p(len(_CODE.findall(text))),
        float(text.count("?")),
        math.log1p(text.count("\n")),
        float(len(_OPTION.findall(text))),
    ]


def prompt_features(texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """``(len(texts), len(PROMPT_FEATURES))`` float array of cheap features."""
    if isinstance(texts, str):
        raise RouterError("prompt_features: pass a list of texts, not one string")
    return np.array([_row(t) for t in texts], dtype=np.float64).reshape(len(texts), len(PROMPT_FEATURES))


class PromptFeatureEmbedder(RouterParams):
    """``base`` embedder rows (TF-IDF when None) with the standardised prompt features appended.

    ``weight`` scales the appended block against the unit-length text rows. Rows are not
    re-normalised after the append (``normalized = True``), so the features keep their scale.
    Fitted attributes: ``base_`` (the fitted base embedder), ``mean_``, ``scale_``.
    """

    normalized = True

    def __init__(self, *, base: object = None, weight: float = 0.3):
        self.base = base
        self.weight = weight

    def fit(self, texts: Sequence[str]) -> PromptFeatureEmbedder:
        from persona_lab.routers._embedders import resolve_embedder

        texts = list(texts)
        self.base_ = resolve_embedder(self.base, texts, "PromptFeatureEmbedder")
        features = prompt_features(texts)
        self.mean_ = features.mean(axis=0)
        scale = features.std(axis=0)
        scale[scale == 0] = 1.0
        self.scale_ = scale
        return self

    def __call__(self, texts: Sequence[str]) -> Any:
        if not hasattr(self, "base_"):
            raise NotFittedError("PromptFeatureEmbedder is not fitted yet; call fit(texts) first")
        from persona_lab.routers._embedders import embed

        texts = list(texts)
        rows = embed(self.base_, texts, "PromptFeatureEmbedder")
        extra = (prompt_features(texts) - self.mean_) / self.scale_ * self.weight
        if sp.issparse(rows):
            return sp.csr_matrix(sp.hstack([rows, sp.csr_matrix(extra)], format="csr"), dtype=np.float64)
        return np.hstack([np.asarray(rows, dtype=np.float64), extra])
