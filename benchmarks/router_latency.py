"""Per-decision routing latency of every router, by prompt length.

Run on demand: ``python benchmarks/router_latency.py`` (about 15 s).

Targets from issue 3, at the median of every length bucket: rule-based ≤ 50 µs, constraint
≤ 100 µs, learned ≤ 2 ms per decision with the text embedding included. The prompts are the
bundled RouteLLM sets (MMLU, GSM8K, MT Bench, ``persona_lab.bench.load_suites()``) in three
buckets: short (< 200 characters), medium (200–1,000) and long (> 1,000). Each decision routes
one prompt through the real ``route(context)``. The learned routers are fitted on the MMLU and
GSM8K turns of the items whose prompts are not measured (Mixtral as small, GPT-4 as frontier).
Timings on a busy machine are slower and noisier: the load average is printed first.
The answer verifiers (issue 13) are timed last, one ``score(prompt, answer, peers)`` per recorded
answer of the bundled GSM8K and ZeroEval GSM8K sets.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from persona_lab import Persona, RoutingPreferences
from persona_lab.bench import UnitTable, load_suites
from persona_lab.core import RoutingContext, TierInfo
from persona_lab.routers import (
    CascadeRouter,
    ClassifierRouter,
    ConstraintRouter,
    HeuristicRouter,
    KNNRouter,
    MatrixFactorizationRouter,
    OracleRouter,
    RandomRouter,
    StickyRouter,
)

ROOT = Path(__file__).resolve().parents[1]
BUCKETS: dict[str, Callable[[int], bool]] = {
    "short": lambda n: n < 200,
    "medium": lambda n: 200 <= n <= 1000,
    "long": lambda n: n > 1000,
}
LEARNED_SUITES = ("mmlu", "gsm8k")  # 0/1 correctness; MT Bench's 1–10 ratings are another scale


def infos(tiers: tuple[str, ...]) -> dict[str, TierInfo]:
    prices = {"small": (0.1, 0.4), "mid": (1.0, 4.0), "frontier": (5.0, 15.0)}
    return {
        t: TierInfo(
            name=t, provider="openai", model=f"{t}-model", context_window=128_000, max_output_tokens=1024,
            supports_tools=True, input_per_mtok=prices[t][0], output_per_mtok=prices[t][1], price_source="override",
            usd_per_hour=None, latency_s=1.0, local=False,
        )
        for t in tiers
    }


def contexts(texts: Sequence[str], prefs: RoutingPreferences, tiers: tuple[str, ...]) -> list[RoutingContext]:
    tier_map = infos(tiers)
    return [
        RoutingContext(
            conversation_id=f"c{i}", turn_index=i % 7, message=text, history=(), prompt_tokens=400 + len(text) // 4,
            tools_needed=True, tool_names=("lookup_statute",), preferences=prefs, session_cost_usd=0.0,
            tiers=tier_map, persona_id="tenancy-advisor",
            metadata={"outcomes": {t: random.Random(i).random() for t in tiers}},
        )
        for i, text in enumerate(texts)
    ]


def measure(route: Callable[[RoutingContext], object], ctxs: Sequence[RoutingContext], rounds: int) -> list[float]:
    """Microseconds per decision, one sample per context per round (after one warm-up round)."""
    for ctx in ctxs:
        route(ctx)
    samples = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for ctx in ctxs:
            start = clock()
            route(ctx)
            samples.append((clock() - start) / 1000)
    return samples


async def review_latency(ctx: RoutingContext) -> list[float]:
    cascade = CascadeRouter()
    answers = ["Write to your landlord first and keep dated photos of the damp. Confidence: 0.8", "I don't know."]
    samples = []
    for i in range(400):
        decision = cascade.route(ctx)
        start = time.perf_counter_ns()
        await cascade.review(ctx, decision, answers[i % 2])
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def split_prompts(per_bucket: int, seed: int) -> tuple[dict[str, list[str]], pd.DataFrame, str]:
    """Measured prompts per bucket (from a quarter of the items) and a training frame from the rest."""
    rng = random.Random(seed)
    measured: list[str] = []
    training: list[pd.DataFrame] = []
    for benchmark in load_suites():
        units = UnitTable.from_set(benchmark)
        held_out = np.zeros(units.n_items, dtype=bool)
        held_out[rng.sample(range(units.n_items), units.n_items // 4)] = True
        rows = held_out[units.item_index]
        measured.extend(units.texts[i] for i in np.flatnonzero(rows))
        if benchmark.suite in LEARNED_SUITES:
            training.append(units.training_frame(~rows))
    rng.shuffle(measured)
    buckets = {name: [t for t in measured if fits(len(t))][:per_bucket] for name, fits in BUCKETS.items()}
    frame = pd.concat(training, ignore_index=True)
    source = f"{', '.join(LEARNED_SUITES)} ({len(frame)} training turns)"
    return buckets, frame, source


def cell(samples: list[float]) -> str:
    return f"{statistics.median(samples):>9.1f} {float(np.percentile(samples, 95)):>8.1f}"


def row(name: str, by_bucket: dict[str, list[float]], budget_us: float, note: str = "") -> str:
    over = [b for b, s in by_bucket.items() if statistics.median(s) > budget_us]
    verdict = "ok" if not over else f"OVER ({', '.join(over)})"
    cells = " ".join(cell(s) for s in by_bucket.values())
    return f"{name:<32} {budget_us:>7.0f} {cells}   {verdict}{note}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-bucket", type=int, default=300, help="prompts measured per length bucket")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the prompts (learned routers: 1)")
    parser.add_argument("--train", type=int, default=8000, help="training turns for the learned routers (at most)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load} on {os.cpu_count()} CPUs")
    buckets, frame, source = split_prompts(args.per_bucket, args.seed)
    sizes = ", ".join(f"{name} {len(texts)}" for name, texts in buckets.items())
    print(f"bundled prompts per bucket: {sizes} (short < 200 chars, medium 200–1,000, long > 1,000)\n")
    print(f"{'':<40}" + "".join(f"{name:>18}" for name in buckets))
    columns = f"{'median':>10} {'p95':>8}" * len(buckets)
    print(f"{'router (µs per decision)':<32} {'budget':>7}{columns}   verdict")

    persona = Persona.from_yaml(ROOT / "examples" / "personas" / "tenancy_advisor.yaml")
    three = ("small", "mid", "frontier")
    rule_ctx = {name: contexts(texts, persona.routing, three) for name, texts in buckets.items()}
    rule_based: list[tuple[str, Callable[[RoutingContext], object], float]] = [
        ("RandomRouter", RandomRouter(seed=1).route, 50),
        ("OracleRouter", OracleRouter().route, 50),
        ("HeuristicRouter (rule-based)", HeuristicRouter().route, 50),
        ("CascadeRouter.route", CascadeRouter().route, 50),
        ("ConstraintRouter", ConstraintRouter().route, 100),
        ("StickyRouter(ConstraintRouter)", StickyRouter(ConstraintRouter()).route, 100),
    ]
    for name, route, budget in rule_based:
        print(row(name, {b: measure(route, ctxs, args.rounds) for b, ctxs in rule_ctx.items()}, budget), flush=True)
    review = asyncio.run(review_latency(rule_ctx["medium"][0]))
    print(f"CascadeRouter.review (rule checks, per answer): median {statistics.median(review):.1f} µs, "
          f"p95 {float(np.percentile(review, 95)):.1f} µs (budget 2000)")

    train = frame.sample(n=min(args.train, len(frame)), random_state=args.seed)
    print(f"\nlearned routers fitted on {len(train)} turns of {source}; two tiers (small, frontier)")
    two = ("small", "frontier")
    learned_ctx = {name: contexts(texts, RoutingPreferences(), two) for name, texts in buckets.items()}
    everything = [t for texts in buckets.values() for t in texts]
    for name, router in (
        ("KNNRouter (TF-IDF)", KNNRouter()),
        ("KNNRouter (hashing)", KNNRouter(embedder="hashing")),
        ("ClassifierRouter (TF-IDF)", ClassifierRouter()),
        ("MatrixFactorizationRouter", MatrixFactorizationRouter(epochs=30)),
    ):
        start = time.perf_counter()
        router.fit(train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        router.score_texts(everything)
        batch_us = (time.perf_counter() - start) / len(everything) * 1e6
        samples = {b: measure(router.route, ctxs, 1) for b, ctxs in learned_ctx.items()}
        print(row(name, samples, 2000, f"  (fit {fit_s:.1f} s, score_texts {batch_us:.0f} µs/text)"), flush=True)
    verifier_latency(args.seed)


def verifier_latency(seed: int) -> None:
    """Per-decision latency of each answer verifier's ``score(prompt, answer, peers)`` on bundled answers.

    Answers: the small model's recorded answers of the bundled GSM8K (Mixtral) and ZeroEval GSM8K
    (Llama-3.1-8B), the peer for agreement the mid/strong model's answer to the same prompt; the
    learned verifier is fitted on the other half of the items.
    """
    from persona_lab.bench import AnswerTable, load_suite
    from persona_lab.routers import (
        AgreementVerifier,
        ArithmeticVerifier,
        CombinedVerifier,
        FinalAnswerVerifier,
        LearnedVerifier,
        ParseVerifier,
        RefusalVerifier,
    )

    rows: list[tuple[str, str, str]] = []
    for suite in ("gsm8k", "zeroeval_gsm8k"):
        benchmark = load_suite(suite)
        no_costs = {t: np.zeros(len(benchmark.items)) for t in benchmark.tier_models}  # latency only
        table = AnswerTable.from_set(benchmark, costs=no_costs)
        weak, peer = table.tiers[0], table.tiers[1]
        rng = np.random.default_rng(seed)
        measured = rng.random(len(table)) < 0.5
        train = table.rows(~measured)
        fitted = LearnedVerifier().fit(pd.DataFrame({
            "prompt": list(train.prompts), "answer": list(train.answers[weak]),
            "good": train.scores[weak] >= train.scores[table.tiers[-1]],
            "peers": [[a] for a in train.answers[peer]]}))
        index = np.flatnonzero(measured)[:400]
        cases = [(table.prompts[i], table.answers[weak][i], [table.answers[peer][i]]) for i in index]
        verifiers = {
            "FinalAnswerVerifier": FinalAnswerVerifier(), "ArithmeticVerifier": ArithmeticVerifier(),
            "ParseVerifier": ParseVerifier(), "RefusalVerifier": RefusalVerifier(),
            "AgreementVerifier": AgreementVerifier(), "LearnedVerifier": fitted,
            "Agreement+Learned (combined)": CombinedVerifier(parts=[AgreementVerifier(), fitted]),
        }
        for name, verifier in verifiers.items():
            for prompt, answer, peers in cases[:20]:  # warm-up
                verifier.score(prompt, answer, peers)
            samples = []
            for prompt, answer, peers in cases:
                start = time.perf_counter_ns()
                verifier.score(prompt, answer, peers)
                samples.append((time.perf_counter_ns() - start) / 1000)
            rows.append((name, suite, cell(samples)))
    print(f"\n{'verifier (µs per answer, score())':<32} {'answers of':<16} {'median':>9} {'p95':>8}")
    for name, suite, timing in rows:
        print(f"{name:<32} {suite:<16} {timing}")


if __name__ == "__main__":
    main()
