"""Experiment tracking with MLflow (the ``mlflow`` extra): comparisons and chat sessions as runs.

:func:`log_comparison` logs a router comparison (options as params, each router's summary
metrics, the HTML report, the summary and the turn logs as artifacts); :func:`log_chat` logs a
chat session (per-turn cost, tokens and latency as metric histories, totals, the turn logs and
the transcript). Both write to a local MLflow file store, ``./mlruns``, unless ``tracking_uri``
or ``MLFLOW_TRACKING_URI`` says otherwise; browse it with ``mlflow ui`` (full ``mlflow``
package) or read it back with ``mlflow.tracking.MlflowClient``.
"""

try:
    import mlflow as _mlflow  # noqa: F401
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "persona_lab.mlflow needs MLflow: pip install 'persona-lab[mlflow]' (installs mlflow-skinny)"
    ) from _exc

from persona_lab.mlflow._log import DEFAULT_EXPERIMENT, TrackedRun, log_chat, log_comparison, tracking_client

__all__ = ["DEFAULT_EXPERIMENT", "TrackedRun", "log_chat", "log_comparison", "tracking_client"]
