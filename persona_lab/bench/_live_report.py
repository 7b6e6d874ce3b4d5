"""The files of a live run directory, written from its turn log (so a resumed run reports every session).

Same names as a replay's run directory: ``summary.csv``, ``summary.md``, ``failures.csv``,
``turn_logs.parquet`` and ``report.html``. A live run has no always-weak / always-strong
baselines, so its summary is :func:`persona_lab.metrics.summarize_turns` per suite and router
(quality, cost, tier shares, latency), not the replay's APGR table.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FAILURE_COLUMNS", "live_failures", "write_live_outputs"]

FAILURE_COLUMNS = ("suite", "router", "item_id", "turn", "error_type", "error")
"""The columns of ``failures.csv`` (the same as a replay's)."""


def live_failures(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per failed turn of a (deduplicated) live turn-log frame."""
    import pandas as pd

    if not len(frame):
        return pd.DataFrame(columns=list(FAILURE_COLUMNS))
    failed = frame[frame["error"].notna()]
    return pd.DataFrame({
        "suite": failed["suite"].astype("string"),
        "router": failed["router_name"].astype("string"),
        "item_id": failed["item_id"].astype("string"),
        "turn": failed["turn_index"].astype("Int64"),
        "error_type": failed["error_type"].astype("string"),
        "error": failed["error"].astype("string"),
    }).reset_index(drop=True)


def _markdown(summary: pd.DataFrame) -> str:
    if not len(summary):
        return "No turns were run.\n"
    columns = [str(c) for c in summary.columns]
    rows = [
        "| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row) + " |"
        for row in summary.itertuples(index=False)
    ]
    return "\n".join(["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|", *rows]) + "\n"


def _html(summary: pd.DataFrame, failures: pd.DataFrame, turns: int, run_dir: Path) -> str:
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    failed = (
        "<h2>Failed turns</h2><p>Left out of quality; details in failures.csv.</p>"
        + failures.head(200).to_html(index=False, border=0, escape=True)
        if len(failures)
        else "<p>No failed turns.</p>"
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>persona-lab bench --live</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}"
        "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
        "td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}th{background:#f4f4f4}"
        "small{color:#666}</style></head><body><h1>persona-lab bench --live</h1>"
        f"<p><small>{stamp} · {turns:,} turns · run directory {html.escape(str(run_dir))}</small></p>"
        "<h2>Summary</h2>" + summary.to_html(index=False, border=0, escape=True)
        + failed
        + "<p><small>Live runs have no always-weak / always-strong baselines: quality and cost per suite and "
        "router, no APGR.</small></p></body></html>"
    )


def write_live_outputs(run_dir: str | Path, turn_log: str | Path, *, html_report: bool = True) -> dict[str, Path]:
    """Write the run directory's summary, failures and report from ``turn_log``; returns the paths.

    The last record of each (router, suite, item, turn) counts, so a resumed run's retried
    turns replace their failed attempts.
    """
    from persona_lab.logs import turn_logs_to_frame
    from persona_lab.metrics import summarize_turns

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    frame = turn_logs_to_frame(turn_log) if Path(turn_log).exists() else turn_logs_to_frame([])
    frame = frame.drop_duplicates(["router_name", "suite", "item_id", "turn_index"], keep="last")
    summary = summarize_turns(frame, by=("suite", "router_name")) if len(frame) else frame.iloc[:0, :0]
    failures = live_failures(frame)
    paths = {
        "summary_csv": run_dir / "summary.csv",
        "summary_md": run_dir / "summary.md",
        "failures_csv": run_dir / "failures.csv",
        "turn_logs_parquet": run_dir / "turn_logs.parquet",
    }
    summary.to_csv(paths["summary_csv"], index=False)
    paths["summary_md"].write_text(_markdown(summary), encoding="utf-8")
    failures.to_csv(paths["failures_csv"], index=False)
    frame.to_parquet(paths["turn_logs_parquet"], index=False)
    if html_report:
        paths["report_html"] = run_dir / "report.html"
        paths["report_html"].write_text(_html(summary, failures, len(frame), run_dir), encoding="utf-8")
    return paths
