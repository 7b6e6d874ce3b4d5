"""Benchmarks: recorded-outcome suites, replay through the real loop, router comparison.

- the benchmark-set format (``read_benchmark_set``/``write_benchmark_set``, ``docs/benchmark-format.md``),
  the bundled suites (``load_suites``) and converters (``convert_routellm``, ``convert_zeroeval``,
  ``convert_mmlu_pro``); tier mappings for sets with more models than tiers (``map_tiers``);
- replay tiers (``replay_tiers``): recorded models as tiers, streaming their recorded answers;
- ``replay_items``: items through the real ``ConversationLoop``, turn logs labelled with scores;
- ``compare``: every router on every suite, cross-validated and swept, → :class:`Comparison`;
- ``run_live``: the same items against real tiers, graded, rate-limited and resumable.
"""

from persona_lab.bench._analysis_ntier import sweep_measures
from persona_lab.bench._answer_table import AnswerTable, replay_tier_costs
from persona_lab.bench._cascade_replay import (
    CascadeOutcome,
    CascadeScores,
    CascadeStage,
    ReplayCascadeRouter,
    VerifierCascade,
    choose_threshold,
    cross_val_scores,
    tier_points,
    with_cascade_sweep,
)
from persona_lab.bench._compare import ALWAYS_STRONG, ALWAYS_WEAK, CompareOptions, compare, default_jobs, label_routers
from persona_lab.bench._comparison import PUBLISHED_ROUTELLM, TABLE_COLUMNS, Comparison, format_table
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
from persona_lab.bench._live_report import write_live_outputs
from persona_lab.bench._mmlu_pro import (
    MMLU_PRO_SUITE,
    convert_mmlu_pro,
    is_mmlu_pro_layout,
    mmlu_pro_answer,
    mmlu_pro_prompt,
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
from persona_lab.bench._suites import (
    BUNDLED_SUITES,
    THREE_TIER_SUITES,
    bundled_suite_path,
    load_suite,
    load_suites,
)
from persona_lab.bench._tier_mapping import (
    DEFAULT_TIER_MAPPINGS,
    TierSpec,
    check_playable,
    map_tiers,
    parse_tier_mapping,
    resolve_tiers,
)
from persona_lab.bench._units import UnitTable
from persona_lab.bench._zeroeval import (
    ZEROEVAL_TASKS,
    convert_zeroeval,
    grade_zeroeval,
    is_zeroeval_layout,
    ungradable_counts,
    zeroeval_answer,
)

__all__ = [
    "ALWAYS_STRONG",
    "ALWAYS_WEAK",
    "BENCHMARK_PERSONA",
    "BUNDLED_SUITES",
    "DEFAULT_TIER_MAPPINGS",
    "FORMAT_VERSION",
    "MMLU_PRO_SUITE",
    "PUBLISHED_ROUTELLM",
    "ROUTELLM_STRONG",
    "ROUTELLM_SUITES",
    "ROUTELLM_WEAK",
    "SCALES",
    "TABLE_COLUMNS",
    "THREE_TIER_SUITES",
    "ZEROEVAL_TASKS",
    "AnswerTable",
    "BatchedThresholdRouter",
    "BenchmarkItem",
    "BenchmarkSet",
    "CascadeOutcome",
    "CascadeScores",
    "CascadeStage",
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
    "ReplayCascadeRouter",
    "ReplayPriceBook",
    "ReplayResult",
    "ReplayTiers",
    "TextCounts",
    "TierSpec",
    "TurnOutcome",
    "UnitTable",
    "VerifierCascade",
    "answer_letter",
    "bundled_suite_path",
    "check_playable",
    "choose_threshold",
    "compare",
    "completed_items",
    "convert_gsm8k",
    "convert_mmlu",
    "convert_mmlu_pro",
    "convert_mt_bench",
    "convert_routellm",
    "convert_zeroeval",
    "cross_val_scores",
    "default_jobs",
    "default_routers",
    "exact_match",
    "final_number",
    "fold_assignment",
    "format_table",
    "fresh_copy",
    "grade_zeroeval",
    "is_fitted",
    "is_learned",
    "is_mmlu_pro_layout",
    "is_routellm_layout",
    "is_threshold_router",
    "is_zeroeval_layout",
    "judge_rating",
    "label_routers",
    "load_suite",
    "load_suites",
    "map_tiers",
    "mmlu_pro_answer",
    "mmlu_pro_prompt",
    "parse_tier_mapping",
    "rate_limited",
    "read_benchmark_set",
    "replay_items",
    "replay_tier_costs",
    "replay_tiers",
    "resolve_tiers",
    "router_factories",
    "run_live",
    "sweep_measures",
    "tier_points",
    "ungradable_counts",
    "with_cascade_sweep",
    "write_benchmark_set",
    "write_live_outputs",
    "zeroeval_answer",
]
