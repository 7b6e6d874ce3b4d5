"""task.cancel() and a consumer that stops early, through the real SDKs and the local fault server:
the turn log records what was paid (marked cancelled), and the HTTP response is closed at once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from persona_lab import AgenticLoop, ConversationLoop, FixedRouter
from persona_lab.core import TextDelta
from persona_lab.logs import JsonlTurnLogWriter, read_turn_logs
from persona_lab.tiers import ModelConfig, TierRegistry
from tests.fault_cases import CANARY, PERSONA
from tests.fault_server import Fault, FaultServer


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


def slow_registry(server: FaultServer, provider: str, model: str) -> TierRegistry:
    server.set_fault(model, Fault(kind="slow"))
    config = ModelConfig(provider, model, api_key=CANARY, base_url=server.url(provider), timeout_s=5, deadline_s=10)
    return TierRegistry({"mid": config})


async def wait_for_disconnect(server: FaultServer, model: str, limit_s: float = 2.0) -> float | None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        at = server.disconnected_at(model)
        if at is not None:
            return at
        await asyncio.sleep(0.02)
    return None


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_task_cancel_writes_the_turn_log_of_what_was_paid(
    server: FaultServer, tmp_path: Path, provider: str
) -> None:
    model = f"cancel-chat-{provider}"
    tiers = slow_registry(server, provider, model)
    path = tmp_path / "turns.jsonl"
    writer = JsonlTurnLogWriter(path)
    loop = ConversationLoop(PERSONA, tiers, FixedRouter("mid"), writer=writer)
    conversation = loop.new_conversation()
    seen: list[str] = []

    async def consume() -> None:
        async for event in loop.turn(conversation, "Count slowly."):
            if isinstance(event, TextDelta):
                seen.append(event.text)

    task = asyncio.create_task(consume())
    while len(seen) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    writer.close()
    (log,) = read_turn_logs(path)  # exactly one line for the cancelled turn
    assert log.error_type == "Cancelled" and "task was cancelled" in (log.error or "")
    (attempt,) = log.attempts
    assert attempt.outcome == "failed" and attempt.error_type == "Cancelled"
    assert (attempt.output_tokens or 0) > 0 and (attempt.input_tokens or 0) > 0  # estimated from what streamed
    assert conversation.turn_count == 0  # nothing committed
    assert await wait_for_disconnect(server, model) is not None  # the HTTP response was closed
    await tiers.aclose()


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_breaking_out_of_an_aclosing_turn_closes_the_http_response_at_once(
    server: FaultServer, tmp_path: Path, provider: str
) -> None:
    model = f"close-chat-{provider}"
    tiers = slow_registry(server, provider, model)
    path = tmp_path / "turns.jsonl"
    writer = JsonlTurnLogWriter(path)
    loop = ConversationLoop(PERSONA, tiers, FixedRouter("mid"), writer=writer)
    conversation = loop.new_conversation()
    async with contextlib.aclosing(loop.turn(conversation, "Count slowly.")) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                break
    stopped = time.monotonic()
    at = await wait_for_disconnect(server, model)
    assert at is not None and at - stopped < 1.0  # not after the 6 s answer, not at garbage collection
    writer.close()
    (log,) = read_turn_logs(path)
    assert log.error_type == "Cancelled" and "consumer stopped" in (log.error or "")
    assert conversation.turn_count == 0
    await tiers.aclose()


async def test_task_cancel_of_an_agent_step_writes_its_turn_log(server: FaultServer, tmp_path: Path) -> None:
    model = "cancel-agent-openai"
    tiers = slow_registry(server, "openai", model)
    path = tmp_path / "steps.jsonl"
    writer = JsonlTurnLogWriter(path)
    agent = AgenticLoop(PERSONA, tiers, FixedRouter("mid"), writer=writer, max_steps=2, wrap_up=False)
    task = asyncio.create_task(agent.run("Count slowly."))
    deadline = time.monotonic() + 10
    while not any(r.model == model for r in server.requests) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # part of the answer has streamed
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    writer.close()
    (log,) = read_turn_logs(path)
    assert log.error_type == "RunCancelled"
    assert len(log.attempts) == 1 and (log.attempts[0].output_tokens or 0) > 0  # one estimate, not two
    assert await wait_for_disconnect(server, model) is not None
    await tiers.aclose()
