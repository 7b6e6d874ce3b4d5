"""Tier bookkeeping every router shares: the configured tiers and the persona's tier settings.

Tier names, their order and the nearest-tier rule live in :mod:`persona_lab.core`.
"""

from __future__ import annotations

from collections.abc import Mapping

from persona_lab.core import TIER_NAMES, RouterError, RoutingContext, check_tier, check_tiers

__all__ = ["configured_tiers", "persona_keywords", "pinned_tier"]


def configured_tiers(context: RoutingContext, who: str) -> tuple[str, ...]:
    """The configured tiers, cheapest first; a :class:`RouterError` when there are none."""
    tiers = tuple(t for t in TIER_NAMES if t in context.tiers)
    if not tiers:
        raise RouterError(
            f"{who}: no tier is configured, so there is nothing to route to; configure at least one "
            "of small, mid, frontier in the TierRegistry"
        )
    return tiers


def pinned_tier(context: RoutingContext, who: str) -> str | None:
    """The persona's pinned tier, checked (a persona built without validation may carry any name)."""
    pinned = context.preferences.pinned_tier
    if pinned is not None:
        check_tier(pinned, where=f"{who}: persona {context.persona_id!r} routing.tier")
    return pinned


def persona_keywords(context: RoutingContext, who: str) -> Mapping[str, tuple[str, ...]]:
    """The persona's ``routing.keywords``, with their tier names checked."""
    keywords = context.preferences.keywords
    if keywords:
        check_tiers(keywords, where=f"{who}: persona {context.persona_id!r} routing.keywords")
    return keywords
