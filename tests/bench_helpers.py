"""Builders shared by the benchmark tests (no tests here): small sets and a RouteLLM-layout folder."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from persona_lab.bench import BenchmarkItem, BenchmarkSet, ModelSpec, TurnOutcome
from persona_lab.core import RoutingContext, RoutingDecision
from persona_lab.tiers import Price

WEAK = "weak-model"
STRONG = "strong-model"
TIERS = ("small", "mid", "frontier")
MODELS = {
    WEAK: ModelSpec(WEAK, tier="small", role="weak", price=Price(1.0, 1.0)),
    STRONG: ModelSpec(STRONG, tier="frontier", role="strong", price=Price(10.0, 30.0)),
}


def synthetic_set(n_items: int = 40, *, turns: int = 1, seed: int = 0, suite: str = "synth",
                  scale: str = "binary") -> BenchmarkSet:
    """Items whose text says how hard they are: only the strong model gets ``hard`` ones right, only
    the weak one ``tricky`` ones (so the oracle beats the strong model), both ``easy`` ones."""
    rng = np.random.default_rng(seed)
    items = []
    for n in range(n_items):
        draw = rng.random()
        kind = "hard" if draw < 0.4 else ("tricky" if draw < 0.5 else "easy")
        hard = kind == "hard"
        texts = tuple(f"{kind} question {n} part {k} about topic{n % 5}" for k in range(turns))
        weak_score = 0.0 if hard else 1.0
        strong_score = 0.0 if kind == "tricky" else 1.0
        if scale != "binary":
            weak_score, strong_score = 3.0 + 6.0 * weak_score, 2.0 + 7.0 * strong_score
        outcomes = {
            WEAK: tuple(TurnOutcome(weak_score, f"weak answer {n}.{k}") for k in range(turns)),
            STRONG: tuple(TurnOutcome(strong_score, f"strong answer {n}.{k}") for k in range(turns)),
        }
        items.append(BenchmarkItem(f"{suite}-{n:03d}", suite, kind, texts, outcomes))
    return BenchmarkSet(suite=suite, scale=scale, models=dict(MODELS), items=tuple(items))


class KeywordThresholdRouter:
    """A threshold router (the agreed sweep interface): score = share of the word 'hard' in the text."""

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold

    name = "keyword"

    def score_texts(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
        return np.array([1.0 if "hard" in t else 0.0 for t in texts]) + np.array([len(t) % 7 / 100 for t in texts])

    def route(self, context: RoutingContext) -> RoutingDecision:
        score = float(self.score_texts([context.message])[0])
        tier = "frontier" if score >= self.threshold else "small"
        return RoutingDecision(tier=tier, reason=f"score {score:.2f}")


def write_routellm_layout(root: Path) -> Path:
    """A miniature RouteLLM ``evals`` folder: GSM8K, two MMLU subjects, MT Bench with judgements."""
    weak, strong = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"
    gsm = root / "gsm8k"
    gsm.mkdir(parents=True)
    rows = [
        ("Tom has 3 apples and buys 4. How many?", "True", "True", "3 + 4 = 7\n#### 7", "He has 7 apples."),
        ("A pen costs $2. What do 5 cost?", "False", "True", "#### 12", "5 * 2 = $10. The answer is 10."),
        ("What is 6 times 7?", "False", "False", "#### 40", "It is 41."),
        ("Contaminated: what is 1 + 1?", "True", "True", "#### 2", "2"),
    ]
    with (gsm / "gsm8k_responses.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", weak, strong, f"{weak}_response", f"{strong}_response"])
        writer.writerows(rows)
    (gsm / "contaminated_prompts.jsonl").write_text(json.dumps({"eval_prompt": rows[3][0]}) + "\n")
    mmlu = root / "mmlu"
    mmlu.mkdir()
    for subject, flags in (("anatomy", [("True", "True"), ("False", "True")]),
                           ("virology", [("True", "False"), ("False", "False")])):
        with (mmlu / f"mmlu_{subject}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["prompt", weak, strong])
            for n, (w, s) in enumerate(flags):
                writer.writerow([f"{subject} question {n}?\nA. one\nB. two\nAnswer:", w, s])
    (mmlu / "contaminated_prompts.jsonl").write_text(
        json.dumps({"eval_prompt": "virology question 1?\nA. one\nB. two\nAnswer:"}) + "\n")
    mt = root / "mt_bench"
    mt.mkdir()
    questions = [
        {"question_id": 82, "category": "writing", "turns": ["Write an email.", "Now shorten it."]},
        {"question_id": 114, "category": "math", "turns": ["Roll two dice: P(sum >= 3)?", "And even or >= 3?"]},
        {"question_id": 90, "category": "roleplay", "turns": ["Contaminated prompt.", "More."]},
    ]
    (mt / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    (mt / "contaminated_prompts.jsonl").write_text(json.dumps({"eval_prompt": "Contaminated prompt."}) + "\n")
    judgements = []
    for q in questions:
        for model, scores in ((strong, (10, 9)), (weak, (8, 4))):
            first = f"{model} first answer to {q['question_id']}"
            second = f"{model} second answer to {q['question_id']}"
            judgements.append({
                "question_id": q["question_id"], "model": model, "judge": ["gpt-4", "single-v1"], "turn": 1,
                "score": scores[0], "judgment": "Rating: [[x]]",
                "user_prompt": f"[Instruction]\nJudge.\n\n[Question]\n{q['turns'][0]}\n\n[The Start of Assistant's "
                               f"Answer]\n{first}\n[The End of Assistant's Answer]"})
            judgements.append({
                "question_id": q["question_id"], "model": model, "judge": ["gpt-4", "single-v1-multi-turn"],
                "turn": 2, "score": scores[1], "judgment": "Rating: [[x]]",
                "user_prompt": f"<|The Start of Assistant A's Conversation with User|>\n\n### User:\n{q['turns'][0]}"
                               f"\n\n### Assistant A:\n{first}\n\n### User:\n{q['turns'][1]}\n\n### Assistant A:\n"
                               f"{second}\n\n<|The End of Assistant A's Conversation with User|>"})
    (mt / "judgements.jsonl").write_text("".join(json.dumps(j) + "\n" for j in judgements))
    (mt / "reference_answer_gpt-4.jsonl").write_text(json.dumps(
        {"question_id": 114, "choices": [{"index": 0, "turns": ["35/36", "35/36 as well"]}]}) + "\n")
    return root


def three_tier_set(n_items: int = 90, *, seed: int = 0, suite: str = "synth3") -> BenchmarkSet:
    """Easy items: every tier right; medium: mid and frontier; hard: only frontier. The text says which."""
    rng = np.random.default_rng(seed)
    items = []
    for n in range(n_items):
        kind = ("easy", "medium", "hard")[int(rng.integers(0, 3))]
        right = {"easy": (1, 1, 1), "medium": (0, 1, 1), "hard": (0, 0, 1)}[kind]
        outcomes = {f"m-{tier}": (TurnOutcome(float(r), f"{tier} answer {n}"),) for tier, r in zip(TIERS, right,
                                                                                                    strict=True)}
        items.append(BenchmarkItem(f"{suite}-{n:03d}", suite, kind, (f"{kind} problem number {n} topic{n % 4}",),
                                   outcomes))
    prices = {"small": Price(0.1, 0.1), "mid": Price(1.0, 1.0), "frontier": Price(10.0, 10.0)}
    models = {f"m-{t}": ModelSpec(name=f"m-{t}", tier=t, price=prices[t]) for t in TIERS}
    return BenchmarkSet(suite=suite, scale="binary", models=models, items=tuple(items))
