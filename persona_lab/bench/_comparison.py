"""The result of :func:`compare`: frames, figures, a Markdown table and a self-contained HTML report.

Frames (tidy, documented in ``docs/benchmark-format.md``):

- ``turns``: the turn logs of every run (``turn_logs_to_frame`` columns; ``router_name`` is the
  router's label, ``score`` the answering model's recorded score, NaN for a failed turn);
- ``summary``: one row per suite, router and operating point (``point``: ``loop`` = the run
  through the loop, ``sweep`` = a threshold of the fast-path sweep, ``curve`` = an analytic
  baseline), with bootstrap CIs (``*_lo``/``*_hi``) on the loop rows;
- ``curves``: the points behind the figures;
- ``failures``: one row per failed item (router, item, turn, error).
"""

from __future__ import annotations

import gzip
import html
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from persona_lab.core import TurnLog

__all__ = ["PUBLISHED_ROUTELLM", "Comparison"]

PUBLISHED_ROUTELLM: dict[str, dict[str, float]] = {
    "gsm8k": {"best": 0.622, "random": 0.50, "oracle": 1.121},
    "mmlu": {"best": 0.603, "random": 0.50, "oracle": 1.285},
    "mt_bench": {"best": 0.802, "random": 0.50, "oracle": 0.964},
}
"""RouteLLM's published APGR (best router, random, oracle) on the full GSM8K, MMLU and MT Bench."""

_ATTRIBUTION = (
    "Bundled sets: recorded outcomes of gpt-4-1106-preview and Mixtral-8x7B-Instruct from the RouteLLM "
    "project (lm-sys/RouteLLM, routellm/evals/), Apache License 2.0; MT Bench reference answers from "
    "instructlab/eval, Apache License 2.0. See persona_lab/data/benchmarks/README.md and LICENSE."
)


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:.1f}%"


def _ci(row: Any, name: str, fmt: Any = _num) -> str:
    lo, hi = row.get(f"{name}_lo"), row.get(f"{name}_hi")
    value = str(fmt(row.get(name)))
    if lo is None or hi is None or (isinstance(lo, float) and math.isnan(lo)):
        return value
    return f"{value} [{fmt(lo)}, {fmt(hi)}]"


def _usd(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.4f}"


