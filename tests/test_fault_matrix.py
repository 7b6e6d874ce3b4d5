"""Fault injection through a real local HTTP server and the real SDKs: every fault on every tier,
for a chat turn and an agent step, on both providers.

Each case asserts: the turn is served by the nearest tier (or fails with a clear error when every
tier fails); the fallback starts within the bound (the deadline, plus scheduling slack); exactly
one turn-log line per turn; the canary API key in no output (stdout, stderr, logs at DEBUG, the
turn log, reprs, and the formatted traceback of the raised error with its chained causes).
Timeouts are small here (``FAST``); ``benchmarks/fault_matrix.py`` measures the defaults.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from persona_lab import AllTiersFailed
from tests.fault_cases import (
    CANARY,
    FAULT_CASES,
    HEALTHY,
    NEAREST,
    TIERS,
    Waits,
    captured,
    expected_answer,
    model_name,
    run_case,
)
from tests.fault_server import Fault, FaultServer

FAST = Waits(timeout_s=0.3, deadline_s=0.6, max_retries=2, backoff_s=0.02)
SLACK_S = 1.0  # scheduling on a busy 2-core machine; the bound itself is FAST.deadline_s


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    import anthropic  # noqa: F401  imported once up front: a first import blocks the event loop for
    import openai  # noqa: F401  a second, which concurrent cases would see as a provider stall

    with FaultServer() as running:
        yield running


def test_the_server_really_echoes_the_key(server: FaultServer) -> None:
    """The canary search could fail: the 401 fault sends the key back in its body."""
    server.set_fault("echo", Fault(kind="auth_echo"))
    request = urllib.request.Request(
        server.openai_url + "/chat/completions", data=json.dumps({"model": "echo"}).encode(),
        headers={"Authorization": f"Bearer {CANARY}", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 401
    assert CANARY in info.value.read().decode()


@pytest.mark.parametrize("fault", ["ok", *FAULT_CASES])
@pytest.mark.parametrize("kind", ["chat", "agent"])
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_one_faulty_tier_falls_back_to_the_nearest(
    server: FaultServer, tmp_path: Path, provider: str, kind: str, fault: str
) -> None:
    """The three tiers' cases run at once (independent models on the server), each checked alone."""
    with captured() as outputs:
        results = await asyncio.gather(*(
            run_case(server, provider=provider, kind=kind, tier=tier, fault_name=fault, waits=FAST,
                     healthy=HEALTHY, directory=tmp_path)
            for tier in TIERS
        ))
    assert [name for name, text in outputs.outputs().items() if CANARY in text] == []
    for tier, result in zip(TIERS, results, strict=True):
        served = tier if fault == "ok" else NEAREST[tier]
        assert result.error is None, (tier, result.outputs.get("traceback[0]"))
        assert result.served_tier == served, (tier, result.outputs["turn_log"])
        assert result.answer == expected_answer(model_name(served, tier, fault, provider, kind)), tier
        assert result.records == 1, tier  # one turn (one agent step), one turn-log line
        if fault != "ok":
            assert result.fallback_s is not None, (tier, result.outputs["turn_log"])
            assert result.fallback_s <= FAST.deadline_s + SLACK_S, (tier, result.fallback_s)
        assert result.canary_places() == [], tier


@pytest.mark.parametrize("fault", ["401-echo", "hang", "429-huge", "cut", "malformed"])
@pytest.mark.parametrize("kind", ["chat", "agent"])
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_every_tier_failing_is_one_clear_error(
    server: FaultServer, tmp_path: Path, provider: str, kind: str, fault: str
) -> None:
    with captured() as outputs:
        result = await run_case(server, provider=provider, kind=kind, tier="mid", fault_name=fault, waits=FAST,
                                directory=tmp_path, all_tiers_fail=True)
    assert [name for name, text in outputs.outputs().items() if CANARY in text] == []
    assert outputs.lines  # the capture works: the SDKs and the loop did log
    if kind == "chat":
        assert isinstance(result.error, AllTiersFailed)
        text = str(result.error)
        assert all(t in text for t in ("mid", "frontier", "small"))  # every tier tried, nearest first
        assert text.index("mid ") < text.index("frontier ") < text.index("small ")
    else:
        assert result.error is None  # an agent run ends with status "error" rather than raising
        assert '"status": "error"' in result.outputs["reprs"] or "status='error'" in result.outputs["reprs"]
    assert result.records == 1 and result.record_tiers == [None]
    assert result.elapsed_s <= 3 * FAST.deadline_s + 2 * SLACK_S
    assert result.canary_places() == []
