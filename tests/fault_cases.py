"""One fault-injection case: a chat turn or an agent step through the real loop, the real SDK and
the local :class:`~tests.fault_server.FaultServer`, with every output collected for the canary search.

Used by ``tests/test_fault_matrix.py`` and ``benchmarks/fault_matrix.py``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from persona_lab import AgenticLoop, ConversationLoop, FixedRouter, Persona
from persona_lab.logs import JsonlTurnLogWriter, read_turn_logs
from persona_lab.tiers import ModelConfig, TierRegistry
from tests.fault_server import Fault, FaultServer

CANARY = "sk-canary-7f3a9c1e5b2d4f6a8c0e"
"""The API key every case sends; it must appear in no output (the 401 fault echoes it back)."""

TIERS = ("small", "mid", "frontier")
NEAREST = {"small": "mid", "mid": "frontier", "frontier": "mid"}
"""Where a failing tier's turn goes when every tier is configured (the nearest-tier rule)."""

FAULT_CASES: dict[str, Fault] = {
    "429-short": Fault(kind="status", status=429, retry_after="0.05"),
    "429-huge": Fault(kind="status", status=429, retry_after="3600"),
    "500": Fault(kind="status", status=500),
    "503": Fault(kind="status", status=503),
    "529": Fault(kind="status", status=529),
    "401-echo": Fault(kind="auth_echo"),
    "hang": Fault(kind="hang"),
    "stall": Fault(kind="stall"),
    "cut": Fault(kind="cut"),
    "malformed": Fault(kind="malformed"),
    "empty": Fault(kind="empty"),
}
"""The faults of the matrix, by name."""

PERSONA = Persona.from_dict({"id": "fault-persona", "identity": {"name": "Faye", "role": "a test persona"}})


@dataclass(frozen=True, kw_only=True)
class Waits:
    """The bounded-wait settings of every tier in a case."""

    timeout_s: float
    deadline_s: float
    max_retries: int = 2
    backoff_s: float = 0.5

    @classmethod
    def defaults(cls) -> Waits:
        base = ModelConfig("openai", "x")
        return cls(timeout_s=base.timeout_s, deadline_s=base.deadline_s, max_retries=base.max_retries,
                   backoff_s=base.backoff_s)


@dataclass(kw_only=True)
class CaseResult:
    """What a case did, and every text it produced (for the canary search)."""

    served_tier: str | None
    answer: str
    error: BaseException | None
    records: int
    record_tiers: list[str | None]
    fallback_s: float | None
    elapsed_s: float
    outputs: dict[str, str] = field(default_factory=dict)

    def canary_places(self, canary: str = CANARY) -> list[str]:
        """Names of the outputs that contain ``canary``."""
        return [name for name, text in self.outputs.items() if canary in text]


def model_name(tier: str, requested: str, case: str, provider: str, kind: str) -> str:
    """The server-side model of ``tier`` in the case where ``requested`` has the fault ``case`` (unique per case)."""
    return f"{tier}-for-{requested}-{case}-{provider}-{kind}"


def registry(server: FaultServer, provider: str, models: dict[str, str], waits: dict[str, Waits]) -> TierRegistry:
    return TierRegistry({
        tier: ModelConfig(provider, model, api_key=CANARY, base_url=server.url(provider),
                          timeout_s=waits[tier].timeout_s, deadline_s=waits[tier].deadline_s,
                          max_retries=waits[tier].max_retries, backoff_s=waits[tier].backoff_s)
        for tier, model in models.items()
    })


HEALTHY = Waits(timeout_s=10.0, deadline_s=20.0)
"""Waits of the tiers without a fault in a test: generous, so a busy machine cannot fail them."""


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack = [error] if error is not None else []
    while stack:
        exc = stack.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        stack += [exc.__cause__, exc.__context__]  # type: ignore[list-item]


