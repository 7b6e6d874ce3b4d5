"""``evaluate(personas, scenarios, tiers, router)``: every scenario × persona variant, graded.

Pairs run as parallel conversations (``concurrency`` at once) through the real
``ConversationLoop`` (``AgenticLoop`` for task scenarios). With ``run_dir``, each finished pair
is appended to ``turn_logs.jsonl`` at once and a rerun skips every pair already finished
without error (resume); the summary, grades and HTML report are written at the end.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from persona_lab.core import Clock, Router, run_sync
from persona_lab.evaluation._cluster import run_pair_on_cluster
from persona_lab.evaluation._errors import ScenarioError
from persona_lab.evaluation._grade import Grader
from persona_lab.evaluation._pair import PairJob, run_pair
from persona_lab.evaluation._records import EvaluatedTurn, read_evaluated_turns, write_evaluated_turns
from persona_lab.evaluation._result import EvaluationResult, PairFailure
from persona_lab.evaluation._scenario import ScenarioSuite, load_scenarios
from persona_lab.evaluation._variants import Variant, build_variants
from persona_lab.loops import Toolbox
from persona_lab.persona import Persona
from persona_lab.tiers import TierRegistry

__all__ = ["TURN_LOG_FILE", "check_scenarios", "evaluate", "evaluate_sync", "finished_pairs"]

TURN_LOG_FILE = "turn_logs.jsonl"

Scenarios = str | Path | ScenarioSuite | Sequence[str | Path | ScenarioSuite]


def check_scenarios(suites: Sequence[ScenarioSuite], variants: Sequence[Variant], toolbox: Toolbox | None) -> None:
    """Every persona and tool a scenario names exists; else a :class:`ScenarioError` naming file and line."""
    known_personas = sorted({v.persona.id for v in variants} | {v.label for v in variants})
    tools = set(toolbox.names) if toolbox is not None else set()
    for suite in suites:
        for name in suite.personas or ():
            if name not in known_personas:
                raise ScenarioError(
                    f"{suite.where('personas')}: personas: suite {suite.suite!r} names persona {name!r}, which "
                    f"this evaluation was not given (personas and variants: {', '.join(known_personas)})",
                    source=suite.source, field="personas")
        for n, scenario in enumerate(suite.scenarios):
            for name in scenario.personas or ():
                if name not in known_personas:
                    raise ScenarioError(
                        f"{suite.where('scenarios', n, 'personas')}: scenarios.{n}.personas: scenario "
                        f"{scenario.id!r} names persona {name!r}, which this evaluation was not given "
                        f"(personas and variants: {', '.join(known_personas)})",
                        source=suite.source, field=f"scenarios.{n}.personas")
            runs_on = [v for v in variants if v.serves(suite.personas_for(scenario))]
            for tool in scenario.tools_needed if runs_on else ():
                if tool not in tools:
                    hint = (f"the toolbox has: {', '.join(sorted(tools))}" if tools else
                            "the evaluation has no toolbox: pass toolbox=Toolbox([...])")
                    raise ScenarioError(
                        f"{suite.where('scenarios', n)}: scenarios.{n}: scenario {scenario.id!r} needs tool "
                        f"{tool!r}, which is not in the toolbox ({hint})",
                        source=suite.source, field=f"scenarios.{n}")


def finished_pairs(records: Sequence[EvaluatedTurn]) -> dict[tuple[str, str, str], str]:
    """``{(suite, scenario, variant): attempt}`` of every pair whose conversation ended without failing."""
    return {r.pair: r.attempt for r in records if r.last and not r.failed}


def _resume(path: Path) -> tuple[list[EvaluatedTurn], dict[tuple[str, str, str], str]]:
    """The finished pairs' records (the file is rewritten without the unfinished ones)."""
    records = read_evaluated_turns(path)
    done = finished_pairs(records)
    keep = [r for r in records if done.get(r.pair) == r.attempt]
    if len(keep) != len(records):
        tmp = path.with_suffix(".jsonl.tmp")
        write_evaluated_turns(tmp, keep, append=False)
        tmp.replace(path)
    return keep, done


