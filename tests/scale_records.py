"""Synthetic turn logs for the scale tests (a test helper module)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from persona_lab.core import Attempt, TurnLog

TIERS = ("small", "mid", "frontier")
PRICES = {"small": 0.0002, "mid": 0.002, "frontier": 0.02}


def synthetic_turns(n: int, *, seed: int = 0, personas: int = 3, days: int = 3) -> list[TurnLog]:
    """``n`` turn logs with realistic spreads: tiers, failures, fallbacks, unknown prices, scores, ünïcode."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, 23, 0, tzinfo=UTC)
    records = []
    for i in range(n):
        requested = rng.choice(TIERS)
        failed = rng.random() < 0.05
        fell_back = not failed and rng.random() < 0.1
        tier = None if failed else ("mid" if fell_back and requested != "mid" else requested)
        priced = rng.random() > 0.05
        cost = PRICES[tier] * rng.uniform(0.5, 2.0) if tier and priced else None
        prompt = f"question {i % 40} — ünïcode ✓"
        records.append(TurnLog(
            conversation_id=f"c{i // 4}", turn_index=i % 4,
            timestamp=(start + timedelta(minutes=37 * i % (days * 1440))).isoformat(),
            persona_id=f"persona/{i % personas}", router_name=rng.choice(["knn", "heuristic"]),
            requested_tier=requested, tier=tier, decision_reason="r", latency_s=rng.uniform(0.1, 3.0),
            user_text=prompt, fallback_from=requested if fell_back and tier != requested else None,
            fallback_to=tier if fell_back and tier != requested else None,
            gen_ai_usage_input_tokens=rng.randint(10, 500), gen_ai_usage_output_tokens=rng.randint(5, 300),
            ttft_s=None if failed else rng.uniform(0.05, 1.0), cost_usd=cost, total_cost_usd=cost,
            price_source="genai-prices" if priced else "unknown",
            attempts=(Attempt(tier=tier or requested, provider="openai", model="m", outcome="accepted"),),
            error="boom" if failed else None, error_type="ProviderError" if failed else None,
            labels={"item_id": f"item-{i % 40}", "suite": "s", "variant": f"v{i % 2}"},
            scores={} if failed else {"score": float(rng.random() < 0.7), "grade.tone": rng.random()},
        ))
    return records
