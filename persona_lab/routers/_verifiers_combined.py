"""Several verifiers as one: a weighted mean of their scores (learned parts fitted together).

A part that cannot read the answer (``no_answer``) or fails (``error``) makes the combined
status the same (the answer escalates and is counted); otherwise the score is the weighted
mean of the parts' scores, so the threshold sweeps one combined signal. Agreement (0/1) plus a
learned P(good) gives a lexicographic-like order: agreeing answers first, ranked by P(good).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from persona_lab.core import RouterError
from persona_lab.routers._answer_verifiers import AnswerScore, AnswerVerifier

__all__ = ["CombinedVerifier"]


class CombinedVerifier(AnswerVerifier):
    """Score = Σ weight·part score / Σ weight; accept at ``threshold``.

    ``fit(frame)`` fits (clones of) the parts that have ``fit`` on the same frame.
    """

    def __init__(self, *, parts: Sequence[Any], weights: Sequence[float] | None = None, threshold: float = 0.5):
        self.parts = parts
        self.weights = weights
        self.threshold = threshold
        if not parts:
            raise RouterError("CombinedVerifier needs at least one part")
        if weights is not None and (len(weights) != len(parts) or any(w < 0 for w in weights) or sum(weights) <= 0):
            raise RouterError(f"CombinedVerifier: weights must be {len(parts)} non-negative numbers with a "
                              f"positive sum, got {list(weights)}")
        for part in parts:
            if not callable(getattr(part, "score", None)):
                raise RouterError(f"CombinedVerifier: part {part!r} has no score(prompt, answer, peers) method")

    @property
    def name(self) -> str:
        return "+".join(getattr(p, "name", type(p).__name__) for p in self.parts)

    def _weights(self) -> list[float]:
        return [1.0] * len(self.parts) if self.weights is None else [float(w) for w in self.weights]

    def fit(self, frame: Any, y: None = None) -> CombinedVerifier:
        from sklearn.base import clone

        del y
        parts = [clone(p).fit(frame) if callable(getattr(p, "fit", None)) else p for p in self.parts]
        return CombinedVerifier(parts=parts, weights=self.weights, threshold=self.threshold)

    def _ready(self) -> None:
        for part in self.parts:
            ready = getattr(part, "_ready", None)
            if callable(ready):
                ready()

    def _combine(self, results: Sequence[AnswerScore]) -> AnswerScore:
        for status in ("error", "no_answer"):
            bad = [r for r in results if r.status == status]
            if bad:
                return AnswerScore(score=0.0, reason=bad[0].reason, status=status)
        weights = self._weights()
        score = sum(w * r.score for w, r in zip(weights, results, strict=True)) / sum(weights)
        return AnswerScore(score=score, reason="; ".join(r.reason for r in results))

    def score(self, prompt: str, answer: str, peers: Sequence[str] = ()) -> AnswerScore:
        return self._combine([p.score(prompt, answer, peers) for p in self.parts])

    def score_many(self, prompts: Sequence[str], answers: Sequence[str],
                   peers: Sequence[Sequence[str]] | None = None) -> list[AnswerScore]:
        """Each part scores the batch its own (possibly batched) way; a failing part's answer is an error."""
        self._ready()
        per_part = [p.score_many(prompts, answers, peers) for p in self.parts]
        return [self._combine(list(row)) for row in zip(*per_part, strict=True)]
