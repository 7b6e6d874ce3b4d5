"""Scored answer verifiers: judge a cheaper tier's answer with a score, so a threshold can be swept.

Every verifier here scores an answer on [0, 1] (higher: more likely good) and accepts it when
the score reaches its ``threshold``. ``score(prompt, answer, peers)`` is the offline protocol
(``peers``: other answers to the same prompt, e.g. the cheaper tiers already paid for);
``check(context, tier, answer)`` makes each one a :class:`~persona_lab.routers.Verifier` for
the :class:`~persona_lab.routers.CascadeRouter` in live runs.

Bad input never becomes a silent number: an answer with no parseable final answer gets status
``no_answer`` and a verifier that raises on one answer gets status ``error``; both escalate, and
:meth:`AnswerVerifier.score_many` returns them for counting.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from persona_lab.core import RouterError, RoutingContext
from persona_lab.routers._arithmetic_check import arithmetic_statements
from persona_lab.routers._final_answer import ANSWER_KINDS, final_answer
from persona_lab.routers._params import RouterParams
from persona_lab.routers._signals import compile_patterns, first_match
from persona_lab.routers._verifiers import REFUSAL_PATTERNS, Check

__all__ = [
    "HEDGE_PATTERNS",
    "STATUSES",
    "AnswerScore",
    "AnswerVerifier",
    "ArithmeticVerifier",
    "FinalAnswerVerifier",
    "ParseVerifier",
    "RefusalVerifier",
    "requested_form",
]

STATUSES = ("ok", "no_answer", "error")
"""``ok``: scored; ``no_answer``: no parseable final answer (escalates); ``error``: the verifier raised."""

HEDGE_PATTERNS: tuple[str, ...] = (
    r"I(?:'m| am) not (?:sure|certain|confident)",
    r"I(?: might| may) be (?:wrong|mistaken)",
    r"(?:it is|it's) (?:unclear|not clear|hard to say|difficult to determine)",
    r"(?:cannot|can't|can not) be determined",
    r"not enough information",
    r"(?:double[- ]check|verify) (?:this|the answer|my answer)",
)
"""Answers that hedge: the model itself doubts them."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AnswerScore:
    """One verifier's score for one answer (``status`` in :data:`STATUSES`)."""

    score: float
    reason: str
    status: str = "ok"


class AnswerVerifier(RouterParams):
    """Base: ``score`` one answer; accept when ``status == "ok"`` and ``score >= threshold``."""

    threshold: float

    @property
    def name(self) -> str:
        return type(self).__name__.removesuffix("Verifier").lower()

    def score(self, prompt: str, answer: str, peers: Sequence[str] = ()) -> AnswerScore:
        raise NotImplementedError

    def _ready(self) -> None:
        """Raise before scoring a batch when the verifier cannot score at all (not fitted...)."""

    def score_many(
        self, prompts: Sequence[str], answers: Sequence[str], peers: Sequence[Sequence[str]] | None = None
    ) -> list[AnswerScore]:
        """Score every answer; one that raises gets status ``error`` (score 0), the rest go on."""
        if len(prompts) != len(answers) or (peers is not None and len(peers) != len(answers)):
            raise RouterError(f"{type(self).__name__}.score_many: prompts, answers and peers differ in length")
        self._ready()
        out: list[AnswerScore] = []
        for n, (prompt, answer) in enumerate(zip(prompts, answers, strict=True)):
            try:
                out.append(self.score(prompt, answer, () if peers is None else peers[n]))
            except Exception as exc:  # one bad answer escalates; it is counted, never silently scored
                out.append(AnswerScore(score=0.0, reason=f"verifier failed: {type(exc).__name__}: {exc}",
                                       status="error"))
        return out

    def accepts(self, result: AnswerScore) -> bool:
        return result.status == "ok" and result.score >= self.threshold

    async def _peers(self, context: RoutingContext, tier: str, answer: str) -> tuple[list[str], Check | None]:
        """Peer answers for a live check (none by default) and what getting them cost."""
        return [], None

    async def check(self, context: RoutingContext, tier: str, answer: str) -> Check:
        """The live protocol: score ``answer``; a failure of the verifier escalates."""
        try:
            peers, paid = await self._peers(context, tier, answer)
            result = self.score(context.message, answer, peers)
        except Exception as exc:
            return Check(False, f"{self.name} verifier failed ({type(exc).__name__}: {exc}); escalating")
        passed = self.accepts(result)
        relation = ">=" if passed else "<"
        reason = f"{self.name} {result.score:.2f} {relation} {self.threshold:g}: {result.reason}"
        if result.status != "ok":
            reason = f"{self.name}: {result.reason} ({result.status})"
        if paid is None:
            return Check(passed, reason)
        return Check(passed, reason, paid.cost_usd, paid.input_tokens, paid.output_tokens)


def requested_form(prompt: str) -> str | None:
    """The final-answer form a prompt asks for: ``json``, ``letter`` (options), ``number``, or None."""
    if re.search(r"\bjson\b", prompt, re.IGNORECASE):
        return "json"
    if len(re.findall(r"(?m)^\s*\(?[A-J][.)]\s+\S", prompt)) >= 2:
        return "letter"
    if re.search(r"\d", prompt) and re.search(r"\b(?:how (?:many|much|long|far|old)|what is|calculate|find)\b",
                                              prompt, re.IGNORECASE):
        return "number"
    return None


