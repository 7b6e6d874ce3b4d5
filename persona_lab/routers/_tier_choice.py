"""Tier bookkeeping every router shares: configured tiers, their order, the nearest one to a wish."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from persona_lab._errors import RouterError, UnknownTier
from persona_lab._persona import TIER_NAMES
from persona_lab.routers._protocol import RoutingContext

__all__ = [
    "TIER_RANK",
    "check_tier_names",
    "configured_tiers",
    "nearest_configured",
    "persona_keywords",
    "pinned_tier",
]

TIER_RANK: Mapping[str, int] = {tier: rank for rank, tier in enumerate(TIER_NAMES)}
"""Tier name → position, cheapest (0) first."""


def configured_tiers(context: RoutingContext, who: str) -> tuple[str, ...]:
    """The configured tiers, cheapest first; a :class:`RouterError` when there are none."""
    tiers = tuple(t for t in TIER_NAMES if t in context.tiers)
    if not tiers:
        raise RouterError(
            f"{who}: no tier is configured, so there is nothing to route to; configure at least one "
            "of small, mid, frontier in the TierRegistry"
        )
    return tiers


def nearest_configured(tier: str, configured: tuple[str, ...]) -> str:
    """``tier`` if configured, else the closest configured tier (the stronger one on a tie).

    This is the registry's fallback order: small → mid → frontier, mid → frontier → small,
    frontier → mid → small.
    """
    if tier in configured:
        return tier
    want = TIER_RANK[tier]
    return min(configured, key=lambda t: (abs(TIER_RANK[t] - want), -TIER_RANK[t]))


def check_tier_names(tiers: Iterable[str], where: str) -> None:
    """Raise :class:`UnknownTier` naming ``where`` for the first name that is not a tier."""
    for tier in tiers:
        if tier not in TIER_RANK:
            raise UnknownTier(str(tier), where=where)


def pinned_tier(context: RoutingContext, who: str) -> str | None:
    """The persona's pinned tier, checked (a persona built without validation may carry any name)."""
    pinned = context.preferences.pinned_tier
    if pinned is not None:
        check_tier_names((pinned,), f"{who}: persona {context.persona_id!r} routing.tier")
    return pinned


def persona_keywords(context: RoutingContext, who: str) -> Mapping[str, tuple[str, ...]]:
    """The persona's ``routing.keywords``, with their tier names checked."""
    keywords = context.preferences.keywords
    if keywords:
        check_tier_names(keywords, f"{who}: persona {context.persona_id!r} routing.keywords")
    return keywords
