"""An offline estimate of how hard a turn is, on [0, 1], with the parts that make it up.

Small talk is 0 and safety or identity turns are 1, so the whole range is used and every
tier of a sweet-spot router can win. Between those, length, reasoning words, code or maths,
several questions and tool use add up from a base of 0.3.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from persona_lab.core import RoutingContext, estimate_tokens
from persona_lab.routers._signals import (
    IDENTITY_PATTERNS,
    REASONING_PATTERNS,
    SAFETY_PATTERNS,
    SMALL_TALK_WORDS,
    is_small_talk,
    looks_like_code_or_math,
)
from persona_lab.routers._word_patterns import CombinedSearch, ScanText, WordPatterns, word_patterns

__all__ = ["Difficulty", "estimate_difficulty"]


def _group(patterns: tuple[str, ...]) -> WordPatterns:
    found = word_patterns(patterns)
    assert found is not None, "the default pattern lists are not empty"
    return found


@functools.cache
def _signals() -> CombinedSearch:
    """Safety and identity need one match (the turn is critical), reasoning every distinct one.

    Built on first use: compiling the groups takes milliseconds an import should not pay.
    """
    return CombinedSearch(
        [_group(SAFETY_PATTERNS), _group(IDENTITY_PATTERNS), _group(REASONING_PATTERNS)],
        first_only=(True, True, False),
    )


_LONG_TOKENS = 400
_SMALL_TALK_MAX_WORDS = 8


@dataclass(frozen=True, slots=True)
class Difficulty:
    """A difficulty on [0, 1] and the reason it has that value."""

    value: float
    kind: str
    length: float = 0.0
    reasoning: float = 0.0
    code_or_math: float = 0.0
    questions: float = 0.0
    tools: float = 0.0


def estimate_difficulty(context: RoutingContext) -> Difficulty:
    """Estimate how hard ``context.message`` is to answer well (no model, no download)."""
    text = context.message
    scan = ScanText(text)
    safety, identity, reasoning_hits = _signals().matches(scan, until=2)
    if safety or identity:
        return Difficulty(1.0, "critical")
    short = scan.word_count() <= _SMALL_TALK_MAX_WORDS
    if short and is_small_talk(scan.words(), SMALL_TALK_WORDS, _SMALL_TALK_MAX_WORDS):
        return Difficulty(0.0, "small_talk")
    tokens = estimate_tokens(text)
    length = 0.25 * min(1.0, math.log1p(tokens) / math.log1p(_LONG_TOKENS))
    hits = {m.group(0).lower() for m in reasoning_hits}
    reasoning = min(0.4, 0.2 * len(hits))
    code = 0.15 if looks_like_code_or_math(text) else 0.0
    questions = min(0.1, 0.05 * max(0, text.count("?") - 1))
    tools = 0.05 if context.tools_needed else 0.0
    value = min(1.0, 0.3 + length + reasoning + code + questions + tools)
    return Difficulty(value, "estimated", length, reasoning, code, questions, tools)
