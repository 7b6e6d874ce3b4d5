"""Answer-aware routing on held-out splits: prompt-only routers, verifiers, cascades, combinations.

Prints, per split decided before any result was seen (issue 13), mean ± sd over seeds 0, 1, 2:
- two-model sets (RouteLLM GSM8K, MT Bench, MMLU): APGR and CPT(50%) over the strong-call share
  (RouteLLM's 10-quantile threshold sweep), next to the issue's targets;
- three-tier sets (ZeroEval GSM8K ↔ CRUXEval, MMLU-Pro even/odd subjects): the share of the
  zero-router → oracle AIQ gap each router's curve closes, the cost to match always-frontier
  quality on its curve (share of always-frontier cost), and the operating point chosen by
  out-of-fold CV *inside the training part* (test quality − frontier quality, cost share).

Splits (fixed in advance): GSM8K and MT Bench: 5-fold CV grouped by question (3 seeds); MT Bench
also fit on the 35 bundled questions, test on the MT Bench questions of the RouteLLM folder that
the bundle leaves out; MMLU: fit on the bundled subjects, test on the folder's other subjects;
ZeroEval: fit on GSM8K → test on CRUXEval and back; MMLU-Pro: subjects sorted, even positions
train, odd test. Hyper-parameters are fixed in advance (a skip share of 10% for combinations);
thresholds come from out-of-fold CV (3 folds) inside the training part only. One plan per
three-tier split is also replayed through the real loop at its CV threshold (every attempt paid
and logged) and printed next to the arithmetic.

    PYTHONPATH=. python benchmarks/answer_aware.py [--splits gsm8k mt_bench mmlu zeroeval mmlu_pro] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from persona_lab.bench import (
    AnswerTable,
    BenchmarkSet,
    CascadeStage,
    ReplayCascadeRouter,
    UnitTable,
    VerifierCascade,
    choose_threshold,
    compare,
    convert_mmlu,
    convert_mt_bench,
    cross_val_scores,
    fold_assignment,
    load_suite,
    tier_points,
)
from persona_lab.metrics import (
    aiq,
    apgr,
    cpt,
    gap_closed,
    hull_cost_for_quality,
    oracle_frontier,
    pgr,
    quantile_thresholds,
    single_tier_points,
    threshold_decisions,
    zero_router_aiq,
)
from persona_lab.routers import (
    AgreementVerifier,
    ArithmeticVerifier,
    ClassifierRouter,
    CombinedVerifier,
    FinalAnswerVerifier,
    KNNRouter,
    LearnedVerifier,
    ParseVerifier,
    PromptFeatureEmbedder,
    RefusalVerifier,
    StackedRouter,
)

ROUTELLM = Path("/work/shared/data/routellm")  # --routellm: the RouteLLM evals folder the unseen splits read
SKIP_SHARE = 0.10  # fixed in advance for every combination
TARGETS = {"gsm8k": "APGR ≥ 0.75, CPT(50%) ≤ 25%", "mt_bench": "APGR ≥ 0.80", "mmlu": "APGR ≥ 0.70, CPT(50%) ≤ 25%",
           "zeroeval_gsm8k": "close ≥ 50% of gap; match frontier at ≤ 15% cost",
           "zeroeval_crux": "close ≥ 50% of gap",
           "mmlu_pro": "close ≥ 50% of gap; match frontier at ≤ 45% cost"}
Array = np.ndarray[Any, Any]


# -- prompt-only routers and two-model verifiers ---------------------------------------------------------

def prompt_routers() -> dict[str, Callable[[], Any]]:
    return {
        "classifier (tf-idf)": lambda: ClassifierRouter(),
        "classifier + prompt features": lambda: ClassifierRouter(embedder=PromptFeatureEmbedder()),
        "knn + prompt features": lambda: KNNRouter(embedder=PromptFeatureEmbedder()),
        "stacked (clf+feat, knn+feat)": lambda: StackedRouter(
            routers=[ClassifierRouter(embedder=PromptFeatureEmbedder()), KNNRouter(embedder=PromptFeatureEmbedder())],
            folds=3),
    }


def two_model_verifiers() -> dict[str, Callable[[], Any]]:
    return {
        "final-answer form": lambda: FinalAnswerVerifier(),
        "arithmetic check": lambda: ArithmeticVerifier(),
        "refusal/hedge": lambda: RefusalVerifier(),
        "learned verifier": lambda: LearnedVerifier(),
        "learned + arithmetic": lambda: CombinedVerifier(parts=[LearnedVerifier(), ArithmeticVerifier()]),
    }


def apgr_cpt(escalate: Array, weak: Array, strong: Array) -> tuple[float, float]:
    """RouteLLM's sweep: 10-quantile thresholds on the escalation scores → APGR, CPT(50%).

    Scores with at most 12 distinct values (rule verifiers) are swept over every distinct value
    instead: their quantiles collapse onto ties and would hide the operating points they have.
    """
    distinct = np.unique(escalate)
    thresholds = distinct if len(distinct) <= 12 else quantile_thresholds(escalate, 10)
    decisions = threshold_decisions(escalate, thresholds)
    quality = np.where(decisions, strong[None, :], weak[None, :]).mean(axis=1)
    pgrs = pgr(quality, weak.mean(), strong.mean())
    shares = decisions.mean(axis=1)
    return apgr(shares, pgrs), cpt(shares, pgrs, 0.5)


def escalation_scores(cascade: VerifierCascade, train: AnswerTable, test: AnswerTable) -> tuple[Array, dict[str, int]]:
    """1 − verifier score per test unit (no_answer/error: 1.5, always escalated; skipped: 2)."""
    scores = cascade.fit(train).scores(test)
    escalate = np.where(scores.status[:, 0] == "ok", 1.0 - scores.score[:, 0], 1.5)
    return np.where(scores.skip, 2.0, escalate), scores.counts()


def two_model_run(train_units: UnitTable, test_units: UnitTable, train: AnswerTable | None,
                  test: AnswerTable | None) -> dict[str, tuple[float, float]]:
    """APGR/CPT(50) of every router on one train/test split."""
    return {name: apgr_cpt(scores, test_units.weak, test_units.strong)
            for name, scores in _fold_scores(train_units, test_units, train, test).items()}


COUNTS: dict[str, list[dict[str, int]]] = {}


def cv_two_model(suite: str, seeds: list[int], answers: bool) -> dict[str, list[tuple[float, float]]]:
    benchmark = load_suite(suite)
    units = UnitTable.from_set(benchmark)
    table = AnswerTable.from_set(benchmark) if answers else None
    results: dict[str, list[tuple[float, float]]] = {}
    for seed in seeds:
        fold = fold_assignment(units.n_items, 5, seed)[units.item_index]
        pooled: dict[str, list[Array]] = {}
        order = np.concatenate([np.flatnonzero(fold == k) for k in range(5)])
        for k in range(5):
            held = fold == k
            train_units, test_units = _units_rows(units, ~held), _units_rows(units, held)
            train = table.rows(~held) if table is not None else None
            test = table.rows(held) if table is not None else None
            for name, scores in _fold_scores(train_units, test_units, train, test).items():
                pooled.setdefault(name, []).append(scores)
        for name, parts in pooled.items():  # APGR over the pooled out-of-fold scores of this seed
            escalate = np.empty(len(units))
            escalate[order] = np.concatenate(parts)
            results.setdefault(name, []).append(apgr_cpt(escalate, units.weak, units.strong))
    return results


def _units_rows(units: UnitTable, mask: Array) -> UnitTable:
    rows = np.flatnonzero(mask)
    from dataclasses import replace

    return replace(units, item_index=units.item_index[rows], turn=units.turn[rows],
                   texts=tuple(units.texts[i] for i in rows), scores={t: v[rows] for t, v in units.scores.items()})


def _fold_scores(train_units: UnitTable, test_units: UnitTable, train: AnswerTable | None,
                 test: AnswerTable | None) -> dict[str, Array]:
    """Escalation scores of every router on one fold's test units."""
    out: dict[str, Array] = {}
    texts = list(test_units.texts)
    for name, make in prompt_routers().items():
        router = make().fit(train_units.training_frame())
        out[f"prompt: {name}"] = np.asarray(router.score_texts(texts), dtype=float)
    if train is None or test is None:
        return out
    weak_tier, strong_tier = train.tiers[0], train.tiers[-1]
    for name, make in two_model_verifiers().items():
        stages = [CascadeStage(tier=weak_tier, verifier=make()), CascadeStage(tier=strong_tier)]
        cascade = VerifierCascade(stages=stages)
        out[f"cascade: {name}"], counts = escalation_scores(cascade, train, test)
        COUNTS.setdefault(f"cascade: {name}", []).append(counts)
    combo = VerifierCascade(stages=[CascadeStage(tier=weak_tier, verifier=LearnedVerifier()),
                                    CascadeStage(tier=strong_tier)],
                            start_router=ClassifierRouter(embedder=PromptFeatureEmbedder()), skip_share=SKIP_SHARE)
    out["combination: clf+features skips 10% → learned verifier"], _ = escalation_scores(combo, train, test)
    return out