async def evaluate(
    personas: Persona | Sequence[Persona] | Mapping[str, Persona],
    scenarios: Scenarios,
    tiers: TierRegistry,
    router: Router | Mapping[str, Router] | None = None,
    *,
    toolbox: Toolbox | None = None,
    graders: Sequence[Grader] = (),
    conversation_graders: Sequence[Grader] = (),
    judge_tiers: TierRegistry | None = None,
    run_dir: str | Path | None = None,
    concurrency: int | None = None,
    progress: bool = True,
    clock: Clock | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    report: bool = True,
    loop_options: Mapping[str, Any] | None = None,
    agent_options: Mapping[str, Any] | None = None,
    cluster: Any = None,
) -> EvaluationResult:
    """Run every scenario against every persona variant and grade the answers.

    Parameters
    ----------
    personas:
        One persona, several (labelled by id), or ``{label: persona}`` variants.
    scenarios:
        Scenario files, folders of them, or loaded :class:`ScenarioSuite` objects.
    tiers:
        The tiers the personas answer on (and, unless ``judge_tiers`` is given, judges and
        simulated users).
    router:
        One router, or ``{label: router}``: every persona runs under every router
        (``tier_routers()`` evaluates on each tier). Default ``FixedRouter("mid")``.
    toolbox:
        Tools for scenarios that name them (a persona is offered only its allowed tools).
    graders, conversation_graders:
        Your own graders, applied to every turn / every whole conversation, after the scenario's.
    run_dir:
        Where to write ``turn_logs.jsonl`` (as pairs finish), ``summary.csv``/``.md``,
        ``grades.csv``, ``differences.csv``, ``report.html``; an existing one is resumed.
    concurrency:
        Pairs run at once; default 4, or 1 when a tier runs a model in this process (``llama-cpp``:
        it answers one turn at a time, and queued turns would report the wait as latency).
    progress:
        A tqdm bar over pairs.
    n_boot, seed:
        Bootstrap resamples (over scenarios) for the score intervals.
    loop_options, agent_options:
        Extra keyword arguments for ``ConversationLoop`` / ``AgenticLoop`` (``memory_k=0``…).
    cluster:
        A Dask ``distributed.Client`` (``persona_lab.scale.connect_cluster``): each pair runs as a
        task on its workers (``concurrency`` pairs in flight, default twice the worker threads);
        everything a pair needs must pickle (tiers from the environment or scripted, not a model
        loaded in process). Turns, resume and the report stay in this process.
    """
    started = time.perf_counter()
    suites = load_scenarios(scenarios)
    variants = build_variants(personas, router)
    check_scenarios(suites, variants, toolbox)
    path = Path(run_dir) / TURN_LOG_FILE if run_dir is not None else None
    # variant by variant: one persona's turns in a row share their prompt prefix (a local model reuses its cache)
    planned = [(suite, scenario, variant) for variant in variants for suite in suites for scenario in suite.scenarios
               if variant.serves(suite.personas_for(scenario))]
    keys = {(suite.suite, scenario.id, variant.label) for suite, scenario, variant in planned}
    previous, finished = _resume(path) if path is not None else ([], {})
    previous = [r for r in previous if r.pair in keys]  # pairs of this call only (the file keeps the rest)
    done = {pair: attempt for pair, attempt in finished.items() if pair in keys}
    jobs = [
        PairJob(suite=suite.suite, scenario=scenario, variant=variant, attempt=uuid.uuid4().hex[:8], tiers=tiers,
                judge_tiers=judge_tiers or tiers, toolbox=toolbox, graders=tuple(graders),
                conversation_graders=tuple(conversation_graders), clock=clock,
                loop_options=dict(loop_options or {}), agent_options=dict(agent_options or {}))
        for suite, scenario, variant in planned
        if (suite.suite, scenario.id, variant.label) not in done
    ]
    if concurrency is None and cluster is not None:
        concurrency = 2 * max(1, sum(w.get("nthreads", 1) for w in cluster.scheduler_info()["workers"].values()))
    if concurrency is None:
        in_process = any(info.provider == "llama-cpp" for info in tiers.infos().values())
        concurrency = 1 if in_process else 4
    semaphore = asyncio.Semaphore(max(1, concurrency))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs) + len(done), initial=len(done), desc="evaluating", unit="pair",
                   dynamic_ncols=True)
    fresh: list[list[EvaluatedTurn]] = [[] for _ in jobs]

    failures: list[PairFailure] = []

    async def one(n: int, job: PairJob) -> None:
        async with semaphore:
            try:
                records = await (run_pair(job) if cluster is None else run_pair_on_cluster(cluster, job))
            except Exception as exc:  # one broken pair (a bug in a tool, a router…) must not end the run
                failures.append(PairFailure(suite=job.suite, scenario=job.scenario.id, variant=job.variant.label,
                                            error_type=type(exc).__name__, error=str(exc)))
                records = []
            else:
                if not records:
                    failures.append(PairFailure(suite=job.suite, scenario=job.scenario.id,
                                                variant=job.variant.label, error_type="NoTurns",
                                                error="no turn ran (the simulated user's tier failed at once?)"))
        fresh[n] = records
        if path is not None and records:
            write_evaluated_turns(path, records)
        if bar is not None:
            bar.update(1)

    try:
        await asyncio.gather(*(one(n, job) for n, job in enumerate(jobs)))
    finally:
        if bar is not None:
            bar.close()
    records = previous + [r for pair in fresh for r in pair]
    result = EvaluationResult.from_records(
        records, variants=[v.label for v in variants], suites={s.suite: s.source or "" for s in suites},
        seconds=time.perf_counter() - started, resumed_pairs=len(done), n_boot=n_boot, seed=seed,
        failures=failures)
    if run_dir is not None:
        result.save(run_dir, html_report=report, turn_logs=False)
    return result


def evaluate_sync(*args: Any, **kwargs: Any) -> EvaluationResult:
    """:func:`evaluate` from sync code and notebooks (through ``run_sync``)."""
    return run_sync(evaluate(*args, **kwargs))
