"""``persona-lab bench``: the run directory, the printed table, and clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from persona_lab.bench import write_benchmark_set
from persona_lab.cli import main
from tests.bench_helpers import synthetic_set


@pytest.fixture
def set_path(tmp_path: Path) -> Path:
    return write_benchmark_set(synthetic_set(16, turns=2, seed=3), tmp_path / "mine.jsonl.gz")


def test_bench_writes_a_run_directory_and_prints_the_summary(set_path: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs"
    code = main(["bench", "--suite", str(set_path), "--router", "random", "--router", "oracle",
                 "--out", str(out), "--bootstrap", "20", "--jobs", "1", "--route-first-turn-only"])
    assert code == 0
    captured = capsys.readouterr()
    assert "### synth: 16 items, 32 turns" in captured.out and "| oracle |" in captured.out
    assert "replaying" in captured.err  # the progress bar goes to stderr
    (run,) = out.iterdir()
    assert {p.name for p in run.iterdir()} == {"turn_logs.jsonl.gz", "turn_logs.parquet", "summary.csv",
                                               "summary.md", "curves.csv", "failures.csv", "run.json",
                                               "report.html"}
    options = json.loads((run / "run.json").read_text())["options"]
    assert options["route_first_turn_only"] is True and options["n_boot"] == 20


def test_bench_options_reach_the_comparison(set_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    assert main(["bench", "--suite", str(set_path), "--router", "random", "--out", str(out), "--no-html",
                 "--limit", "5", "--bootstrap", "0", "--seed", "7", "--price", "strong-model=2/4"]) == 0
    (run,) = out.iterdir()
    assert not (run / "report.html").exists()
    info = json.loads((run / "run.json").read_text())
    assert info["suites"]["synth"]["n_items"] == 5 and info["options"]["seed"] == 7
    assert info["suites"]["synth"]["prices"]["strong-model"] == {"input_per_mtok": 2.0, "output_per_mtok": 4.0,
                                                                 "source": "override"}


def test_a_malformed_suite_file_names_the_line_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"format_version": 1, "suite": "b", "scale": "binary",
                               "models": {"w": {"role": "weak"}, "s": {"role": "strong"}}}) + "\n"
                   + json.dumps({"id": "1", "turns": ["q"], "outcomes": {"w": 0, "s": 1}}) + "\n"
                   + json.dumps({"id": "2", "outcomes": {"w": 0, "s": 1}}) + "\n")
    assert main(["bench", "--suite", str(bad), "--out", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3:" in err and "'turns'" in err and "missing" in err
    assert not (tmp_path / "runs").exists()  # nothing half-written


def test_unknown_router_model_and_list(capsys: pytest.CaptureFixture[str], set_path: Path) -> None:
    assert main(["bench", "--suite", str(set_path), "--router", "telepathic"]) == 1
    assert "unknown router 'telepathic'" in capsys.readouterr().err
    assert main(["bench", "--suite", str(set_path), "--router", "random", "--price", "gpt-9=1/2"]) == 1
    assert "unknown model 'gpt-9'" in capsys.readouterr().err
    assert main(["bench", "--list-routers"]) == 0
    listed = capsys.readouterr().out
    assert "random" in listed and "oracle" in listed


def test_custom_router_by_import_path(set_path: Path, tmp_path: Path) -> None:
    code = main(["bench", "--suite", str(set_path), "--router", "tests.bench_helpers:KeywordThresholdRouter",
                 "--out", str(tmp_path / "r"), "--bootstrap", "0", "--no-html"])
    assert code == 0
    (run,) = (tmp_path / "r").iterdir()
    assert "tests.bench_helpers:KeywordThresholdRouter" in (run / "summary.md").read_text()


def test_live_mode_needs_tiers_and_routers(set_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    for name in list(os.environ):
        if name.startswith("PERSONA_"):
            monkeypatch.delenv(name)
    assert main(["bench", "--live", "--suite", str(set_path), "--router", "random"]) == 1
    assert "live mode needs tiers" in capsys.readouterr().err
    monkeypatch.setenv("PERSONA_PROVIDER", "openai-compatible")
    monkeypatch.setenv("PERSONA_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("PERSONA_MODEL", "local")
    assert main(["bench", "--live", "--suite", str(set_path)]) == 1
    assert "name the routers" in capsys.readouterr().err


def test_help_is_fast_and_imports_nothing_heavy() -> None:
    code = ("import sys; from persona_lab.cli import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in ('pandas', 'sklearn', 'plotly', 'numpy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
