"""``persona-lab bench``: every bundled suite × every router, replayed offline through the real loop.

Writes a run directory (turn logs as gzip JSONL and Parquet, the summary as CSV and Markdown,
a self-contained HTML report) and prints the summary table. ``--live`` runs the same items
against the tiers configured in the environment instead, graded as they come in, resumable.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from persona_lab.core import ConfigError, InvalidArgument, UnknownName

__all__ = ["add_bench_parser", "run_bench"]

_EPILOG = """\
examples:
  persona-lab bench                                  every bundled suite x every router (offline)
  persona-lab bench --suite gsm8k --router knn --router random
  persona-lab bench --suite my_set.jsonl --no-cv     your own set (docs/benchmark-format.md)
  persona-lab bench --suite ../shared/data/routellm  a RouteLLM evals folder, converted on the fly
  persona-lab bench --preset three-tier              the multi-model sets, small/mid/frontier (docs/three-tier.md)
  persona-lab bench --train zeroeval_gsm8k --suite zeroeval_crux --router knn   fit on one set, test on another
  persona-lab bench --suite ZeroEval/result_dirs/gsm --tiers small=gemma-2-9b-it,frontier=gpt-4o-2024-08-06
  persona-lab bench --live --suite gsm8k --limit 50 --router heuristic --rate-limit openai=2
  persona-lab bench --live --resume runs/20250101-120000 --suite gsm8k --limit 50 --router heuristic
