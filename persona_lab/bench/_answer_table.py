"""What an answer-aware router needs of a set: per turn, each tier's answer text, score and cost.

:meth:`AnswerTable.from_set` reads the answers and scores from the set (for the tiers the set
maps, see ``BenchmarkSet.with_tiers``) and takes each tier's per-turn cost from a replay of
*always that tier* through the real :class:`ConversationLoop` (the same prices and token
counts a cascade pays when it calls that tier). Units are (item, turn) in item order, as in
:class:`UnitTable`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from persona_lab.bench._format import BenchmarkSet
from persona_lab.bench._replay import replay_tiers
from persona_lab.bench._runner import replay_items
from persona_lab.bench._units import UnitTable
from persona_lab.core import BenchmarkFormatError
from persona_lab.routers import FixedRouter

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from persona_lab.tiers import Price

__all__ = ["AnswerTable", "replay_tier_costs"]


def replay_tier_costs(benchmark: BenchmarkSet, *, prices: Mapping[str, Price] | None = None
                      ) -> dict[str, NDArray[np.float64]]:
    """Per tier, each unit's ``total_cost_usd`` when that tier answers every turn (through the loop)."""
    from persona_lab.bench._compare_jobs import _run
    from persona_lab.logs import turn_logs_to_frame

    tiers = replay_tiers(benchmark, prices=prices)
    units = UnitTable.from_set(benchmark)
    costs: dict[str, NDArray[np.float64]] = {}
    for tier in tiers.models:
        result = _run(replay_items(benchmark, tiers, FixedRouter(tier, respect_pin=False),
                                          label=f"always-{tier}"))
        if result.failures:
            first = result.failures[0]
            raise BenchmarkFormatError(f"{benchmark.suite}: always-{tier} failed on item {first.item_id!r}: "
                                       f"{first.error_type}: {first.error}", source=benchmark.path)
        costs[tier] = np.nan_to_num(units.align(turn_logs_to_frame(result.records), "total_cost_usd"))
    return costs


@dataclass(frozen=True)
class AnswerTable:
    """One row per (item, turn): the prompt and, per tier (cheapest first), answer, score and cost."""

    suite: str
    tiers: tuple[str, ...]
    item_ids: tuple[str, ...]
    categories: tuple[str, ...]
    item_index: NDArray[np.int64]
    turn: NDArray[np.int64]
    prompts: tuple[str, ...]
    answers: Mapping[str, tuple[str, ...]]
    scores: Mapping[str, NDArray[np.float64]]
    costs: Mapping[str, NDArray[np.float64]]
    scale: tuple[float, float] = (0.0, 1.0)
    missing_answers: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_set(cls, benchmark: BenchmarkSet, *, costs: Mapping[str, NDArray[np.float64]] | None = None,
                 prices: Mapping[str, Price] | None = None, missing: str = "error") -> AnswerTable:
        """The table of ``benchmark`` (its mapped tiers); ``costs`` default: :func:`replay_tier_costs`.

        ``missing``: what to do with a turn whose answer text the set does not record: ``"error"``
        (a :class:`BenchmarkFormatError` naming it) or ``"empty"`` (an empty answer: every
        verifier scores it ``no_answer``, so a cascade escalates it; the scores still count).
        Counts of missing texts per tier are kept in :attr:`missing_answers`.
        """
        if missing not in ("error", "empty"):
            raise BenchmarkFormatError(f"AnswerTable: missing must be 'error' or 'empty', got {missing!r}")
        units = UnitTable.from_set(benchmark)
        tier_models = benchmark.tier_models
        answers: dict[str, list[str]] = {t: [] for t in tier_models}
        absent = dict.fromkeys(tier_models, 0)
        for item in benchmark.items:
            for k in range(len(item.turns)):
                for tier, model in tier_models.items():
                    response = item.outcomes[model][k].response
                    if response is None and missing == "empty":
                        absent[tier] += 1
                        response = ""
                    if response is None:
                        raise BenchmarkFormatError(
                            f"{benchmark.suite}: item {item.id!r} records no answer text for {model} (turn {k}); "
                            "answer-aware routers need the recorded answers", source=benchmark.path,
                            line=item.line, field=f"outcomes.{model}")
                    answers[tier].append(response)
        cost = dict(costs) if costs is not None else replay_tier_costs(benchmark, prices=prices)
        uncosted = [t for t in tier_models if t not in cost]
        if uncosted:
            raise BenchmarkFormatError(f"{benchmark.suite}: no costs for tier(s) {', '.join(uncosted)}")
        return cls(
            suite=benchmark.suite, tiers=tuple(tier_models), item_ids=units.item_ids, categories=units.categories,
            item_index=units.item_index, turn=units.turn, prompts=units.texts,
            answers={t: tuple(v) for t, v in answers.items()}, scores=dict(units.scores),
            costs={t: np.asarray(cost[t], dtype=np.float64) for t in tier_models}, scale=benchmark.scale_range,
            missing_answers=absent,
        )

    def __len__(self) -> int:
        return len(self.prompts)

    def check_tiers(self, tiers: Sequence[str], who: str) -> None:
        """A clear error naming the configured tiers when ``tiers`` names another."""
        unknown = [t for t in tiers if t not in self.tiers]
        if unknown:
            from persona_lab.core import RouterError

            raise RouterError(f"{who} names tier {unknown[0]!r}, which this run does not configure "
                              f"(configured: {', '.join(self.tiers)}; map models with BenchmarkSet.with_tiers)")

    def rows(self, mask: NDArray[np.bool_] | NDArray[np.int64]) -> AnswerTable:
        """The units selected by a boolean mask or row indices (item ids are kept whole)."""
        index = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask, dtype=np.int64)
        return replace(
            self, item_index=self.item_index[index], turn=self.turn[index],
            prompts=tuple(self.prompts[i] for i in index),
            answers={t: tuple(v[i] for i in index) for t, v in self.answers.items()},
            scores={t: v[index] for t, v in self.scores.items()},
            costs={t: v[index] for t, v in self.costs.items()},
        )

    def unit_keys(self) -> list[tuple[str, int]]:
        return [(self.item_ids[i], int(k)) for i, k in zip(self.item_index, self.turn, strict=True)]

    def categories_per_unit(self) -> list[str]:
        return [self.categories[i] for i in self.item_index]

    def oracle(self) -> tuple[float, float]:
        """The N-tier oracle: per unit the cheapest tier with the best recorded score → (quality, cost)."""
        scores = np.column_stack([self.scores[t] for t in self.tiers])
        costs = np.column_stack([self.costs[t] for t in self.tiers])
        best = scores.max(axis=1, keepdims=True)
        cost_if_best = np.where(scores >= best, costs, np.inf)
        pick = cost_if_best.argmin(axis=1)
        rows = np.arange(len(self))
        return float(scores[rows, pick].mean()), float(costs[rows, pick].sum())
