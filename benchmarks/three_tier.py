"""Three-tier routing on held-out data: each learned router's AIQ against the zero router and the oracle.

    PYTHONPATH=. python benchmarks/three_tier.py [--seeds 0 1 2] [--routers knn classifier mf] [--quick]

The held-out splits were fixed before any result was looked at (docs/three-tier.md):

- ZeroEval: fit on GSM8K → test on CRUXEval, and fit on CRUXEval → test on GSM8K; plus, reported
  separately, repeated 5-fold cross-validation within each task (fold seeds 0, 1, 2).
- MMLU-Pro: subjects sorted by name; those at even positions train, odd positions test; plus
  repeated 5-fold cross-validation over questions (fold seeds 0, 1, 2).

Each set plays its documented default small/mid/frontier mapping. Per unit and tier the recorded
score and the cost of the always-<tier> run through the real loop are the ground truth. A router
fitted on the training part predicts each tier's quality for the test prompts; sweeping its cost
knob λ gives its curve. Printed per router, as mean ± sd over seeds: AIQ (area under the
non-decreasing convex hull of the sweep, closed with the cheapest and dearest tier), the zero
router's and the oracle's AIQ, the share of the zero-router → oracle gap closed, the cost at which
the hull matches always-frontier's quality (share of always-frontier's cost; "–" when it never
does), the hull's quality at always-mid's cost, and the default operating point (λ chosen at fit).
Cross-task and subject splits fit once per seed (k-NN and the classifier are deterministic, so
their sd is 0; the MF router's seed is its random_state).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from persona_lab.bench import (
    BenchmarkSet,
    UnitTable,
    compare,
    default_routers,
    fold_assignment,
    fresh_copy,
    load_suite,
    replay_tiers,
    sweep_measures,
)

ROUTERS = ("knn", "classifier", "mf")
COLUMNS = ("aiq", "gap_closed", "cost_to_match_frontier", "quality_at_mid_cost", "default_quality",
           "default_cost_share", "default_top_share")


def units_and_costs(benchmark: BenchmarkSet) -> tuple[UnitTable, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Units (with estimated per-tier costs for training), the recorded quality and the loop's cost per tier."""
    replay = replay_tiers(benchmark)
    units = UnitTable.from_set(benchmark).with_cost_estimates(
        benchmark, {t: replay.prices[m][0] for t, m in replay.models.items()})
    baselines = compare(benchmark, {}, n_boot=0, seeds=1)  # the always-<tier> runs through the loop
    turns = baselines.turns
    tiers = list(units.scores)
    cost = np.column_stack([units.align(turns[turns["router_name"] == f"always-{t}"], "total_cost_usd")
                            for t in tiers])
    quality = np.column_stack([units.scores[t] for t in tiers])
    return units, quality, np.nan_to_num(cost)


def predict(router: Any, train: UnitTable, train_rows: np.ndarray[Any, Any] | None, test: UnitTable,
            test_rows: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], float]:
    mask = None if train_rows is None else np.isin(np.arange(len(train)), train_rows)
    fitted = fresh_copy(router).fit(train.training_frame(mask))
    texts = [test.texts[i] for i in test_rows]
    return fitted.predict_quality(texts).to_numpy(), fitted.relative_tier_costs(), float(fitted.lambda_)


def measure(router: Any, train: UnitTable, test: UnitTable, quality: np.ndarray[Any, Any], cost: np.ndarray[Any, Any],
            folds: np.ndarray[Any, Any] | None) -> dict[str, float]:
    """One seed: fit on ``train`` (or out of fold when ``folds`` is given), measure on ``test``."""
    n, k = quality.shape
    predicted, rel, lam = np.full((n, k), np.nan), np.full((n, k), np.nan), np.full(n, np.nan)
    if folds is None:
        p, r, lm = predict(router, train, None, test, np.arange(n))
        predicted[:], rel[:], lam[:] = p, r, lm
    else:
        unit_fold = folds[test.item_index]
        for fold in range(int(folds.max()) + 1):
            rows = np.flatnonzero(unit_fold == fold)
            p, r, lm = predict(router, test, np.flatnonzero(unit_fold != fold), test, rows)
            predicted[rows], rel[rows], lam[rows] = p, r, lm
    return sweep_measures(quality, cost, predicted, rel, lam)


