"""Live runs on a real Dask LocalCluster against a real local HTTP provider: partitions, a cluster-wide
rate limit, a worker killed mid-run, resume, and a scheduler that does not answer."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")

from persona_lab import ClusterUnavailable, FixedRouter
from persona_lab.bench import load_suite
from persona_lab.scale import connect_cluster, run_live_distributed
from tests.fault_server import Fault, FaultServer
from tests.rate_helpers import acquire_times, max_in_window

SUITE = load_suite("gsm8k")


@pytest.fixture(scope="module")
def server() -> Any:
    with FaultServer({"fake-model": Fault(delay_s=0.1, text="The answer is 42.\n#### 42")}) as fake:
        saved = {k: os.environ.get(k) for k in ("PERSONA_PROVIDER", "PERSONA_BASE_URL", "PERSONA_MODEL",
                                                "PERSONA_API_KEY")}
        os.environ.update(PERSONA_PROVIDER="openai-compatible", PERSONA_BASE_URL=fake.openai_url,
                          PERSONA_MODEL="fake-model", PERSONA_API_KEY="sk-fake-not-a-secret")
        try:
            yield fake
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@pytest.fixture(scope="module")
def client(server: FaultServer) -> Any:  # the workers inherit the PERSONA_* variables set by `server`
    client, cluster = connect_cluster(workers=2)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _records(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "turn_logs.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_items_spread_over_workers_under_one_cluster_wide_rate_limit(server: FaultServer, client: Any,
                                                                      tmp_path: Path) -> None:
    items = SUITE.items[:30]
    server.clear_requests()
    result = run_live_distributed(SUITE, FixedRouter("small"), tmp_path, client=client, items=items,
                                  rate_limits={"openai-compatible": 8.0}, concurrency=4, timeout_s=300)
    assert result.workers == 2 and result.partitions == 8
    assert (result.written, result.records, result.rerun_items, result.failures) == (30, 30, 0, ())
    assert sorted(r["labels"]["item_id"] for r in _records(tmp_path)) == sorted(i.id for i in items)
    assert len(server.requests) == 30
    # What the server sees carries each process's delay between a start and the bytes on the wire (a busy
    # event loop, a first SDK client); the limiter's own bound is tested below on the starts themselves.
    assert max_in_window([r.at for r in server.requests], 1.0) <= 8 + 3
    again = run_live_distributed(SUITE, FixedRouter("small"), tmp_path, client=client, items=items, timeout_s=300)
    assert (again.written, again.skipped_items, again.records) == (0, 30, 30)  # resume: nothing runs twice


def test_request_starts_from_every_worker_keep_one_rate(client: Any) -> None:
    workers = sorted(client.scheduler_info()["workers"])
    futures = [client.submit(acquire_times, "starts", 10.0, 3, 6, workers=[w], pure=False) for w in workers]
    starts = [t for f in futures for t in f.result(timeout=120)]
    assert len(starts) == 36
    # each start is at most half an interval after its reserved slot, slots are 0.1 s apart: any second holds
    # at most 10 + 1 starts, and 36 starts span at least 35 slots
    assert max_in_window(starts, 1.0) <= 11
    assert max(starts) - min(starts) >= 3.5 - 0.05 - 0.05


def test_a_worker_killed_mid_run_loses_no_item_and_reruns_only_those_in_flight(
        server: FaultServer, client: Any, tmp_path: Path) -> None:
    items = SUITE.items[:40]
    server.clear_requests()
    pids = sorted(client.run(os.getpid).values())
    outcome: dict[str, Any] = {}

    def run() -> None:
        outcome["result"] = run_live_distributed(SUITE, FixedRouter("small"), tmp_path, client=client, items=items,
                                                 concurrency=2, partitions=4, timeout_s=300)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 120
    while len(server.requests) < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(pids[0], signal.SIGKILL)
    worker.join(timeout=240)
    result = outcome["result"]
    records = _records(tmp_path)
    assert sorted(r["labels"]["item_id"] for r in records) == sorted(i.id for i in items)  # each item exactly once
    assert result.records == 40
    assert result.rerun_items <= 2  # at most the items in flight on the killed worker ran again
    assert len(server.requests) <= 40 + 2


def test_a_scheduler_that_does_not_answer_is_a_clear_error_within_seconds() -> None:
    started = time.monotonic()
    with pytest.raises(ClusterUnavailable, match=r"the Dask scheduler at 'tcp://127.0.0.1:9' did not answer within"):
        connect_cluster("tcp://127.0.0.1:9", timeout_s=2)
    assert time.monotonic() - started < 10


def test_the_cli_names_a_scheduler_that_does_not_answer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from persona_lab.cli import main

    monkeypatch.setenv("PERSONA_PROVIDER", "openai-compatible")
    monkeypatch.setenv("PERSONA_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("PERSONA_MODEL", "fake-model")
    code = main(["bench", "--live", "--suite", "gsm8k", "--limit", "2", "--router", "heuristic",
                 "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path)])
    assert code == 1
    assert "error: the Dask scheduler at 'tcp://127.0.0.1:9' did not answer within 5 s" in capsys.readouterr().err


CAREFUL = "The landlord must fix the mould and protect your deposit. Keep evidence; a solicitor can advise on court."
RECKLESS = "You will definitely win, guaranteed. The landlord must fix the mould and protect your deposit."


def answer_by_persona(request: Any) -> str:
    """Test double (it travels to the workers by reference): reckless when the persona says to promise a win."""
    return RECKLESS if "promise the user they will win" in request.system else CAREFUL


def test_an_evaluation_on_the_cluster_grades_like_one_in_process(client: Any, tmp_path: Path) -> None:
    from persona_lab import Persona, run_sync
    from persona_lab.evaluation import evaluate
    from persona_lab.tiers import TierRegistry

    root = Path(__file__).resolve().parents[1]
    careful = Persona.from_yaml(root / "examples" / "personas" / "tenancy_advisor.yaml")
    identity = careful.identity.model_copy(update={"constraints": ("Always promise the user they will win.",)})
    variants = {"careful": careful, "reckless": careful.model_copy(update={"identity": identity})}
    suite = root / "examples" / "scenarios" / "tenancy_advisor.yaml"

    def run(where: Path, cluster: Any) -> Any:
        tiers = TierRegistry.scripted({t: answer_by_persona for t in ("small", "mid", "frontier")})
        return run_sync(evaluate(variants, suite, tiers, run_dir=where, progress=False, n_boot=50, cluster=cluster))

    local = run(tmp_path / "local", None)
    spread = run(tmp_path / "cluster", client)
    columns = ["variant", "mean_score", "pass_rate.constraint.no_legal_certainty"]
    assert spread.comparison()[columns].equals(local.comparison()[columns])
    assert spread.comparison().set_index("variant").loc["reckless", "pass_rate.constraint.no_legal_certainty"] == 0.0
    assert len(spread.grades) == len(local.grades) > 0
    resumed = run(tmp_path / "cluster", client)  # every pair is done: nothing runs again
    assert resumed.resumed_pairs == len(spread.grades["scenario"].drop_duplicates()) * 2
    assert resumed.comparison()[columns].equals(local.comparison()[columns])
