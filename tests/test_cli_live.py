"""``persona-lab bench --live`` against the local fault server: the run directory's files, failures,
no key in any output, and Ctrl-C (a real SIGINT) printing the run directory and the resume command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from persona_lab.bench import write_benchmark_set
from persona_lab.cli import main
from tests.bench_helpers import synthetic_set
from tests.fault_cases import CANARY
from tests.fault_server import Fault, FaultServer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


@pytest.fixture
def set_path(tmp_path: Path) -> Path:
    return write_benchmark_set(synthetic_set(4, turns=2, seed=3), tmp_path / "mine.jsonl.gz")


def live_env(server: FaultServer, model: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERSONA_")}
    env.update({"PERSONA_PROVIDER": "openai", "PERSONA_MODEL": model, "PERSONA_BASE_URL": server.openai_url,
                "PERSONA_API_KEY": CANARY, "PERSONA_TIMEOUT": "2", "PERSONA_DEADLINE": "4", **extra})
    return env


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name in list(os.environ):
        if name.startswith("PERSONA_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("PERSONA_"):
            monkeypatch.setenv(name, value)


def test_a_live_run_writes_the_same_files_as_a_replay(
    server: FaultServer, set_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_env(monkeypatch, live_env(server, "live-ok"))
    out = tmp_path / "runs"
    assert main(["bench", "--live", "--suite", str(set_path), "--router", "random", "--out", str(out)]) == 0
    (run,) = out.iterdir()
    names = {p.name for p in run.iterdir()}
    assert {"turn_logs.jsonl", "turn_logs.parquet", "summary.csv", "summary.md", "failures.csv",
            "report.html"} <= names
    summary = pd.read_csv(run / "summary.csv")
    assert summary["n_turns"].sum() == 8 and summary["n_failed"].sum() == 0
    assert len(pd.read_csv(run / "failures.csv")) == 0
    captured = capsys.readouterr()
    assert "| suite | router_name |" in captured.out
    assert f"resume with --resume {run}" in captured.err


def test_failed_live_turns_land_in_failures_csv_without_the_key(
    server: FaultServer, set_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.set_fault("live-echo", Fault(kind="auth_echo"))
    use_env(monkeypatch, live_env(server, "live-echo"))
    out = tmp_path / "runs"
    assert main(["bench", "--live", "--suite", str(set_path), "--router", "random", "--out", str(out)]) == 0
    (run,) = out.iterdir()
    failures = pd.read_csv(run / "failures.csv")
    assert list(failures.columns) == ["suite", "router", "item_id", "turn", "error_type", "error"]
    assert len(failures) == 4 and set(failures["error_type"]) == {"AllTiersFailed"}
    assert "Failed turns" in (run / "report.html").read_text()
    captured = capsys.readouterr()
    for text in (captured.out, captured.err, *(p.read_bytes().decode("utf-8", "replace") for p in run.iterdir())):
        assert CANARY not in text


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_prints_the_run_directory_and_the_resume_command(
    server: FaultServer, set_path: Path, tmp_path: Path
) -> None:
    server.set_fault("live-hang", Fault(kind="hang"))
    env = live_env(server, "live-hang", PERSONA_TIMEOUT="60", PERSONA_DEADLINE="120")
    env["PYTHONPATH"] = str(ROOT)
    out = tmp_path / "runs"
    seen = len(server.requests)
    process = subprocess.Popen(
        [sys.executable, "-m", "persona_lab.cli", "bench", "--live", "--suite", str(set_path), "--router", "random",
         "--limit", "2", "--out", str(out)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a terminal's Ctrl-C reaches a process whose SIGINT is at its default; a runner started in the
        # background of a non-interactive shell (CI, nohup) ignores SIGINT, and the child would inherit that
        preexec_fn=_default_sigint,
    )
    try:
        deadline = time.monotonic() + 60
        while len(server.requests) == seen and time.monotonic() < deadline:  # the run is waiting on a model
            time.sleep(0.05)
        assert len(server.requests) > seen
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    (run,) = out.iterdir()
    assert f"run directory: {run.relative_to(tmp_path)}" in stderr or f"run directory: {run}" in stderr
    assert "resume with: persona-lab bench --live --resume" in stderr
    assert "--router random --limit 2" in stderr
    assert CANARY not in stdout + stderr
