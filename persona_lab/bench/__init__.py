"""Benchmarks: recorded-outcome suites, replay through the real loop, router comparison.

- the benchmark-set format (``read_benchmark_set``/``write_benchmark_set``, ``docs/benchmark-format.md``),
  the bundled suites (``load_suites``) and RouteLLM converters (``convert_routellm``);
- replay tiers (``replay_tiers``): recorded models as tiers, streaming their recorded answers;
- ``replay_items``: items through the real ``ConversationLoop``, turn logs labelled with scores;
- ``compare``: every router on every suite, cross-validated and swept, → :class:`Comparison`;
- ``run_live``: the same items against real tiers, graded, rate-limited and resumable.
"""

from persona_lab.bench._compare import ALWAYS_STRONG, ALWAYS_WEAK, CompareOptions, compare, default_jobs, label_routers
from persona_lab.bench._comparison import PUBLISHED_ROUTELLM, Comparison
from persona_lab.bench._embedding import FoldTfidfEmbedder, TextCounts
from persona_lab.bench._format import (
    FORMAT_VERSION,
    SCALES,
    BenchmarkItem,
    BenchmarkSet,
    ModelSpec,
    TurnOutcome,
    read_benchmark_set,
    write_benchmark_set,
)
from persona_lab.bench._graders import Grade, JudgeGrader, answer_letter, exact_match, final_number, judge_rating
from persona_lab.bench._learning import (
    BatchedThresholdRouter,
    fold_assignment,
    fresh_copy,
    is_fitted,
    is_learned,
    is_threshold_router,
)
from persona_lab.bench._live import (
    LiveResult,
    RateLimitedBackend,
    RateLimiter,
    completed_items,
    rate_limited,
    run_live,
)
from persona_lab.bench._replay import (
    BENCHMARK_PERSONA,
    NullMemoryStore,
    ReplayBackend,
    ReplayPriceBook,
    ReplayTiers,
    replay_tiers,
)
from persona_lab.bench._routellm import (
    ROUTELLM_STRONG,
    ROUTELLM_SUITES,
    ROUTELLM_WEAK,
    convert_gsm8k,
    convert_mmlu,
    convert_mt_bench,
    convert_routellm,
    is_routellm_layout,
)
from persona_lab.bench._routers import default_routers, router_factories
from persona_lab.bench._runner import FirstTurnOnlyRouter, ItemFailure, ReplayResult, replay_items
from persona_lab.bench._suites import BUNDLED_SUITES, bundled_suite_path, load_suite, load_suites
from persona_lab.bench._units import UnitTable

__all__ = [
    "ALWAYS_STRONG",
    "ALWAYS_WEAK",
    "BENCHMARK_PERSONA",
    "BUNDLED_SUITES",
    "FORMAT_VERSION",
    "PUBLISHED_ROUTELLM",
    "ROUTELLM_STRONG",
    "ROUTELLM_SUITES",
    "ROUTELLM_WEAK",
    "SCALES",
    "BatchedThresholdRouter",
    "BenchmarkItem",
    "BenchmarkSet",
    "CompareOptions",
    "Comparison",
    "FirstTurnOnlyRouter",
    "FoldTfidfEmbedder",
    "Grade",
    "ItemFailure",
    "JudgeGrader",
    "LiveResult",
    "ModelSpec",
    "NullMemoryStore",
    "RateLimitedBackend",
    "RateLimiter",
    "ReplayBackend",
    "ReplayPriceBook",
    "ReplayResult",
    "ReplayTiers",
    "TextCounts",
    "TurnOutcome",
    "UnitTable",
    "answer_letter",
    "bundled_suite_path",
    "compare",
    "completed_items",
    "convert_gsm8k",
    "convert_mmlu",
    "convert_mt_bench",
    "convert_routellm",
    "default_jobs",
    "default_routers",
    "exact_match",
    "final_number",
    "fold_assignment",
    "fresh_copy",
    "is_fitted",
    "is_learned",
    "is_routellm_layout",
    "is_threshold_router",
    "judge_rating",
    "label_routers",
    "load_suite",
    "load_suites",
    "rate_limited",
    "read_benchmark_set",
    "replay_items",
    "replay_tiers",
    "router_factories",
    "run_live",
    "write_benchmark_set",
]
