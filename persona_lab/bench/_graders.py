"""Graders for live runs: exact match (GSM8K's final number, MMLU's letter) and an LLM judge.

The judge follows MT Bench's single-answer grading (FastChat's ``single-v1`` prompts,
Apache License 2.0, as quoted in RouteLLM's judgements): a 1–10 rating in ``[[n]]``, with a
reference answer for maths, reasoning and coding questions when the item has one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from persona_lab.bench._format import BenchmarkItem
from persona_lab.core import ChatRequest, Message, Usage, fold_stream
from persona_lab.tiers import Cost, TierRegistry

__all__ = [
    "Grade",
    "JudgeGrader",
    "answer_letter",
    "exact_match",
    "final_number",
    "judge_rating",
]

_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")
_HASHES = re.compile(r"####\s*\$?\s*(-?[\d,]*\.?\d+)")
_LETTER_PATTERNS = (
    re.compile(r"(?:answer|option|choice)\s*(?:is|:)?\s*\(?([A-J])\)?(?![A-Za-z])", re.IGNORECASE),
    re.compile(r"^\s*\(?([A-J])\)?(?:[.):]|\s|$)"),
    re.compile(r"\(([A-J])\)", re.IGNORECASE),
)
_RATING = re.compile(r"\[\[(\d+(?:\.\d+)?)\]\]")
_RATING_LOOSE = re.compile(r"\[(\d+(?:\.\d+)?)\]")


@dataclass(frozen=True, slots=True)
class Grade:
    """A grader's verdict: the score (None = could not grade), why, and what grading cost."""

    score: float | None
    reason: str
    cost_usd: float = 0.0


def final_number(text: str) -> str | None:
    """The final number of an answer: after ``####`` when present, else the last number (commas, $ dropped)."""
    match = _HASHES.search(text)
    if match:
        raw: str | None = match.group(1)
    else:
        numbers = _NUMBER.findall(text)
        raw = numbers[-1] if numbers else None
    if raw is None:
        return None
    raw = raw.replace(",", "").replace("$", "").rstrip(".")
    try:
        value = float(raw)
    except ValueError:
        return None
    return str(int(value)) if value.is_integer() else repr(value)


def answer_letter(text: str) -> str | None:
    """The option letter an answer gives ("Answer: B", "(B)", "B. …"), upper-case, or None."""
    for pattern in _LETTER_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1).upper()
    return None


def exact_match(item: BenchmarkItem, turn: int, answer: str) -> Grade:
    """1.0/0.0 against the item's reference: a letter (MMLU), a number (GSM8K), else normalised text."""
    reference = item.reference[turn] if turn < len(item.reference) else None
    if reference is None:
        return Grade(None, "no reference answer: cannot grade by exact match")
    ref = reference.strip()
    if re.fullmatch(r"[A-Ja-j]", ref):
        got = answer_letter(answer)
        return Grade(float(got == ref.upper()), f"letter {got} vs {ref.upper()}")
    if final_number(ref) is not None and re.fullmatch(r"[-$\d.,\s]+", ref):
        expected, got = final_number(ref), final_number(answer)
        return Grade(float(got is not None and expected is not None and float(got) == float(expected)),
                     f"number {got} vs {expected}")
    normal = " ".join(answer.lower().split())
    return Grade(float(normal == " ".join(ref.lower().split())), "normalised text")


def judge_rating(text: str) -> float | None:
    """The ``[[rating]]`` of a judge's reply (``[rating]`` as a fallback), or None."""
    match = _RATING.search(text) or _RATING_LOOSE.search(text)
    return float(match.group(1)) if match else None


