"""The cascade: answer on the cheapest tier, check the answer, escalate when the check fails.

It implements :class:`EscalatingRouter`: the loop calls :meth:`CascadeRouter.review` after
each answer and, on a failed review, pays for and logs the attempt as ``escalated`` and asks
the target tier; the user sees only the accepted answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from persona_lab.core import TIER_RANK, RouterError, RoutingContext, RoutingDecision, Verdict, check_tiers, nearest_tier
from persona_lab.routers._params import RouterParams
from persona_lab.routers._tier_choice import configured_tiers, pinned_tier
from persona_lab.routers._verifiers import Check, RuleVerifier, Verifier

__all__ = ["CascadeRouter"]


class CascadeRouter(RouterParams):
    """Start every turn on ``start_tier`` (default: the cheapest configured) and escalate on doubt.

    Parameters
    ----------
    verifiers:
        Checks run in order on each answer; the first failure escalates (default: one
        :class:`RuleVerifier`). Put cheap checks before a :class:`JudgeVerifier`.
    start_tier:
        The first tier to try (``None``: the cheapest configured tier).
    escalation:
        ``"next"``: one configured tier up per failed review (small → mid → frontier);
        ``"strongest"``: straight to the strongest configured tier.
    respect_pin:
        Follow the persona's pinned tier (and never escalate it).

    The strongest configured tier's answers are accepted without review. The loop tells
    ``review`` which tier produced the answer (``decision.tier``), so the router keeps no state.
    """

    def __init__(
        self,
        *,
        verifiers: Sequence[Verifier] | None = None,
        start_tier: str | None = None,
        escalation: str = "next",
        respect_pin: bool = True,
    ):
        self.verifiers = verifiers
        self.start_tier = start_tier
        self.escalation = escalation
        self.respect_pin = respect_pin
        self._params_changed()

    def _params_changed(self) -> None:
        if self.start_tier is not None:
            check_tiers((self.start_tier,), where="CascadeRouter start_tier")
        if self.escalation not in ("next", "strongest"):
            raise RouterError(f"CascadeRouter: escalation must be 'next' or 'strongest', got {self.escalation!r}")
        for verifier in self._verifiers():
            if not callable(getattr(verifier, "check", None)):
                raise RouterError(f"CascadeRouter: verifier {verifier!r} has no check(context, tier, answer) method")

    def _verifiers(self) -> Sequence[Verifier]:
        return (RuleVerifier(),) if self.verifiers is None else self.verifiers

    @property
    def name(self) -> str:
        return "cascade"

    def route(self, context: RoutingContext) -> RoutingDecision:
        configured = configured_tiers(context, "CascadeRouter")
        if self.respect_pin:
            pinned = pinned_tier(context, "CascadeRouter")
            if pinned is not None:
                tier = nearest_tier(pinned, configured)
                return RoutingDecision(tier=tier, reason=f"persona pins tier {pinned}", features={"rule": "pinned"})
        start = configured[0] if self.start_tier is None else nearest_tier(self.start_tier, configured)
        return RoutingDecision(
            tier=start,
            reason=f"cascade starts on {start}; the answer is checked before it is accepted",
            features={"rule": "start"},
        )

    def _escalation_target(self, tier: str, configured: tuple[str, ...]) -> str | None:
        stronger = [t for t in configured if TIER_RANK[t] > TIER_RANK[tier]]
        if not stronger:
            return None
        return stronger[0] if self.escalation == "next" else stronger[-1]

    async def review(self, context: RoutingContext, decision: RoutingDecision, answer: str) -> Verdict:
        """Run the verifiers on ``answer``; escalate one step (or to the top) on the first failure."""
        if decision.features.get("rule") == "pinned":
            return Verdict(accept=True, reason="the persona pins this tier; no review")
        configured = configured_tiers(context, "CascadeRouter")
        tier = decision.tier
        target = self._escalation_target(tier, configured)
        if target is None:
            return Verdict(accept=True, reason=f"{tier} is the strongest configured tier; accepted without review")
        checks: list[Check] = []
        for verifier in self._verifiers():
            check = await verifier.check(context, tier, answer)
            checks.append(check)
            if not check.passed:
                break
        costs = [c.cost_usd for c in checks if c.cost_usd is not None]
        cost = sum(costs) if costs else None
        input_tokens = sum(c.input_tokens for c in checks)
        output_tokens = sum(c.output_tokens for c in checks)
        failed = checks[-1] if checks and not checks[-1].passed else None
        if failed is None:
            reasons = "; ".join(c.reason for c in checks) or "no verifiers"
            return Verdict(
                accept=True,
                reason=f"{tier} answer accepted: {reasons}",
                escalate_to=None,
                cost_usd=cost,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
            )
        return Verdict(
            accept=False,
            reason=f"{tier} answer failed: {failed.reason}; escalating to {target}",
            escalate_to=target,
            cost_usd=cost,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )
