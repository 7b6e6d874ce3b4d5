"""How a persona wants its turns routed: the part of a persona every router reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, field_validator

from persona_lab.core._tiers import TIER_NAMES

__all__ = ["RoutingPreferences"]


class RoutingPreferences(BaseModel):
    """How this persona wants its turns routed.

    ``tier`` pins every turn to one tier, or ``auto`` lets the router choose. ``keywords`` maps a
    tier to words that send a turn there (rule-based routers read it).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tier: Literal["auto", "small", "mid", "frontier"] = "auto"
    max_cost_per_turn_usd: StrictFloat | None = Field(default=None, gt=0, allow_inf_nan=False)
    max_cost_per_session_usd: StrictFloat | None = Field(default=None, gt=0, allow_inf_nan=False)
    keywords: Mapping[str, tuple[str, ...]] = Field(default_factory=dict)
    allowed_providers: tuple[str, ...] | None = None

    @field_validator("keywords")
    @classmethod
    def _known_tiers(cls, value: Mapping[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
        for tier in value:
            if tier not in TIER_NAMES:
                raise ValueError(f"unknown tier {tier!r}; expected one of: {', '.join(TIER_NAMES)}")
        return value

    @property
    def pinned_tier(self) -> str | None:
        return None if self.tier == "auto" else self.tier
