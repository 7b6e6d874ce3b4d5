"""``persona-lab evaluate``: persona variants × scenario suites, graded, on the tiers of the environment.

A thin layer over :func:`persona_lab.evaluation.evaluate`: it loads the personas and suites, runs
them on ``TierRegistry.from_env()`` (the local model when nothing is configured), writes the run
directory and prints the comparison as Markdown.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["add_evaluate_parser", "run_evaluate"]

_EPILOG = """\
examples:
  persona-lab evaluate examples/personas/tenancy_advisor.yaml --scenarios examples/scenarios/tenancy_advisor.yaml
  persona-lab evaluate careful=tenancy.yaml bold=tenancy_bold.yaml --scenarios my_suite.yaml
  persona-lab evaluate tenancy.yaml --scenarios routing.yaml --router tiers        every tier, side by side
  persona-lab evaluate tenancy.yaml --scenarios suite.yaml --run-dir runs/eval-1   rerun to resume
"""

ROUTERS = ("fixed-small", "fixed-mid", "fixed-frontier", "heuristic", "tiers")


def add_evaluate_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "evaluate",
        help="grade persona variants on scenario suites (docs/evaluation.md)",
        description=__doc__.splitlines()[0] if __doc__ else None,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("personas", nargs="+", metavar="[LABEL=]PERSONA.yaml",
                        help="persona files; LABEL= names the variant (default: the persona id)")
    parser.add_argument("--scenarios", action="append", required=True, metavar="PATH",
                        help="a scenario suite file or a folder of them; repeat for several")
    parser.add_argument("--router", choices=ROUTERS, default="fixed-mid",
                        help="fixed-<tier>, heuristic, or tiers (every persona on every tier); default fixed-mid")
    parser.add_argument("--run-dir", metavar="DIR",
                        help="the run directory (default: runs/eval-<timestamp>); an existing one is resumed")
    parser.add_argument("--concurrency", type=int, default=None, metavar="N",
                        help="pairs at once (default 4; 1 with the in-process local model)")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="B", help="bootstrap resamples (1000)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the pairs on a Dask cluster (tcp://host:8786); needs persona-lab[dask]")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="run the pairs on a local Dask cluster of N worker processes; needs persona-lab[dask]")
    return parser


def _personas(specs: list[str]) -> dict[str, Any]:
    from persona_lab.persona import Persona

    variants: dict[str, Any] = {}
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep:
            label, path = "", spec
        persona = Persona.from_yaml(Path(path))
        name = label or persona.id
        n = 2
        while name in variants:
            name, n = f"{label or persona.id}#{n}", n + 1
        variants[name] = persona
    return variants


def _router(name: str) -> Any:
    from persona_lab.evaluation import tier_routers
    from persona_lab.routers import FixedRouter, HeuristicRouter

    if name == "tiers":
        return tier_routers()
    if name == "heuristic":
        return HeuristicRouter()
    return FixedRouter(name.removeprefix("fixed-"))


def run_evaluate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from persona_lab.core import PersonaLabError
    from persona_lab.evaluation import evaluate_sync
    from persona_lab.tiers import TierRegistry

    run_dir = Path(args.run_dir) if args.run_dir else Path("runs") / f"eval-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    try:
        variants = _personas(args.personas)
        tiers = TierRegistry.from_env()
        print(tiers.describe())
        client = cluster = None
        if args.scheduler or args.workers:
            from persona_lab.scale import connect_cluster

            client, cluster = connect_cluster(args.scheduler, workers=args.workers or 2, threads=4)
        try:
            result = evaluate_sync(variants, args.scenarios, tiers, router=_router(args.router), run_dir=run_dir,
                                   concurrency=args.concurrency, progress=not args.no_progress,
                                   n_boot=args.bootstrap, cluster=client)
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
    except PersonaLabError as exc:
        print(f"persona-lab evaluate: {exc}")
        return 2
    print(result.to_markdown())
    print(f"run directory: {run_dir} (report.html, summary.csv, turn_logs.jsonl); rerun the same command with "
          f"--run-dir {run_dir} to resume")
    return 0
