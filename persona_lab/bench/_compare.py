"""``compare(suites, routers)``: replay every router on every suite through the loop, then score them.

Each (suite, router) pair is a job: learned routers are cross-validated inside it (a fresh
clone fitted per fold, routing only that fold's items), threshold routers also return one
score per turn for the sweep. Jobs run in this process or, with ``n_jobs > 1``, in a pool of
*spawned* worker processes (never forked: the caller may have threads, as Jupyter and tqdm do).
Everything a job needs travels with it, cloudpickled (so routers defined in a notebook work too);
there is no module state, so comparisons may run concurrently. The always-weak and always-strong
baselines run in every comparison; random and oracle curves come from the recorded outcomes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from persona_lab.bench._compare_analysis import _assemble
from persona_lab.bench._compare_plan import (
    ALWAYS_STRONG,
    ALWAYS_WEAK,
    CompareOptions,
    _Job,
    _Plan,
    _Suite,
    baseline_labels,
    label_routers,
)
from persona_lab.bench._compare_workers import _execute, default_jobs
from persona_lab.bench._format import BenchmarkSet
from persona_lab.bench._learning import fold_assignment, is_fitted, is_learned
from persona_lab.bench._replay import ReplayTiers, replay_tiers
from persona_lab.bench._suites import load_suites
from persona_lab.bench._tier_mapping import TierSpec, resolve_tiers
from persona_lab.bench._units import UnitTable
from persona_lab.core import BenchmarkFormatError, InvalidArgument, Router
from persona_lab.persona import Persona
from persona_lab.routers import FixedRouter
from persona_lab.tiers import Price

if TYPE_CHECKING:
    from persona_lab.bench._comparison import Comparison

__all__ = ["ALWAYS_STRONG", "ALWAYS_WEAK", "CompareOptions", "compare", "default_jobs", "label_routers"]


def compare(
    suites: str | Path | BenchmarkSet | Iterable[str | Path | BenchmarkSet] | None = None,
    routers: Mapping[str, Router] | Iterable[Router] | None = None,
    options: CompareOptions | None = None,
    *,
    folds: int | None = None,
    cv: bool | None = None,
    seed: int | None = None,
    route_first_turn_only: bool | None = None,
    n_boot: int | None = None,
    exact_routing: bool | None = None,
    limit: int | None = None,
    prices: Mapping[str, Price] | None = None,
    persona: Persona | None = None,
    n_jobs: int | None = None,
    progress: bool | None = None,
    tiers: TierSpec | None = None,
    train: str | Path | BenchmarkSet | Mapping[str, str | Path | BenchmarkSet] | None = None,
    seeds: int | None = None,
) -> Comparison:
    """Replay ``routers`` on ``suites`` through the real loop and compare them.

    Works as is in a notebook: the replay runs on its own event loop (in a short-lived thread
    when the caller's loop is running), so ``comparison = compare(...)`` needs no ``await``.

    Parameters
    ----------
    suites:
        Bundled names (``"gsm8k"``), set files, RouteLLM folders, loaded sets; ``None`` = all bundled.
    routers:
        ``{label: router}`` or routers (labelled by name); ``None`` = :func:`default_routers`.
        The always-weak and always-strong baselines are always added.
    options:
        A :class:`CompareOptions` holding the settings below; a keyword given here overrides it.
    folds, cv:
        Learned routers (anything with ``fit``) are cross-validated over items with ``folds``
        folds; ``cv=False`` uses a router as given if fitted, else fits it on the whole set
        (in-sample, marked so in the summary).
    route_first_turn_only:
        RouteLLM's protocol: route the first turn of an item; later turns keep its tier.
    n_boot:
        Bootstrap resamples over items for the confidence intervals (0 = none).
    exact_routing:
        Run learned threshold routers turn by turn through their own ``route()`` instead of the
        batched ``score_texts`` decisions (identical decisions, much slower).
    limit:
        Only the first ``limit`` items of each suite.
    prices:
        ``{model: Price}`` overriding a recorded model's price.
    n_jobs:
        Worker processes (spawned; routers and sets are pickled to them); 1 runs everything in
        this process.
    tiers:
        Which recorded model plays which tier, for sets that record more models than tiers:
        ``{tier: model}`` (or ``"small=a,mid=b,frontier=c"``) for every suite, or
        ``{suite: {tier: model}}``; default: each set's own mapping (see ``map_tiers``).
    train:
        Train on one set, test on another: learned routers that are not fitted yet are fitted
        once on all of ``train`` (a suite name, file, folder or set; or ``{test suite: train
        suite}``) and evaluated on the test suites without cross-validation. Its tiers (after
        ``tiers``) and scale must match the test suite's.
    seeds:
        Repeated cross-validation: fold assignments from ``seed``, ``seed + 1``, … (default 3).
        Only the first seed's folds run through the loop; every seed's out-of-fold outputs feed
        the swept metrics, reported as mean and spread over seeds.

    A learned router that is already fitted is always used as fitted (evaluation
    ``pre-fitted``), never re-fitted, whatever ``cv`` says.
    """
    from dataclasses import replace

    from persona_lab.bench._routers import default_routers

    given: dict[str, Any] = {"folds": folds, "cv": cv, "seed": seed, "route_first_turn_only": route_first_turn_only,
             "n_boot": n_boot, "exact_routing": exact_routing, "limit": limit, "n_jobs": n_jobs, "progress": progress,
             "seeds": seeds}
    options = replace(options or CompareOptions(), **{k: v for k, v in given.items() if v is not None})
    folds, cv, seed, limit = options.folds, options.cv, options.seed, options.limit
    sets = [resolve_tiers(s, tiers) for s in load_suites(suites)]
    if options.seeds < 1:
        raise InvalidArgument(f"seeds must be at least 1, got {options.seeds}")
    unknown = sorted(set(prices or {}) - {m for s in sets for m in s.models})
    if unknown:
        raise BenchmarkFormatError(f"price override for unknown model {unknown[0]!r}; the suites record: "
                                   f"{', '.join(sorted({m for s in sets for m in s.models}))}", field="models")
    if limit is not None:
        sets = [s.head(limit) for s in sets]
    if routers is None:
        routers = default_routers(seed=seed, texts=[t for s in sets for i in s.items for t in i.turns])
    labelled = label_routers(routers)
    for reserved in (ALWAYS_WEAK, ALWAYS_STRONG):
        labelled.pop(reserved, None)
    prepared: list[_Suite] = []
    learned = any(is_learned(r) and not is_fitted(r) for r in labelled.values())
    for s in sets:
        replay = replay_tiers(s, prices={k: v for k, v in (prices or {}).items() if k in s.models})
        fold_ids, extra = None, []
        trained = _train_units(train, s, tiers, prices) if train is not None else None
        if cv and learned and trained is None:
            n_folds = min(folds, len(s.items))
            fold_ids = fold_assignment(len(s.items), n_folds, seed)
            extra = [fold_assignment(len(s.items), n_folds, seed + k) for k in range(1, options.seeds)]
        prepared.append(_Suite(benchmark=s, tiers=replay, units=_units_with_costs(s, replay), folds=fold_ids,
                               extra_folds=tuple(extra), train=trained[0] if trained else None,
                               train_name=trained[1] if trained else ""))
    jobs: list[_Job] = []
    for n, suite in enumerate(prepared):
        jobs.extend(_Job(suite=n, label=label, router=FixedRouter(tier, respect_pin=False))
                    for tier, label in baseline_labels(suite.units).items())
        jobs.extend(_Job(suite=n, label=label, router=router) for label, router in labelled.items())
    plan = _Plan(suites=tuple(prepared), jobs=tuple(jobs), options=options, persona=persona)
    bar = None
    if options.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(len(prepared[j.suite].benchmark.items) for j in jobs),
                   desc="replaying", unit="item", dynamic_ncols=True)
    started = time.perf_counter()
    try:
        results = _execute(plan, max(1, options.n_jobs), bar)
    finally:
        if bar is not None:
            bar.close()
    return _assemble(plan, results, labelled, options, time.perf_counter() - started)


def _units_with_costs(benchmark: BenchmarkSet, replay: ReplayTiers) -> UnitTable:
    prices = {tier: replay.prices[model][0] for tier, model in replay.models.items()}
    return UnitTable.from_set(benchmark).with_cost_estimates(benchmark, prices)


def _train_units(train: Any, test: BenchmarkSet, tiers: TierSpec | None,
                 prices: Mapping[str, Price] | None) -> tuple[UnitTable, str]:
    """The training table for ``test`` when training on another set; its tiers and scale must match."""
    spec = train.get(test.suite) if isinstance(train, Mapping) else train
    if spec is None:
        raise BenchmarkFormatError(f"train: no training suite given for test suite {test.suite!r} "
                                   f"(given for: {', '.join(map(str, train))})", field="train")
    loaded = load_suites(spec)
    if len(loaded) != 1:
        raise BenchmarkFormatError(f"train: {spec} holds {len(loaded)} suites; give exactly one", field="train")
    benchmark = resolve_tiers(loaded[0], tiers)
    if benchmark.scale != test.scale:
        raise BenchmarkFormatError(f"train suite {benchmark.suite!r} scores on scale {benchmark.scale!r} but test "
                                   f"suite {test.suite!r} on {test.scale!r}: scores on different scales cannot train "
                                   "each other", field="scale")
    if list(benchmark.tier_models) != list(test.tier_models):
        raise BenchmarkFormatError(
            f"train suite {benchmark.suite!r} plays tiers {', '.join(benchmark.tier_models)} but test suite "
            f"{test.suite!r} plays {', '.join(test.tier_models)}; map the same tiers (tiers=...)", field="tiers")
    replay = replay_tiers(benchmark, prices={k: v for k, v in (prices or {}).items() if k in benchmark.models})
    name = benchmark.suite if benchmark.suite != test.suite else f"{benchmark.suite} ({benchmark.path or 'given set'})"
    return _units_with_costs(benchmark, replay), name
