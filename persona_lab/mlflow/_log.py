"""Log comparisons and chat sessions as MLflow runs through ``MlflowClient`` (no global MLflow state)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from persona_lab.core import UsageError

__all__ = ["DEFAULT_EXPERIMENT", "TrackedRun", "log_chat", "log_comparison", "tracking_client"]

DEFAULT_EXPERIMENT = "persona-lab"
DEFAULT_STORE = "mlruns"
_SUMMARY_METRICS = ("quality", "pgr", "cost_usd", "strong_share", "apgr", "cpt50", "cpt80", "aiq", "n_failed")
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /]")


@dataclass(frozen=True, kw_only=True, slots=True)
class TrackedRun:
    """Where a logged run lives: ``MlflowClient(tracking_uri).get_run(run_id)`` reads it back."""

    run_id: str
    experiment_id: str
    tracking_uri: str
    artifact_uri: str

    def _repr_html_(self) -> str:
        import html

        return (f"MLflow run <code>{html.escape(self.run_id)}</code> in <code>{html.escape(self.tracking_uri)}</code>"
                f" (artifacts: <code>{html.escape(self.artifact_uri)}</code>)")


def _resolve_uri(tracking_uri: str | Path | None) -> str:
    if tracking_uri is None:
        tracking_uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_STORE
    text = str(tracking_uri)
    if "://" in text or text.startswith("file:"):
        return text
    return Path(text).resolve().as_uri()  # a plain folder: the local file store


@contextlib.contextmanager
def _file_store_allowed(uri: str) -> Iterator[None]:
    """MLflow 3 keeps the file store in maintenance mode and asks for an opt-in; give it for file URIs only."""
    if not uri.startswith("file:") or "MLFLOW_ALLOW_FILE_STORE" in os.environ:
        yield
        return
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)


def tracking_client(tracking_uri: str | Path | None = None) -> Any:
    """An ``MlflowClient`` on ``tracking_uri`` (default ``./mlruns``, or ``MLFLOW_TRACKING_URI``)."""
    from mlflow.tracking import MlflowClient

    uri = _resolve_uri(tracking_uri)
    with _file_store_allowed(uri):
        client = MlflowClient(tracking_uri=uri)
        client._tracking_client.store  # noqa: B018 - build the store while the opt-in holds
    return client


def _key(*parts: object) -> str:
    """A metric or param name MLflow accepts (letters, digits, ``_-. /``)."""
    return _UNSAFE.sub("_", ".".join(str(p) for p in parts))[:250]


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class _Run:
    """One MLflow run being written; ended as FINISHED, or FAILED if logging raised."""

    def __init__(self, tracking_uri: str | Path | None, experiment: str, run_name: str | None,
                 tags: Mapping[str, str] | None):
        self.uri = _resolve_uri(tracking_uri)
        self.client = tracking_client(self.uri)
        with _file_store_allowed(self.uri):
            found = self.client.get_experiment_by_name(experiment)
            self.experiment_id = found.experiment_id if found is not None else self.client.create_experiment(experiment)
            run = self.client.create_run(self.experiment_id, run_name=run_name,
                                         tags={"persona_lab": "1", **dict(tags or {})})
        self.run_id: str = run.info.run_id
        self.artifact_uri: str = run.info.artifact_uri

    def params(self, values: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        params = [Param(_key(k), str(v)[:6000]) for k, v in values.items() if v is not None]
        for start in range(0, len(params), 100):
            with _file_store_allowed(self.uri):
                self.client.log_batch(self.run_id, params=params[start:start + 100])

    def metrics(self, values: Mapping[str, Any], *, step: int = 0) -> None:
        self.series([(k, v, step) for k, v in values.items()])

    def series(self, points: list[tuple[str, Any, int]]) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(_key(k), number, now, step) for k, v, step in points
                   if (number := _finite(v)) is not None]
        for start in range(0, len(metrics), 1000):
            with _file_store_allowed(self.uri):
                self.client.log_batch(self.run_id, metrics=metrics[start:start + 1000])

    def artifacts(self, directory: Path) -> None:
        with _file_store_allowed(self.uri):
            self.client.log_artifacts(self.run_id, str(directory))

    def table(self, frame: Any, name: str) -> None:
        with _file_store_allowed(self.uri):
            self.client.log_table(self.run_id, data=frame, artifact_file=name)

    def end(self, failed: bool) -> TrackedRun:
        with _file_store_allowed(self.uri):
            self.client.set_terminated(self.run_id, status="FAILED" if failed else "FINISHED")
        return TrackedRun(run_id=self.run_id, experiment_id=self.experiment_id, tracking_uri=self.uri,
                          artifact_uri=self.artifact_uri)


@contextlib.contextmanager
def _run(tracking_uri: str | Path | None, experiment: str, run_name: str | None,
         tags: Mapping[str, str] | None, out: list[TrackedRun]) -> Iterator[_Run]:
    run = _Run(tracking_uri, experiment, run_name, tags)
    try:
        yield run
    except BaseException:
        out.append(run.end(failed=True))
        raise
    out.append(run.end(failed=False))


def _table_for_mlflow(frame: Any) -> Any:
    """A frame MLflow's JSON table writer accepts: timestamps as ISO text, missing values as None."""
    shown = frame.copy()
    for column in shown.columns:
        if str(shown[column].dtype).startswith("datetime"):
            shown[column] = shown[column].astype(str)
    return shown.astype(object).where(shown.notna(), None)