@dataclass
class Comparison:
    """Frames, figures and reports of a router comparison (see the module docstring for columns)."""

    turns: pd.DataFrame
    summary: pd.DataFrame
    curves: pd.DataFrame
    failures: pd.DataFrame
    suites: dict[str, dict[str, Any]]
    routers: dict[str, str]
    options: dict[str, Any]
    seconds: float = 0.0
    jsonl_parts: list[bytes] = field(default_factory=list, repr=False)
    """The turn logs as gzip members of JSONL, one per run (concatenated they form one .gz file)."""

    def __repr__(self) -> str:
        return (f"Comparison(suites={list(self.suites)}, routers={list(self.routers)}, turns={len(self.turns)}, "
                f"failed_items={len(self.failures)})")

    # -- tables ------------------------------------------------------------------------------

    def table(self, suite: str | None = None) -> pd.DataFrame:
        """The readable summary: loop runs and analytic baselines, CIs folded into the cells."""
        import pandas as pd

        rows = self.summary[self.summary["point"].isin(["loop", "curve"])]
        if suite is not None:
            rows = rows[rows["suite"] == suite]
        out = []
        for _, r in rows.iterrows():
            row = r.to_dict()
            out.append({
                "suite": row["suite"],
                "router": row["router"],
                "evaluation": row.get("evaluation", ""),
                "quality": _ci(row, "quality"),
                "PGR": _num(row.get("pgr")),
                "cost": _usd(row.get("cost_usd")),
                "strong calls": _ci(row, "strong_share", _pct),
                "APGR": _ci(row, "apgr"),
                "CPT(50%)": _ci(row, "cpt50", _pct),
                "CPT(80%)": _ci(row, "cpt80", _pct),
                "AIQ": _num(row.get("aiq")),
                "failed": str(int(row.get("n_failed") or 0)),
            })
        return pd.DataFrame(out)

    def to_markdown(self) -> str:
        """One Markdown table per suite, with RouteLLM's published APGR for reference."""
        parts = []
        for suite, info in self.suites.items():
            table = self.table(suite).drop(columns=["suite"])
            header = "| " + " | ".join(table.columns) + " |"
            rule = "|" + "|".join("---" for _ in table.columns) + "|"
            body = ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in table.to_numpy()]
            models = ", ".join(f"{tier}: {model}" for tier, model in info.get("models", {}).items())
            title = (f"### {suite}: {info['n_items']} items, {info['n_turns']} turns "
                     f"(weak {info['weak_quality']:.3f}, strong {info['strong_quality']:.3f}; {models})")
            lines = [title, "", header, rule, *body]
            published = PUBLISHED_ROUTELLM.get(suite)
            if published:
                lines += ["", f"RouteLLM published APGR on the full {suite}: best router {published['best']:.3f}, "
                              f"random {published['random']:.2f}, oracle {published['oracle']:.3f}."]
            failed = self.failures[self.failures["suite"] == suite] if len(self.failures) else self.failures
            if len(failed):
                counts = failed.groupby("router").size()
                lines += ["", "**Failed items:** " + ", ".join(f"{r}: {n}" for r, n in counts.items())
                          + " (left out of quality; see failures.csv)."]
            parts.append("\n".join(lines))
        notes = (
            "Quality is the mean recorded score per turn ([95% bootstrap CI over items]). APGR and CPT come "
            "from the 10-quantile threshold sweep for threshold routers, else from the loop run closed with "
            "the always-weak and always-strong points. CPT(x) is the first crossing of PGR x. AIQ: RouterBench's "
            "area under the non-decreasing convex hull over the always-weak…always-strong cost range."
        )
        return "\n\n".join([*parts, notes]) + "\n"

    # -- figures and HTML ---------------------------------------------------------------------

    def figures(self) -> dict[str, Any]:
        """Plotly figures by name: ``cost_quality``, ``pgr``, ``cost_per_turn``, ``tier_mix_<suite>``."""
        from persona_lab.bench._figures import all_figures

        strong = {s: str(info.get("strong_tier", "frontier")) for s, info in self.suites.items()}
        return all_figures(self.curves, self.turns, strong)

    def to_html(self, *, title: str = "persona-lab bench") -> str:
        """One self-contained page: the tables, the figures (plotly.js inlined, works offline), notes."""
        figures = self.figures()
        blocks = []
        for n, (name, fig) in enumerate(figures.items()):
            blocks.append(f'<section class="figure" id="{html.escape(name)}">'
                          + fig.to_html(full_html=False, include_plotlyjs=(n == 0), div_id=f"fig-{name}")
                          + "</section>")
        tables = []
        for suite, info in self.suites.items():
            table = self.table(suite).drop(columns=["suite"])
            prices = "; ".join(
                f"{m}: ${p['input_per_mtok']}/${p['output_per_mtok']} per Mtok ({p['source']})"
                for m, p in info.get("prices", {}).items())
            published = PUBLISHED_ROUTELLM.get(suite)
            ref = (f"<p>RouteLLM published APGR on the full {suite}: best router {published['best']:.3f}, random "
                   f"{published['random']:.2f}, oracle {published['oracle']:.3f}.</p>") if published else ""
            tables.append(
                f"<h2>{html.escape(suite)}</h2><p>{html.escape(info.get('description', ''))}</p>"
                f"<p>Weak quality {info['weak_quality']:.3f}, strong {info['strong_quality']:.3f}. Prices: "
                f"{html.escape(prices)}</p>{table.to_html(index=False, escape=True, border=0)}{ref}")
        failures = ""
        if len(self.failures):
            counts = self.failures.groupby(["suite", "router"]).size().reset_index(name="failed items")
            failures = ("<h2>Failed items</h2><p>These items failed and are left out of quality; the run went on. "
                        "Details in failures.csv.</p>" + counts.to_html(index=False, border=0)
                        + self.failures.head(50).to_html(index=False, border=0))
        options = html.escape(json.dumps(self.options))
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>"
            "body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}"
            "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
            "td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}"
            "th{background:#f4f4f4}.figure{margin:2em 0}small{color:#666}"
            "</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p><small>{datetime.now(UTC).isoformat(timespec='seconds')} · "
            f"{len(self.turns):,} turns replayed in {self.seconds:.1f} s · options {options}</small></p>"
            + "".join(tables) + failures + "".join(blocks)
            + f"<p><small>{html.escape(self.to_markdown().splitlines()[-1])}</small></p>"
            + f"<p><small>{html.escape(_ATTRIBUTION)}</small></p></body></html>"
        )

    # -- records and files ------------------------------------------------------------------------

    def records(self) -> list[TurnLog]:
        """The turn logs as records (parsed from the JSONL kept in memory)."""
        from persona_lab.core import TurnLog

        return [TurnLog.from_dict(json.loads(line)) for part in self.jsonl_parts if part
                for line in gzip.decompress(part).decode("utf-8").splitlines() if line.strip()]

    def save(self, directory: str | Path, *, html_report: bool = True) -> dict[str, Path]:
        """Write the run directory; returns the paths written.

        ``turn_logs.jsonl.gz`` (gzip JSONL: ``gunzip`` it for ``read_turn_logs``), ``turn_logs.parquet``,
        ``summary.csv``, ``summary.md``, ``curves.csv``, ``failures.csv``, ``report.html``, ``run.json``.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        paths["turn_logs_jsonl"] = directory / "turn_logs.jsonl.gz"
        with paths["turn_logs_jsonl"].open("wb") as handle:
            for part in self.jsonl_parts:
                handle.write(part)
        paths["turn_logs_parquet"] = directory / "turn_logs.parquet"
        self.turns.to_parquet(paths["turn_logs_parquet"], index=False)
        paths["summary_csv"] = directory / "summary.csv"
        self.summary.to_csv(paths["summary_csv"], index=False)
        paths["summary_md"] = directory / "summary.md"
        paths["summary_md"].write_text(self.to_markdown(), encoding="utf-8")
        paths["curves_csv"] = directory / "curves.csv"
        self.curves.to_csv(paths["curves_csv"], index=False)
        paths["failures_csv"] = directory / "failures.csv"
        self.failures.to_csv(paths["failures_csv"], index=False)
        paths["run_json"] = directory / "run.json"
        paths["run_json"].write_text(json.dumps({"options": self.options, "routers": self.routers,
                                                 "suites": self.suites, "seconds": self.seconds},
                                                indent=2, default=str), encoding="utf-8")
        if html_report:
            paths["report_html"] = directory / "report.html"
            paths["report_html"].write_text(self.to_html(), encoding="utf-8")
        return paths
