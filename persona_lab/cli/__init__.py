"""The ``persona-lab`` command. ``persona-lab bench`` runs the router benchmark (offline by default);
``persona-lab evaluate`` grades persona variants on scenario suites.

Subcommands import what they need when they run, so ``persona-lab --help`` stays instant.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from persona_lab.cli._bench import add_bench_parser, run_bench
from persona_lab.cli._evaluate import add_evaluate_parser, run_evaluate

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="persona-lab",
        description="Run LLM personas, route every turn to a model tier, measure cost against quality.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_bench_parser(commands)
    add_evaluate_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``persona-lab`` script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "bench":
        return run_bench(args, parser)
    if args.command == "evaluate":
        return run_evaluate(args, parser)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover - argparse rejects it first
    return 2
