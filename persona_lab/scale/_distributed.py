"""Live benchmark runs on a Dask cluster: items partitioned across workers, one run directory.

Each partition runs as one Dask task: the worker builds its tiers (``tiers``, a picklable
factory; by default ``TierRegistry.from_env`` in the worker's environment), skips every item
already complete anywhere in the run directory, and runs the rest through the ordinary
:func:`persona_lab.bench.run_live` loop with bounded concurrency, appending to a part file of
its own (``parts/turn_logs-<attempt>.jsonl``). Provider rate limits are
:class:`ClusterRateLimiter` schedules shared by the whole cluster. When a worker dies, Dask runs
its partition again elsewhere: the new attempt skips the items that were complete, so only
items in flight at the moment of the loss run again (their half-written turns are superseded).
At the end every part is merged into ``turn_logs.jsonl``, one record per router, item and turn.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from persona_lab.bench import BenchmarkItem, BenchmarkSet, ItemFailure, completed_items, run_live
from persona_lab.core import ClusterUnavailable
from persona_lab.logs import JsonlTurnLogWriter, read_turn_logs
from persona_lab.routers import router_name
from persona_lab.scale._cluster_rate import ClusterRateLimiter
from persona_lab.tiers import TierRegistry

__all__ = ["DistributedLiveResult", "connect_cluster", "merge_run_parts", "run_live_distributed"]

PARTS = "parts"
MERGED = "turn_logs.jsonl"


@dataclass(frozen=True, slots=True, kw_only=True)
class DistributedLiveResult:
    """What a distributed live run did (summed over partitions and attempts)."""

    run_dir: Path
    workers: int
    partitions: int
    written: int
    skipped_items: int
    failures: tuple[ItemFailure, ...]
    ungraded: int
    judge_cost_usd: float
    rerun_items: int
    records: int
    elapsed_s: float


def connect_cluster(scheduler: str | None = None, *, workers: int = 2, threads: int = 1,
                    timeout_s: float = 5.0) -> tuple[Any, Any]:
    """A ``distributed.Client`` on ``scheduler`` (an address) or on a new ``LocalCluster`` of ``workers``
    processes with ``threads`` threads each.

    Returns ``(client, cluster)``; ``cluster`` is ``None`` for a remote scheduler. A scheduler
    that does not answer within ``timeout_s`` raises :class:`ClusterUnavailable`.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - only without the extra
        raise ClusterUnavailable("distributed runs need Dask: pip install 'persona-lab[dask]'") from exc
    if scheduler is None:
        if workers < 1:
            raise ClusterUnavailable(f"a local cluster needs at least one worker, got {workers}")
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=threads, processes=True, dashboard_address=None)
        return Client(cluster), cluster  # type: ignore[no-untyped-call]
    try:
        client = Client(scheduler, timeout=f"{timeout_s}s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterUnavailable(
            f"the Dask scheduler at {scheduler!r} did not answer within {timeout_s:g} s ({type(exc).__name__})"
        ) from None
    return client, None


def _run_files(run_dir: Path) -> list[Path]:
    files = sorted((run_dir / PARTS).glob("*.jsonl"))
    merged = run_dir / MERGED
    return [merged, *files] if merged.exists() else files


def _done(run_dir: Path, benchmark: BenchmarkSet, label: str) -> set[str]:
    done: set[str] = set()
    for path in _run_files(run_dir):
        done |= completed_items(path, benchmark, router=label)
    return done


def _run_partition(benchmark: BenchmarkSet, item_ids: Sequence[str], router: Any, tiers: Callable[[], TierRegistry],
                   run_dir: str, label: str, limits: Mapping[str, float], run: str,
                   options: Mapping[str, Any]) -> dict[str, Any]:
    """One Dask task: the partition's unfinished items through ``run_live`` on this worker."""
    import importlib

    from distributed import get_client

    for sdk in ("openai", "anthropic"):  # import the SDKs before any rate slot is reserved: a first import
        importlib.import_module(sdk)    # inside a slot delays its request into the next ones (a burst)
    root = Path(run_dir)
    done = _done(root, benchmark, label)
    wanted = set(item_ids)
    todo: list[BenchmarkItem] = [i for i in benchmark.items if i.id in wanted and i.id not in done]
    client = get_client()
    limiters = {p: ClusterRateLimiter(p, rate, run=run, client=client) for p, rate in limits.items()}
    part = root / PARTS / f"turn_logs-{uuid.uuid4().hex[:12]}.jsonl"
    part.parent.mkdir(parents=True, exist_ok=True)

    async def run_items() -> Any:
        registry = tiers()
        try:
            return await run_live(benchmark, registry, router, part, label=label, rate_limits=limiters,
                                  items=todo, **options)
        finally:
            await registry.aclose()

    result = asyncio.run(run_items())
    return {"written": result.written, "skipped": len(item_ids) - len(todo), "failures": list(result.failures),
            "ungraded": result.ungraded, "judge_cost_usd": result.judge_cost_usd}


