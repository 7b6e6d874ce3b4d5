"""A learned verifier: P(answer is good | prompt, answer, peer answers), fitted on recorded outcomes.

Features: TF-IDF of the answer (words and word pairs), the cheap prompt features, answer
features (length, a final answer in the requested form, stated arithmetic and how much of it
is wrong, refusal/hedge, a non-integer or negative number answer, an answer that repeats a
number of the prompt) and, per peer slot, whether a peer answer exists and agrees. A logistic
regression on those (scikit-learn conventions: ``fit`` returns self, fitted attributes end in
``_``, :class:`~persona_lab.NotFittedError` before ``fit``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from persona_lab.core import NotFittedError, RouterError
from persona_lab.routers._answer_verifiers import (
    HEDGE_PATTERNS,
    AnswerScore,
    AnswerVerifier,
    requested_form,
)
from persona_lab.routers._arithmetic_check import arithmetic_statements
from persona_lab.routers._final_answer import final_answer
from persona_lab.routers._prompt_features import prompt_features
from persona_lab.routers._signals import compile_patterns
from persona_lab.routers._verifiers import REFUSAL_PATTERNS

__all__ = ["ANSWER_FEATURES", "LearnedVerifier", "answer_features"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

ANSWER_FEATURES: tuple[str, ...] = (
    "log_chars", "log_lines", "has_final", "log_statements", "wrong_statements", "wrong_share",
    "refusal", "hedge", "non_integer", "negative", "repeats_prompt_number",
)
"""The answer columns of :func:`answer_features`, in order."""

_NUMBERS = re.compile(r"\d+(?:\.\d+)?")


def answer_features(prompt: str, answer: str) -> list[float]:
    """:data:`ANSWER_FEATURES` for one answer."""
    refusal = compile_patterns(REFUSAL_PATTERNS)
    hedge = compile_patterns(HEDGE_PATTERNS)
    form = requested_form(prompt)
    value = final_answer(answer, form or "auto")
    statements = arithmetic_statements(answer)
    wrong = sum(1 for s in statements if not s.consistent)
    number: float | None
    try:
        number = float(value) if value is not None else None
    except ValueError:
        number = None
    prompt_numbers = {n.rstrip("0").rstrip(".") for n in _NUMBERS.findall(prompt.replace(",", ""))}
    repeats = value is not None and value.rstrip("0").rstrip(".") in prompt_numbers if number is not None else False
    return [
        math.log1p(len(answer)),
        math.log1p(answer.count("\n")),
        float(value is not None),
        math.log1p(len(statements)),
        float(wrong),
        wrong / len(statements) if statements else 0.0,
        float(refusal is not None and refusal.search(answer) is not None),
        float(hedge is not None and hedge.search(answer) is not None),
        float(number is not None and not float(number).is_integer()),
        float(number is not None and number < 0),
        float(repeats),
    ]


class LearnedVerifier(AnswerVerifier):
    """P(good | prompt, answer, peers) by logistic regression; accept when it reaches ``threshold``.

    Parameters
    ----------
    threshold:
        Accept answers with P(good) at least this.
    C:
        Inverse regularisation strength of the logistic regression.
    max_features:
        TF-IDF vocabulary size over the answers (0: no text features, only the dense ones).
    text_weight:
        Scale of the TF-IDF block against the standardised dense features.
    require_final_answer:
        An answer whose prompt asks for a final-answer form it does not give is scored
        ``no_answer`` (and escalates) instead of by the model.

    :meth:`fit` takes a frame with ``prompt``, ``answer``, ``good`` (bool or 0/1) and optionally
    ``peers`` (a list of other answers per row; rows may have fewer peers than others).
    Fitted attributes: ``n_peers_``, ``vectorizer_``, ``mean_``, ``scale_``, ``model_``,
    ``positive_rate_``, ``n_samples_fit_``.
    """

    def __init__(self, *, threshold: float = 0.5, C: float = 1.0, max_features: int = 20_000,
                 text_weight: float = 1.0, require_final_answer: bool = True):
        self.threshold = threshold
        self.C = C
        self.max_features = max_features
        self.text_weight = text_weight
        self.require_final_answer = require_final_answer

    @property
    def name(self) -> str:
        return "learned"

    # -- features ----------------------------------------------------------------------------------

    def _dense(self, prompts: Sequence[str], answers: Sequence[str],
               peers: Sequence[Sequence[str]], n_peers: int) -> FloatArray:
        rows = []
        for prompt, answer, mine in zip(prompts, answers, peers, strict=True):
            form = requested_form(prompt) or "auto"
            own = final_answer(answer, form)
            slots: list[float] = []
            for k in range(n_peers):
                present = k < len(mine)
                agree = present and own is not None and final_answer(mine[k], form) == own
                slots += [float(present), float(agree)]
            rows.append(answer_features(prompt, answer) + slots)
        dense = np.array(rows, dtype=np.float64).reshape(len(answers), -1)
        return np.hstack([prompt_features(prompts), dense])

    def _matrix(self, prompts: Sequence[str], answers: Sequence[str], peers: Sequence[Sequence[str]]) -> Any:
        dense = (self._dense(prompts, answers, peers, self.n_peers_) - self.mean_) / self.scale_
        if self.vectorizer_ is None:
            return dense
        text = self.vectorizer_.transform(list(answers)) * self.text_weight
        return sp.hstack([sp.csr_matrix(dense), text], format="csr")

    # -- fitting -----------------------------------------------------------------------------------

    def fit(self, frame: Any, y: None = None) -> LearnedVerifier:
        """Learn P(good) from ``frame`` (columns ``prompt``, ``answer``, ``good``, optional ``peers``)."""
        del y
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        missing = [c for c in ("prompt", "answer", "good") if c not in frame.columns]
        if missing:
            raise RouterError(f"LearnedVerifier.fit: the frame lacks column(s) {', '.join(missing)} "
                              f"(has: {', '.join(map(str, frame.columns))})")
        prompts = [str(p) for p in frame["prompt"]]
        answers = ["" if a is None else str(a) for a in frame["answer"]]
        labels = np.asarray(frame["good"], dtype=float).astype(int)
        if len(labels) == 0:
            raise RouterError("LearnedVerifier.fit: the frame has no rows")
        peers = [list(p) for p in frame["peers"]] if "peers" in frame.columns else [[] for _ in answers]
        self.n_peers_ = max((len(p) for p in peers), default=0)
        dense = self._dense(prompts, answers, peers, self.n_peers_)
        self.mean_ = dense.mean(axis=0)
        scale = dense.std(axis=0)
        scale[scale == 0] = 1.0
        self.scale_ = scale
        self.vectorizer_ = None
        if self.max_features > 0:
            self.vectorizer_ = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=self.max_features,
                                               sublinear_tf=True, dtype=np.float64)
            try:
                self.vectorizer_.fit(answers)
            except ValueError:  # every answer empty or unique words only
                self.vectorizer_ = None
        self.positive_rate_ = float(labels.mean())
        self.n_samples_fit_ = len(labels)
        if self.positive_rate_ in (0.0, 1.0):
            self.model_: Any = self.positive_rate_
            return self
        X = self._matrix(prompts, answers, peers)
        self.model_ = LogisticRegression(C=self.C, solver="liblinear", max_iter=1000).fit(X, labels)
        return self

    def _ready(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("LearnedVerifier is not fitted yet; call fit(frame) with prompt, answer, good first")

    # -- scoring -----------------------------------------------------------------------------------

    def predict_proba(self, prompts: Sequence[str], answers: Sequence[str],
                      peers: Sequence[Sequence[str]] | None = None) -> FloatArray:
        """P(good) per answer, shape (n,)."""
        self._ready()
        if isinstance(prompts, str) or isinstance(answers, str):
            raise RouterError("LearnedVerifier: pass lists of prompts and answers, not strings")
        peer_lists = [list(p) for p in peers] if peers is not None else [[] for _ in answers]
        if isinstance(self.model_, float):
            return np.full(len(answers), self.model_)
        X = self._matrix(prompts, answers, peer_lists)
        column = int(np.flatnonzero(self.model_.classes_ == 1)[0])
        return np.asarray(self.model_.predict_proba(X)[:, column], dtype=np.float64)

    def _status(self, prompt: str, answer: str) -> AnswerScore | None:
        if not answer.strip():
            return AnswerScore(score=0.0, reason="the answer is empty", status="no_answer")
        form = requested_form(prompt)
        if self.require_final_answer and form is not None and final_answer(answer, form) is None:
            return AnswerScore(score=0.0, reason=f"no final answer in the requested form ({form})",
                               status="no_answer")
        return None

    def score(self, prompt: str, answer: str, peers: Sequence[str] = ()) -> AnswerScore:
        self._ready()
        early = self._status(prompt, answer)
        if early is not None:
            return early
        p = float(self.predict_proba([prompt], [answer], [list(peers)])[0])
        return AnswerScore(score=p, reason=f"P(good) = {p:.2f}")

    def score_many(self, prompts: Sequence[str], answers: Sequence[str],
                   peers: Sequence[Sequence[str]] | None = None) -> list[AnswerScore]:
        """Batched: one model call for all answers; an answer whose features fail gets status ``error``."""
        if len(prompts) != len(answers) or (peers is not None and len(peers) != len(answers)):
            raise RouterError("LearnedVerifier.score_many: prompts, answers and peers differ in length")
        self._ready()
        peer_lists = [list(p) for p in peers] if peers is not None else [[] for _ in answers]
        try:
            probabilities = self.predict_proba(prompts, answers, peer_lists)
        except Exception:  # find the answers that fail one by one
            return super().score_many(prompts, answers, peer_lists)
        out = []
        for prompt, answer, p in zip(prompts, answers, probabilities, strict=True):
            early = self._status(prompt, answer)
            out.append(early if early is not None else AnswerScore(score=float(p), reason=f"P(good) = {p:.2f}"))
        return out