class FinalAnswerVerifier(AnswerVerifier):
    """Accept answers that state a final answer in the form the prompt asks for.

    ``kind="auto"`` reads the form from the prompt (:func:`requested_form`); a prompt that asks
    for none passes every non-empty answer.
    """

    def __init__(self, *, kind: str = "auto", threshold: float = 0.5):
        self.kind = kind
        self.threshold = threshold
        if kind not in ANSWER_KINDS:
            raise RouterError(f"FinalAnswerVerifier: kind must be one of {', '.join(ANSWER_KINDS)}, got {kind!r}")

    def score(self, prompt: str, answer: str, peers: Sequence[str] = ()) -> AnswerScore:
        form = requested_form(prompt) if self.kind == "auto" else self.kind
        if not answer.strip():
            return AnswerScore(score=0.0, reason="the answer is empty", status="no_answer")
        if form is None:
            return AnswerScore(score=1.0, reason="the prompt asks for no particular final-answer form")
        value = final_answer(answer, form)
        if value is None:
            return AnswerScore(score=0.0, reason=f"no final answer in the requested form ({form})", status="no_answer")
        return AnswerScore(score=1.0, reason=f"final answer {value!r} ({form})")


class ArithmeticVerifier(AnswerVerifier):
    """Re-evaluate every ``a op b = c`` a worked solution states; score = share that is consistent."""

    def __init__(self, *, threshold: float = 1.0):
        self.threshold = threshold

    def score(self, prompt: str, answer: str, peers: Sequence[str] = ()) -> AnswerScore:
        statements = arithmetic_statements(answer)
        if not statements:
            return AnswerScore(score=1.0, reason="no arithmetic stated")
        wrong = [s for s in statements if not s.consistent]
        share = 1.0 - len(wrong) / len(statements)
        if not wrong:
            return AnswerScore(score=share, reason=f"{len(statements)} computations, all consistent")
        first = wrong[0]
        return AnswerScore(score=share, reason=f"{len(wrong)}/{len(statements)} computations wrong "
                                               f"({first.expression} = {first.stated:g}, not {first.computed:g})")


_JSON_BLOCK = re.compile(r"```json\s*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_CODE_BLOCK = re.compile(r"```(?:python|py)\s*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def _json_candidates(prompt: str, answer: str) -> list[str]:
    blocks = _JSON_BLOCK.findall(answer)
    if blocks:
        return list(blocks)
    stripped = answer.strip()
    if requested_form(prompt) == "json" or stripped.startswith(("{", "[")):
        start, end = stripped.find("{"), stripped.rfind("}")
        return [stripped[start : end + 1]] if 0 <= start < end else [stripped]
    return []


class ParseVerifier(AnswerVerifier):
    """Accept answers whose JSON (```json blocks, or a JSON answer when asked) and Python blocks parse."""

    def __init__(self, *, threshold: float = 1.0):
        self.threshold = threshold

    def score(self, prompt: str, answer: str, peers: Sequence[str] = ()) -> AnswerScore:
        failed: list[str] = []
        total = 0
        for block in _json_candidates(prompt, answer):
            total += 1
            try:
                json.loads(block)
            except json.JSONDecodeError as exc:
                failed.append(f"JSON: {exc.msg} at line {exc.lineno}")
        for block in _CODE_BLOCK.findall(answer):
            total += 1
            try:
                ast.parse(block)
            except SyntaxError as exc:
                failed.append(f"Python: {exc.msg} at line {exc.lineno}")
        if total == 0:
            return AnswerScore(score=1.0, reason="nothing to parse")
        share = 1.0 - len(failed) / total
        return AnswerScore(score=share, reason="; ".join(failed) or f"{total} blocks parse")


class RefusalVerifier(AnswerVerifier):
    """Score 0 for a refusal, 0.5 for a hedge, 1 otherwise (default threshold: both escalate)."""

    def __init__(self, *, threshold: float = 0.75, refusal_patterns: Sequence[str] = REFUSAL_PATTERNS,
                 hedge_patterns: Sequence[str] = HEDGE_PATTERNS):
        self.threshold = threshold
        self.refusal_patterns = refusal_patterns
        self.hedge_patterns = hedge_patterns

    def score(self, prompt: str, answer: str, peers: Sequence[str] = ()) -> AnswerScore:
        if not answer.strip():
            return AnswerScore(score=0.0, reason="the answer is empty", status="no_answer")
        refusal = first_match(compile_patterns(tuple(self.refusal_patterns)), answer)
        if refusal is not None:
            return AnswerScore(score=0.0, reason=f"the answer refuses ({refusal!r})")
        hedge = first_match(compile_patterns(tuple(self.hedge_patterns)), answer)
        if hedge is not None:
            return AnswerScore(score=0.5, reason=f"the answer hedges ({hedge!r})")
        return AnswerScore(score=1.0, reason="no refusal or hedge")
