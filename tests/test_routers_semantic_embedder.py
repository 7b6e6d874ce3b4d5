"""SemanticEmbedder: local-only loading through sentence-transformers, clear errors, the router interface.

sentence-transformers (and PyTorch) are not installed by the test suite: a stand-in module records how
the embedder calls it; a real model is used when the ``embed`` extra and a local model are present.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from persona_lab import ConfigError
from persona_lab.routers import KNNRouter, SemanticEmbedder


class StandInSentenceTransformer:
    """Test double for ``sentence_transformers.SentenceTransformer``: a bag of letters, recorded calls."""

    calls: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, name: str, **kwargs: Any) -> None:
        if not Path(name).exists():
            raise OSError(f"{name} is not a local folder")
        self.calls.append({"name": name, **kwargs})

    def encode(self, texts: list[str], **kwargs: Any) -> np.ndarray:
        self.calls.append(kwargs)
        rows = np.array([[t.count(c) for c in "aeiou"] for t in texts], dtype=np.float32) + 1.0
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> type[StandInSentenceTransformer]:
    module = types.ModuleType("sentence_transformers")
    module.SentenceTransformer = StandInSentenceTransformer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sentence_transformers", module)
    StandInSentenceTransformer.calls = []
    return StandInSentenceTransformer


def test_loads_only_local_files_once_and_returns_normalised_rows(stand_in: Any, tmp_path: Path) -> None:
    embedder = SemanticEmbedder(tmp_path, batch_size=8)
    rows = embedder(["a question", "another one"])
    embedder(["third"])
    assert rows.shape == (2, 5) and rows.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0)
    load, first, second = stand_in.calls
    assert load == {"name": str(tmp_path), "device": "cpu", "local_files_only": True}
    assert first["normalize_embeddings"] is True and first["batch_size"] == 8 and second["batch_size"] == 8
    assert clone(embedder).get_params() == {"model": tmp_path, "batch_size": 8, "device": "cpu"}
    assert not hasattr(clone(embedder), "model_")


def test_plugs_into_a_learned_router(stand_in: Any, tmp_path: Path) -> None:
    frame = pd.DataFrame({"prompt": ["aaaa", "aaab", "ooooo", "oooou"] * 5,
                          "quality_small": [1.0, 1.0, 0.0, 0.0] * 5, "quality_frontier": [1.0] * 20})
    router = KNNRouter(embedder=SemanticEmbedder(tmp_path), n_neighbors=3).fit(frame)
    scores = router.score_texts(["aaaa", "ooooo"])
    assert scores[0] < scores[1]  # the "o" prompts were the ones the small tier got wrong


def test_a_missing_model_or_package_is_a_clear_error(stand_in: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"no local sentence-transformers model at .*nowhere.*nothing is downloaded"):
        SemanticEmbedder(tmp_path / "nowhere")(["x"])
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ConfigError, match=r"pip install 'persona-lab\[embed\]'"):
        SemanticEmbedder(tmp_path)(["x"])


@pytest.mark.skipif(not os.environ.get("PERSONA_TEST_EMBED_MODEL"), reason="set PERSONA_TEST_EMBED_MODEL to a local "
                    "sentence-transformers folder (needs the embed extra)")
def test_a_real_local_model() -> None:  # pragma: no cover - needs PyTorch
    pytest.importorskip("sentence_transformers")
    rows = SemanticEmbedder(os.environ["PERSONA_TEST_EMBED_MODEL"])(["rent arrears", "unpaid rent", "a poem"])
    assert rows[0] @ rows[1] > rows[0] @ rows[2]
