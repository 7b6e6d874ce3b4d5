"""Answer checks for the cascade router: rules, the model's stated confidence, a judge model.

A verifier is any object with ``async check(context, tier, answer) -> Check``. Cheap checks
go first in a cascade; the first failure stops the review, so a judge call is only paid for
answers that passed the rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from persona_lab.core import (
    ChatRequest,
    Message,
    ProviderError,
    RouterError,
    RoutingContext,
    TierNotConfigured,
    Usage,
    check_tiers,
    estimate_tokens,
    fold_stream,
)
from persona_lab.routers._params import RouterParams
from persona_lab.routers._signals import compile_patterns, first_match
from persona_lab.tiers import TierRegistry

__all__ = [
    "JUDGE_INSTRUCTIONS",
    "REFUSAL_PATTERNS",
    "Check",
    "ConfidenceVerifier",
    "JudgeVerifier",
    "RuleVerifier",
    "Verifier",
    "stated_confidence",
]

REFUSAL_PATTERNS: tuple[str, ...] = (
    r"I (?:can't|cannot|can not|am unable to|'m unable to|am not able to|'m not able to|won't be able to) "
    r"(?:help|assist|answer|provide|do that|comply)",
    r"as an (?:ai|a\.i\.|ai language model|language model)",
    r"I(?:'m| am) (?:just |only )?an ai",
    r"I (?:don't|do not) know",
    r"I (?:don't|do not) have (?:access|enough information|the ability)",
)
"""Answers that refuse or give up; a stronger tier may do better."""


@dataclass(frozen=True, slots=True)
class Check:
    """One verifier's finding; ``cost_usd`` and tokens are what the check itself cost."""

    passed: bool
    reason: str
    cost_usd: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0


@runtime_checkable
class Verifier(Protocol):
    """Checks an answer a tier gave for a turn."""

    async def check(self, context: RoutingContext, tier: str, answer: str) -> Check: ...


class RuleVerifier(RouterParams):
    """Fail empty answers, answers shorter than ``min_chars``, and refusals (whole-word patterns)."""

    def __init__(self, *, min_chars: int = 8, refusal_patterns: Sequence[str] = REFUSAL_PATTERNS):
        self.min_chars = min_chars
        self.refusal_patterns = refusal_patterns

    async def check(self, context: RoutingContext, tier: str, answer: str) -> Check:
        text = answer.strip()
        if not text:
            return Check(False, "the answer is empty")
        if len(text) < self.min_chars:
            return Check(False, f"the answer is too short ({len(text)} < {self.min_chars} characters)")
        refusal = first_match(compile_patterns(tuple(self.refusal_patterns)), text)
        if refusal is not None:
            return Check(False, f"the answer gives up ({refusal!r})")
        return Check(True, "rules passed")


_CONFIDENCE = re.compile(
    r"confidence\s*(?:level|score)?\s*[:=]?\s*(?:(\d+(?:\.\d+)?)\s*(%|/\s*100|/\s*10)?|(very high|high|medium|"
    r"moderate|low|very low))",
    re.IGNORECASE,
)
_CONFIDENCE_WORDS = MappingProxyType(
    {"very high": 0.95, "high": 0.85, "medium": 0.6, "moderate": 0.6, "low": 0.3, "very low": 0.1}
)


def stated_confidence(answer: str) -> float | None:
    """The last confidence marker in ``answer`` on [0, 1] ("Confidence: 0.8", "confidence: 80%",
    "Confidence: 7/10", "Confidence: high"), or None when there is none."""
    found = list(_CONFIDENCE.finditer(answer))
    if not found:
        return None
    number, unit, word = found[-1].groups()
    if word is not None:
        return _CONFIDENCE_WORDS[word.lower()]
    value = float(number)
    unit = (unit or "").replace(" ", "")
    if unit in ("%", "/100"):
        value /= 100
    elif unit == "/10":
        value /= 10
    elif value > 1:
        value /= 10 if value <= 10 else 100
    return min(1.0, max(0.0, value))


