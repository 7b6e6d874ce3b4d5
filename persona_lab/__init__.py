"""persona-lab: run LLM personas, route every turn to a model tier, measure cost against quality.

Everything a user needs is importable from here, and this is the one documented import path
for these names. Names load on first use (PEP 562), so ``import persona_lab`` stays fast and
imports no provider SDK, pandas or pydantic. Every exported class and function reports
``persona_lab`` as its module (as httpx does), so reprs and tracebacks show the public path.

The events the loops stream (``TextDelta``, ``TurnDone``, …) and the other shared records are
documented in :mod:`persona_lab.core`; subpackage ``__all__`` lists hold what the other
packages of persona-lab use.
"""

from __future__ import annotations

import importlib as _importlib
import logging as _logging
import types as _types
import typing as _typing

__version__ = "0.1.0"

_logging.getLogger("persona_lab").addHandler(_logging.NullHandler())

_EXPORTS: _typing.Mapping[str, str] = _types.MappingProxyType({
    # persona
    "Persona": "persona_lab.persona",
    # vocabulary: tier names, routing preferences, messages, records, the sync helper
    "TIER_NAMES": "persona_lab.core",
    "RoutingPreferences": "persona_lab.core",
    "Message": "persona_lab.core",
    "ToolCall": "persona_lab.core",
    "Conversation": "persona_lab.core",
    "ConversationTurn": "persona_lab.core",
    "RoutingContext": "persona_lab.core",
    "RoutingDecision": "persona_lab.core",
    "Verdict": "persona_lab.core",
    "ChatRequest": "persona_lab.core",
    "Usage": "persona_lab.core",
    "TurnLog": "persona_lab.core",
    "run_sync": "persona_lab.core",
    # the error tree (every class)
    "PersonaLabError": "persona_lab.core",
    "ConfigError": "persona_lab.core",
    "ClusterUnavailable": "persona_lab.core",
    "InvalidArgument": "persona_lab.core",
    "PersonaError": "persona_lab.core",
    "BenchmarkFormatError": "persona_lab.core",
    "TierError": "persona_lab.core",
    "UnknownTier": "persona_lab.core",
    "TierNotConfigured": "persona_lab.core",
    "ProviderError": "persona_lab.core",
    "RateLimited": "persona_lab.core",
    "ProviderTimeout": "persona_lab.core",
    "AuthFailed": "persona_lab.core",
    "StreamInterrupted": "persona_lab.core",
    "AllTiersFailed": "persona_lab.core",
    "RouterError": "persona_lab.core",
    "NotFittedError": "persona_lab.core",
    "LoopError": "persona_lab.core",
    "BudgetExceeded": "persona_lab.core",
    "LogSchemaError": "persona_lab.core",
    "UnknownName": "persona_lab.core",
    "UsageError": "persona_lab.core",
    # tiers
    "TierRegistry": "persona_lab.tiers",
    "TierConfig": "persona_lab.tiers",
    "ModelConfig": "persona_lab.tiers",
    "Price": "persona_lab.tiers",
    "PriceBook": "persona_lab.tiers",
    "ScriptedBackend": "persona_lab.tiers",
    "ScriptedResponse": "persona_lab.tiers",
    "LocalModelServer": "persona_lab.tiers",
    "local_model_config": "persona_lab.tiers",
    # routers
    "FixedRouter": "persona_lab.routers",
    "RandomRouter": "persona_lab.routers",
    "OracleRouter": "persona_lab.routers",
    "HeuristicRouter": "persona_lab.routers",
    "ConstraintRouter": "persona_lab.routers",
    "KNNRouter": "persona_lab.routers",
    "ClassifierRouter": "persona_lab.routers",
    "MatrixFactorizationRouter": "persona_lab.routers",
    "CascadeRouter": "persona_lab.routers",
    "StickyRouter": "persona_lab.routers",
    "RuleVerifier": "persona_lab.routers",
    "ConfidenceVerifier": "persona_lab.routers",
    "JudgeVerifier": "persona_lab.routers",
    "TfidfEmbedder": "persona_lab.routers",
    "HashingEmbedder": "persona_lab.routers",
    "outcomes_from_turn_logs": "persona_lab.routers",
    # memory
    "SqliteMemoryStore": "persona_lab.memory",
    "MemoryItem": "persona_lab.memory",
    # loops
    "ConversationLoop": "persona_lab.loops",
    "AgenticLoop": "persona_lab.loops",
    "CancelToken": "persona_lab.loops",
    "Run": "persona_lab.loops",
    "RunStatus": "persona_lab.loops",
    "RunStep": "persona_lab.loops",
    "HistoryCompactor": "persona_lab.loops",
    "StepCompactor": "persona_lab.loops",
    "Toolbox": "persona_lab.loops",
    "tool": "persona_lab.loops",
    "TurnResult": "persona_lab.loops",
    # logs
    "JsonlTurnLogWriter": "persona_lab.logs",
    "InMemoryTurnLogWriter": "persona_lab.logs",
    "read_turn_logs": "persona_lab.logs",
    "turn_logs_to_frame": "persona_lab.logs",
    "TURN_LOG_COLUMNS": "persona_lab.logs",
    "cost_per_turn_figure": "persona_lab.logs",
    "tier_mix_figure": "persona_lab.logs",
    "tokens_figure": "persona_lab.logs",
    "format_usd": "persona_lab.core",
    # widgets (ipywidgets and plotly load only when one is used)
    "ChatWidget": "persona_lab.widgets",
    "RunWidget": "persona_lab.widgets",
    "CostChart": "persona_lab.widgets",
    "TurnLogTable": "persona_lab.widgets",
    "TurnLogPanel": "persona_lab.widgets",
    # benchmarks (pandas, scikit-learn and plotly load only when used)
    "BenchmarkSet": "persona_lab.bench",
    "Comparison": "persona_lab.bench",
    "compare": "persona_lab.bench",
    "CompareOptions": "persona_lab.bench",
    "default_routers": "persona_lab.bench",
    "load_suite": "persona_lab.bench",
    "load_suites": "persona_lab.bench",
    "read_benchmark_set": "persona_lab.bench",
    "replay_tiers": "persona_lab.bench",
    "run_live": "persona_lab.bench",
    "write_benchmark_set": "persona_lab.bench",
    # persona evaluation (scenario suites, graders, variant comparison)
    "EvaluationResult": "persona_lab.evaluation",
    "ScenarioError": "persona_lab.evaluation",
    "ScenarioSuite": "persona_lab.evaluation",
    "evaluate": "persona_lab.evaluation",
    "evaluate_sync": "persona_lab.evaluation",
    "load_scenarios": "persona_lab.evaluation",
})

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> _typing.Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'persona_lab' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    if isinstance(value, (type, _types.FunctionType)):
        value.__module__ = "persona_lab"
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if _typing.TYPE_CHECKING:
    from persona_lab.bench import (
        BenchmarkSet,
        CompareOptions,
        Comparison,
        compare,
        default_routers,
        load_suite,
        load_suites,
        read_benchmark_set,
        replay_tiers,
        run_live,
        write_benchmark_set,
    )
    from persona_lab.core import (
        TIER_NAMES,
        AllTiersFailed,
        AuthFailed,
        BenchmarkFormatError,
        BudgetExceeded,
        ChatRequest,
        ClusterUnavailable,
        ConfigError,
        Conversation,
        ConversationTurn,
        InvalidArgument,
        LogSchemaError,
        LoopError,
        Message,
        NotFittedError,
        PersonaError,
        PersonaLabError,
        ProviderError,
        ProviderTimeout,
        RateLimited,
        RouterError,
        RoutingContext,
        RoutingDecision,
        RoutingPreferences,
        StreamInterrupted,
        TierError,
        TierNotConfigured,
        ToolCall,
        TurnLog,
        UnknownName,
        UnknownTier,
        Usage,
        UsageError,
        Verdict,
        format_usd,
        run_sync,
    )
    from persona_lab.evaluation import (
        EvaluationResult,
        ScenarioError,
        ScenarioSuite,
        evaluate,
        evaluate_sync,
        load_scenarios,
    )
    from persona_lab.logs import (
        TURN_LOG_COLUMNS,
        InMemoryTurnLogWriter,
        JsonlTurnLogWriter,
        cost_per_turn_figure,
        read_turn_logs,
        tier_mix_figure,
        tokens_figure,
        turn_logs_to_frame,
    )
    from persona_lab.loops import (
        AgenticLoop,
        CancelToken,
        ConversationLoop,
        HistoryCompactor,
        Run,
        RunStatus,
        RunStep,
        StepCompactor,
        Toolbox,
        TurnResult,
        tool,
    )
    from persona_lab.memory import (
        MemoryItem,
        SqliteMemoryStore,
    )
    from persona_lab.persona import (
        Persona,
    )
    from persona_lab.routers import (
        CascadeRouter,
        ClassifierRouter,
        ConfidenceVerifier,
        ConstraintRouter,
        FixedRouter,
        HashingEmbedder,
        HeuristicRouter,
        JudgeVerifier,
        KNNRouter,
        MatrixFactorizationRouter,
        OracleRouter,
        RandomRouter,
        RuleVerifier,
        StickyRouter,
        TfidfEmbedder,
        outcomes_from_turn_logs,
    )
    from persona_lab.tiers import (
        LocalModelServer,
        ModelConfig,
        Price,
        PriceBook,
        ScriptedBackend,
        ScriptedResponse,
        TierConfig,
        TierRegistry,
        local_model_config,
    )
    from persona_lab.widgets import (
        ChatWidget,
        CostChart,
        RunWidget,
        TurnLogPanel,
        TurnLogTable,
    )
