"""Which recorded model plays which tier: sets may record more models than there are tiers.

A run maps models to tiers (``{"small": model, "mid": model, "frontier": model}``, or the CLI's
``--tiers small=…,mid=…,frontier=…``); a set's own default mapping is the ``tier`` field of its
model specs. The bundled multi-model sets document their defaults in
:data:`DEFAULT_TIER_MAPPINGS` (chosen by price: see ``docs/three-tier.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from persona_lab.core import TIER_NAMES, BenchmarkFormatError

if TYPE_CHECKING:
    from persona_lab.bench._format import BenchmarkSet

__all__ = [
    "DEFAULT_TIER_MAPPINGS",
    "TierSpec",
    "check_playable",
    "map_tiers",
    "parse_tier_mapping",
    "resolve_tiers",
]

DEFAULT_TIER_MAPPINGS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "zeroeval_gsm8k": MappingProxyType({"small": "Meta-Llama-3.1-8B-Instruct", "mid": "gpt-4o-mini-2024-07-18",
                                        "frontier": "claude-3-5-sonnet-20241022"}),
    "zeroeval_crux": MappingProxyType({"small": "Meta-Llama-3.1-8B-Instruct", "mid": "gpt-4o-mini-2024-07-18",
                                       "frontier": "claude-3-5-sonnet-20241022"}),
    "mmlu_pro": MappingProxyType({"small": "Meta-Llama-3_1-8B-Instruct", "mid": "gemini-1.5-flash-002",
                                  "frontier": "gemini-1.5-pro-002"}),
})
"""The documented default ``{tier: model}`` of each bundled multi-model set (by price)."""

TierSpec = str | Mapping[str, str] | Mapping[str, Mapping[str, str]]
"""A tier mapping as a run accepts it: ``"small=a,frontier=b"``, ``{tier: model}`` or ``{suite: {tier: model}}``."""


def parse_tier_mapping(spec: str) -> dict[str, str]:
    """``"small=a,mid=b,frontier=c"`` → ``{"small": "a", "mid": "b", "frontier": "c"}`` (checked)."""
    mapping: dict[str, str] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        tier, sep, model = part.partition("=")
        tier, model = tier.strip(), model.strip()
        if not sep or not tier or not model:
            raise BenchmarkFormatError(f"tier mapping {spec!r}: write TIER=MODEL,… (e.g. small=llama,frontier=gpt-4o); "
                                       f"got {part!r}", field="tiers")
        if tier not in TIER_NAMES:
            raise BenchmarkFormatError(f"tier mapping {spec!r}: unknown tier {tier!r} (expected one of "
                                       f"{', '.join(TIER_NAMES)})", field="tiers")
        if tier in mapping:
            raise BenchmarkFormatError(f"tier mapping {spec!r}: tier {tier!r} is given twice", field="tiers")
        mapping[tier] = model
    return mapping


def map_tiers(benchmark: BenchmarkSet, tiers: Mapping[str, str] | str) -> BenchmarkSet:
    """The set with ``tiers`` (``{tier: model}``) as its tier mapping; other models play no tier.

    Errors name what is wrong: an unknown tier, a model the set does not record (and the ones it
    does), one model on two tiers, fewer than two tiers.
    """
    mapping = parse_tier_mapping(tiers) if isinstance(tiers, str) else dict(tiers)
    where = benchmark.suite
    for tier, model in mapping.items():
        if tier not in TIER_NAMES:
            raise BenchmarkFormatError(f"{where}: unknown tier {tier!r} (expected one of {', '.join(TIER_NAMES)})",
                                       source=benchmark.path, field="tier")
        if model not in benchmark.models:
            raise BenchmarkFormatError(
                f"{where}: unknown model {model!r} for tier {tier!r}; the set records: "
                f"{', '.join(benchmark.models)}", source=benchmark.path, field="models")
    seen: dict[str, str] = {}
    for tier, model in mapping.items():
        if model in seen:
            raise BenchmarkFormatError(f"{where}: model {model!r} is mapped to two tiers ({seen[model]} and {tier}); "
                                       "each tier needs its own model", source=benchmark.path, field="tiers")
        seen[model] = tier
    if len(mapping) < 2:
        raise BenchmarkFormatError(
            f"{where}: a tier mapping needs at least two tiers to route between, got {mapping or 'none'} "
            f"(the set records: {', '.join(benchmark.models)})", source=benchmark.path, field="tiers")
    models = {name: replace(spec, tier=seen.get(name), role=None) for name, spec in benchmark.models.items()}
    return replace(benchmark, models=models)


def check_playable(benchmark: BenchmarkSet) -> BenchmarkSet:
    """The set itself when at least two of its models play a tier; else an error saying how to map them."""
    playing = benchmark.tier_models
    if len(playing) >= 2:
        return benchmark
    default = DEFAULT_TIER_MAPPINGS.get(benchmark.suite)
    hint = (f"e.g. --tiers {','.join(f'{t}={m}' for t, m in default.items())}" if default else
            "e.g. --tiers small=MODEL,frontier=MODEL")
    raise BenchmarkFormatError(
        f"{benchmark.suite}: the set records {len(benchmark.models)} models ({', '.join(benchmark.models)}) but "
        f"{len(playing)} play a tier, so they cannot fill the tiers of a run; give a tier mapping ({hint})",
        source=benchmark.path, field="tiers")


def resolve_tiers(benchmark: BenchmarkSet, tiers: TierSpec | None) -> BenchmarkSet:
    """Apply a run's tier mapping to one set: a string, ``{tier: model}`` or ``{suite: {tier: model}}``."""
    if tiers is None:
        return check_playable(benchmark)
    if isinstance(tiers, str):
        return map_tiers(benchmark, tiers)
    values = list(tiers.values())
    if values and all(isinstance(v, Mapping) for v in values):
        per_suite = tiers.get(benchmark.suite)
        return check_playable(benchmark) if per_suite is None else map_tiers(benchmark, per_suite)  # type: ignore[arg-type]
    if any(isinstance(v, Mapping) for v in values):
        raise BenchmarkFormatError("tiers: give either {tier: model} or {suite: {tier: model}}, not a mix",
                                   field="tiers")
    return map_tiers(benchmark, tiers)  # type: ignore[arg-type]
