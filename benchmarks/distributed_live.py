"""Live runs on Dask: items per second with 1 and 2 workers, a global rate limit, a worker killed mid-run.

A local OpenAI-compatible server (127.0.0.1, streaming Chat Completions, ``--latency`` seconds
per call) answers every tier; it records when each request arrives. For 1 and then 2 workers of a
``LocalCluster`` the script runs ``--items`` GSM8K items live (``FixedRouter('small')``,
``--concurrency`` items in flight per worker) and prints items per second (over the whole call,
and over the span of its requests: cluster start-up excluded), and the requests per second the
server saw (mean, and the most in any 1-second window) against ``--rate-limit``. Then it runs
again on 2 workers and kills one worker process after a third of the requests: it prints how many
items were stored, how many twice, how many were lost, and how many requests were sent again.

    python benchmarks/distributed_live.py [--items 120] [--latency 0.2] [--rate-limit 30] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=120)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--rate-limit", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    from persona_lab import FixedRouter
    from persona_lab.bench import load_suite
    from persona_lab.scale import connect_cluster, run_live_distributed
    from tests.fault_server import Fault, FaultServer
    from tests.rate_helpers import max_in_window

    suite = load_suite("gsm8k")
    items = suite.items[: args.items]
    limits = {"openai-compatible": args.rate_limit}
    with FaultServer({"fake-model": Fault(delay_s=args.latency, text="The answer is 42.\n#### 42")}) as server:
        os.environ.update(PERSONA_PROVIDER="openai-compatible", PERSONA_BASE_URL=server.openai_url,
                          PERSONA_MODEL="fake-model", PERSONA_API_KEY="sk-benchmark-not-a-secret")
        print(f"{args.items} items, {args.latency * 1000:.0f} ms per call, concurrency {args.concurrency} per worker, "
              f"rate limit {args.rate_limit:g}/s")
        print(f"{'workers':>7}  {'items/s run':>11}  {'items/s (requests)':>18}  {'server rps mean':>15}  "
              f"{'max in 1 s':>10}  {'stored':>6}")
        for workers in (1, 2):
            client, cluster = connect_cluster(workers=workers)
            try:
                client.run(lambda: __import__("persona_lab.bench"))  # warm imports: time the run, not start-up
                server.clear_requests()
                with tempfile.TemporaryDirectory() as run_dir:
                    result = run_live_distributed(suite, FixedRouter("small"), run_dir, client=client, items=items,
                                                  rate_limits=limits, concurrency=args.concurrency)
                arrivals = [r.at for r in server.requests]
                span = max(arrivals) - min(arrivals)
                mean_rps = (len(server.requests) - 1) / span
                steady = len(items) / (span + args.latency)
                print(f"{workers:>7}  {len(items) / result.elapsed_s:>11.2f}  {steady:>18.2f}  "
                      f"{mean_rps:>15.2f}  {max_in_window(arrivals, 1.0):>10}  {result.records:>6}", flush=True)
            finally:
                client.close()
                cluster.close()

        client, cluster = connect_cluster(workers=2)
        try:
            pids = sorted(client.run(os.getpid).values())
            server.clear_requests()
            outcome: dict[str, object] = {}
            with tempfile.TemporaryDirectory() as run_dir:
                thread = threading.Thread(target=lambda: outcome.update(result=run_live_distributed(
                    suite, FixedRouter("small"), run_dir, client=client, items=items, rate_limits=limits,
                    concurrency=args.concurrency)))
                thread.start()
                while len(server.requests) < len(items) // 3:
                    time.sleep(0.01)
                os.kill(pids[0], signal.SIGKILL)
                thread.join()
                stored = [json.loads(line)["labels"]["item_id"] for line in
                          (Path(run_dir) / "turn_logs.jsonl").read_text(encoding="utf-8").splitlines()]
            result = outcome["result"]
            lost = len({i.id for i in items} - set(stored))
            print(f"worker killed after {len(items) // 3} requests: {len(stored)} items stored, "
                  f"{len(stored) - len(set(stored))} stored twice, {lost} lost; {len(server.requests)} requests for "
                  f"{len(items)} items ({len(server.requests) - len(items)} in flight on the killed worker sent again; "
                  f"{result.rerun_items} items with turns from two attempts)")
        finally:
            client.close()
            cluster.close()


if __name__ == "__main__":
    main()
