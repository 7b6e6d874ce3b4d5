"""Routers choose a tier for every turn and agent step.

Rule-based routers load with this package; the learned ones (scikit-learn, pandas) load on
first use (PEP 562), so importing the conversation loop stays fast.
"""

from __future__ import annotations

import importlib
import typing

from persona_lab.routers._cascade import CascadeRouter
from persona_lab.routers._constraint import DEFAULT_CAPABILITIES, ConstraintRouter
from persona_lab.routers._difficulty import Difficulty, estimate_difficulty
from persona_lab.routers._fixed import FixedRouter
from persona_lab.routers._heuristic import HeuristicRouter
from persona_lab.routers._oracle import OracleRouter
from persona_lab.routers._random import RandomRouter
from persona_lab.routers._signals import (
    IDENTITY_PATTERNS,
    REASONING_PATTERNS,
    SAFETY_PATTERNS,
    SMALL_TALK_WORDS,
)
from persona_lab.routers._sticky import StickyRouter
from persona_lab.routers._verifiers import (
    JUDGE_INSTRUCTIONS,
    REFUSAL_PATTERNS,
    Check,
    ConfidenceVerifier,
    JudgeVerifier,
    RuleVerifier,
    Verifier,
    stated_confidence,
)

_LAZY: dict[str, str] = {
    "ClassifierRouter": "persona_lab.routers._classifier",
    "HashingEmbedder": "persona_lab.routers._embedders",
    "KNNRouter": "persona_lab.routers._knn",
    "LearnedRouter": "persona_lab.routers._learned",
    "MatrixFactorizationRouter": "persona_lab.routers._mf",
    "TfidfEmbedder": "persona_lab.routers._embedders",
    "outcomes_from_turn_logs": "persona_lab.routers._training_frame",
}

__all__ = [
    "DEFAULT_CAPABILITIES",
    "IDENTITY_PATTERNS",
    "JUDGE_INSTRUCTIONS",
    "REASONING_PATTERNS",
    "REFUSAL_PATTERNS",
    "SAFETY_PATTERNS",
    "SMALL_TALK_WORDS",
    "CascadeRouter",
    "Check",
    "ClassifierRouter",
    "ConfidenceVerifier",
    "ConstraintRouter",
    "Difficulty",
    "FixedRouter",
    "HashingEmbedder",
    "HeuristicRouter",
    "JudgeVerifier",
    "KNNRouter",
    "LearnedRouter",
    "MatrixFactorizationRouter",
    "OracleRouter",
    "RandomRouter",
    "RuleVerifier",
    "StickyRouter",
    "TfidfEmbedder",
    "Verifier",
    "estimate_difficulty",
    "outcomes_from_turn_logs",
    "stated_confidence",
]


def __getattr__(name: str) -> typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'persona_lab.routers' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if typing.TYPE_CHECKING:
    from persona_lab.routers._classifier import ClassifierRouter
    from persona_lab.routers._embedders import HashingEmbedder, TfidfEmbedder
    from persona_lab.routers._knn import KNNRouter
    from persona_lab.routers._learned import LearnedRouter
    from persona_lab.routers._mf import MatrixFactorizationRouter
    from persona_lab.routers._training_frame import outcomes_from_turn_logs
