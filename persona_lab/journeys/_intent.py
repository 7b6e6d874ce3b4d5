"""The intent router: choose a journey (or none: plain chat) from what the user says.

Rules first: each journey's ``intents`` (words or phrases, whole-word, case-insensitive); a
message that matches exactly one journey picks it. Otherwise, with a ``tiers`` registry, one
model call on the chosen tier with one tool per journey (``start_<journey>``): the tool it
calls is the journey; no tool call means plain chat. Every decision carries its method, reason
and cost, and goes into the turn log's labels.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from persona_lab.core import (
    ChatRequest,
    Message,
    PersonaLabError,
    ToolSpec,
    UnknownName,
    Usage,
    check_tier,
    estimate_tokens,
    fold_stream,
)
from persona_lab.persona import Journey
from persona_lab.tiers import TierRegistry

__all__ = ["IntentDecision", "IntentRouter"]

_TOOL_PREFIX = "start_"
_INSTRUCTIONS = (
    "You route a user's message to a guided journey. If one of the tools fits what the user wants to do, "
    "call exactly that tool. If none fits (small talk, a general question), call no tool and reply 'none'."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class IntentDecision:
    """Which journey a message starts (``None``: plain chat), how it was decided, and what that cost."""

    journey: str | None
    method: Literal["rules", "model", "none"]
    reason: str
    tier: str | None = None
    model: str | None = None
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0

    def labels(self) -> dict[str, str]:
        """The turn-log labels of this decision."""
        out = {
            "intent": self.journey or "none",
            "intent_method": self.method,
            "intent_reason": self.reason[:300],
            "intent_cost_usd": f"{self.cost_usd:.8f}",
        }
        if self.tier:
            out["intent_tier"] = self.tier
        return out


def _pattern(phrases: Sequence[str]) -> re.Pattern[str] | None:
    words = [re.escape(p.strip()).replace(r"\ ", r"\s+") for p in phrases if p.strip()]
    return re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE) if words else None


class IntentRouter:
    """Chooses a journey for a user's first message.

    Parameters
    ----------
    journeys:
        The journeys to choose from (a persona's ``journeys``).
    tiers:
        With a registry, messages that no rule decides go to one model call on ``tier``
        (falling back along the nearest tiers like any call). Without one, rules only.
    tier:
        The tier of the intent call (default ``small``: choosing among a few journeys is easy).
    rules:
        Phrases per journey name; default: each journey's ``intents``. ``use_rules=False``
        skips rules entirely (model only).
    """

    def __init__(
        self,
        journeys: Sequence[Journey],
        *,
        tiers: TierRegistry | None = None,
        tier: str = "small",
        rules: Mapping[str, Sequence[str]] | None = None,
        use_rules: bool = True,
        max_output_tokens: int = 64,
    ):
        check_tier(tier, where="IntentRouter(tier=...)")
        self.journeys = tuple(journeys)
        names = {j.name for j in self.journeys}
        phrases = rules if rules is not None else {j.name: j.intents for j in self.journeys}
        for name in phrases:
            if name not in names:
                raise UnknownName("journey", name, sorted(names), hint=" (named in the intent rules)")
        self.tiers = tiers
        self.tier = tier
        self.use_rules = use_rules
        self.max_output_tokens = max_output_tokens
        self._rules = {n: p for n, ps in phrases.items() if (p := _pattern(ps)) is not None}
        self._specs = tuple(
            ToolSpec(
                name=f"{_TOOL_PREFIX}{j.name}",
                description=j.description,
                parameters={"type": "object", "properties": {}, "additionalProperties": False},
            )
            for j in self.journeys
        )

    def __repr__(self) -> str:
        model = f", tier={self.tier!r}" if self.tiers is not None else ""
        return f"IntentRouter(journeys={[j.name for j in self.journeys]}{model})"

    def by_rules(self, text: str) -> IntentDecision | None:
        """The rules' decision, or ``None`` when no rule (or more than one journey) matches."""
        if not self.use_rules:
            return None
        hits = {name: m.group(0) for name, p in self._rules.items() if (m := p.search(text))}
        if len(hits) == 1:
            ((name, word),) = hits.items()
            return IntentDecision(journey=name, method="rules", reason=f"matched {word!r}")
        return None

    async def choose(self, text: str) -> IntentDecision:
        """The journey ``text`` starts, or plain chat. Never raises for a model's failure or odd answer."""
        decided = self.by_rules(text)
        if decided is not None:
            return decided
        if self.tiers is None or not self.journeys:
            return IntentDecision(journey=None, method="none", reason="no rule matched")
        return await self._ask_model(text)

    async def _ask_model(self, text: str) -> IntentDecision:
        assert self.tiers is not None
        errors: list[str] = []
        try:
            candidates = self.tiers.candidates(self.tier)
        except PersonaLabError as exc:
            candidates, errors = [], [str(exc)]
        for tier, config in candidates:
            request = ChatRequest(
                model=config.model,
                system=_INSTRUCTIONS,
                messages=(Message.user(text),),
                tools=self._specs if config.supports_tools else (),
                max_output_tokens=min(self.max_output_tokens, config.max_output_tokens),
                temperature=0.0,
            )
            started = time.perf_counter()
            try:
                completion = await fold_stream(self.tiers.backend(config).stream(request))
            except Exception as exc:  # an intent failure means plain chat, never a failed turn
                errors.append(f"{tier}/{config.model}: {type(exc).__name__}")
                continue
            latency = time.perf_counter() - started
            usage = completion.usage
            if usage.input_tokens is None or usage.output_tokens is None:
                usage = Usage(
                    input_tokens=estimate_tokens(
                        request.system,
                    ) + sum(m.tokens for m in request.messages) + 20 * len(self._specs),
                    output_tokens=estimate_tokens(completion.text) + 8 * len(completion.tool_calls),
                )
            cost = self.tiers.prices.cost(config, usage, duration_s=latency).usd or 0.0
            names = {j.name for j in self.journeys}
            called = [c.name.removeprefix(_TOOL_PREFIX) for c in completion.tool_calls]
            chosen = next((n for n in called if n in names), None)
            if chosen is None:
                why = f"called {called[0]!r}, not a journey" if called else f"answered {completion.text[:60]!r}"
                reason = f"the intent model chose no journey ({why}); plain chat"
            else:
                reason = f"the intent model called {_TOOL_PREFIX}{chosen}"
            return IntentDecision(
                journey=chosen,
                method="model",
                reason=reason,
                tier=tier,
                model=config.model,
                cost_usd=cost,
                input_tokens=usage.input_tokens or 0,
                output_tokens=usage.output_tokens or 0,
                latency_s=latency,
            )
        return IntentDecision(
            journey=None, method="none", reason=f"intent model unavailable ({'; '.join(errors) or 'no tier'})"
        )
