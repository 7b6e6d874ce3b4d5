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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from persona_lab.core import FileLinks, format_usd

if TYPE_CHECKING:
    import pandas as pd

    from persona_lab.core import TurnLog

__all__ = ["NTIER_TABLE_COLUMNS", "PUBLISHED_ROUTELLM", "TABLE_COLUMNS", "Comparison", "format_table"]

PUBLISHED_ROUTELLM: Mapping[str, Mapping[str, float]] = MappingProxyType({
    "gsm8k": MappingProxyType({"best": 0.622, "random": 0.50, "oracle": 1.121}),
    "mmlu": MappingProxyType({"best": 0.603, "random": 0.50, "oracle": 1.285}),
    "mt_bench": MappingProxyType({"best": 0.802, "random": 0.50, "oracle": 0.964}),
})
"""RouteLLM's published APGR (best router, random, oracle) on the full GSM8K, MMLU and MT Bench."""

_ATTRIBUTION = (
    "Bundled sets: recorded outcomes of gpt-4-1106-preview and Mixtral-8x7B-Instruct from the RouteLLM "
    "project (lm-sys/RouteLLM, routellm/evals/), Apache License 2.0; MT Bench reference answers from "
    "instructlab/eval, Apache License 2.0. See persona_lab/data/benchmarks/README.md and LICENSE."
)


TABLE_COLUMNS: tuple[str, ...] = (
    "suite", "router", "evaluation", "quality", "quality_lo", "quality_hi", "pgr", "cost_usd",
    "strong_share", "strong_share_lo", "strong_share_hi", "apgr", "apgr_lo", "apgr_hi",
    "cpt50", "cpt50_lo", "cpt50_hi", "cpt80", "cpt80_lo", "cpt80_hi", "aiq", "n_failed",
)
"""Columns of :meth:`Comparison.table` for two-tier suites: numbers stay numbers, each interval in
``*_lo``/``*_hi``. ``apgr`` is the mean over CV seeds (``apgr_seed_sd`` their spread, ``apgr_lo``/``_hi``
the bootstrap CI of that mean) when repeated."""

NTIER_TABLE_COLUMNS: tuple[str, ...] = (
    "suite", "router", "evaluation", "quality", "quality_lo", "quality_hi", "cost_usd", "share_small",
    "share_mid", "share_frontier", "aiq", "aiq_lo", "aiq_hi", "aiq_seed_sd", "gap_closed", "gap_closed_lo",
    "gap_closed_hi", "cost_to_match_frontier", "quality_at_mid_cost", "n_failed",
)
"""Columns of :meth:`Comparison.table` for suites with three or more tiers (``docs/three-tier.md``)."""

_SHARES = ("strong_share", "cpt50", "cpt80", "share_small", "share_mid", "share_frontier", "gap_closed",
           "cost_to_match_frontier")
_HEADERS = MappingProxyType({"quality": "quality", "pgr": "PGR", "cost_usd": "cost", "strong_share": "strong calls",
            "share_small": "small", "share_mid": "mid", "share_frontier": "frontier",
            "apgr": "APGR", "apgr_seed_sd": "APGR sd (seeds)", "cpt50": "CPT(50%)", "cpt80": "CPT(80%)",
            "aiq": "AIQ", "aiq_seed_sd": "AIQ sd (seeds)", "gap_closed": "gap closed",
            "cost_to_match_frontier": "cost to match frontier", "quality_at_mid_cost": "quality at mid cost",
            "n_failed": "failed"})


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _num(value: Any, digits: int = 3) -> str:
    return "–" if _missing(value) else f"{value:.{digits}f}"


def _pct(value: Any) -> str:
    return "–" if _missing(value) else f"{value * 100:.1f}%"


def _usd(value: Any) -> str:
    return format_usd(None if _missing(value) else float(value), missing="–")


