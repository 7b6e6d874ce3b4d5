"""One comparison job: a router replayed on one suite through the loop, cross-validated when learned."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from persona_lab.bench._compare_plan import CompareOptions, _Job, _JobResult, _Suite
from persona_lab.bench._learning import (
    BatchedThresholdRouter,
    fresh_copy,
    is_fitted,
    is_learned,
    is_threshold_router,
    is_utility_router,
)
from persona_lab.bench._oof import OutOfFold, Predictions, batched_utility_router, out_of_fold, predictions
from persona_lab.bench._runner import ItemFailure, replay_items
from persona_lab.bench._units import UnitTable
from persona_lab.core import Router, TurnLog
from persona_lab.persona import Persona

if TYPE_CHECKING:
    from numpy.typing import NDArray


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


def _per_unit(rel_cost: NDArray[np.float64] | None, n: int) -> NDArray[np.float64] | None:
    """One router's relative tier costs repeated per unit (the shape cross-validation gives)."""
    return None if rel_cost is None else np.tile(rel_cost, (n, 1))
