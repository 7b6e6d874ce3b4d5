"""The simplest router: always the same tier."""

from __future__ import annotations

from persona_lab.core import RoutingContext, RoutingDecision, check_tier
from persona_lab.routers._params import RouterParams

__all__ = ["FixedRouter"]


class FixedRouter(RouterParams):
    """Send every turn to ``tier`` (a persona's pinned tier wins when ``respect_pin``)."""

    def __init__(self, tier: str = "mid", *, respect_pin: bool = True):
        self.tier = check_tier(tier, where="FixedRouter")
        self.respect_pin = respect_pin

    def __repr__(self) -> str:
        return f"FixedRouter({self.tier!r})"

    @property
    def name(self) -> str:
        return f"fixed-{self.tier}"

    def route(self, context: RoutingContext) -> RoutingDecision:
        pinned = context.preferences.pinned_tier
        if self.respect_pin and pinned is not None:
            return RoutingDecision(tier=pinned, reason=f"persona pins tier {pinned}")
        return RoutingDecision(tier=self.tier, reason=f"fixed router: always {self.tier}")
