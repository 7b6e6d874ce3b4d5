"""Conversation branching: fork, replay through another loop, aligned views (scripted tiers: test doubles)."""

from __future__ import annotations

import json

import pytest

from persona_lab import (
    ConversationLoop,
    FixedRouter,
    HistoryCompactor,
    InMemoryTurnLogWriter,
    Persona,
    UsageError,
)
from persona_lab.branching import BRANCH_COLUMNS, Branch, BranchComparison, fork, replay, what_if
from persona_lab.core import ChatRequest, ProviderError, Usage
from persona_lab.tiers import Price, ScriptedBackend, ScriptedResponse, TierRegistry
from tests.helpers import scripted_tier

QUESTIONS = ["Who fixes the boiler?", "How long do they have?", "Can I withhold rent?", "What about mould?"]


def echo(tier: str) -> ScriptedBackend:
    def answer(request: ChatRequest) -> ScriptedResponse:
        if "summary" in request.system:
            return ScriptedResponse("summary of earlier turns", usage=Usage(input_tokens=50, output_tokens=5))
        return ScriptedResponse(
            f"[{tier}] re: {request.messages[-1].content}", usage=Usage(input_tokens=100, output_tokens=10),
        )

    return ScriptedBackend(answer)


def tiers() -> TierRegistry:
    prices = {"small": Price(0.1, 0.4), "mid": Price(1.0, 4.0), "frontier": Price(10.0, 30.0)}
    return TierRegistry(
        {t: scripted_tier(echo(t), model=f"{t}-model", price=prices[t]) for t in ("small", "mid", "frontier")}
    )


def original_run(persona: Persona) -> tuple[ConversationLoop, InMemoryTurnLogWriter]:
    writer = InMemoryTurnLogWriter()
    return ConversationLoop(persona, tiers(), FixedRouter("mid"), writer=writer), writer


async def test_fork_keeps_the_first_turns_under_a_new_id(persona: Persona) -> None:
    loop, _ = original_run(persona)
    conversation = loop.new_conversation()
    for q in QUESTIONS:
        await loop.achat(conversation, q)

    branch = fork(conversation, at_turn=2, label="small from turn 2")
    assert branch.id != conversation.id and branch.conversation.turn_count == 2
    assert [t.user_text for t in branch.conversation.turns] == QUESTIONS[:2]
    assert branch.origin.parent_id == conversation.id and branch.origin.at_turn == 2
    assert branch.conversation.cost_usd == pytest.approx(sum(t.cost_usd or 0 for t in conversation.turns[:2]))
    assert conversation.turn_count == 4  # the original is untouched
    assert Branch.from_dict(json.loads(json.dumps(branch.to_dict()))) == branch
    with pytest.raises(UsageError, match=r"at_turn must be 0\.\.4"):
        fork(conversation, at_turn=5)


def test_a_summary_past_the_fork_point_is_dropped(persona: Persona) -> None:
    loop, _ = original_run(persona)
    conversation = loop.new_conversation()
    for q in QUESTIONS:
        loop.chat(conversation, q)
    conversation.commit_summary("turns 0-2", 3)
    assert fork(conversation, at_turn=3).conversation.summary == "turns 0-2"
    dropped = fork(conversation, at_turn=2).conversation
    assert (dropped.summary, dropped.summarized_turns) == ("", 0)


async def test_replay_through_another_router_aligns_both_branches(persona: Persona) -> None:
    loop, writer = original_run(persona)
    conversation = loop.new_conversation()
    for q in QUESTIONS:
        await loop.achat(conversation, q)

    cheap_writer = InMemoryTurnLogWriter()
    cheap = ConversationLoop(persona, tiers(), FixedRouter("small"), writer=cheap_writer)
    run = await what_if(conversation, at_turn=2, loop=cheap)

    assert [log.turn_index for log in run.turn_logs] == [2, 3]
    assert [log.tier for log in run.turn_logs] == ["small", "small"]
    assert run.answers == ("[small] re: Can I withhold rent?", "[small] re: What about mould?")
    assert cheap_writer.records == list(run.turn_logs)  # the branch's turns are logged like any turn
    assert all(log.conversation_id == run.branch.id for log in run.turn_logs)

    view = BranchComparison(original=conversation, run=run, original_logs=writer.records)
    frame = view.frame()
    assert list(frame.columns) == list(BRANCH_COLUMNS)
    assert len(frame) == 8
    orig = frame[frame["branch"] == "original"]
    branch = frame[frame["branch"] == "branch"]
    assert list(orig["tier"]) == ["mid"] * 4
    assert list(branch["tier"]) == ["mid", "mid", "small", "small"]
    assert list(branch["shared"]) == [True, True, False, False]
    assert list(branch["user_text"]) == list(orig["user_text"]) == QUESTIONS
    assert orig["latency_s"].notna().all()
    assert branch["cumulative_cost_usd"].iloc[-1] == pytest.approx(branch["cost_usd"].sum())
    assert branch["cumulative_cost_usd"].iloc[-1] < orig["cumulative_cost_usd"].iloc[-1]  # the small tier is cheaper

    wide = view.side_by_side()
    assert list(wide["branch_tier"]) == ["mid", "mid", "small", "small"]
    assert list(wide["original_answer"])[3] == "[mid] re: What about mould?"

    fig = view.figure()
    assert [t.name for t in fig.data] == ["original", "original (cumulative)", "branch", "branch (cumulative)"]
    assert list(fig.data[2].text) == ["mid", "mid", "small", "small"]