class Captured(logging.Handler):
    """Every log record (DEBUG and up, every logger), stdout and stderr while :func:`captured` lasts."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def outputs(self) -> dict[str, str]:
        return {"stdout": self.stdout.getvalue(), "stderr": self.stderr.getvalue(), "logs": "\n".join(self.lines)}


@contextlib.contextmanager
def captured() -> Iterator[Captured]:
    """Capture logs, stdout and stderr around one case or a batch of concurrent cases."""
    handler = Captured()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with contextlib.redirect_stdout(handler.stdout), contextlib.redirect_stderr(handler.stderr):
            yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


async def run_case(
    server: FaultServer,
    *,
    provider: str,
    kind: str,
    tier: str,
    fault_name: str,
    waits: Waits,
    directory: Path,
    all_tiers_fail: bool = False,
    healthy: Waits | None = None,
) -> CaseResult:
    """Run one chat turn (``kind="chat"``) or one agent step (``"agent"``) routed to ``tier`` while the
    tier's model (every tier's, with ``all_tiers_fail``) has the fault ``fault_name`` (``"ok"``: none).

    The faulty tiers use ``waits``; the others ``healthy`` (default: ``waits`` too)."""
    models = {t: model_name(t, tier, fault_name, provider, kind) + ("-all" if all_tiers_fail else "") for t in TIERS}
    fault = FAULT_CASES.get(fault_name, Fault())
    for t, model in models.items():
        server.set_fault(model, fault if (t == tier or all_tiers_fail) else Fault())
    faulty = set(TIERS) if all_tiers_fail else {tier}
    tiers = registry(server, provider, models, {t: waits if t in faulty else (healthy or waits) for t in TIERS})
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{provider}-{kind}-{tier}-{fault_name}{'-all' if all_tiers_fail else ''}.jsonl"
    writer = JsonlTurnLogWriter(path)
    error: BaseException | None = None
    answer = ""
    shown: list[str] = []
    started = time.monotonic()
    # stdout, stderr and logs are captured by the caller (``captured()``), around concurrent cases too
    try:
        if kind == "chat":
            loop = ConversationLoop(PERSONA, tiers, FixedRouter(tier), writer=writer)
            try:
                result = await loop.achat(loop.new_conversation(), "What is 2 + 2?")
                answer = result.answer
                shown += [repr(result), repr(result.events), repr(loop)]
            except Exception as exc:
                error = exc
        else:
            agent = AgenticLoop(PERSONA, tiers, FixedRouter(tier), writer=writer, max_steps=1, wrap_up=False)
            run = await agent.run("Say hello.")
            answer = run.output
            shown += [repr(run), run.to_json(), run.reason, repr(agent)]
    finally:
        writer.close()
        await tiers.aclose()
    elapsed = time.monotonic() - started
    shown += [repr(tiers), tiers.describe()]
    records = read_turn_logs(path) if path.exists() else []
    # time to fallback: what the turn spent on the faulty tier before moving on (its failed attempts)
    spent = [a.latency_s for r in records for a in r.attempts if a.tier == tier and a.outcome == "failed"]
    fallback_s = sum(spent) if spent else None
    served = records[-1].tier if records else None
    outputs = {
        "turn_log": path.read_bytes().decode("utf-8", "replace") if path.exists() else "",
        "reprs": "\n".join(shown + [repr(r) for r in records]),
    }
    for n, exc in enumerate(_chain(error)):
        outputs[f"traceback[{n}]"] = "".join(traceback.format_exception(exc))
        outputs[f"str/repr[{n}]"] = f"{exc}\n{exc!r}\n{getattr(exc, 'args', '')!r}"
    return CaseResult(served_tier=served, answer=answer, error=error, records=len(records),
                      record_tiers=[r.tier for r in records], fallback_s=fallback_s, elapsed_s=elapsed,
                      outputs=outputs)


def expected_answer(server_model: str) -> str:
    return f"answer from {server_model}"


def describe(result: CaseResult) -> dict[str, Any]:
    return {"served": result.served_tier, "error": type(result.error).__name__ if result.error else None,
            "records": result.records, "fallback_s": result.fallback_s, "elapsed_s": round(result.elapsed_s, 3)}
