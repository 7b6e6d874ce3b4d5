"""Compaction of agent step history: the middle is summarised, tool groups are never split."""

from __future__ import annotations

import json
from typing import Any

import pytest

from persona_lab import AgenticLoop, Message, Persona, Toolbox, ToolCall, tool
from persona_lab.core import ChatRequest, Compacted, ProviderError
from persona_lab.loops import StepCompactor
from persona_lab.tiers import ScriptedBackend, ScriptedResponse, TierRegistry
from tests.helpers import scripted_tier


@tool
def lookup_statute(name: str, size: int = 100) -> str:
    """Look up a statute; returns ``size`` characters of text."""
    return (name + " ") * (size // (len(name) + 1))


def lookups(*sizes: int, prefix: str) -> ScriptedResponse:
    return ScriptedResponse(
        tool_calls=tuple(
            ToolCall(
                id=f"{prefix}_{i}", name="lookup_statute", arguments=json.dumps({"name": f"{prefix}{i}", "size": size})
            )
            for i, size in enumerate(sizes)
        )
    )


# step 0 and 1: one call each; step 2: a group of three calls; step 3: one small call; then finish
PLAN = [
    lookups(1000, prefix="s0"),
    lookups(1000, prefix="s1"),
    lookups(1200, 1200, 1200, prefix="group"),
    lookups(800, prefix="s3"),
]
FINAL = ScriptedResponse(tool_calls=(ToolCall(id="fin", name="final_answer", arguments='{"text": "Letter drafted."}'),))


def planned(*extra: ScriptedResponse, refuse_summaries: bool = False) -> ScriptedBackend:
    queue = [*PLAN, *extra]

    def respond(request: ChatRequest) -> ScriptedResponse:
        if "keep notes on an agent" in request.system:
            assert refuse_summaries, "the agent's tier got a summary request"
            return ScriptedResponse(error=ProviderError("no summaries here", provider="scripted"))
        return queue.pop(0) if queue else FINAL

    return ScriptedBackend(respond)


def assert_no_orphans(messages: tuple[Message, ...]) -> None:
    """Every tool result follows the call that asked for it, and every tool call has its result."""
    open_calls: set[str] = set()
    answered: set[str] = set()
    for m in messages:
        if m.role == "assistant":
            open_calls |= {c.id for c in m.tool_calls}
        if m.role == "tool":
            assert m.tool_call_id in open_calls, f"tool result {m.tool_call_id} without its call"
            answered.add(m.tool_call_id or "")
    assert open_calls == answered, f"calls without results: {open_calls - answered}"


async def test_compaction_keeps_the_task_and_recent_steps_and_never_splits_a_tool_group(persona: Persona) -> None:
    agent_backend = planned()
    summariser = ScriptedBackend(["Earlier: statutes s0, s1 and a group of three were looked up."])
    tiers = TierRegistry(
        {
            "small": scripted_tier(summariser, model="small-model"),
            "mid": scripted_tier(agent_backend, model="mid-model", context_window=3000, max_output_tokens=200),
        }
    )
    compactor = StepCompactor()
    events: list[Any] = []
    agent = AgenticLoop(persona, tiers, toolbox=Toolbox([lookup_statute]), compactor=compactor)
    run = await agent.run("Draft a repair letter for the mouldy bedroom", on_event=events.append)

    assert run.status == "completed" and run.output == "Letter drafted."
    compacted = [e for e in events if isinstance(e, Compacted)]
    assert len(compacted) == 1
    assert (compacted[0].index, compacted[0].summarized, compacted[0].tier) == (4, 3, "small")
    assert run.summarized_steps == 3 and run.summary.startswith("Earlier: statutes")

    # The group (step 2) sat on the boundary: a message-level cut would have kept part of it.
    budget = 3000 - 200
    room = compactor.keep_recent * budget
    group, after = run.steps[2], run.steps[3]
    assert len([m for m in group.messages if m.role == "tool"]) == 3
    assert after.tokens + group.messages[-1].tokens <= room < after.tokens + group.tokens

    request = agent_backend.requests[4]  # step 4, after compaction
    assert request.messages[0].content == "Draft a repair letter for the mouldy bedroom"
    assert "Earlier: statutes s0, s1" in request.system
    sent_ids = {m.tool_call_id for m in request.messages if m.role == "tool"}
    assert sent_ids == {"s3_0"}  # the whole group went into the summary, none of it stayed
    for r in agent_backend.requests:
        assert_no_orphans(r.messages)

    # the summary call saw the whole group, calls and results together
    summary_prompt = summariser.requests[0].messages[0].content
    assert summary_prompt.count("Agent called lookup_statute") == 5  # steps 0, 1 and the group of three
    assert summary_prompt.count("Result of lookup_statute") == 5
    assert "s3" not in summary_prompt

    # its cost is recorded in the turn log of the step that caused it
    log = run.turn_logs[4]
    assert len(log.compactions) == 1 and log.compactions[0].tier == "small"
    cost = log.compactions[0].cost_usd
    assert cost is not None and cost > 0
    assert log.cost_usd is not None and log.total_cost_usd == pytest.approx(log.cost_usd + cost)
    assert run.cost_usd == pytest.approx(sum(t.total_cost_usd or 0 for t in run.turn_logs))


async def test_when_compaction_fails_the_oldest_steps_are_dropped_whole(persona: Persona) -> None:
    more = [lookups(1000, prefix=f"more{i}") for i in range(3)]
    agent_backend = planned(*more, refuse_summaries=True)
    broken = ScriptedBackend([ScriptedResponse(error=ProviderError("down", provider="scripted"))], cycle=True)
    tiers = TierRegistry(
        {
            "small": scripted_tier(broken, model="small-model"),
            "mid": scripted_tier(agent_backend, model="mid-model", context_window=3000, max_output_tokens=200),
        }
    )
    agent = AgenticLoop(persona, tiers, toolbox=Toolbox([lookup_statute]))
    run = await agent.run("task")
    assert run.status == "completed" and run.summarized_steps == 0
    assert any("compaction failed" in s.note for s in run.steps)
    for request in agent_backend.requests:
        assert_no_orphans(request.messages)
        prompt = sum(m.tokens for m in request.messages) + agent._system_tokens + agent._spec_tokens
        assert prompt <= 2800
    assert request.messages[0].content == "task"
    last_ids = {m.tool_call_id for m in request.messages if m.role == "tool"}
    assert "s0_0" not in last_ids and "more2_0" in last_ids  # the oldest steps were dropped, whole


def test_split_walks_back_whole_steps_and_keeps_at_least_one() -> None:
    compactor = StepCompactor(keep_recent=0.4)
    assert compactor.split([100, 100, 500, 50], 0, 1000) == 3  # 50 + 500 > 400: the 500 goes
    assert compactor.split([100, 100, 50, 300], 0, 1000) == 2  # 300 + 50 fit, + 100 does not
    assert compactor.split([100, 100, 900], 0, 1000) == 2  # the newest step stays, however big
    assert compactor.split([100, 100, 50], 2, 1000) == 2  # nothing before the summarised part
    assert compactor.due(801, 1000) and not compactor.due(800, 1000)
    with pytest.raises(ValueError):
        StepCompactor(keep_recent=0.9, threshold=0.8)