def fmt(values: list[float], pct: bool = False) -> str:
    arr = np.asarray(values, dtype=float)
    if np.isnan(arr).all():
        return "–"
    mean, sd = float(np.nanmean(arr)), float(np.nanstd(arr))
    return f"{mean * 100:5.1f}% ± {sd * 100:.1f}" if pct else f"{mean:.3f} ± {sd:.3f}"


def print_two_model(title: str, results: dict[str, list[tuple[float, float]]], target: str) -> None:
    print(f"\n## {title}   (target: {target})")
    print(f"{'router':62s} {'APGR':>15s} {'CPT(50%)':>15s}")
    for name, values in results.items():
        print(f"{name:62s} {fmt([v[0] for v in values]):>15s} {fmt([v[1] for v in values], pct=True):>15s}")


# -- three tiers -------------------------------------------------------------------------------------

def three_tier_plans() -> dict[str, VerifierCascade]:
    def lv() -> LearnedVerifier:
        return LearnedVerifier()

    def st(tier: str, verifier: Any = None, probes: tuple[str, ...] = ()) -> CascadeStage:
        return CascadeStage(tier=tier, verifier=verifier, probes=probes)

    checks = CombinedVerifier(parts=[FinalAnswerVerifier(), ArithmeticVerifier(), ParseVerifier(), RefusalVerifier()])
    return {
        "agree small|mid → frontier (issue's simplest)": VerifierCascade(
            stages=[st("small", AgreementVerifier(), ("mid",)), st("frontier")]),
        "agree mid|small → frontier": VerifierCascade(
            stages=[st("mid", AgreementVerifier(), ("small",)), st("frontier")]),
        "checks mid → frontier": VerifierCascade(stages=[st("mid", checks), st("frontier")]),
        "learned small → mid → frontier": VerifierCascade(stages=[st("small", lv()), st("mid", lv()), st("frontier")]),
        "learned+agree mid|small → frontier": VerifierCascade(
            stages=[st("mid", CombinedVerifier(parts=[AgreementVerifier(), lv()]), ("small",)), st("frontier")]),
        "learned+agree small|mid → frontier": VerifierCascade(
            stages=[st("small", CombinedVerifier(parts=[AgreementVerifier(), lv()]), ("mid",)), st("frontier")]),
        "combination: clf+feat skips 10% → learned+agree mid|small → frontier": VerifierCascade(
            stages=[st("mid", CombinedVerifier(parts=[AgreementVerifier(), lv()]), ("small",)), st("frontier")],
            start_router=ClassifierRouter(embedder=PromptFeatureEmbedder()), skip_share=SKIP_SHARE),
    }


