"""The cascade router in the real conversation loop (scripted tiers are test doubles), and its verifiers."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from persona_lab import ConversationLoop, InMemoryTurnLogWriter, Persona, RoutingPreferences
from persona_lab.core import ChatRequest, EscalatingRouter, ProviderError, Retrying, TextDelta, TurnDone
from persona_lab.routers import CascadeRouter, ConfidenceVerifier, JudgeVerifier, RuleVerifier, stated_confidence
from persona_lab.tiers import ScriptedBackend, ScriptedResponse
from tests.router_helpers import context, registry

GOOD = "Your landlord must protect the deposit within 30 days of receiving it."


def visible_answer(events: list[Any]) -> str:
    """What a consumer shows: text streamed since the last Retrying."""
    last = max((i for i, e in enumerate(events) if isinstance(e, Retrying)), default=-1)
    return "".join(e.text for e in events[last + 1 :] if isinstance(e, TextDelta))


async def test_a_failed_check_escalates_and_every_attempt_is_logged(persona: Persona) -> None:
    small, mid = ScriptedBackend(["I don't know, sorry."]), ScriptedBackend([GOOD])
    writer = InMemoryTurnLogWriter()
    router = CascadeRouter()
    assert isinstance(router, EscalatingRouter)
    loop = ConversationLoop(persona, registry(small=small, mid=mid), router, writer=writer)
    conv = loop.new_conversation()
    events = [e async for e in loop.turn(conv, "When must my deposit be protected?")]

    done = events[-1]
    assert isinstance(done, TurnDone)
    log = done.turn_log
    assert [(a.tier, a.outcome) for a in log.attempts] == [("small", "escalated"), ("mid", "accepted")]
    assert all(a.cost_usd and a.cost_usd > 0 for a in log.attempts)  # both attempts were paid
    assert log.cost_usd == pytest.approx(sum(a.cost_usd or 0 for a in log.attempts))
    assert (log.requested_tier, log.tier, log.router_name) == ("small", "mid", "cascade")
    retry = next(e for e in events if isinstance(e, Retrying))
    assert (retry.from_tier, retry.to_tier) == ("small", "mid") and "I don't know" in retry.reason
    # the user sees only the accepted answer
    assert done.answer == GOOD == visible_answer(events)
    assert conv.turns[-1].answer == GOOD and writer.records == [log]
    assert len(small.requests) == len(mid.requests) == 1


async def test_three_tiers_escalate_one_step_at_a_time(persona: Persona) -> None:
    small = ScriptedBackend(["", "Deposits are protected in a scheme within 30 days."])
    mid = ScriptedBackend(["I cannot help with that."])
    frontier = ScriptedBackend([GOOD])
    loop = ConversationLoop(persona, registry(small=small, mid=mid, frontier=frontier), CascadeRouter())
    conv = loop.new_conversation()
    first = await loop.achat(conv, "When must my deposit be protected?")
    assert [(a.tier, a.outcome) for a in first.turn_log.attempts] == [
        ("small", "escalated"), ("mid", "escalated"), ("frontier", "accepted"),
    ]
    assert first.answer == GOOD
    # the next turn starts on the cheapest tier again, and a good answer there is accepted
    second = await loop.achat(conv, "And if they did not?")
    assert [(a.tier, a.outcome) for a in second.turn_log.attempts] == [("small", "accepted")]


async def test_escalation_strongest_skips_the_middle_tier(persona: Persona) -> None:
    small, mid, frontier = ScriptedBackend(["no"]), ScriptedBackend([]), ScriptedBackend([GOOD])
    loop = ConversationLoop(
        persona, registry(small=small, mid=mid, frontier=frontier), CascadeRouter(escalation="strongest")
    )
    result = await loop.achat(loop.new_conversation(), "When must my deposit be protected?")
    assert [(a.tier, a.outcome) for a in result.turn_log.attempts] == [("small", "escalated"), ("frontier", "accepted")]
    assert not mid.requests


async def test_a_judge_on_the_small_tier_is_paid_and_logged(persona: Persona) -> None:
    def small_script(request: ChatRequest) -> str:
        if "grade an assistant's answer" in request.system:
            return "SCORE: 3" if "Ask someone else" in request.messages[-1].content else "SCORE: 9"
        return "Ask someone else about deposits."

    small, mid = ScriptedBackend(small_script), ScriptedBackend([GOOD])
    tiers = registry(small=small, mid=mid)
    router = CascadeRouter(verifiers=(RuleVerifier(), JudgeVerifier(tiers, min_score=7)))
    loop = ConversationLoop(persona, tiers, router)
    result = await loop.achat(loop.new_conversation(), "When must my deposit be protected?")
    log = result.turn_log
    assert [(a.tier, a.outcome) for a in log.attempts] == [("small", "escalated"), ("mid", "accepted")]
    judge_calls = [r for r in small.requests if "grade" in r.system]
    assert len(judge_calls) == 1 and judge_calls[0].temperature == 0.0
    assert "Ask someone else about deposits." in judge_calls[0].messages[0].content
    # the judge's cost is in the turn's total, on top of the answer attempts
    assert log.total_cost_usd is not None and log.cost_usd is not None
    assert log.total_cost_usd > log.cost_usd
    assert result.answer == GOOD


async def test_stated_confidence_drives_escalation(persona: Persona) -> None:
    small = ScriptedBackend(["Probably 30 days. Confidence: 0.4", "Yes, 30 days. Confidence: 90%"])
    frontier = ScriptedBackend([GOOD + " Confidence: 0.95"])
    router = CascadeRouter(verifiers=(RuleVerifier(), ConfidenceVerifier(min_confidence=0.7)))
    loop = ConversationLoop(persona, registry(small=small, frontier=frontier), router)
    conv = loop.new_conversation()
    unsure = await loop.achat(conv, "When must my deposit be protected?")
    assert unsure.turn_log.tier == "frontier" and unsure.answer.startswith(GOOD)
    sure = await loop.achat(conv, "Is that from receiving the money?")
    assert sure.turn_log.tier == "small"


async def test_pinned_persona_is_never_escalated(persona: Persona) -> None:
    pinned = persona.model_copy(update={"routing": RoutingPreferences(tier="small")})
    small, mid = ScriptedBackend([""]), ScriptedBackend([GOOD])
    loop = ConversationLoop(pinned, registry(small=small, mid=mid), CascadeRouter())
    result = await loop.achat(loop.new_conversation(), "hello?")
    assert [(a.tier, a.outcome) for a in result.turn_log.attempts] == [("small", "accepted")]


async def test_review_without_the_loop() -> None:
    router = CascadeRouter()
    ctx = context("When?", tiers=("small", "mid", "frontier"))
    decision = router.route(ctx)
    assert decision.tier == "small"
    verdict = await router.review(ctx, decision, "")
    assert (verdict.accept, verdict.escalate_to) == (False, "mid") and "empty" in verdict.reason
    on_mid = dataclasses.replace(decision, tier="mid")  # the loop says which tier answered
    verdict = await router.review(ctx, on_mid, "I cannot help with that.")
    assert (verdict.accept, verdict.escalate_to) == (False, "frontier")
    verdict = await router.review(ctx, dataclasses.replace(decision, tier="frontier"), "")
    assert verdict.accept and "strongest configured tier" in verdict.reason
    assert CascadeRouter(start_tier="mid").route(ctx).tier == "mid"


def test_stated_confidence_parses_common_markers() -> None:
    assert stated_confidence("Answer. Confidence: 0.8") == 0.8
    assert stated_confidence("confidence = 80%") == 0.8
    assert stated_confidence("Confidence level: 7/10") == 0.7
    assert stated_confidence("Confidence: 9") == 0.9
    assert stated_confidence("Confidence: high") == 0.85
    assert stated_confidence("first confidence: 0.2, final confidence: 0.9") == 0.9
    assert stated_confidence("I am fairly sure.") is None


async def test_verifiers_report_why() -> None:
    ctx = context("When?")
    rules = RuleVerifier(min_chars=20)
    assert (await rules.check(ctx, "small", "   ")).reason == "the answer is empty"
    assert "too short" in (await rules.check(ctx, "small", "30 days.")).reason
    assert "gives up" in (await rules.check(ctx, "small", "As an AI language model I cannot say.")).reason
    assert (await rules.check(ctx, "small", "Within thirty days of payment.")).passed
    strict = ConfidenceVerifier(missing="escalate")
    assert not (await strict.check(ctx, "small", "No marker here")).passed
    assert (await ConfidenceVerifier().check(ctx, "small", "No marker here")).passed


async def test_judge_fallbacks_and_unparsable_replies() -> None:
    broken = ScriptedBackend([ScriptedResponse(error=ProviderError("down", retryable=True))])
    mid = ScriptedBackend(["SCORE: 8"])
    judge = JudgeVerifier(registry(small=broken, mid=mid))
    check = await judge.check(context("When?"), "small", "30 days")
    assert check.passed and "mid-model scored 8/10" in check.reason and check.cost_usd
    mumbling = JudgeVerifier(registry(small=ScriptedBackend(["looks fine"])), on_error="escalate")
    check = await mumbling.check(context("When?"), "small", "30 days")
    assert not check.passed and "gave no score" in check.reason
    nobody = JudgeVerifier(registry(small=ScriptedBackend([ScriptedResponse(error=ProviderError("down"))])))
    check = await nobody.check(context("When?"), "small", "30 days")
    assert check.passed and "judge unavailable" in check.reason
