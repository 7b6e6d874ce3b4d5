"""Stickiness: a conversation keeps its tier unless the base router has a reason to move."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from persona_lab import ConversationLoop, Persona
from persona_lab.core import RoutingContext, RoutingDecision
from persona_lab.routers import CascadeRouter, ConstraintRouter, FixedRouter, HeuristicRouter, StickyRouter
from persona_lab.tiers import ScriptedBackend
from tests.router_helpers import context, registry, turns


class ScoredRouter:
    """A base router with fixed scores (higher is better) that picks the best."""

    def __init__(self, scores: Mapping[str, float], critical: bool = False):
        self.scores = dict(scores)
        self.critical = critical

    def route(self, context: RoutingContext) -> RoutingDecision:
        best = max(self.scores, key=self.scores.__getitem__)
        return RoutingDecision(tier=best, reason="best score", scores=self.scores, features={"critical": self.critical})


def test_small_gains_do_not_move_the_conversation() -> None:
    sticky = StickyRouter(ScoredRouter({"small": 0.52, "mid": 0.50}), margin=0.05)
    decision = sticky.route(context(history=turns("mid", "mid")))
    assert decision.tier == "mid" and decision.features["sticky"] is True
    assert decision.features["base_tier"] == "small" and "gain 0.020 < margin 0.05" in decision.reason
    moved = StickyRouter(ScoredRouter({"small": 0.70, "mid": 0.50}), margin=0.05).route(
        context(history=turns("mid", "mid"))
    )
    assert moved.tier == "small" and moved.features["sticky"] is False


def test_moving_down_waits_for_min_turns_moving_up_does_not() -> None:
    down = StickyRouter(ScoredRouter({"small": 0.9, "frontier": 0.1}), min_turns=2)
    assert down.route(context(history=turns("small", "frontier"))).tier == "frontier"  # 1 turn on frontier
    assert down.route(context(history=turns("frontier", "frontier"))).tier == "small"  # 2 turns: may move
    up = StickyRouter(ScoredRouter({"small": 0.1, "frontier": 0.9}), min_turns=5)
    assert up.route(context(history=turns("small"))).tier == "frontier"


def test_critical_turns_and_removed_tiers_always_switch() -> None:
    critical = StickyRouter(ScoredRouter({"mid": 0.50, "frontier": 0.51}, critical=True), margin=0.5)
    assert critical.route(context(history=turns("mid", "mid"))).tier == "frontier"
    # a hard constraint removed the previous tier from the scores: follow the base router
    gone = StickyRouter(ScoredRouter({"small": 0.1}), margin=0.5)
    assert gone.route(context(history=turns("mid", "mid", "mid"))).tier == "small"
    # the previous tier is no longer configured
    unconfigured = StickyRouter(FixedRouter("small"))
    assert unconfigured.route(context(history=turns("mid"), tiers=("small", "frontier"))).tier == "small"
    # the first turn has no previous tier
    assert StickyRouter(FixedRouter("small")).route(context()).tier == "small"


def test_a_safety_turn_escapes_a_sticky_heuristic(persona: Persona) -> None:
    sticky = StickyRouter(HeuristicRouter(), min_turns=3)
    decision = sticky.route(context("I feel unsafe at home", persona=persona, history=turns("small", "small")))
    assert decision.tier == "frontier"


async def test_sticky_routing_in_the_loop_bounces_less(persona: Persona) -> None:
    texts = ["hi", "What does section 11 cover?", "thanks", "What about damp?", "ok", "And mould?"] * 2

    async def tiers_used(router: object) -> list[str]:
        backends = {t: ScriptedBackend(["An answer of reasonable length."], cycle=True) for t in ("small", "mid")}
        loop = ConversationLoop(persona, registry(**backends), router)  # type: ignore[arg-type]
        conv = loop.new_conversation()
        return [(await loop.achat(conv, t)).turn_log.tier or "" for t in texts]

    plain = await tiers_used(HeuristicRouter())
    sticky = await tiers_used(StickyRouter(HeuristicRouter(), min_turns=3))

    def switches(tiers: list[str]) -> int:
        return sum(a != b for a, b in itertools.pairwise(tiers))

    assert switches(plain) == len(texts) - 1  # small, mid, small, mid…
    # upgrades are never delayed; a move down waits for three turns on mid
    assert sticky == ["small", "mid", "mid", "mid", "small", "mid", "mid", "mid", "small", "mid", "mid", "mid"]
    assert switches(sticky) == 5


def test_sticky_passes_review_to_an_escalating_base() -> None:
    import asyncio

    ctx = context("When?")
    cascade = StickyRouter(CascadeRouter())
    decision = cascade.route(ctx)
    verdict = asyncio.run(cascade.review(ctx, decision, ""))
    assert not verdict.accept and verdict.escalate_to == "mid"
    plain = StickyRouter(ConstraintRouter())
    assert asyncio.run(plain.review(ctx, plain.route(ctx), "")).accept
    assert plain.name == "sticky-constraint"