"""


def add_bench_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "bench",
        help="compare routers on benchmark sets (offline replay by default)",
        description=__doc__.splitlines()[0] if __doc__ else None,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--suite", action="append", metavar="NAME|PATH",
                        help="a bundled suite (gsm8k, mmlu, mt_bench), a set file (.jsonl/.jsonl.gz) or a RouteLLM "
                             "evals folder; repeat for several (default: every bundled suite)")
    parser.add_argument("--preset", choices=("default", "three-tier"), default=None,
                        help="suite preset: default = the two-model sets (gsm8k, mmlu, mt_bench); three-tier = "
                             "zeroeval_gsm8k, zeroeval_crux, mmlu_pro with their default small/mid/frontier models")
    parser.add_argument("--tiers", metavar="TIER=MODEL,…",
                        help="which recorded model plays which tier, e.g. small=A,mid=B,frontier=C (for sets that "
                             "record more models than tiers; default: each set's documented mapping)")
    parser.add_argument("--train", metavar="NAME|PATH",
                        help="train learned routers on this suite (all of it) and test them on the --suite suites, "
                             "without cross-validation (tiers and scale must match)")
    parser.add_argument("--router", action="append", metavar="NAME",
                        help="a router label (see --list-routers) or module:Class built with no arguments; "
                             "repeat for several (default: every router)")
    parser.add_argument("--list-routers", action="store_true", help="print the router labels and exit")
    parser.add_argument("--out", default="runs", metavar="DIR",
                        help="where run directories go (default: runs/); the run is DIR/<timestamp>/")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds for learned routers (5)")
    parser.add_argument("--seed", type=int, default=0, help="seed for folds, random routing, bootstrap (0)")
    parser.add_argument("--seeds", type=int, default=3, metavar="N",
                        help="repeated cross-validation: fold seeds SEED, SEED+1, … (3); the summary reports the "
                             "mean and spread over seeds")
    parser.add_argument("--route-first-turn-only", action="store_true",
                        help="route the first turn of an item only; later turns keep its tier (RouteLLM)")
    parser.add_argument("--no-cv", action="store_true",
                        help="no cross-validation: learned routers are fitted on the whole set (in-sample)")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N items of each suite")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="worker processes (default: the CPU count, at most 4)")
    parser.add_argument("--bootstrap", type=int, default=200, metavar="B",
                        help="bootstrap resamples for confidence intervals (200; 0 = none)")
    parser.add_argument("--exact-routing", action="store_true",
                        help="route learned threshold routers turn by turn through route() (slow; the "
                             "default batches score_texts, which decides identically)")
    parser.add_argument("--price", action="append", default=[], metavar="MODEL=IN/OUT",
                        help="override a recorded model's price, USD per million input/output tokens")
    parser.add_argument("--no-html", action="store_true", help="skip the HTML report")
    live = parser.add_argument_group("live mode (real tiers from PERSONA_* environment variables)")
    live.add_argument("--live", action="store_true", help="call the configured tiers instead of replaying")
    live.add_argument("--concurrency", type=int, default=4, help="items in flight at once (4)")
    live.add_argument("--rate-limit", action="append", default=[], metavar="PROVIDER=RPS",
                      help="requests per second for a provider, e.g. openai=2")
    live.add_argument("--judge-tier", default="frontier", help="tier of the LLM judge for 1–10 sets (frontier)")
    live.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted live run in RUN_DIR")
    live.add_argument("--scheduler", metavar="ADDRESS",
                      help="run the items on a Dask cluster (tcp://host:8786); needs persona-lab[dask]")
    live.add_argument("--workers", type=int, metavar="N",
                      help="run the items on a local Dask cluster of N worker processes; needs persona-lab[dask]")
    return parser


def _err(message: str) -> None:
    print(f"persona-lab bench: {message}", file=sys.stderr)


def _run_dir(out: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = Path(out) / stamp
    n = 2
    while path.exists():
        path = Path(out) / f"{stamp}-{n}"
        n += 1
    return path


def _prices(specs: list[str]) -> dict[str, Any]:
    from persona_lab.tiers import Price

    prices = {}
    for spec in specs:
        model, sep, rest = spec.rpartition("=")
        numbers = rest.split("/")
        if not sep or len(numbers) != 2:
            raise InvalidArgument(f"--price {spec!r}: write MODEL=INPUT/OUTPUT (USD per million tokens)")
        prices[model] = Price(float(numbers[0]), float(numbers[1]))
    return prices


def _rate_limits(specs: list[str]) -> dict[str, float]:
    limits = {}
    for spec in specs:
        provider, sep, rate = spec.partition("=")
        if not sep:
            raise InvalidArgument(f"--rate-limit {spec!r}: write PROVIDER=REQUESTS_PER_SECOND")
        limits[provider] = float(rate)
    return limits


def _routers(names: list[str] | None, seed: int, texts: list[str] | None) -> dict[str, Any] | None:
    from persona_lab.bench import default_routers, router_factories

    if not names:
        return None if texts is None else default_routers(seed=seed, texts=texts)
    known = router_factories(seed)
    labels = [n for n in names if n in known]
    routers: dict[str, Any] = dict(default_routers(seed=seed, only=labels, texts=texts)) if labels else {}
    for name in names:
        if name in known:
            if name not in routers:
                raise InvalidArgument(f"--router {name!r}: not available in this version of persona_lab.routers")
            continue
        module_name, sep, attr = name.partition(":")
        if not sep:
            raise UnknownName("router", name, known, hint=" (or module:Class)")
        try:
            routers[name] = getattr(importlib.import_module(module_name), attr)()
        except (ImportError, AttributeError, TypeError) as exc:
            raise InvalidArgument(f"--router {name!r}: cannot build it: {exc}") from exc
    return {label: routers[label] for label in names}


def run_bench(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from persona_lab.core import PersonaLabError

    if args.list_routers:
        from persona_lab.bench import default_routers

        for label, router in default_routers(seed=args.seed).items():
            print(f"{label:<18} {router!r}")
        return 0
    if args.folds < 2 and not args.no_cv:
        parser.error("--folds must be at least 2 (or use --no-cv)")
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    try:
        if args.live:
            return _run_live(args)
        return _run_replay(args)
    except (PersonaLabError, ValueError, KeyError) as exc:
        _err(f"error: {exc}")
        return 1


def _suite_specs(args: argparse.Namespace) -> list[str] | None:
    """The suites to load: ``--suite`` values, plus a ``--preset``'s (None = the default bundled ones)."""
    from persona_lab.bench import BUNDLED_SUITES, THREE_TIER_SUITES

    preset = {"default": list(BUNDLED_SUITES), "three-tier": list(THREE_TIER_SUITES)}.get(args.preset or "", [])
    specs = [*(args.suite or []), *preset]
    return specs or None


def _run_replay(args: argparse.Namespace) -> int:
    import time

    from persona_lab.bench import compare, default_jobs, load_suite, load_suites, resolve_tiers

    started = time.perf_counter()
    suites = [resolve_tiers(s, args.tiers) for s in load_suites(_suite_specs(args))]
    if args.limit is not None:
        suites = [s.head(args.limit) for s in suites]
    train = None
    if args.train:
        train = resolve_tiers(load_suite(args.train), args.tiers)
    texts = [t for s in [*suites, *([train] if train else [])] for i in s.items for t in i.turns]
    routers = _routers(args.router, args.seed, texts)
    comparison = compare(
        suites, routers, folds=args.folds, cv=not args.no_cv, seed=args.seed,
        route_first_turn_only=args.route_first_turn_only, n_boot=args.bootstrap,
        exact_routing=args.exact_routing, prices=_prices(args.price),
        n_jobs=args.jobs if args.jobs is not None else default_jobs(), progress=True, train=train,
        seeds=args.seeds,
    )
    run_dir = _run_dir(args.out)
    paths = comparison.save(run_dir, html_report=not args.no_html)
    print(comparison.to_markdown())
    turns = len(comparison.turns)
    elapsed = time.perf_counter() - started
    _err(f"{turns:,} turns replayed through the loop; {len(comparison.failures)} failed items; "
         f"{elapsed:.1f} s in all")
    _err(f"run directory: {run_dir}" + (f" (open {paths['report_html']})" if "report_html" in paths else ""))
    return 0


def _resume_command(args: argparse.Namespace, run_dir: Path) -> str:
    """The command that continues this live run (same suites, routers and limits)."""
    parts = ["persona-lab", "bench", "--live", "--resume", shlex.quote(str(run_dir))]
    for suite in args.suite or ():
        parts += ["--suite", shlex.quote(suite)]
    if getattr(args, "preset", None):
        parts += ["--preset", shlex.quote(args.preset)]
    if getattr(args, "tiers", None):
        parts += ["--tiers", shlex.quote(args.tiers)]
    for router in args.router or ():
        parts += ["--router", shlex.quote(router)]
    if args.limit is not None:
        parts += ["--limit", str(args.limit)]
    if args.concurrency != 4:
        parts += ["--concurrency", str(args.concurrency)]
    for spec in args.rate_limit:
        parts += ["--rate-limit", shlex.quote(spec)]
    if args.judge_tier != "frontier":
        parts += ["--judge-tier", shlex.quote(args.judge_tier)]
    if args.route_first_turn_only:
        parts.append("--route-first-turn-only")
    if getattr(args, "scheduler", None):
        parts += ["--scheduler", shlex.quote(args.scheduler)]
    if getattr(args, "workers", None):
        parts += ["--workers", str(args.workers)]
    return " ".join(parts)


