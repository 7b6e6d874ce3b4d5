"""``persona-lab evaluate``: personas × suites on the environment's tiers, a run directory, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from persona_lab.cli import main
from persona_lab.core import ChatRequest
from persona_lab.tiers import ModelConfig, Price, ScriptedBackend, TierRegistry

ROOT = Path(__file__).resolve().parents[1]
PERSONA = ROOT / "examples" / "personas" / "tenancy_advisor.yaml"
SUITE = ROOT / "examples" / "scenarios" / "tenancy_advisor.yaml"


@pytest.fixture
def scripted_env(monkeypatch: pytest.MonkeyPatch) -> ScriptedBackend:
    """The environment's tiers replaced by a scripted model (a test double) on every tier."""

    def answer(request: ChatRequest) -> str:
        return "Your landlord must repair the mould and protect your deposit; a solicitor can advise."

    backend = ScriptedBackend(answer)
    registry = TierRegistry({t: ModelConfig(provider="scripted", model=f"{t}-model", backend=backend,
                                            price=Price(1.0, 2.0)) for t in ("small", "mid", "frontier")})
    monkeypatch.setattr(TierRegistry, "from_env", classmethod(lambda cls, *a, **k: registry))
    return backend


def test_evaluate_writes_a_run_directory_and_prints_the_comparison(
        scripted_env: ScriptedBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = tmp_path / "eval"
    status = main(["evaluate", f"careful={PERSONA}", f"again={PERSONA}", "--scenarios", str(SUITE),
                   "--router", "tiers", "--run-dir", str(run_dir), "--no-progress", "--bootstrap", "50"])
    out = capsys.readouterr().out
    assert status == 0
    assert "| careful/small |" in out and "| again/frontier |" in out
    assert (run_dir / "report.html").exists() and (run_dir / "summary.csv").exists()
    calls = len(scripted_env.requests)
    assert calls == 2 * 3 * 5  # two variants, three tiers, five user turns
    assert main(["evaluate", f"careful={PERSONA}", f"again={PERSONA}", "--scenarios", str(SUITE), "--router",
                 "tiers", "--run-dir", str(run_dir), "--no-progress", "--bootstrap", "50"]) == 0
    assert len(scripted_env.requests) == calls  # resumed: nothing ran again
    assert "24 pairs resumed" in (run_dir / "report.html").read_text()


def test_a_scenario_for_another_persona_is_a_clear_error(
        scripted_env: ScriptedBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    writing = ROOT / "examples" / "scenarios" / "writing_coach.yaml"
    status = main(["evaluate", str(PERSONA), "--scenarios", str(writing), "--run-dir", str(tmp_path / "x"),
                   "--no-progress"])
    out = capsys.readouterr().out
    assert status == 2
    assert "writing_coach.yaml:5: personas: suite 'writing-coach-basics' names persona 'writing-coach'" in out
