"""Evaluation pairs as Dask tasks: each scenario × variant pair runs on a cluster worker.

The driver keeps everything else — planning, resume, writing each pair's turns as it finishes,
the summary and the report — so a run directory looks the same however the pairs ran. A pair
travels to its worker whole (scenario, persona variant, router, graders, tiers); the worker runs
it in its own event loop on its own copy of the tiers and closes them after. When a worker dies,
Dask runs its pairs again elsewhere; a pair's turns reach the run directory only when the pair is
done, so each pair is graded and stored once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from persona_lab.evaluation._pair import PairJob, run_pair
from persona_lab.evaluation._records import EvaluatedTurn

__all__ = ["run_pair_on_cluster", "run_pair_task"]


def run_pair_task(job: PairJob) -> list[EvaluatedTurn]:
    """A Dask task: one pair on this worker, in its own event loop."""

    async def run() -> list[EvaluatedTurn]:
        try:
            return await run_pair(job)
        finally:
            await job.tiers.aclose()
            if job.judge_tiers is not job.tiers:
                await job.judge_tiers.aclose()

    return asyncio.run(run())


async def run_pair_on_cluster(client: Any, job: PairJob) -> list[EvaluatedTurn]:
    """Submit ``job`` to the cluster of ``client`` and wait for its turns without blocking the event loop."""
    future = client.submit(run_pair_task, job, pure=False)
    records: list[EvaluatedTurn] = await asyncio.to_thread(future.result)
    return records
