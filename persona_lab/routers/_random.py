"""A random baseline that is reproducible: the draw is a hash of (seed, conversation, turn, step)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping

from persona_lab.core import RouterError, RoutingContext, RoutingDecision, check_tiers
from persona_lab.routers._params import RouterParams
from persona_lab.routers._tier_choice import configured_tiers

__all__ = ["RandomRouter", "stable_uniform"]


def stable_uniform(*parts: object) -> float:
    """A number in [0, 1) that depends only on ``parts`` (the same on every run and machine)."""
    key = "\x1f".join(str(p) for p in parts).encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class RandomRouter(RouterParams):
    """Pick a tier at random with weights ``p_by_tier`` (uniform over configured tiers if None).

    Weights of unconfigured tiers are dropped and the rest renormalised. The draw for a turn
    depends only on ``seed``, the conversation id, the turn index and the agent step, so a
    rerun routes every turn the same way and the router keeps no state.
    """

    def __init__(self, p_by_tier: Mapping[str, float] | None = None, seed: int = 0):
        self.p_by_tier = p_by_tier
        self.seed = seed
        if p_by_tier is not None:
            check_tiers(p_by_tier, where="RandomRouter p_by_tier")
            for tier, weight in p_by_tier.items():
                if not (isinstance(weight, int | float) and math.isfinite(weight) and weight >= 0):
                    raise RouterError(f"RandomRouter p_by_tier[{tier!r}] must be a number >= 0, got {weight!r}")

    @property
    def name(self) -> str:
        return "random"

    def route(self, context: RoutingContext) -> RoutingDecision:
        configured = configured_tiers(context, "RandomRouter")
        if self.p_by_tier is None:
            weights = {t: 1.0 for t in configured}
        else:
            weights = {t: float(w) for t, w in self.p_by_tier.items() if t in configured and w > 0}
        total = sum(weights.values())
        if total <= 0:
            raise RouterError(
                f"RandomRouter: no configured tier ({', '.join(configured)}) has a positive weight "
                f"in p_by_tier={dict(self.p_by_tier or {})}"
            )
        draw = stable_uniform(self.seed, context.conversation_id, context.turn_index, context.step_index)
        ordered = [t for t in configured if t in weights]
        cumulative = 0.0
        chosen = ordered[-1]
        for tier in ordered:
            cumulative += weights[tier] / total
            if draw < cumulative:
                chosen = tier
                break
        features: dict[str, float] = {"draw": draw}
        features.update({f"p_{t}": weights[t] / total for t in ordered})
        return RoutingDecision(tier=chosen, reason=f"random draw {draw:.3f} (seed {self.seed})", features=features)