async def test_without_logs_the_view_reads_the_conversation(persona: Persona) -> None:
    loop, _ = original_run(persona)
    conversation = loop.new_conversation()
    for q in QUESTIONS[:3]:
        await loop.achat(conversation, q)
    run = await what_if(conversation, at_turn=1, loop=ConversationLoop(persona, tiers(), FixedRouter("frontier")))
    frame = BranchComparison(original=conversation, run=run).frame()
    orig = frame[frame["branch"] == "original"]
    assert list(orig["tier"]) == ["mid"] * 3 and orig["latency_s"].isna().all()
    assert list(orig["cost_usd"]) == pytest.approx([t.cost_usd for t in conversation.turns])


async def test_a_branch_is_an_ordinary_conversation_it_compacts_and_resumes(persona: Persona) -> None:
    loop, _ = original_run(persona)
    conversation = loop.new_conversation()
    for i in range(6):
        await loop.achat(conversation, f"question {i}")
    compacting = ConversationLoop(
        persona, tiers(), FixedRouter("small"), compactor=HistoryCompactor(compact_after=3, keep_recent=1)
    )
    run = await what_if(conversation, at_turn=3, loop=compacting)
    assert run.branch.conversation.summarized_turns > 0  # the branch was compacted like any conversation
    assert any(log.compactions for log in run.turn_logs)

    resumed = Branch.from_dict(json.loads(json.dumps(run.branch.to_dict())))
    result = await compacting.achat(resumed.conversation, "one more")
    assert result.turn_log.conversation_id == run.branch.id and resumed.conversation.turn_count == 7
    assert resumed.origin == run.branch.origin


async def test_replay_goes_on_after_a_failed_turn_and_checks_its_inputs(persona: Persona) -> None:
    loop, _ = original_run(persona)
    conversation = loop.new_conversation()
    for q in QUESTIONS[:3]:
        await loop.achat(conversation, q)
    flaky = ScriptedBackend([ScriptedResponse(error=ProviderError("down", provider="scripted")), "fine now"])
    broken = ConversationLoop(persona, TierRegistry({"mid": scripted_tier(flaky, model="m")}), FixedRouter("mid"))
    run = await what_if(conversation, at_turn=1, loop=broken)
    assert [log.ok for log in run.turn_logs] == [False, True]
    assert run.answers == ("", "fine now")
    assert run.branch.conversation.turn_count == 2  # the failed turn was not committed

    other = Persona.from_dict({"id": "variant", "identity": {"name": "A", "role": "B"}})
    variant = ConversationLoop(other, tiers(), FixedRouter("mid"))
    with pytest.raises(UsageError, match="fork with persona_id='variant'"):
        await replay(fork(conversation, at_turn=1), conversation, variant)
    with pytest.raises(UsageError, match="was forked from"):
        await replay(fork(conversation, at_turn=1), loop.new_conversation(), loop)
    run = await what_if(conversation, at_turn=1, loop=variant)  # a persona variant answers the rest
    assert run.branch.conversation.persona_id == "variant" and len(run.turn_logs) == 2


def test_the_side_by_side_widget_shows_both_answers(persona: Persona) -> None:
    pytest.importorskip("ipywidgets")
    from persona_lab.branching._widget import render_branches_html

    loop, writer = original_run(persona)
    conversation = loop.new_conversation()
    for q in QUESTIONS[:2]:
        loop.chat(conversation, q)
    cheap = ConversationLoop(persona, tiers(), FixedRouter("small"))
    from persona_lab.core import run_sync

    run = run_sync(what_if(conversation, at_turn=1, loop=cheap))
    view = BranchComparison(original=conversation, run=run, original_logs=writer.records, names=("mid", "small"))
    html = render_branches_html(view)
    assert "[mid] re: How long do they have?" in html and "[small] re: How long do they have?" in html
    assert "turn 0 (shared)" in html and "turn 1 (shared)" not in html
    assert view.widget().children[0].value == html
