"""A comparison's results assembled: each suite analysed (two-tier or N-tier), then one :class:`Comparison`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from persona_lab.bench._analysis import RouterRun, SuiteAnalysis, analyze_suite
from persona_lab.bench._analysis_ntier import (
    NTierRun,
    analyze_suite_ntier,
    seed_mean_interval,
    seed_spread,
    two_tier_seed_metrics,
    two_tier_sweep_samples,
)
from persona_lab.bench._compare_plan import CompareOptions, _JobResult, _Plan, _Suite, baseline_labels
from persona_lab.core import Router
from persona_lab.metrics import bootstrap_weights

if TYPE_CHECKING:
    from persona_lab.bench._comparison import Comparison


def _analyze(suite: _Suite, mine: list[_JobResult], options: CompareOptions) -> SuiteAnalysis:
    """One suite's summary and curves: the two-tier analysis (APGR, CPT…) or the N-tier one."""
    units = suite.units
    by_label = {r.label: r for r in mine}
    labels = baseline_labels(units)
    tier_cost = {tier: units.align(by_label[label].frame, "total_cost_usd") for tier, label in labels.items()}
    runs = [RouterRun.from_frame(units, r.frame, r.label, r.scores, r.evaluation, r.note) for r in mine]
    if len(units.scores) >= 3:
        ntier = []
        for r, run in zip(mine, runs, strict=True):
            seeds = [(r.predicted, r.rel_cost, r.lam)] if r.predicted is not None else []
            seeds += [(x.quality, x.rel_cost, x.lam) for x in r.seed_runs if x.quality is not None]
            ntier.append(NTierRun(run, [p for p, _, _ in seeds], [c for _, c, _ in seeds],  # type: ignore[misc]
                                  [lam for _, _, lam in seeds]))  # type: ignore[misc]
        return analyze_suite_ntier(units, ntier, tier_cost=tier_cost, n_boot=options.n_boot, seed=options.seed,
                                   level=options.level)
    weak_cost, strong_cost = tier_cost[units.weak_tier], tier_cost[units.strong_tier]
    analysis = analyze_suite(units, runs, weak_cost=weak_cost, strong_cost=strong_cost,
                             n_boot=options.n_boot, seed=options.seed, level=options.level,
                             sweep_points=options.sweep_points, first_turn_only=options.route_first_turn_only)
    weights = (bootstrap_weights(units.n_items, options.n_boot, seed=options.seed)[:, units.item_index]
               if options.n_boot > 0 else None)
    for r in mine:  # repeated CV: the sweep's APGR and AIQ per seed; the headline quotes their mean
        if r.scores is None or not r.seed_runs:
            continue
        seed_scores = [x for x in [r.scores, *(s.scores for s in r.seed_runs if s.scores is not None)]
                       if not np.all(np.isnan(x))]
        sweep: dict[str, Any] = {"weak_cost": weak_cost, "strong_cost": strong_cost,
                                 "sweep_points": options.sweep_points,
                                 "first_turn_only": options.route_first_turn_only}
        per_seed = [two_tier_seed_metrics(units, x, **sweep) for x in seed_scores]
        # the CI of the seed mean: per resample of items, every seed's metric on it, averaged over seeds
        samples = ([two_tier_sweep_samples(units, x, weights, **sweep) for x in seed_scores]
                   if weights is not None else [])
        for row in analysis.summary:
            if row["router"] == r.label and row["point"] == "loop":
                seed_spread(row, per_seed)
                row["apgr_first_seed"], row["aiq_first_seed"] = row.get("apgr"), row.get("aiq")
                row["apgr"], row["aiq"] = row.get("apgr_seed_mean"), row.get("aiq_seed_mean")
                for name in ("apgr", "aiq") if samples else ():
                    first = (row.get(f"{name}_lo"), row.get(f"{name}_hi"))
                    row[f"{name}_first_seed_lo"], row[f"{name}_first_seed_hi"] = first
                    row[f"{name}_lo"], row[f"{name}_hi"] = seed_mean_interval([x[name] for x in samples], options.level)
    return analysis


def _assemble(plan: _Plan, results: list[_JobResult], labelled: Mapping[str, Router], options: CompareOptions,
              seconds: float) -> Comparison:
    import pandas as pd

    from persona_lab.bench._comparison import Comparison

    summary: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    infos: dict[str, dict[str, Any]] = {}
    for n, suite in enumerate(plan.suites):
        mine = [r for r in results if r.suite == n]
        analysis = _analyze(suite, mine, options)
        summary.extend(analysis.summary)
        curves.extend(analysis.curves)
        info = dict(analysis.info)
        info.update(
            models=dict(suite.tiers.models),
            prices={m: {"input_per_mtok": p.input_per_mtok if p else None,
                        "output_per_mtok": p.output_per_mtok if p else None, "source": src}
                    for m, (p, src) in suite.tiers.prices.items()},
            scale=suite.benchmark.scale,
            description=suite.benchmark.description,
            source=suite.benchmark.source,
            license=suite.benchmark.license,
            path=suite.benchmark.path,
            seconds={r.label: round(r.seconds, 3) for r in mine},
            fit_seconds={r.label: round(r.fit_seconds, 3) for r in mine if r.fit_seconds},
            cpu_seconds={r.label: round(r.cpu_seconds, 3) for r in mine},
        )
        infos[suite.benchmark.suite] = info
    frames = [r.frame for r in results if len(r.frame)]
    turns = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    failures = pd.DataFrame([f.__dict__ if not hasattr(f, "__slots__") else
                             {k: getattr(f, k) for k in f.__slots__} for r in results for f in r.failures],
                            columns=["suite", "router", "item_id", "turn", "error_type", "error"])
    options_dict = {k: getattr(options, k) for k in options.__slots__}
    return Comparison(
        turns=turns,
        summary=pd.DataFrame(summary),
        curves=pd.DataFrame(curves),
        failures=failures,
        suites=infos,
        routers={label: repr(router) for label, router in labelled.items()},
        options=options_dict,
        seconds=seconds,
        jsonl_parts=[r.jsonl for r in results],
    )
