"""Helpers for the router tests: routing contexts and tier metadata built by hand (no tests here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from persona_lab import Persona, RoutingPreferences
from persona_lab.core import ConversationTurn, Message, RoutingContext, TierInfo
from persona_lab.tiers import Price, ScriptedBackend, TierRegistry
from tests.helpers import scripted_tier

PRICES: Mapping[str, tuple[float, float]] = {"small": (0.1, 0.4), "mid": (1.0, 4.0), "frontier": (5.0, 15.0)}


def tier_info(
    name: str,
    *,
    provider: str = "scripted",
    context_window: int = 128_000,
    max_output_tokens: int = 1024,
    supports_tools: bool = True,
    price: tuple[float, float] | None = None,
    latency_s: float | None = None,
) -> TierInfo:
    inp, out = price if price is not None else PRICES[name]
    return TierInfo(
        name=name,
        provider=provider,
        model=f"{name}-model",
        context_window=context_window,
        max_output_tokens=max_output_tokens,
        supports_tools=supports_tools,
        input_per_mtok=inp,
        output_per_mtok=out,
        price_source="override",
        usd_per_hour=None,
        latency_s=latency_s,
        local=False,
    )


def infos(*tiers: str, **overrides: dict[str, Any]) -> dict[str, TierInfo]:
    """TierInfo for each tier; ``overrides[tier]`` holds keyword arguments for :func:`tier_info`."""
    return {t: tier_info(t, **overrides.get(t, {})) for t in tiers}


def turns(*tiers: str) -> tuple[ConversationTurn, ...]:
    """A finished history whose turns were answered by ``tiers`` in order."""
    return tuple(
        ConversationTurn(
            index=i,
            messages=(Message.user(f"question {i}"), Message.assistant(f"answer {i}")),
            tier=t,
            cost_usd=0.0,
            tokens=10,
        )
        for i, t in enumerate(tiers)
    )


def context(
    message: str = "What does section 11 require of a landlord?",
    *,
    tiers: Sequence[str] | Mapping[str, TierInfo] = ("small", "mid", "frontier"),
    persona: Persona | None = None,
    preferences: RoutingPreferences | None = None,
    history: Sequence[ConversationTurn] = (),
    prompt_tokens: int = 300,
    tools_needed: bool = False,
    metadata: Mapping[str, Any] | None = None,
    conversation_id: str = "conv-1",
    turn_index: int | None = None,
    step_index: int | None = None,
    session_cost_usd: float = 0.0,
) -> RoutingContext:
    tier_map = tiers if isinstance(tiers, Mapping) else infos(*tiers)
    prefs = preferences if preferences is not None else persona.routing if persona else RoutingPreferences()
    return RoutingContext(
        conversation_id=conversation_id,
        turn_index=len(history) if turn_index is None else turn_index,
        message=message,
        history=history,
        prompt_tokens=prompt_tokens,
        tools_needed=tools_needed,
        tool_names=(),
        preferences=prefs,
        session_cost_usd=session_cost_usd,
        tiers=tier_map,
        persona_id=persona.id if persona else "test-persona",
        constraints=persona.identity.constraints if persona else (),
        step_index=step_index,
        metadata=metadata or {},
    )


def registry(**backends: ScriptedBackend) -> TierRegistry:
    """Scripted tiers with distinct prices per tier (test doubles)."""
    prices = {"small": Price(0.1, 0.4), "mid": Price(1.0, 4.0), "frontier": Price(5.0, 15.0)}
    return TierRegistry({t: scripted_tier(b, model=f"{t}-model", price=prices[t]) for t, b in backends.items()})
