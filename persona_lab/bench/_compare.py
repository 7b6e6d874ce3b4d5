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

import asyncio
import gzip
import json
import os
import pickle
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
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
from persona_lab.bench._format import BenchmarkSet
from persona_lab.bench._learning import (
    BatchedThresholdRouter,
    fold_assignment,
    fresh_copy,
    is_fitted,
    is_learned,
    is_threshold_router,
    is_utility_router,
)
from persona_lab.bench._oof import OutOfFold, Predictions, batched_utility_router, out_of_fold, predictions
from persona_lab.bench._replay import ReplayTiers, replay_tiers
from persona_lab.bench._runner import ItemFailure, replay_items
from persona_lab.bench._suites import load_suites
from persona_lab.bench._tier_mapping import TierSpec, resolve_tiers
from persona_lab.bench._units import UnitTable
from persona_lab.core import BenchmarkFormatError, InvalidArgument, Router, TurnLog, router_name
from persona_lab.metrics import bootstrap_weights
from persona_lab.persona import Persona
from persona_lab.routers import FixedRouter
from persona_lab.tiers import Price

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import NDArray

    from persona_lab.bench._comparison import Comparison

__all__ = ["ALWAYS_STRONG", "ALWAYS_WEAK", "CompareOptions", "compare", "label_routers"]

ALWAYS_WEAK = "always-weak"
ALWAYS_STRONG = "always-strong"


@dataclass(frozen=True, slots=True, kw_only=True)
class CompareOptions:
    """How a comparison runs (see :func:`compare` for each option): ``compare(suites, routers, options)``."""

    folds: int = 5
    cv: bool = True
    seed: int = 0
    route_first_turn_only: bool = False
    n_boot: int = 200
    level: float = 0.95
    exact_routing: bool = False
    sweep_points: int = 10
    limit: int | None = None
    n_jobs: int = 1
    progress: bool = False
    seeds: int = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class _Suite:
    benchmark: BenchmarkSet
    tiers: ReplayTiers
    units: UnitTable
    folds: NDArray[np.int64] | None
    extra_folds: tuple[NDArray[np.int64], ...] = ()
    train: UnitTable | None = None
    train_name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Job:
    suite: int
    label: str
    router: Router


@dataclass(frozen=True, slots=True, kw_only=True)
class _Plan:
    """Everything one comparison runs: its suites, its jobs and their options (nothing is global)."""

    suites: tuple[_Suite, ...]
    jobs: tuple[_Job, ...]
    options: CompareOptions
    persona: Persona | None = None

    def weight(self, index: int) -> int:
        """A job's rough cost: its turns, three times over for a learned router (fits and folds)."""
        job = self.jobs[index]
        return len(self.suites[job.suite].units) * (3 if is_learned(job.router) else 1)


@dataclass
class _JobResult:
    suite: int
    label: str
    frame: pd.DataFrame
    jsonl: bytes
    failures: list[ItemFailure]
    scores: NDArray[np.float64] | None
    evaluation: str
    note: str
    seconds: float
    turns: int = 0
    fit_seconds: float = 0.0
    cpu_seconds: float = 0.0
    predicted: NDArray[np.float64] | None = None
    rel_cost: NDArray[np.float64] | None = None
    lam: NDArray[np.float64] | None = None
    seed_runs: list[OutOfFold] = field(default_factory=list)


def label_routers(routers: Mapping[str, Router] | Iterable[Router]) -> dict[str, Router]:
    """``{label: router}``: a mapping as given, else each router's name (``#2``… on repeats)."""
    if isinstance(routers, Mapping):
        return dict(routers)
    labelled: dict[str, Router] = {}
    for router in routers:
        label = router_name(router)
        n = 2
        while label in labelled:
            label = f"{router_name(router)}#{n}"
            n += 1
        labelled[label] = router
    return labelled


def _to_jsonl_gz(records: Sequence[TurnLog]) -> bytes:
    """The records as JSONL, one gzip member (members concatenate into one valid .gz file)."""
    lines = [json.dumps(r.to_dict(), ensure_ascii=False, separators=(",", ":")) for r in records]
    if not lines:
        return b""
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=1, mtime=0)


