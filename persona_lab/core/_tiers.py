"""Tier names, the one tier-name check, the one nearest-tier rule, and what a router knows of a tier.

The nearest-tier rule is used for every fallback in the package (the registry's fallback chain,
routers mapping a wished-for tier onto the configured ones): the closest tier by rank, the
stronger one on a tie, so a request never skips a level: small → mid → frontier,
mid → frontier → small, frontier → mid → small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from persona_lab.core._errors import TierNotConfigured, UnknownTier

__all__ = [
    "TIER_NAMES",
    "TIER_RANK",
    "TierInfo",
    "TierName",
    "check_tier",
    "check_tiers",
    "fallback_order",
    "nearest_tier",
]

TIER_NAMES: tuple[str, ...] = ("small", "mid", "frontier")
"""Tier names, cheapest first."""

TierName = Literal["small", "mid", "frontier"]

TIER_RANK: Mapping[str, int] = MappingProxyType({tier: rank for rank, tier in enumerate(TIER_NAMES)})
"""Tier name → position, cheapest (0) first."""


def check_tier(tier: str, *, where: str = "") -> str:
    """Return ``tier`` if it is a tier name, else raise :class:`UnknownTier` naming ``where``."""
    if tier not in TIER_RANK:
        raise UnknownTier(str(tier), where=where)
    return tier


def check_tiers(tiers: Iterable[str], *, where: str = "") -> None:
    """:func:`check_tier` on every name of ``tiers``."""
    for tier in tiers:
        check_tier(tier, where=where)


def _distance(want: int) -> Callable[[str], tuple[int, int]]:
    return lambda t: (abs(TIER_RANK[t] - want), -TIER_RANK[t])


def fallback_order(tier: str) -> tuple[str, ...]:
    """Every tier name, nearest to ``tier`` first (itself, then the stronger one on a tie)."""
    return tuple(sorted(TIER_NAMES, key=_distance(TIER_RANK[check_tier(tier)])))


def nearest_tier(tier: str, configured: Iterable[str]) -> str:
    """``tier`` if configured, else the configured tier nearest to it (see :func:`fallback_order`).

    Raises :class:`UnknownTier` for a bad name and :class:`TierNotConfigured` when nothing is.
    """
    present = set(configured)
    for candidate in fallback_order(tier):
        if candidate in present:
            return candidate
    raise TierNotConfigured(f"no configured tier can serve {tier!r}: no tier is configured")


@dataclass(frozen=True, slots=True, kw_only=True)
class TierInfo:
    """What a router may know about a configured tier (its primary model)."""

    name: str
    provider: str
    model: str
    context_window: int
    max_output_tokens: int
    supports_tools: bool
    input_per_mtok: float | None
    output_per_mtok: float | None
    price_source: str
    usd_per_hour: float | None
    latency_s: float | None
    local: bool

    @property
    def prompt_budget(self) -> int:
        return self.context_window - self.max_output_tokens

    def estimated_cost(self, input_tokens: int, output_tokens: int) -> float | None:
        if self.input_per_mtok is None or self.output_per_mtok is None:
            return None if self.usd_per_hour is None else 0.0
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6
