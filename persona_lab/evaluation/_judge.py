"""An LLM judge: a rubric graded 1–10 or pass/fail by a model on a chosen tier.

Its prompt, reply, tier, model and cost go into the grade's ``details`` (and so into the turn
log); the cost is counted in the evaluation's cost. A reply with no ``[[rating]]`` (or no
``[[PASS]]``/``[[FAIL]]``) is an ``unparseable`` grade with no score, never a silent 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from persona_lab.core import Message
from persona_lab.evaluation._grade import Grade, GradingInput
from persona_lab.evaluation._tier_call import call_tier
from persona_lab.tiers import TierRegistry

__all__ = ["LLMJudge", "parse_pass_fail", "parse_rating"]

_RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")
_RATING_LOOSE = re.compile(r"rating\s*[:=]\s*(\d+(?:\.\d+)?)\s*(?:/\s*10)?", re.IGNORECASE)
_VERDICT = re.compile(r"\[\[\s*(PASS|FAIL)\s*\]\]", re.IGNORECASE)

_SYSTEM = "You are an impartial judge of an AI persona's answers. You follow the output format exactly."


def parse_rating(text: str) -> float | None:
    """The ``[[n]]`` rating of a reply (``Rating: n`` as a fallback) when it lies in 1–10, else None."""
    match = _RATING.search(text) or _RATING_LOOSE.search(text)
    if not match:
        return None
    value = float(match.group(1))
    return value if 1.0 <= value <= 10.0 else None


def parse_pass_fail(text: str) -> bool | None:
    """``[[PASS]]`` → True, ``[[FAIL]]`` → False, anything else (or both) → None."""
    verdicts = {m.upper() for m in _VERDICT.findall(text)}
    if len(verdicts) != 1:
        return None
    return verdicts == {"PASS"}


def judge_prompt(item: GradingInput, rubric: str, scale: Literal["1-10", "pass/fail"]) -> str:
    """The judge's user message: the persona, the rubric, the conversation so far and the answer."""
    persona = item.persona
    rules = "\n".join(f"- {c}" for c in persona.identity.constraints) or "- (none stated)"
    history = "\n\n".join(f"User: {u}\nAssistant: {a}" for u, a in item.transcript[:-1]) if item.transcript else ""
    if scale == "1-10":
        ask = ('Explain briefly, then rate the answer from 1 (fails the rubric) to 10 (fully meets it) in exactly '
               'this format: "Rating: [[5]]".')
    else:
        ask = 'Explain briefly, then give your verdict in exactly this format: "[[PASS]]" or "[[FAIL]]".'
    what = "the whole conversation" if item.level == "conversation" else "the last answer"
    parts = [
        f"[Persona]\n{persona.identity.name}, {persona.identity.role}. Its rules:\n{rules}",
        f"[Rubric]\n{rubric.strip()}",
    ]
    if history and item.level == "turn":
        parts.append(f"[Conversation so far]\n{history}")
    parts.append(f"[User]\n{item.user_text}")
    parts.append(f"[Answer to grade: {what}]\n{item.answer}")
    parts.append(f"[Instruction]\nGrade {what} against the rubric only. {ask}")
    return "\n\n".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class LLMJudge:
    """A grader that asks a model on ``tier`` to grade against ``rubric`` (1–10 or pass/fail).

    ``pass_at``: the lowest 1–10 rating that passes. ``temperature`` 0 by default.
    """

    tiers: TierRegistry
    rubric: str
    scale: Literal["1-10", "pass/fail"] = "1-10"
    tier: str = "mid"
    pass_at: float = 7.0
    max_output_tokens: int = 256
    temperature: float | None = 0.0
    name: str = "judge"

    def __repr__(self) -> str:
        return f"LLMJudge(tier={self.tier!r}, scale={self.scale!r}, rubric={self.rubric[:40]!r})"

    async def __call__(self, item: GradingInput) -> Grade:
        prompt = judge_prompt(item, self.rubric, self.scale)
        reply = await call_tier(self.tiers, self.tier, system=_SYSTEM, messages=(Message.user(prompt),),
                                max_output_tokens=self.max_output_tokens, temperature=self.temperature)
        details = {"prompt": prompt, "reply": reply.text, "tier": reply.tier, "model": reply.model,
                   "provider": reply.provider, "local": reply.local, "answered_by": reply.answered_by}
        cost = reply.cost_usd or 0.0
        if reply.cost_usd is None:
            details["price_unknown"] = True
        if self.scale == "1-10":
            rating = parse_rating(reply.text)
            if rating is None:
                return Grade(score=None, scale="1-10", status="unparseable", cost_usd=cost, details=details,
                             reason=f"judge {reply.model} gave no [[rating]] in 1–10: {reply.text[:120]!r}")
            return Grade(score=rating, scale="1-10", passed=rating >= self.pass_at, cost_usd=cost, details=details,
                         reason=f"judge {reply.model}: {rating:g}/10")
        verdict = parse_pass_fail(reply.text)
        if verdict is None:
            return Grade(score=None, scale="binary", status="unparseable", cost_usd=cost, details=details,
                         reason=f"judge {reply.model} gave no single [[PASS]]/[[FAIL]]: {reply.text[:120]!r}")
        return Grade(score=1.0 if verdict else 0.0, scale="binary", passed=verdict, cost_usd=cost, details=details,
                     reason=f"judge {reply.model}: {'PASS' if verdict else 'FAIL'}")
