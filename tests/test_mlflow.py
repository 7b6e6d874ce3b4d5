"""Comparisons and chat sessions logged to a real local MLflow store (skipped without mlflow)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("mlflow")

from persona_lab import ConversationLoop, FixedRouter, Persona, TierRegistry
from persona_lab.bench import compare
from persona_lab.mlflow import log_chat, log_comparison, tracking_client
from tests.bench_helpers import KeywordThresholdRouter, synthetic_set


def _artifacts(client: object, run_id: str) -> set[str]:
    return {a.path for a in client.list_artifacts(run_id)}  # type: ignore[attr-defined]


def test_a_comparison_becomes_a_run_with_metrics_report_and_turn_logs(tmp_path: Path) -> None:
    comparison = compare(synthetic_set(12, turns=2, seed=1), {"keyword": KeywordThresholdRouter()}, n_boot=20)
    store = tmp_path / "mlruns"
    tracked = log_comparison(comparison, tracking_uri=store, tags={"purpose": "test"})
    assert tracked.tracking_uri.startswith("file:") and store.is_dir()
    client = tracking_client(store)
    run = client.get_run(tracked.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["purpose"] == "test"
    keyword = comparison.table().set_index("router").loc["keyword"]
    assert run.data.metrics["synth.keyword.quality"] == pytest.approx(keyword["quality"])
    assert run.data.metrics["synth.keyword.cost_usd"] == pytest.approx(keyword["cost_usd"])
    assert run.data.params["option.n_boot"] == "20" and "keyword" in run.data.params["routers"]
    assert {"report.html", "summary.csv", "turn_logs.jsonl.gz", "turn_logs.parquet",
            "summary_table.json"} <= _artifacts(client, tracked.run_id)
    again = log_comparison(comparison, tracking_uri=store)  # the same experiment, a second run
    assert again.experiment_id == tracked.experiment_id and again.run_id != tracked.run_id


def test_a_chat_session_becomes_a_run_with_per_turn_histories(tmp_path: Path, persona: Persona) -> None:
    tiers = TierRegistry.scripted({"mid": ["first answer", "a longer second answer"]}, priced_as="openai/gpt-4.1-mini")
    loop = ConversationLoop(persona, tiers, FixedRouter("mid"))
    conversation = loop.new_conversation()
    logs = [loop.chat(conversation, text).turn_log for text in ("hello", "and then?")]
    tracked = log_chat(conversation, tracking_uri=tmp_path / "store")
    client = tracking_client(tmp_path / "store")
    run = client.get_run(tracked.run_id)
    total = sum(log.total_cost_usd or 0 for log in logs)
    assert run.data.metrics["total_cost_usd"] == pytest.approx(total) and total > 0
    assert run.data.metrics["tier_share.mid"] == 1.0
    history = client.get_metric_history(tracked.run_id, "turn.cost_usd")
    assert [m.step for m in history] == [1, 2]
    assert [m.value for m in history] == pytest.approx([log.total_cost_usd for log in logs])
    assert {"turn_logs.jsonl", "turn_logs.json", "conversation.json"} <= _artifacts(client, tracked.run_id)


def test_an_empty_session_is_refused_with_a_reason(tmp_path: Path, persona: Persona) -> None:
    from persona_lab import UsageError

    loop = ConversationLoop(persona, TierRegistry.scripted({"mid": "x"}))
    with pytest.raises(UsageError, match="no turn logs"):
        log_chat(loop, tracking_uri=tmp_path / "store")
