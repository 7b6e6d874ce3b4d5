"""Routers choose a tier for every turn and agent step.

Rule-based routers load with this package; the learned ones (scikit-learn, pandas) load on
first use (PEP 562), so importing the conversation loop stays fast.
"""

from __future__ import annotations

import importlib
import typing
from types import MappingProxyType as _MappingProxyType

from persona_lab.core import EscalatingRouter, Router, RoutingContext, RoutingDecision, Verdict, router_name
from persona_lab.routers._agreement import AgreementVerifier
from persona_lab.routers._answer_verifiers import (
    HEDGE_PATTERNS,
    AnswerScore,
    AnswerVerifier,
    ArithmeticVerifier,
    FinalAnswerVerifier,
    ParseVerifier,
    RefusalVerifier,
    requested_form,
)
from persona_lab.routers._arithmetic_check import ArithmeticStatement, arithmetic_statements
from persona_lab.routers._cascade import CascadeRouter
from persona_lab.routers._constraint import DEFAULT_CAPABILITIES, ConstraintRouter
from persona_lab.routers._difficulty import Difficulty, estimate_difficulty
from persona_lab.routers._final_answer import final_answer, normalize_answer
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
from persona_lab.routers._verifiers_combined import CombinedVerifier

_LAZY: typing.Mapping[str, str] = _MappingProxyType({
    "ClassifierRouter": "persona_lab.routers._classifier",
    "HashingEmbedder": "persona_lab.routers._embedders",
    "KNNRouter": "persona_lab.routers._knn",
    "LearnedRouter": "persona_lab.routers._learned",
    "LearnedVerifier": "persona_lab.routers._learned_verifier",
    "PROMPT_FEATURES": "persona_lab.routers._prompt_features",
    "PromptFeatureEmbedder": "persona_lab.routers._prompt_features",
    "SemanticEmbedder": "persona_lab.routers._semantic_embedder",
    "StackedRouter": "persona_lab.routers._stacking",
    "prompt_features": "persona_lab.routers._prompt_features",
    "MatrixFactorizationRouter": "persona_lab.routers._mf",
    "TfidfEmbedder": "persona_lab.routers._embedders",
    "outcomes_from_turn_logs": "persona_lab.routers._training_frame",
    "Knee": "persona_lab.routers._utility",
    "knee_lambda": "persona_lab.routers._utility",
    "lambda_for_budget": "persona_lab.routers._utility",
    "lambda_for_share": "persona_lab.routers._utility",
    "lambda_grid": "persona_lab.routers._utility",
    "relative_costs": "persona_lab.routers._utility",
    "utility_choice": "persona_lab.routers._utility",
})

__all__ = [
    "DEFAULT_CAPABILITIES",
    "HEDGE_PATTERNS",
    "IDENTITY_PATTERNS",
    "JUDGE_INSTRUCTIONS",
    "PROMPT_FEATURES",
    "REASONING_PATTERNS",
    "REFUSAL_PATTERNS",
    "SAFETY_PATTERNS",
    "SMALL_TALK_WORDS",
    "AgreementVerifier",
    "AnswerScore",
    "AnswerVerifier",
    "ArithmeticStatement",
    "ArithmeticVerifier",
    "CascadeRouter",
    "Check",
    "ClassifierRouter",
    "CombinedVerifier",
    "ConfidenceVerifier",
    "ConstraintRouter",
    "Difficulty",
    "EscalatingRouter",
    "FinalAnswerVerifier",
    "FixedRouter",
    "HashingEmbedder",
    "HeuristicRouter",
    "JudgeVerifier",
    "KNNRouter",
    "Knee",
    "LearnedRouter",
    "LearnedVerifier",
    "MatrixFactorizationRouter",
    "OracleRouter",
    "ParseVerifier",
    "PromptFeatureEmbedder",
    "RandomRouter",
    "RefusalVerifier",
    "Router",
    "RoutingContext",
    "RoutingDecision",
    "RuleVerifier",
    "SemanticEmbedder",
    "StackedRouter",
    "StickyRouter",
    "TfidfEmbedder",
    "Verdict",
    "Verifier",
    "arithmetic_statements",
    "estimate_difficulty",
    "final_answer",
    "knee_lambda",
    "lambda_for_budget",
    "lambda_for_share",
    "lambda_grid",
    "normalize_answer",
    "outcomes_from_turn_logs",
    "prompt_features",
    "relative_costs",
    "requested_form",
    "router_name",
    "stated_confidence",
    "utility_choice",
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
    from persona_lab.routers._learned_verifier import LearnedVerifier
    from persona_lab.routers._mf import MatrixFactorizationRouter
    from persona_lab.routers._prompt_features import PROMPT_FEATURES, PromptFeatureEmbedder, prompt_features
    from persona_lab.routers._semantic_embedder import SemanticEmbedder
    from persona_lab.routers._stacking import StackedRouter
    from persona_lab.routers._training_frame import outcomes_from_turn_logs
    from persona_lab.routers._utility import (
        Knee,
        knee_lambda,
        lambda_for_budget,
        lambda_for_share,
        lambda_grid,
        relative_costs,
        utility_choice,
    )