_SYSTEM = "You are a helpful assistant."
_INSTRUCTION = (
    "Please act as an impartial judge and evaluate the quality of the response provided by an AI assistant to "
    "the user question displayed below. Your evaluation should consider factors such as the helpfulness, "
    "relevance, accuracy, depth, creativity, and level of detail of the response. Begin your evaluation by "
    "providing a short explanation. Be as objective as possible. After providing your explanation, you must "
    'rate the response on a scale of 1 to 10 by strictly following this format: "[[rating]]", for example: '
    '"Rating: [[5]]".'
)
_INSTRUCTION_REFERENCE = (
    "Please act as an impartial judge and evaluate the quality of the response provided by an AI assistant to "
    "the user question displayed below. Your evaluation should consider correctness and helpfulness. You will "
    "be given a reference answer and the assistant's answer. Begin your evaluation by comparing the "
    "assistant's answer with the reference answer. Identify and correct any mistakes. Be as objective as "
    "possible. After providing your explanation, you must rate the response on a scale of 1 to 10 by strictly "
    'following this format: "[[rating]]", for example: "Rating: [[5]]".'
)
_FOCUS = ("Your evaluation should focus on the assistant's answer to the second user question.")


def _judge_prompt(item: BenchmarkItem, turn: int, answers: Sequence[str]) -> str:
    references = [r for r in item.reference[: turn + 1]]
    use_reference = len(references) == turn + 1 and all(r is not None for r in references)
    instruction = _INSTRUCTION_REFERENCE if use_reference else _INSTRUCTION
    if turn == 0:
        parts = [f"[Instruction]\n{instruction}\n", f"[Question]\n{item.turns[0]}\n"]
        if use_reference:
            parts.append(f"[The Start of Reference Answer]\n{references[0]}\n[The End of Reference Answer]\n")
        parts.append(f"[The Start of Assistant's Answer]\n{answers[0]}\n[The End of Assistant's Answer]")
        return "\n".join(parts)
    lines = [f"[Instruction]\n{instruction} {_FOCUS}\n"]
    if use_reference:
        lines.append("<|The Start of Reference Answer|>\n")
        for k in range(turn + 1):
            lines.append(f"### User:\n{item.turns[k]}\n\n### Reference answer:\n{references[k]}\n")
        lines.append("<|The End of Reference Answer|>\n\n")
    lines.append("<|The Start of Assistant A's Conversation with User|>\n")
    for k in range(turn + 1):
        lines.append(f"### User:\n{item.turns[k]}\n\n### Assistant A:\n{answers[k]}\n")
    lines.append("<|The End of Assistant A's Conversation with User|>")
    return "\n".join(lines)


class JudgeGrader:
    """MT Bench-style 1–10 grading by a model of ``tier`` (its fallbacks apply), cost reported."""

    def __init__(self, tiers: TierRegistry, *, tier: str = "frontier", max_output_tokens: int = 512):
        self.tiers = tiers
        self.tier = tier
        self.max_output_tokens = max_output_tokens

    def __repr__(self) -> str:
        return f"JudgeGrader(tier={self.tier!r})"

    async def grade(self, item: BenchmarkItem, turn: int, answers: Sequence[str]) -> Grade:
        prompt = _judge_prompt(item, turn, answers)
        errors = []
        for tier, config in self.tiers.candidates(self.tier):
            request = ChatRequest(model=config.model, system=_SYSTEM, messages=(Message.user(prompt),),
                                  max_output_tokens=min(self.max_output_tokens, config.max_output_tokens),
                                  temperature=0.0)
            try:
                completion = await fold_stream(self.tiers.backend(config).stream(request))
            except Exception as exc:  # the next candidate may work
                errors.append(f"{tier}/{config.model}: {type(exc).__name__}: {exc}")
                continue
            usage = completion.usage
            if usage.input_tokens is None or usage.output_tokens is None:
                from persona_lab.core import estimate_tokens

                usage = Usage(
                    input_tokens=estimate_tokens(_SYSTEM + prompt), output_tokens=estimate_tokens(completion.text),
                )
            cost: Cost = self.tiers.prices.cost(config, usage)
            rating = judge_rating(completion.text)
            if rating is None:
                return Grade(None, f"judge {config.model} gave no [[rating]]", cost.usd or 0.0)
            return Grade(min(10.0, max(1.0, rating)), f"judge {config.model}", cost.usd or 0.0)
        return Grade(None, "every judge model failed: " + " | ".join(errors))