def curve_metrics(test: AnswerTable, costs: list[float], qualities: list[float]) -> tuple[float, float]:
    """(share of the zero-router → exact-oracle AIQ gap closed, cost to match always-frontier / its cost).

    The project's N-tier definitions (``persona_lab.metrics``): a router's curve is closed with the
    cheapest and the dearest single tier only; the oracle is its exact cost-quality frontier.
    """
    quality = np.column_stack([test.scores[t] for t in test.tiers])
    cost = np.column_stack([test.costs[t] for t in test.tiers])
    single_c, single_q = single_tier_points(quality, cost)
    span = (float(single_c.min()), float(single_c.max()))
    zero = zero_router_aiq(quality, cost)
    oracle_c, oracle_q = oracle_frontier(quality, cost)
    oracle = aiq(np.concatenate([oracle_c, single_c]), np.concatenate([oracle_q, single_q]), cost_range=span)
    lo, hi = int(np.argmin(single_c)), int(np.argmax(single_c))
    c = np.asarray([*costs, single_c[lo], single_c[hi]], dtype=float)
    q = np.asarray([*qualities, single_q[lo], single_q[hi]], dtype=float)
    mine = aiq(c, q, cost_range=span)
    match = hull_cost_for_quality(c, q, float(single_q[hi]))
    return gap_closed(mine, zero, oracle), match / float(single_c[hi])


