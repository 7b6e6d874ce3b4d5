"""persona-lab: run LLM personas, route every turn to a model tier, measure cost against quality.

Everything a user needs is importable from here. Names load on first use (PEP 562), so
``import persona_lab`` stays fast and imports no provider SDK, pandas or pydantic.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

logging.getLogger("persona_lab").addHandler(logging.NullHandler())

_EXPORTS: dict[str, str] = {
    # persona, messages, errors
    "Persona": "persona_lab._persona",
    "RoutingPreferences": "persona_lab._persona",
    "TIER_NAMES": "persona_lab._persona",
    "Message": "persona_lab._messages",
    "ToolCall": "persona_lab._messages",
    "Conversation": "persona_lab._messages",
    "ConversationTurn": "persona_lab._messages",
    "estimate_tokens": "persona_lab._tokens",
    "PersonaLabError": "persona_lab._errors",
    "ConfigError": "persona_lab._errors",
    "PersonaError": "persona_lab._errors",
    "TierError": "persona_lab._errors",
    "UnknownTier": "persona_lab._errors",
    "TierNotConfigured": "persona_lab._errors",
    "ProviderError": "persona_lab._errors",
    "AllTiersFailed": "persona_lab._errors",
    "RouterError": "persona_lab._errors",
    "NotFittedError": "persona_lab._errors",
    "LoopError": "persona_lab._errors",
    "BudgetExceeded": "persona_lab._errors",
    "ToolFailed": "persona_lab._errors",
    "LogSchemaError": "persona_lab._errors",
    "UsageError": "persona_lab._errors",
    # tiers
    "TierRegistry": "persona_lab.tiers",
    "TierConfig": "persona_lab.tiers",
    "ModelConfig": "persona_lab.tiers",
    "Price": "persona_lab.tiers",
    "ScriptedBackend": "persona_lab.tiers",
    "ScriptedResponse": "persona_lab.tiers",
    "Usage": "persona_lab.tiers",
    "LocalModelServer": "persona_lab.tiers",
    "local_model_config": "persona_lab.tiers",
    # routers
    "FixedRouter": "persona_lab.routers",
    "RoutingContext": "persona_lab.routers",
    "RoutingDecision": "persona_lab.routers",
    "Verdict": "persona_lab.routers",
    "EscalatingRouter": "persona_lab.routers",
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
    "Toolbox": "persona_lab.loops",
    "tool": "persona_lab.loops",
    "TurnLog": "persona_lab.loops",
    "TurnResult": "persona_lab.loops",
    "run_sync": "persona_lab.loops",
    # logs
    "JsonlTurnLogWriter": "persona_lab.logs",
    "InMemoryTurnLogWriter": "persona_lab.logs",
    "read_turn_logs": "persona_lab.logs",
    "turn_logs_to_frame": "persona_lab.logs",
    "TURN_LOG_COLUMNS": "persona_lab.logs",
    "cost_per_turn_figure": "persona_lab.logs",
    "tier_mix_figure": "persona_lab.logs",
    "tokens_figure": "persona_lab.logs",
    "format_usd": "persona_lab._display",
    # widgets (ipywidgets and plotly load only when one is used)
    "ChatWidget": "persona_lab.widgets",
    "RunWidget": "persona_lab.widgets",
    "CostChart": "persona_lab.widgets",
    "TurnLogTable": "persona_lab.widgets",
    "TurnLogPanel": "persona_lab.widgets",
    # benchmarks and metrics (pandas, scikit-learn and plotly load only when used)
    "BenchmarkFormatError": "persona_lab._errors",
    "BenchmarkSet": "persona_lab.bench",
    "Comparison": "persona_lab.bench",
    "compare": "persona_lab.bench",
    "default_routers": "persona_lab.bench",
    "load_suite": "persona_lab.bench",
    "load_suites": "persona_lab.bench",
    "read_benchmark_set": "persona_lab.bench",
    "replay_tiers": "persona_lab.bench",
    "run_live": "persona_lab.bench",
    "write_benchmark_set": "persona_lab.bench",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'persona_lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from persona_lab._display import format_usd
    from persona_lab._errors import (
        AllTiersFailed,
        BenchmarkFormatError,
        BudgetExceeded,
        ConfigError,
        LogSchemaError,
        LoopError,
        NotFittedError,
        PersonaError,
        PersonaLabError,
        ProviderError,
        RouterError,
        TierError,
        TierNotConfigured,
        ToolFailed,
        UnknownTier,
        UsageError,
    )
    from persona_lab._messages import Conversation, ConversationTurn, Message, ToolCall
    from persona_lab._persona import TIER_NAMES, Persona, RoutingPreferences
    from persona_lab._tokens import estimate_tokens
    from persona_lab.bench import (
        BenchmarkSet,
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
        Toolbox,
        TurnLog,
        TurnResult,
        run_sync,
        tool,
    )
    from persona_lab.memory import MemoryItem, SqliteMemoryStore
    from persona_lab.routers import (
        CascadeRouter,
        ClassifierRouter,
        ConfidenceVerifier,
        ConstraintRouter,
        EscalatingRouter,
        FixedRouter,
        HashingEmbedder,
        HeuristicRouter,
        JudgeVerifier,
        KNNRouter,
        MatrixFactorizationRouter,
        OracleRouter,
        RandomRouter,
        RoutingContext,
        RoutingDecision,
        RuleVerifier,
        StickyRouter,
        TfidfEmbedder,
        Verdict,
        outcomes_from_turn_logs,
    )
    from persona_lab.tiers import (
        LocalModelServer,
        ModelConfig,
        Price,
        ScriptedBackend,
        ScriptedResponse,
        TierConfig,
        TierRegistry,
        Usage,
        local_model_config,
    )
    from persona_lab.widgets import ChatWidget, CostChart, RunWidget, TurnLogPanel, TurnLogTable
