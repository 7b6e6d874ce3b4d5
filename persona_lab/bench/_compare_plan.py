"""What a comparison runs: its options, suites, jobs and job results, and the routers' labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from persona_lab.bench._format import BenchmarkSet
from persona_lab.bench._learning import is_learned
from persona_lab.bench._oof import OutOfFold
from persona_lab.bench._replay import ReplayTiers
from persona_lab.bench._runner import ItemFailure
from persona_lab.bench._units import UnitTable
from persona_lab.core import Router, router_name
from persona_lab.persona import Persona

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import NDArray


__all__ = ["ALWAYS_STRONG", "ALWAYS_WEAK", "CompareOptions", "baseline_labels", "label_routers"]


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


def baseline_labels(units: UnitTable) -> dict[str, str]:
    """``{tier: label}`` of the single-tier baselines: always-weak/always-strong for two tiers,
    else always-<tier> for every tier."""
    tiers = list(units.scores)
    if len(tiers) == 2:
        return {tiers[0]: ALWAYS_WEAK, tiers[1]: ALWAYS_STRONG}
    return {tier: f"always-{tier}" for tier in tiers}