def prompt_curve(router: Any, train: AnswerTable, test: AnswerTable) -> tuple[list[float], list[float]]:
    """A prompt-only router over N tiers: argmax predicted quality − λ·relative cost, λ swept."""
    import pandas as pd

    frame = pd.DataFrame({"prompt": list(train.prompts), **{f"quality_{t}": train.scores[t] for t in train.tiers}})
    fitted = router.fit(frame)
    predicted = fitted.predict_quality(list(test.prompts))[list(train.tiers)].to_numpy()
    mean_cost = np.array([train.costs[t].mean() for t in train.tiers])
    relative = (mean_cost - mean_cost.min()) / (mean_cost.max() - mean_cost.min())
    scores = np.column_stack([test.scores[t] for t in test.tiers])
    unit_costs = np.column_stack([test.costs[t] for t in test.tiers])
    costs, qualities = [], []
    for lam in np.concatenate([[0.0], np.geomspace(1e-3, 10, 40)]):
        pick = (predicted - lam * relative[None, :]).argmax(axis=1)
        rows = np.arange(len(test))
        costs.append(float(unit_costs[rows, pick].sum()))
        qualities.append(float(scores[rows, pick].mean()))
    return costs, qualities


LOOP_PLAN = "learned+agree mid|small → frontier"  # the plan also replayed through the loop (fixed in advance)


def loop_check(benchmark: BenchmarkSet, scores: Any, threshold: float) -> str:
    """The plan at its CV threshold replayed through the real loop: every attempt paid and logged."""
    router = ReplayCascadeRouter(scores, threshold, name="cascade")
    result = compare(benchmark, {"cascade": router}, cv=False, n_boot=0)
    row = result.summary[(result.summary["router"] == "cascade") & (result.summary["point"] == "loop")].iloc[0]
    turns = result.turns[result.turns["router_name"] == "cascade"]
    outcome = scores.outcome(threshold)
    return (f"   loop check ({LOOP_PLAN}, seed-0 CV threshold {threshold:.3f}): loop quality {row['quality']:.4f}, "
            f"cost ${row['cost_usd']:.4f}, {int(turns['n_attempts'].sum())} attempts for {len(turns)} turns; "
            f"arithmetic {outcome.quality.mean():.4f}, ${outcome.cost.sum():.4f}")


def three_tier_split(name: str, train: AnswerTable, test: AnswerTable, seeds: list[int],
                     test_set: BenchmarkSet | None = None) -> None:
    points = tier_points(test)
    frontier_q, frontier_c = points[test.tiers[-1]]
    oracle_q, oracle_c = test.oracle()
    print(f"\n## {name}   (target: {TARGETS.get(test.suite, '')})")
    print("   test: " + ", ".join(f"always-{t} {q:.3f} at {c / frontier_c:.1%}" for t, (q, c) in points.items())
          + f"; oracle {oracle_q:.3f} at {oracle_c / frontier_c:.1%} of frontier cost (gap: AIQ of the zero router "
          "→ the exact oracle frontier; curves closed with always-small and always-frontier)")
    if any(test.missing_answers.values()):
        print(f"   answer texts missing (escalated as no_answer): {dict(test.missing_answers)}")
    print(f"{'router':66s} {'gap closed':>10s} {'match cost':>10s} {'CV pick: Δq vs frontier':>24s} {'cost':>14s}")
    for label, make in {"classifier + prompt features": lambda: ClassifierRouter(embedder=PromptFeatureEmbedder()),
                        "classifier (tf-idf)": lambda: ClassifierRouter()}.items():
        costs, qualities = prompt_curve(make(), train, test)
        gap, match = curve_metrics(test, costs, qualities)
        print(f"{'prompt: ' + label:66s} {gap:10.1%} {match:10.1%} {'(curve only)':>24s}")
    for label, plan in three_tier_plans().items():
        started = time.perf_counter()
        fitted = plan.fit(train)
        scores = fitted.scores(test)
        sweep = scores.sweep()
        gap, match = curve_metrics(test, sweep["cost_usd"].tolist(), sweep["quality"].tolist())
        dq, share, chosen = [], [], []
        for seed in seeds:  # the threshold is chosen on out-of-fold scores inside the training part
            threshold = choose_threshold(cross_val_scores(plan, train, folds=3, seed=seed))
            outcome = scores.outcome(threshold)
            chosen.append(threshold)
            dq.append(float(outcome.quality.mean()) - frontier_q)
            share.append(float(outcome.cost.sum()) / frontier_c)
        counts = {k: v for k, v in scores.counts().items() if k != "ok"}
        note = f"  [{', '.join(f'{k} {v}' for k, v in counts.items())}]" if counts else ""
        print(f"{label:66s} {gap:10.1%} {match:10.1%} {fmt(dq):>24s} {fmt(share, pct=True):>14s}"
              f"  {time.perf_counter() - started:.0f}s{note}", flush=True)
        if label == LOOP_PLAN and test_set is not None:
            print(loop_check(test_set, scores, chosen[0]), flush=True)


