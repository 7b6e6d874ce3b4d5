"""Running a comparison's jobs: in this process or in a pool of *spawned* worker processes.

Never forked: the caller may have threads, as Jupyter and tqdm do. Everything a job needs
travels with it, cloudpickled (so routers defined in a notebook work too).
"""

from __future__ import annotations

import os
import pickle
from typing import Any

from persona_lab.bench._compare_jobs import _run_job
from persona_lab.bench._compare_plan import CompareOptions, _Job, _JobResult, _Plan, _Suite
from persona_lab.persona import Persona

__all__ = ["default_jobs"]


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


def default_jobs() -> int:
    """Worker processes for the CLI: the CPU count, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))