def _run_live(args: argparse.Namespace) -> int:
    from persona_lab.bench import load_suites, resolve_tiers
    from persona_lab.tiers import TierRegistry

    tiers = TierRegistry.from_env(local_default=False)
    if not tiers.configured:
        raise ConfigError("live mode needs tiers: set PERSONA_PROVIDER and PERSONA_MODEL (or PERSONA_SMALL_*, "
                         "PERSONA_FRONTIER_*); a local OpenAI-compatible server: PERSONA_PROVIDER="
                         "openai-compatible PERSONA_BASE_URL=http://127.0.0.1:8080/v1 PERSONA_MODEL=…")
    _err("live tiers:\n" + tiers.describe())
    suites = [resolve_tiers(s, args.tiers) for s in load_suites(_suite_specs(args))]
    run_dir = Path(args.resume) if args.resume else _run_dir(args.out)
    if not args.router:
        raise InvalidArgument("live mode calls real models: name the routers to run with --router "
                              "(e.g. --router heuristic)")
    routers = _routers(args.router, args.seed, None) or {}
    run_dir.mkdir(parents=True, exist_ok=True)
    cluster_client = cluster = None
    if args.scheduler or args.workers:
        from persona_lab.scale import connect_cluster

        cluster_client, cluster = connect_cluster(args.scheduler, workers=args.workers or 2)
        _err(f"dask cluster: {len(cluster_client.scheduler_info().get('workers', {}))} workers "
             f"({args.scheduler or 'local'})")
    try:
        _live_suites(args, tiers, suites, routers, run_dir, cluster_client)
    except KeyboardInterrupt:
        _err(f"interrupted: every turn finished so far is in {run_dir / 'turn_logs.jsonl'}")
        _err(f"run directory: {run_dir}")
        _err(f"resume with: {_resume_command(args, run_dir)}")
        return 130
    finally:
        if cluster_client is not None:
            cluster_client.close()
        if cluster is not None:
            cluster.close()
    return _live_outputs(args, run_dir)


def _live_suites(args: argparse.Namespace, tiers: Any, suites: list[Any], routers: dict[str, Any], run_dir: Path,
                 cluster_client: Any = None) -> None:
    """Every suite × router live, in this process or on the Dask cluster of ``cluster_client``."""
    import asyncio

    from tqdm.auto import tqdm

    from persona_lab.bench import UnitTable, is_learned, run_live

    for suite in suites:
        items = suite.items[: args.limit] if args.limit is not None else suite.items
        for label, router in routers.items():
            if is_learned(router):  # trained on the recorded items that are not run
                rest = suite.subset(i.id for i in suite.items[len(items):])
                if not rest.items:
                    raise InvalidArgument(f"learned router {label!r} needs recorded items outside the live run to "
                                     "train on: use --limit")
                router = router.fit(UnitTable.from_set(rest).training_frame())
            bar = tqdm(total=len(items), desc=f"{suite.suite} · {label}", unit="item")
            options = {"label": label, "concurrency": args.concurrency, "rate_limits": _rate_limits(args.rate_limit),
                       "judge_tier": args.judge_tier, "route_first_turn_only": args.route_first_turn_only,
                       "items": items}
            try:
                if cluster_client is not None:
                    from persona_lab.scale import run_live_distributed

                    result: Any = run_live_distributed(suite, router, run_dir, client=cluster_client,
                                                       on_partition=bar.update, **options)
                else:
                    result = asyncio.run(run_live(suite, tiers, router, run_dir / "turn_logs.jsonl",
                                                  on_item=functools.partial(bar.update, 1), **options))
            finally:
                bar.close()
            _err(f"{suite.suite} · {label}: {result.written} turns written, {result.skipped_items} items already "
                 f"done, {len(result.failures)} failed, {result.ungraded} ungraded, judge ${result.judge_cost_usd:.4f}")


def _live_outputs(args: argparse.Namespace, run_dir: Path) -> int:
    from persona_lab.bench import write_live_outputs

    paths = write_live_outputs(run_dir, run_dir / "turn_logs.jsonl", html_report=not args.no_html)
    print(paths["summary_md"].read_text(encoding="utf-8"), end="")
    import pandas as pd

    _err(f"{len(pd.read_csv(paths['failures_csv']))} failed turns (failures.csv)")
    report = f" (open {paths['report_html']})" if "report_html" in paths else ""
    _err(f"run directory: {run_dir}{report}; resume with --resume {run_dir}")
    return 0