# -- main ---------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", nargs="+", default=["gsm8k", "mt_bench", "mmlu", "zeroeval", "mmlu_pro"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--routellm", type=Path, default=ROUTELLM, help="RouteLLM evals folder (unseen splits)")
    args = parser.parse_args()
    routellm: Path = args.routellm
    seeds = list(args.seeds)
    if "gsm8k" in args.splits:
        print_two_model("RouteLLM GSM8K: 5-fold CV grouped by question", cv_two_model("gsm8k", seeds, True),
                        TARGETS["gsm8k"])
    if "mt_bench" in args.splits:
        print_two_model("RouteLLM MT Bench: 5-fold CV grouped by question (per turn)",
                        cv_two_model("mt_bench", seeds, True), TARGETS["mt_bench"])
        bundled = load_suite("mt_bench")
        full = convert_mt_bench(routellm / "mt_bench", drop_contaminated=False)
        unseen = full.subset([i.id for i in full.items if i.id not in {b.id for b in bundled.items}])
        print(f"\n   unseen MT Bench questions in {routellm / 'mt_bench'}: {len(unseen.items)} "
              f"({', '.join(i.id for i in unseen.items)}); fit on the {len(bundled.items)} bundled")
        result = two_model_run(UnitTable.from_set(bundled), UnitTable.from_set(unseen),
                               AnswerTable.from_set(bundled), AnswerTable.from_set(unseen))
        print_two_model("RouteLLM MT Bench: fit on bundled, test on unseen questions (deterministic fit: sd 0)",
                        {k: [v] for k, v in result.items()}, TARGETS["mt_bench"])
    if "mmlu" in args.splits:
        bundled = load_suite("mmlu")
        folder = convert_mmlu(routellm / "mmlu", drop_contaminated=False)
        seen = {i.category for i in bundled.items}
        unseen = folder.subset([i.id for i in folder.items if i.category not in seen])
        print(f"\n## RouteLLM MMLU (prompt only): subjects in {routellm / 'mmlu'} not in the bundle: "
              f"{len({i.category for i in unseen.items})} ({len(unseen.items)} questions)")
        if unseen.items:
            result = two_model_run(UnitTable.from_set(bundled), UnitTable.from_set(unseen), None, None)
            print_two_model("RouteLLM MMLU: fit on bundled subjects, test on unseen subjects",
                            {k: [v] for k, v in result.items()}, TARGETS["mmlu"])
        else:
            print("   the bundle already holds every subject of that folder, so this split has no test data here; "
                  "the evaluators' held-back subjects are where it applies. Not substituted.")
    if "zeroeval" in args.splits:
        gsm_set, crux_set = load_suite("zeroeval_gsm8k"), load_suite("zeroeval_crux")
        gsm, crux = AnswerTable.from_set(gsm_set), AnswerTable.from_set(crux_set)
        three_tier_split("ZeroEval: fit on GSM8K, test on CRUXEval", gsm, crux, seeds, crux_set)
        three_tier_split("ZeroEval: fit on CRUXEval, test on GSM8K", crux, gsm, seeds, gsm_set)
    if "mmlu_pro" in args.splits:
        mmlu_pro = load_suite("mmlu_pro")
        table = AnswerTable.from_set(mmlu_pro, missing="empty")
        subjects = sorted(set(table.categories))
        train_subjects = set(subjects[0::2])
        in_train = np.array([table.categories[i] in train_subjects for i in table.item_index])
        print(f"\n   MMLU-Pro train subjects: {', '.join(sorted(train_subjects))}; "
              f"test: {', '.join(s for s in subjects if s not in train_subjects)}")
        test_ids = [i.id for i in mmlu_pro.items if i.category not in train_subjects]
        three_tier_split("MMLU-Pro: even subjects → odd subjects", table.rows(in_train), table.rows(~in_train), seeds,
                         mmlu_pro.subset(test_ids))
    for name, counts in COUNTS.items():
        total: dict[str, int] = {}
        for c in counts:
            for k, v in c.items():
                total[k] = total.get(k, 0) + v
        bad = {k: v for k, v in total.items() if k != "ok"}
        if bad:
            print(f"   {name}: answers escalated without a score over all folds and seeds: {bad}")


if __name__ == "__main__":
    main()