def _formatter(name: str) -> Callable[[Any], str]:
    if name in _SHARES:
        return _pct
    if name == "cost_usd":
        return _usd
    if name == "n_failed":
        return lambda v: "0" if _missing(v) else str(int(v))
    return _num


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    """A :meth:`Comparison.table` as text for reading: intervals folded into ``value [lo, hi]``."""
    import pandas as pd

    out: dict[str, list[str]] = {}
    for name in ("suite", "router", "evaluation"):
        if name in table:
            out[name] = [str(v) for v in table[name]]
    for name, header in _HEADERS.items():
        if name not in table:
            continue
        fmt = _formatter(name)
        cells = []
        for _, row in table.iterrows():
            text = fmt(row[name])
            lo, hi = row.get(f"{name}_lo"), row.get(f"{name}_hi")
            if not _missing(lo) and not _missing(hi):
                text = f"{text} [{fmt(lo)}, {fmt(hi)}]"
            cells.append(text)
        out[header] = cells
    return pd.DataFrame(out)


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
        """The summary to sort, filter and plot: loop runs and analytic baselines, one row each.

        Numbers stay numbers (shares as fractions, cost in USD); each bootstrap interval has its
        own ``*_lo``/``*_hi`` columns (:data:`TABLE_COLUMNS`). For reading, :meth:`styled` or
        :func:`format_table`.
        """
        rows = self.summary[self.summary["point"].isin(["loop", "curve"])]
        if suite is not None:
            rows = rows[rows["suite"] == suite]
        ntier = [s for s, info in self.suites.items() if len(info.get("tiers", ())) >= 3
                 and (suite is None or s == suite)]
        if suite is not None and ntier:
            columns = list(NTIER_TABLE_COLUMNS)
        else:
            columns = list(TABLE_COLUMNS)
            if "apgr_seed_sd" in rows.columns and rows["apgr_seed_sd"].notna().any():
                columns.insert(columns.index("apgr_hi") + 1, "apgr_seed_sd")
            if ntier:
                columns[-1:-1] = [c for c in NTIER_TABLE_COLUMNS if c not in columns]
        table = rows.reindex(columns=columns).reset_index(drop=True)
        table["evaluation"] = table["evaluation"].fillna("")
        table["n_failed"] = table["n_failed"].fillna(0).astype("int64")
        return table

    def styled(self, suite: str | None = None) -> Any:
        """:meth:`table` as a pandas ``Styler``: costs in USD, shares in %, intervals hidden in tooltips."""
        table = self.table(suite)
        formats: dict[Any, Any] = {name: _formatter(name) for name in table.columns
                                   if name not in ("suite", "router", "evaluation")}
        bounds: list[Any] = [c for c in table.columns if c.endswith(("_lo", "_hi"))]
        text = format_table(table)
        tips = table[[]].copy()
        for name, header in _HEADERS.items():
            if f"{name}_lo" in table:
                tips[name] = text[header].where(text[header].str.contains(r"\[", regex=True), "")
        styler = table.style.format(formats).hide(axis="index").hide(subset=bounds, axis="columns")
        return styler.set_tooltips(tips.reindex(columns=table.columns).astype(object).fillna(""))

    def to_markdown(self) -> str:
        """One Markdown table per suite, with RouteLLM's published APGR for reference."""
        parts = []
        for suite, info in self.suites.items():
            table = format_table(self.table(suite)).drop(columns=["suite"])
            models = ", ".join(f"{tier}: {model}" for tier, model in info.get("models", {}).items())
            table = table.loc[:, [c for c in table.columns if not (table[c] == "–").all()]]
            header = "| " + " | ".join(table.columns) + " |"
            rule = "|" + "|".join("---" for _ in table.columns) + "|"
            body = ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in table.to_numpy()]
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
            "area under the non-decreasing convex hull over the always-weak…always-strong cost range. With "
            "repeated cross-validation, APGR and AIQ are the mean over fold seeds (sd over seeds alongside; the "
            "bracketed CI is that mean's: per resample of items, every seed's value on it, averaged). Three or "
            "more tiers: small/mid/frontier = share of "
            "turns per tier; AIQ over the router's λ sweep and loop point closed with the cheapest and dearest "
            "tier; gap closed = (AIQ − zero router's) / (oracle's − zero router's), the zero router being the "
            "hull of the single tiers; cost to match frontier = the cost at which the router's hull reaches "
            "always-frontier's quality, as a share of its cost; quality at mid cost = the hull's quality at "
            "always-mid's cost."
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
            table = format_table(self.table(suite)).drop(columns=["suite"])
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

    def save(self, directory: str | Path, *, html_report: bool = True) -> FileLinks:
        """Write the run directory; returns the paths written (shown as links in a notebook).

        ``turn_logs.jsonl.gz`` (gzip JSONL: ``gunzip`` it for ``read_turn_logs``), ``turn_logs.parquet``,
        ``summary.csv``, ``summary.md``, ``curves.csv``, ``failures.csv``, ``report.html``, ``run.json``.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = FileLinks()
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