def _run(coroutine: Any) -> Any:
    """``asyncio.run``, also from inside a running loop (Jupyter): then in a short-lived thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _scores_for(router: Any, units: UnitTable, rows: NDArray[np.int64]) -> NDArray[np.float64]:
    texts = [units.texts[i] for i in rows]
    return np.asarray(router.score_texts(texts), dtype=float).reshape(-1)


def _loop_router(router: Router, scores: NDArray[np.float64] | None, rows: NDArray[np.int64], suite: _Suite,
                 options: CompareOptions, said: Predictions | None = None) -> Router:
    """The router the loop runs: batched decisions for learned routers (threshold or N-tier utility)."""
    if options.exact_routing or not is_learned(router):
        return router
    units = suite.units
    if len(suite.tiers.models) != 2:
        batched = batched_utility_router(router, units, rows, said) if said is not None else None
        return batched if batched is not None else router
    if scores is None:
        return router
    keyed = {(units.item_ids[units.item_index[i]], int(units.turn[i])): float(scores[i]) for i in rows}
    return BatchedThresholdRouter(router, keyed, units.weak_tier, units.strong_tier)


def _run_job(suite: _Suite, job: _Job, options: CompareOptions, persona: Persona | None,
             on_item: Callable[[], Any] | None = None) -> _JobResult:
    from persona_lab.logs import turn_logs_to_frame

    started = time.perf_counter()
    cpu_started = time.process_time()
    units = suite.units
    router = job.router
    records: list[TurnLog] = []
    failures: list[ItemFailure] = []
    scores: NDArray[np.float64] | None = None
    notes: list[str] = []
    threshold = is_threshold_router(router)
    fit_seconds = 0.0

    def replay(loop_router: Router, items: Sequence[Any] | None) -> None:
        result = _run(replay_items(
            suite.benchmark, suite.tiers, loop_router, label=job.label, items=items,
            route_first_turn_only=options.route_first_turn_only, persona=persona, on_item=on_item))
        records.extend(result.records)
        failures.extend(result.failures)

    def fail_items(items: Sequence[Any], why: str, exc: BaseException) -> None:
        for item in items:
            failures.append(ItemFailure(units.suite, job.label, item.id, 0, type(exc).__name__, f"{why}: {exc}"))
            if on_item is not None:
                on_item()

    learned = is_learned(router)
    utility = learned and len(units.scores) >= 3 and is_utility_router(router)
    predicted: NDArray[np.float64] | None = None
    rel_cost: NDArray[np.float64] | None = None
    lam: NDArray[np.float64] | None = None
    seed_runs: list[OutOfFold] = []
    if learned and not is_fitted(router) and suite.train is not None:
        evaluation = f"trained on {suite.train_name}"
        try:
            t0 = time.perf_counter()
            fitted = fresh_copy(router).fit(suite.train.training_frame())
            all_rows = np.arange(len(units))
            said = predictions(fitted, units, all_rows, threshold=threshold, utility=utility)
            fit_seconds += time.perf_counter() - t0
        except Exception as exc:
            notes.append(f"fit on {suite.train_name} failed: {type(exc).__name__}: {exc}")
            fail_items(suite.benchmark.items, "fit failed", exc)
        else:
            scores, predicted, rel_cost = said.scores, said.quality, _per_unit(said.rel_cost, len(units))
            lam = np.full(len(units), said.lam)
            replay(_loop_router(fitted, scores, all_rows, suite, options, said), None)
    elif learned and not is_fitted(router) and options.cv and suite.folds is not None:
        evaluation = f"{int(suite.folds.max()) + 1}-fold CV"
        if suite.extra_folds:
            evaluation += f" × {len(suite.extra_folds) + 1} seeds"
        first = out_of_fold(router, units, suite.folds, threshold=threshold, utility=utility, keep_fits=True)
        fit_seconds += first.fit_seconds
        scores, predicted, rel_cost, lam = first.scores, first.quality, first.rel_cost, first.lam
        for fold, error in first.failed.items():
            notes.append(f"fold {fold}: fit failed: {type(error).__name__}: {error}")
            items = [item for n, item in enumerate(suite.benchmark.items) if suite.folds[n] == fold]
            fail_items(items, f"fold {fold}: fit failed", error)
        for fit in first.fits:
            items = [item for n, item in enumerate(suite.benchmark.items) if suite.folds[n] == fit.fold]
            said = Predictions(scores=None if scores is None else scores[fit.rows],
                               quality=None if predicted is None else predicted[fit.rows],
                               rel_cost=None if rel_cost is None else rel_cost[fit.rows][0],
                               lam=float(lam[fit.rows][0]))
            replay(_loop_router(fit.router, scores, fit.rows, suite, options, said), items)
        for extra in suite.extra_folds:  # repeated CV: out-of-fold outputs only, no loop run
            again = out_of_fold(router, units, extra, threshold=threshold, utility=utility, keep_fits=False)
            fit_seconds += again.fit_seconds
            seed_runs.append(again)
    else:
        evaluation = "rule" if not learned else ("pre-fitted" if is_fitted(router) else "in-sample (no CV)")
        active: Router | None = router
        all_rows = np.arange(len(units))
        said = None
        try:
            if learned and not is_fitted(router):
                t0 = time.perf_counter()
                active = fresh_copy(router).fit(units.training_frame())
                fit_seconds += time.perf_counter() - t0
            if threshold or utility:
                said = predictions(active, units, all_rows, threshold=threshold, utility=utility)
                scores, predicted, rel_cost = said.scores, said.quality, _per_unit(said.rel_cost, len(units))
                lam = np.full(len(units), said.lam)
        except Exception as exc:
            notes.append(f"fit/score failed: {type(exc).__name__}: {exc}")
            fail_items(suite.benchmark.items, "fit failed", exc)
            active = None
        if active is not None:
            replay(_loop_router(active, scores, all_rows, suite, options, said), None)
    frame = turn_logs_to_frame(records)
    return _JobResult(job.suite, job.label, frame, _to_jsonl_gz(records), failures, scores, evaluation,
                      "; ".join(notes), time.perf_counter() - started, len(records), fit_seconds,
                      time.process_time() - cpu_started, predicted, rel_cost, lam, seed_runs)


def _run_task(suite_payload: bytes, jobs_payload: bytes) -> list[_JobResult]:
    """A worker process's call: some jobs of one suite, run with one BLAS thread (no oversubscription).

    The suite comes pickled once per comparison (plain pickle: it is package data); the jobs and
    options come cloudpickled, so routers defined in a notebook's ``__main__`` travel by value.
    """
    from threadpoolctl import threadpool_limits

    suite: _Suite = pickle.loads(suite_payload)
    jobs: tuple[_Job, ...]
    options: CompareOptions
    persona: Persona | None
    jobs, options, persona = pickle.loads(jobs_payload)
    with threadpool_limits(limits=1):
        return [_run_job(suite, job, options, persona) for job in jobs]


def _tasks(plan: _Plan, n_jobs: int) -> list[tuple[int, ...]]:
    """Job indices grouped into worker tasks, biggest first.

    A task carries its suite, so a big suite is cut into only as many tasks as its share of the
    work needs (about two per worker in all): each task pays for unpickling its suite once.
    """
    total = sum(plan.weight(i) for i in range(len(plan.jobs))) or 1
    tasks: list[tuple[int, ...]] = []
    for n in range(len(plan.suites)):
        mine = sorted((i for i, job in enumerate(plan.jobs) if job.suite == n), key=lambda i: -plan.weight(i))
        if not mine:
            continue
        share = sum(plan.weight(i) for i in mine) / total
        parts = min(len(mine), max(1, round(2 * n_jobs * share)))
        chunks: list[list[int]] = [[] for _ in range(parts)]
        loads = [0] * parts
        for i in mine:  # largest job to the lightest chunk
            lightest = loads.index(min(loads))
            chunks[lightest].append(i)
            loads[lightest] += plan.weight(i)
        tasks.extend(tuple(chunk) for chunk in chunks)
    return sorted(tasks, key=lambda chunk: -sum(plan.weight(i) for i in chunk))


def _execute(plan: _Plan, n_jobs: int, progress: Any) -> list[_JobResult]:
    jobs = plan.jobs
    if n_jobs <= 1 or len(jobs) <= 1:
        tick = (lambda: progress.update(1)) if progress is not None else None
        return [_run_job(plan.suites[job.suite], job, plan.options, plan.persona, tick) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import cloudpickle

    tasks = _tasks(plan, n_jobs)
    done: list[_JobResult] = []
    suite_payloads: dict[int, bytes] = {}
    # spawn, never fork: forking a process with threads (Jupyter, tqdm, BLAS) can deadlock
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(n_jobs, len(tasks)), mp_context=context) as pool:
        futures = {}
        for chunk in tasks:
            n = jobs[chunk[0]].suite
            if n not in suite_payloads:
                suite_payloads[n] = pickle.dumps(plan.suites[n], protocol=pickle.HIGHEST_PROTOCOL)
            jobs_payload = cloudpickle.dumps((tuple(jobs[i] for i in chunk), plan.options, plan.persona),
                                             protocol=pickle.HIGHEST_PROTOCOL)
            futures[pool.submit(_run_task, suite_payloads[n], jobs_payload)] = chunk
        for future in as_completed(futures):
            done.extend(future.result())
            if progress is not None:
                progress.update(sum(len(plan.suites[jobs[i].suite].benchmark.items) for i in futures[future]))
    order = {(job.suite, job.label): n for n, job in enumerate(jobs)}
    return sorted(done, key=lambda r: order[(r.suite, r.label)])


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


def _per_unit(rel_cost: NDArray[np.float64] | None, n: int) -> NDArray[np.float64] | None:
    """One router's relative tier costs repeated per unit (the shape cross-validation gives)."""
    return None if rel_cost is None else np.tile(rel_cost, (n, 1))


def baseline_labels(units: UnitTable) -> dict[str, str]:
    """``{tier: label}`` of the single-tier baselines: always-weak/always-strong for two tiers,
    else always-<tier> for every tier."""
    tiers = list(units.scores)
    if len(tiers) == 2:
        return {tiers[0]: ALWAYS_WEAK, tiers[1]: ALWAYS_STRONG}
    return {tier: f"always-{tier}" for tier in tiers}


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


def default_jobs() -> int:
    """Worker processes for the CLI: the CPU count, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))