def log_comparison(
    comparison: Any,
    *,
    tracking_uri: str | Path | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> TrackedRun:
    """Log a :class:`~persona_lab.bench.Comparison` as one MLflow run.

    Params: the comparison's options, suites and routers. Metrics: ``<suite>.<router>.<metric>``
    for each router's run through the loop (quality, PGR, cost, strong share, APGR, CPT, AIQ,
    failed items) and ``replay_seconds``. Artifacts: the run directory of ``Comparison.save``
    (``report.html``, ``summary.csv``/``.md``, ``turn_logs.jsonl.gz``, ``turn_logs.parquet``…) and the
    numeric summary table as ``summary_table.json`` (shown as a table in the MLflow UI).
    """
    if not hasattr(comparison, "summary") or not hasattr(comparison, "save"):
        raise UsageError(f"log_comparison needs a Comparison (from compare()), got {type(comparison).__name__}")
    done: list[TrackedRun] = []
    with _run(tracking_uri, experiment, run_name or "compare: " + ", ".join(comparison.suites), tags, done) as run:
        run.params({f"option.{k}": v for k, v in comparison.options.items()})
        run.params({"suites": ", ".join(comparison.suites), "routers": ", ".join(comparison.routers)})
        run.params({f"router.{label}": text[:500] for label, text in comparison.routers.items()})
        table = comparison.table()
        loop_rows = set(comparison.summary.loc[comparison.summary["point"] == "loop", "router"])
        metrics: dict[str, Any] = {"replay_seconds": comparison.seconds, "turns": len(comparison.turns)}
        for _, row in table.iterrows():
            if row["router"] not in loop_rows:
                continue
            for name in _SUMMARY_METRICS:
                metrics[_key(row["suite"], row["router"], name)] = row.get(name)
        run.metrics(metrics)
        run.table(_table_for_mlflow(table), "summary_table.json")
        with tempfile.TemporaryDirectory(prefix="persona-lab-mlflow-") as tmp:
            comparison.save(Path(tmp))
            run.artifacts(Path(tmp))
    return done[0]


def log_chat(
    source: Any,
    *,
    tracking_uri: str | Path | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> TrackedRun:
    """Log a chat session as one MLflow run.

    ``source``: a ``ChatWidget``, a ``ConversationLoop`` (its kept turn logs), a ``Conversation``,
    or turn-log records. Metrics: per-turn ``turn.cost_usd``, ``turn.input_tokens``,
    ``turn.output_tokens``, ``turn.latency_s`` (step = turn number, from 1) and the totals, plus
    the share of turns on each tier. Artifacts: ``turn_logs.jsonl``, ``turn_logs.json`` (a table in
    the UI), the transcript (``transcript.html`` from a widget, ``conversation.json`` from a
    conversation).
    """
    from persona_lab.logs import turn_logs_to_frame

    records = list(source.turn_logs) if hasattr(source, "turn_logs") else list(source)
    if not records:
        raise UsageError("log_chat: the session has no turn logs yet (chat first, or pass the loop that ran it)")
    frame = turn_logs_to_frame(records)
    done: list[TrackedRun] = []
    persona = str(frame["persona_id"].iloc[0])
    with _run(tracking_uri, experiment, run_name or f"chat: {persona}", tags, done) as run:
        routers = ", ".join(dict.fromkeys(frame["router_name"].dropna().astype(str)))
        run.params({"persona_id": persona, "router": routers, "turns": len(frame),
                    "models": ", ".join(dict.fromkeys(frame["gen_ai_request_model"].dropna().astype(str))),
                    "price_sources": ", ".join(dict.fromkeys(frame["price_source"].dropna().astype(str)))})
        points: list[tuple[str, Any, int]] = []
        for _, row in frame.iterrows():
            step = int(row["turn"])
            points += [("turn.cost_usd", row["total_cost_usd"], step),
                       ("turn.input_tokens", row["gen_ai_usage_input_tokens"], step),
                       ("turn.output_tokens", row["gen_ai_usage_output_tokens"], step),
                       ("turn.latency_s", row["latency_s"], step)]
        run.series(points)
        tiers = frame["tier"].astype("object").fillna("no tier")
        run.metrics({
            "total_cost_usd": frame["total_cost_usd"].fillna(0.0).sum(),
            "input_tokens": frame["gen_ai_usage_input_tokens"].fillna(0).sum(),
            "output_tokens": frame["gen_ai_usage_output_tokens"].fillna(0).sum(),
            "mean_latency_s": frame["latency_s"].mean(),
            "failed_turns": int(frame["error"].notna().sum()),
            **{f"tier_share.{tier}": share for tier, share in tiers.value_counts(normalize=True).items()},
        })
        run.table(_table_for_mlflow(frame), "turn_logs.json")
        with tempfile.TemporaryDirectory(prefix="persona-lab-mlflow-") as tmp:
            folder = Path(tmp)
            (folder / "turn_logs.jsonl").write_text(
                "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
            if hasattr(source, "static_html"):
                (folder / "transcript.html").write_text(source.static_html(), encoding="utf-8")
            conversation = getattr(source, "conversation", source)
            if hasattr(conversation, "to_dict") and hasattr(conversation, "turns"):
                (folder / "conversation.json").write_text(json.dumps(conversation.to_dict(), ensure_ascii=False,
                                                                     indent=1), encoding="utf-8")
            run.artifacts(folder)
    return done[0]
