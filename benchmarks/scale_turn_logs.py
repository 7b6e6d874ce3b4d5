"""Turn-log analysis at production scale: DuckDB out of core versus pandas in memory.

Writes N synthetic turn-log rows (realistic columns and cardinalities: 30 days, 8 personas,
3 tiers, 6 models, ~25% distinct conversations, 50,000 distinct prompts of ~200 characters, 2%
failures, 5% fallbacks, lognormal latencies) as a partitioned Parquet dataset in the documented
schema, then answers two questions each way — cost per tier per day, and latency p50/p95 per
tier — and prints wall time and peak memory (each run in its own process, its own peak RSS):

- ``duckdb``: ``persona_lab.scale.cost_summary`` / ``latency_summary`` on the dataset folder;
- ``pandas``: what a user does without the extra — load the dataset into one frame, group by.

pandas runs under an address-space cap (``--pandas-memory-gb``, default 8) so that it fails
with MemoryError instead of starving the machine; the table says where it ran out.

    python benchmarks/scale_turn_logs.py [--rows 1000000 3000000 10000000] [--pandas-memory-gb 8]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAYS, PERSONAS = 30, 8


def generate(root: Path, rows: int, seed: int = 0) -> None:
    """Write ``rows`` synthetic turns as one file per (day, persona) partition."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from persona_lab.scale import arrow_schema

    schema = arrow_schema()
    rng = np.random.default_rng(seed)
    vocabulary = ("the a tenancy deposit landlord mould repair notice law court letter rent month how what when can "
                  "should my our please explain help about under section")
    words = np.array(vocabulary.split(" "))
    prompts = pa.array([" ".join(rng.choice(words, size=int(rng.integers(20, 45)))) for _ in range(50_000)])
    tiers = pa.array(["small", "mid", "frontier"])
    models = pa.array(["llama-3.1-8b", "gpt-4o-mini", "claude-3-5-haiku", "gpt-4o", "claude-3-5-sonnet", "gemini"])
    per_part = rows // (DAYS * PERSONAS)
    for day in range(DAYS):
        for persona in range(PERSONAS):
            n = per_part + (rows % (DAYS * PERSONAS) if day == persona == 0 else 0)
            tier_idx = rng.choice(3, size=n, p=[0.55, 0.3, 0.15])
            failed = rng.random(n) < 0.02
            fell_back = (~failed) & (rng.random(n) < 0.05)
            cost = np.where(failed, np.nan, rng.lognormal(-7, 1, n) * np.array([1, 8, 60])[tier_idx])
            base = np.datetime64("2026-10-01T00:00:00", "ns") + np.timedelta64(day, "D")
            stamps = base + rng.integers(0, 86_400_000_000_000, n).astype("timedelta64[ns]")
            columns = {
                "conversation_id": pa.array(np.char.add("c", rng.integers(0, rows // 4, n).astype(str))),
                "turn_index": pa.array(rng.integers(0, 12, n)),
                "timestamp": pa.array(stamps, pa.timestamp("ns", tz="UTC")),
                "kind": pa.array(np.where(rng.random(n) < 0.9, "chat", "agent_step")),
                "user_text": prompts.take(pa.array(rng.integers(0, len(prompts), n))),
                "persona_id": pa.array([f"persona-{persona}"] * n),
                "router_name": pa.array(rng.choice(["knn", "mf", "heuristic", "cascade", "fixed"], n)),
                "requested_tier": tiers.take(pa.array(tier_idx)),
                "tier": pa.array(np.where(failed, None, tiers.take(pa.array(tier_idx)).to_numpy(zero_copy_only=False)),
                                 pa.string()),
                "decision_reason": pa.array(rng.choice(["short prompt", "maths markers", "long context"], n)),
                "gen_ai_request_model": models.take(pa.array(rng.integers(0, 6, n))),
                "gen_ai_usage_input_tokens": pa.array(rng.integers(20, 4000, n)),
                "gen_ai_usage_output_tokens": pa.array(rng.integers(5, 800, n)),
                "ttft_s": pa.array(np.where(failed, np.nan, rng.lognormal(-1.5, 0.6, n)), from_pandas=True),
                "latency_s": pa.array(rng.lognormal(0.2, 0.7, n)),
                "cost_usd": pa.array(cost, from_pandas=True),
                "total_cost_usd": pa.array(cost, from_pandas=True),
                "price_source": pa.array(["genai-prices"] * n),
                "error": pa.array(np.where(failed, "provider error", None), pa.string()),
                "fell_back": pa.array(fell_back),
                "fallback_to": pa.array(np.where(fell_back, "mid", None), pa.string()),
                "n_attempts": pa.array(np.where(fell_back, 2, 1)),
            }
            arrays = [columns.get(f.name, pa.nulls(n, f.type)).cast(f.type) for f in schema]
            table = pa.Table.from_arrays(arrays, schema=schema)
            folder = root / f"day=2026-10-{day + 1:02d}" / f"persona=persona-{persona}"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, folder / "part-0.parquet", compression="zstd")


DUCKDB = """
import time, resource, json, sys
from persona_lab.scale import cost_summary, latency_summary
t = time.perf_counter()
cost = cost_summary(sys.argv[1], by=("tier", "day"))
latency = latency_summary(sys.argv[1], by="tier")
print(json.dumps({"s": time.perf_counter() - t, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": int(cost["turns"].sum()), "groups": len(cost)}))
"""

PANDAS = """
import time, resource, json, sys
cap = int(float(sys.argv[2]) * 2**30)
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
import pandas as pd
t = time.perf_counter()
try:
    frame = pd.read_parquet(sys.argv[1])
    frame["day"] = frame["timestamp"].dt.strftime("%Y-%m-%d")
    cost = frame.groupby(["tier", "day"], dropna=False)["total_cost_usd"].agg(["size", "sum"])
    latency = frame.groupby("tier", dropna=False)[["latency_s", "ttft_s"]].quantile([0.5, 0.95])
    out = {"s": time.perf_counter() - t, "rows": int(cost["size"].sum()), "groups": len(cost)}
except MemoryError:
    out = {"s": time.perf_counter() - t, "oom": True}
out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def measure(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["killed"]
        return {"s": float("nan"), "rss_mb": float("nan"), "error": tail[0]}  # type: ignore[dict-item]
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    parser.add_argument("--pandas-memory-gb", type=float, default=8.0)
    args = parser.parse_args()
    print(f"{'rows':>11}  {'dataset':>9}  {'duckdb s':>9}  {'duckdb peak':>11}  {'pandas s':>9}  {'pandas peak':>11}")
    for rows in args.rows:
        folder = Path(tempfile.mkdtemp(prefix="persona-lab-scale-"))
        try:
            started = time.perf_counter()
            generate(folder, rows)
            size_mb = sum(p.stat().st_size for p in folder.rglob("*.parquet")) / 2**20
            print(f"# {rows:,} rows written in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            duck = measure(DUCKDB, str(folder))
            assert "error" in duck or int(duck["rows"]) == rows, duck
            pandas = measure(PANDAS, str(folder), str(args.pandas_memory_gb))
            pandas_s = "out of memory" if pandas.get("oom") or "error" in pandas else f"{pandas['s']:.2f}"
            print(f"{rows:>11,}  {size_mb:>7.0f}MB  {duck['s']:>9.2f}  {duck['rss_mb']:>9.0f}MB  {pandas_s:>9}  "
                  f"{pandas['rss_mb']:>9.0f}MB", flush=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"(pandas capped at {args.pandas_memory_gb:g} GB of address space; peak = peak resident memory)")


if __name__ == "__main__":
    main()