def merge_run_parts(run_dir: str | Path) -> tuple[int, int]:
    """Merge ``parts/*.jsonl`` (and an earlier ``turn_logs.jsonl``) into ``turn_logs.jsonl``.

    One record per router, suite, item and turn: the latest wins (an item re-run after a
    worker was lost supersedes its half-written attempt). Returns ``(records, rerun_items)``:
    ``rerun_items`` counts items whose turns appear in more than one part file.
    """
    root = Path(run_dir)
    latest: dict[tuple[Any, ...], Any] = {}
    files_per_item: dict[tuple[Any, ...], set[str]] = {}
    for path in _run_files(root):
        for record in read_turn_logs(path):
            key = (record.router_name, record.labels.get("suite", ""), record.labels.get("item_id", ""),
                   record.turn_index)
            if key not in latest or record.timestamp >= latest[key].timestamp:
                latest[key] = record
            if path.parent.name == PARTS:
                files_per_item.setdefault(key[:3], set()).add(path.name)
    temporary = root / f".{MERGED}.tmp"
    with JsonlTurnLogWriter(temporary) as writer:
        for key in sorted(latest):
            writer.write(latest[key])
    os.replace(temporary, root / MERGED)
    return len(latest), sum(len(files) > 1 for files in files_per_item.values())


def run_live_distributed(
    benchmark: BenchmarkSet,
    router: Any,
    run_dir: str | Path,
    *,
    tiers: Callable[[], TierRegistry] | None = None,
    client: Any = None,
    scheduler: str | None = None,
    workers: int = 2,
    label: str | None = None,
    rate_limits: Mapping[str, float] | None = None,
    items: Sequence[BenchmarkItem] | None = None,
    partitions: int | None = None,
    concurrency: int = 4,
    judge_tier: str = "frontier",
    route_first_turn_only: bool = False,
    on_partition: Callable[[int], Any] | None = None,
    connect_timeout_s: float = 5.0,
    timeout_s: float | None = None,
) -> DistributedLiveResult:
    """Run ``benchmark`` live on a Dask cluster; resume from ``run_dir`` if it holds earlier turns.

    Pass a ``client``, a ``scheduler`` address, or neither (a ``LocalCluster`` of ``workers``
    processes is started and stopped). ``tiers`` builds each worker's tiers (a picklable callable;
    default: ``TierRegistry.from_env`` in the worker's environment). ``concurrency`` items run at once on each worker;
    ``rate_limits`` (provider → requests per second) hold across the whole cluster.
    ``on_partition(n_items)`` is called as each partition finishes (progress bars). With
    ``timeout_s``, a run not finished by then raises ``TimeoutError`` (the turns written so far
    stay in ``run_dir``; run again to resume).
    """
    started = time.perf_counter()
    tiers = tiers or functools.partial(TierRegistry.from_env, local_default=False)
    root = Path(run_dir)
    root.mkdir(parents=True, exist_ok=True)
    label = label or router_name(router)
    chosen = list(benchmark.items if items is None else items)
    own = client is None
    cluster = None
    if own:
        client, cluster = connect_cluster(scheduler, workers=workers, timeout_s=connect_timeout_s)
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        count = max(1, min(len(chosen), partitions or n_workers * 4))
        chunks = [[i.id for i in chosen[k::count]] for k in range(count)]
        run = uuid.uuid4().hex[:12]
        limits = dict(rate_limits or {})
        # hash=False: keys of our own; a same-content key from an earlier run (its futures released late, by the
        # garbage collector) would race this scatter and the broadcast waited forever for data already forgotten
        shared_set, shared_router = client.scatter([benchmark, router], broadcast=True, hash=False)
        options = {"concurrency": concurrency, "judge_tier": judge_tier, "route_first_turn_only": route_first_turn_only}
        futures = [client.submit(_run_partition, shared_set, chunk, shared_router, tiers, str(root), label, limits,
                                 run, options, pure=False) for chunk in chunks if chunk]
        sizes = {f.key: len(c) for f, c in zip(futures, (c for c in chunks if c), strict=True)}
        totals: dict[str, Any] = {"written": 0, "skipped": 0, "failures": [], "ungraded": 0, "judge_cost_usd": 0.0}
        from distributed import as_completed

        for future in as_completed(futures, timeout=timeout_s):  # type: ignore[no-untyped-call]
            part = future.result()
            for key in ("written", "skipped", "ungraded", "judge_cost_usd"):
                totals[key] += part[key]
            totals["failures"].extend(part["failures"])
            if on_partition is not None:
                on_partition(sizes[future.key])
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
    records, rerun = merge_run_parts(root)
    return DistributedLiveResult(
        run_dir=root, workers=n_workers, partitions=len(futures), written=totals["written"],
        skipped_items=totals["skipped"], failures=tuple(totals["failures"]), ungraded=totals["ungraded"],
        judge_cost_usd=totals["judge_cost_usd"], rerun_items=rerun, records=records,
        elapsed_s=time.perf_counter() - started,
    )