class ConfidenceVerifier(RouterParams):
    """Fail answers whose stated confidence is below ``min_confidence``.

    The persona's prompt must ask the model to end with a marker such as ``Confidence: 0.8``.
    An answer without one passes (``missing="accept"``) or fails (``missing="escalate"``).
    """

    def __init__(self, *, min_confidence: float = 0.7, missing: str = "accept"):
        self.min_confidence = min_confidence
        self.missing = missing
        if missing not in ("accept", "escalate"):
            raise RouterError(f"ConfidenceVerifier: missing must be 'accept' or 'escalate', got {missing!r}")

    async def check(self, context: RoutingContext, tier: str, answer: str) -> Check:
        confidence = stated_confidence(answer)
        if confidence is None:
            return Check(self.missing == "accept", "the answer states no confidence")
        if confidence < self.min_confidence:
            return Check(False, f"stated confidence {confidence:.2f} < {self.min_confidence:.2f}")
        return Check(True, f"stated confidence {confidence:.2f}")


JUDGE_INSTRUCTIONS = (
    "You grade an assistant's answer to a user's message. Judge whether it is correct, complete "
    "and helpful. Reply with one line: SCORE: n, where n is 1 (useless) to 10 (excellent)."
)

_SCORE = re.compile(r"score\s*[:=]?\s*(\d+(?:\.\d+)?)", re.IGNORECASE)


class JudgeVerifier(RouterParams):
    """Ask a model (by default the small tier) to grade the answer; fail below ``min_score``.

    The call goes through the tiers API: ``tiers.candidates(tier)`` in order, so a failing judge
    model falls back like any request. Its cost is reported in the :class:`Check` and ends up in
    the turn's ``total_cost_usd``. If every judge model fails or the reply has no score, the
    answer passes (``on_error="accept"``) or fails (``on_error="escalate"``).
    """

    def __init__(
        self,
        tiers: TierRegistry,
        *,
        tier: str = "small",
        min_score: float = 7.0,
        instructions: str = JUDGE_INSTRUCTIONS,
        max_output_tokens: int = 64,
        on_error: str = "accept",
    ):
        self.tiers = tiers
        self.tier = tier
        self.min_score = min_score
        self.instructions = instructions
        self.max_output_tokens = max_output_tokens
        self.on_error = on_error
        check_tiers((tier,), where="JudgeVerifier tier")
        if on_error not in ("accept", "escalate"):
            raise RouterError(f"JudgeVerifier: on_error must be 'accept' or 'escalate', got {on_error!r}")

    def __sklearn_clone__(self) -> JudgeVerifier:
        """Clones share the registry: it is an injected collaborator (clients, caches), not a value."""
        return type(self)(**self.get_params(deep=False))

    async def check(self, context: RoutingContext, tier: str, answer: str) -> Check:
        prompt = f"User message:\n{context.message}\n\nAssistant answer:\n{answer}\n\nGrade the answer."
        cost: float | None = None
        input_tokens = output_tokens = 0
        errors: list[str] = []
        try:
            candidates = self.tiers.candidates(self.tier)
        except TierNotConfigured as exc:
            candidates, errors = [], [str(exc)]
        for judge_tier, model in candidates:
            request = ChatRequest(
                model=model.model,
                system=self.instructions,
                messages=(Message.user(prompt),),
                max_output_tokens=min(self.max_output_tokens, model.max_output_tokens),
                temperature=0.0,
            )
            try:
                completion = await fold_stream(self.tiers.backend(model).stream(request))
            except ProviderError as exc:
                errors.append(f"{judge_tier}/{model.model}: {exc}")
                continue
            usage = completion.usage
            if usage.input_tokens is None or usage.output_tokens is None:
                usage = Usage(
                    input_tokens=estimate_tokens(request.system) + sum(m.tokens for m in request.messages),
                    output_tokens=estimate_tokens(completion.text),
                )
            input_tokens, output_tokens = usage.input_tokens or 0, usage.output_tokens or 0
            cost = self.tiers.prices.cost(model, usage).usd
            found = _SCORE.search(completion.text)
            if found is None:
                return Check(
                    self.on_error == "accept",
                    f"judge {model.model} gave no score ({completion.text[:60]!r})",
                    cost, input_tokens, output_tokens,
                )
            score = float(found.group(1))
            passed = score >= self.min_score
            relation = ">=" if passed else "<"
            return Check(
                passed,
                f"judge {model.model} scored {score:g}/10 {relation} {self.min_score:g}",
                cost, input_tokens, output_tokens,
            )
        return Check(self.on_error == "accept", f"judge unavailable ({'; '.join(errors) or 'no model'})")