def fmt(values: Sequence[float], pct: bool = False) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "–"
    suffix = f" ({len(values) - len(finite)}/{len(values)} never)" if len(finite) < len(values) else ""
    mean = float(np.mean(finite))
    sd = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
    if pct:
        return f"{100 * mean:.1f}% ± {100 * sd:.1f}{suffix}"
    return f"{mean:.4f} ± {sd:.4f}{suffix}"


def report(title: str, results: dict[str, list[dict[str, float]]]) -> None:
    first = next(iter(results.values()))[0]
    print(f"\n### {title}")
    print(f"zero router AIQ {first['zero_router_aiq']:.4f}; oracle AIQ {first['oracle_aiq']:.4f}\n")
    print("| router | AIQ | gap closed | cost to match frontier | quality at mid cost | default: quality | "
          "default: cost (share of frontier) | default: largest tier share |")
    print("|---|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        cells = [fmt([r["aiq"] for r in runs]), fmt([r["gap_closed"] for r in runs], pct=True),
                 fmt([r["cost_to_match_frontier"] for r in runs], pct=True),
                 fmt([r["quality_at_mid_cost"] for r in runs]), fmt([r["default_quality"] for r in runs]),
                 fmt([r["default_cost_share"] for r in runs], pct=True),
                 fmt([r["default_top_share"] for r in runs], pct=True)]
        print(f"| {name} | " + " | ".join(cells) + " |")


def with_seed(router: Any, seed: int) -> Any:
    params = router.get_params()
    return fresh_copy(router).set_params(random_state=seed) if "random_state" in params else router


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--routers", nargs="+", default=list(ROUTERS), choices=ROUTERS)
    parser.add_argument("--quick", action="store_true", help="300 items of each set (a smoke run)")
    args = parser.parse_args()
    started = time.perf_counter()
    sets = {name: load_suite(name) for name in ("zeroeval_gsm8k", "zeroeval_crux", "mmlu_pro")}
    if args.quick:  # a seeded sample of 300 items per set
        rng = np.random.default_rng(0)
        sets = {name: s.subset(s.items[i].id for i in rng.permutation(len(s))[:300]) for name, s in sets.items()}
    data = {name: units_and_costs(s) for name, s in sets.items()}
    texts = [t for s in sets.values() for i in s.items for t in i.turns]
    routers = default_routers(only=list(args.routers), texts=texts)
    for name, s in sets.items():
        tiers = ", ".join(f"{t}={m}" for t, m in s.tier_models.items())
        print(f"{name}: {len(s)} items; {tiers}")

    # -- held-out splits (fixed in advance) -------------------------------------------------------
    for train_name, test_name in (("zeroeval_gsm8k", "zeroeval_crux"), ("zeroeval_crux", "zeroeval_gsm8k")):
        train_units = data[train_name][0]
        test_units, quality, cost = data[test_name]
        results = {label: [measure(with_seed(r, seed), train_units, test_units, quality, cost, None)
                           for seed in args.seeds] for label, r in routers.items()}
        report(f"ZeroEval cross-task: fit on {train_name} → test on {test_name}", results)

    mmlu = sets["mmlu_pro"]
    subjects = sorted({i.category for i in mmlu.items})
    train_subjects = set(subjects[0::2])
    train_set = mmlu.subset(i.id for i in mmlu.items if i.category in train_subjects)
    test_set = mmlu.subset(i.id for i in mmlu.items if i.category not in train_subjects)
    train_units = units_and_costs(train_set)[0]
    test_units, quality, cost = units_and_costs(test_set)
    results = {label: [measure(with_seed(r, seed), train_units, test_units, quality, cost, None)
                       for seed in args.seeds] for label, r in routers.items()}
    report(f"MMLU-Pro subjects: train {', '.join(sorted(train_subjects))} → test "
           f"{', '.join(s for s in subjects if s not in train_subjects)}", results)

    # -- within-set repeated 5-fold cross-validation (reported separately) ---------------------------
    for name in sets:
        units, quality, cost = data[name]
        results = {label: [measure(r, units, units, quality, cost, fold_assignment(units.n_items, 5, seed))
                           for seed in args.seeds] for label, r in routers.items()}
        report(f"{name}: 5-fold cross-validation over items, fold seeds {args.seeds}", results)
    print(f"\n{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
