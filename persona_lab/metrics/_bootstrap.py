"""Bootstrap confidence intervals over items (units are resampled with replacement)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from persona_lab.core import InvalidArgument

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["bootstrap", "bootstrap_mean_ci", "bootstrap_weights", "percentile_interval"]


def bootstrap_weights(n_units: int, n_boot: int = 1000, *, seed: int = 0) -> NDArray[np.float64]:
    """Resampling weights, shape ``(n_boot, n_units)``: how often each unit is drawn in each resample."""
    if n_units <= 0 or n_boot <= 0:
        raise InvalidArgument(f"n_units and n_boot must be positive, got n_units={n_units}, n_boot={n_boot}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_units, size=(n_boot, n_units))
    offsets = (np.arange(n_boot) * n_units)[:, None]
    counts = np.bincount((draws + offsets).ravel(), minlength=n_boot * n_units)
    return counts.reshape(n_boot, n_units).astype(float)


def percentile_interval(samples: ArrayLike, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` percentile interval of bootstrap samples (NaN samples ignored)."""
    values = np.asarray(samples, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(values, [tail, 100.0 - tail])
    return float(lo), float(hi)


def bootstrap(statistic: Callable[[NDArray[np.float64]], float], n_units: int, *, n_boot: int = 1000,
              seed: int = 0) -> NDArray[np.float64]:
    """``statistic(weights)`` for each resample; ``weights`` counts each unit's draws."""
    weights = bootstrap_weights(n_units, n_boot, seed=seed)
    return np.array([statistic(w) for w in weights], dtype=float)


def bootstrap_mean_ci(
    values: ArrayLike,
    *,
    groups: ArrayLike | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Mean of ``values`` and its bootstrap interval, resampling ``groups`` (e.g. items) when given.

    With groups, every value of a drawn group counts (a two-turn item contributes both turns).
    NaN values are left out. Returns ``(mean, low, high)``.
    """
    v = np.asarray(values, dtype=float)
    keep = ~np.isnan(v)
    if groups is None:
        codes = np.arange(v.size)
    else:
        _, codes = np.unique(np.asarray(groups), return_inverse=True)
    v, codes = v[keep], codes[keep]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    n_groups = int(codes.max()) + 1
    sums = np.bincount(codes, weights=v, minlength=n_groups)
    sizes = np.bincount(codes, minlength=n_groups).astype(float)
    weights = bootstrap_weights(n_groups, n_boot, seed=seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        samples = (weights @ sums) / (weights @ sizes)
    lo, hi = percentile_interval(samples, level)
    return float(v.mean()), lo, hi
