"""The turn-level view of a set that metrics and learned routers need: one unit per (item, turn).

Arrays, in item order: the user text, the item it belongs to, and each replay tier's
recorded score for that turn. The training frame for learned routers is built from here, in
the agreed wide form (``prompt``, ``quality_<tier>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from persona_lab.bench._format import BenchmarkSet
from persona_lab.tiers import Price

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import NDArray

__all__ = ["UnitTable"]


@dataclass(frozen=True)
class UnitTable:
    """One row per (item, turn) of a set; ``scores[tier]`` is the recorded score of that tier's model."""

    suite: str
    item_ids: tuple[str, ...]
    categories: tuple[str, ...]
    item_index: NDArray[np.int64]
    turn: NDArray[np.int64]
    texts: tuple[str, ...]
    scores: dict[str, NDArray[np.float64]]
    weak_tier: str
    strong_tier: str
    costs: dict[str, NDArray[np.float64]] | None = None
    """Estimated USD per unit and tier (prompt and recorded response tokens × the tier's price), if known."""

    @classmethod
    def from_set(cls, benchmark: BenchmarkSet) -> UnitTable:
        tier_models = benchmark.tier_models
        tiers = list(tier_models)
        item_index, turns, texts = [], [], []
        scores: dict[str, list[float]] = {t: [] for t in tiers}
        for n, item in enumerate(benchmark.items):
            for k, text in enumerate(item.turns):
                item_index.append(n)
                turns.append(k)
                texts.append(text)
                for tier, model in tier_models.items():
                    scores[tier].append(item.outcomes[model][k].score)
        return cls(
            suite=benchmark.suite,
            item_ids=tuple(i.id for i in benchmark.items),
            categories=tuple(i.category for i in benchmark.items),
            item_index=np.asarray(item_index, dtype=np.int64),
            turn=np.asarray(turns, dtype=np.int64),
            texts=tuple(texts),
            scores={t: np.asarray(v, dtype=float) for t, v in scores.items()},
            weak_tier=tiers[0],
            strong_tier=tiers[-1],
        )

    def with_cost_estimates(self, benchmark: BenchmarkSet, prices: Mapping[str, Price | None]) -> UnitTable:
        """The table with ``costs``: per unit and tier, estimated prompt and response tokens × the tier's price.

        ``prices`` is ``{tier: Price}`` (a tier without a price costs 0). Learned routers get these
        as ``cost_<tier>`` training columns, so their relative tier costs are known at fit.
        """
        from persona_lab.core import estimate_tokens

        tier_models = benchmark.tier_models
        costs: dict[str, list[float]] = {t: [] for t in tier_models}
        for item in benchmark.items:
            for k, text in enumerate(item.turns):
                prompt_tokens = estimate_tokens(text)
                for tier, model in tier_models.items():
                    price = prices.get(tier)
                    outcome = item.outcomes[model][k]
                    if price is None:
                        costs[tier].append(0.0)
                        continue
                    inp = outcome.input_tokens if outcome.input_tokens is not None else prompt_tokens
                    out = (outcome.output_tokens if outcome.output_tokens is not None
                           else estimate_tokens(outcome.response or ""))
                    costs[tier].append((inp * price.input_per_mtok + out * price.output_per_mtok) / 1e6)
        return replace(self, costs={t: np.asarray(v, dtype=float) for t, v in costs.items()})

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def weak(self) -> NDArray[np.float64]:
        return self.scores[self.weak_tier]

    @property
    def strong(self) -> NDArray[np.float64]:
        return self.scores[self.strong_tier]

    def keys(self) -> list[tuple[str, int]]:
        """``(item_id, turn)`` per unit, to align turn logs with units."""
        return [(self.item_ids[i], int(k)) for i, k in zip(self.item_index, self.turn, strict=True)]

    def first_turn_rows(self) -> NDArray[np.int64]:
        """For each unit, the row of its item's first turn."""
        starts = np.flatnonzero(self.turn == 0)
        return np.asarray(starts[self.item_index], dtype=np.int64)

    def training_frame(self, mask: NDArray[np.bool_] | None = None) -> pd.DataFrame:
        """The agreed wide training frame: ``prompt``, ``quality_<tier>`` (and ``cost_<tier>`` when
        estimated) per tier, + ``item_id``, ``turn``."""
        import pandas as pd

        rows = np.arange(len(self)) if mask is None else np.flatnonzero(mask)
        data: dict[str, object] = {"prompt": [self.texts[i] for i in rows]}
        for tier, values in self.scores.items():
            data[f"quality_{tier}"] = values[rows]
        for tier, values in (self.costs or {}).items():
            data[f"cost_{tier}"] = values[rows]
        data["item_id"] = [self.item_ids[self.item_index[i]] for i in rows]
        data["turn"] = self.turn[rows]
        return pd.DataFrame(data)

    def align(self, frame: pd.DataFrame, column: str) -> NDArray[np.float64]:
        """A numeric turn-log column in unit order (NaN where the log has no such turn)."""
        import pandas as pd

        keyed = pd.Series(frame[column].astype("float64").to_numpy(),
                          index=pd.MultiIndex.from_arrays([frame["item_id"].astype(str).to_numpy(),
                                                           frame["turn_index"].astype("int64").to_numpy()]))
        keyed = keyed[~keyed.index.duplicated(keep="last")]
        index = pd.MultiIndex.from_arrays([np.asarray(self.item_ids, dtype=object)[self.item_index], self.turn])
        return np.asarray(keyed.reindex(index).to_numpy(dtype=float), dtype=np.float64)
