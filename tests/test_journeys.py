"""Journeys on the conversation loop, the journey tools, state resumption and the intent router.

Models are scripted backends (test doubles) that answer with the tool calls a model would make.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from persona_lab import (
    ConversationLoop,
    FixedRouter,
    InMemoryTurnLogWriter,
    Persona,
    PersonaError,
    Toolbox,
    ToolCall,
    tool,
)
from persona_lab.core import ChatRequest, ProviderError, Usage
from persona_lab.journeys import (
    IntentRouter,
    Journey,
    JourneyRunner,
    JourneyState,
    JourneyStateMismatch,
    JourneyWork,
    journey_step_costs,
    journey_summary,
)
from persona_lab.tiers import Price, ScriptedBackend, ScriptedResponse, TierRegistry
from tests.helpers import scripted_tier


@tool
def lookup_statute(name: str) -> str:
    """Look up what a statute says.

    Args:
        name: the statute's short name
    """
    return f"{name}: the landlord must keep the structure in repair"


@tool
def deadline_calculator(days: int) -> str:
    """Add days to today.

    Args:
        days: how many days
    """
    return f"in {days} days"


def calls(*pairs: tuple[str, dict[str, Any]]) -> ScriptedResponse:
    return ScriptedResponse(
        tool_calls=tuple(ToolCall(id=f"c{i}", name=n, arguments=json.dumps(a)) for i, (n, a) in enumerate(pairs)),
        usage=Usage(input_tokens=200, output_tokens=20),
    )


def say(text: str) -> ScriptedResponse:
    return ScriptedResponse(text, usage=Usage(input_tokens=200, output_tokens=20))


def registry(**scripts: list[str | ScriptedResponse]) -> tuple[TierRegistry, dict[str, ScriptedBackend]]:
    prices = {"small": Price(0.1, 0.4), "mid": Price(1.0, 4.0), "frontier": Price(10.0, 30.0)}
    backends = {t: ScriptedBackend(s) for t, s in scripts.items()}
    tiers = TierRegistry({t: scripted_tier(b, model=f"{t}-model", price=prices[t]) for t, b in backends.items()})
    return tiers, backends


def tool_names(request: ChatRequest) -> list[str]:
    return sorted(t.name for t in request.tools)


async def test_a_journey_runs_on_the_loop_step_by_step(persona: Persona) -> None:
    tiers, backends = registry(
        small=[
            say("Hello! What is your name and email?"),
            calls(
                ("record_field", {"field": "tenant_name", "value": "Sam"}),
                ("record_field", {"field": "email", "value": "sam@example.org"}),
                ("go_to_step", {"step": "problem"}),
            ),
            say("Thanks Sam. What is broken?"),
        ],
        mid=[
            calls(
                ("record_field", {"field": "defect", "value": "boiler"}),
                ("record_field", {"field": "since", "value": "1st of November"}),  # wrong type
                ("go_to_step", {"step": "contact"}),  # undeclared transition
                ("go_to_step", {"step": "advice"}),  # required fields missing
            ),
            calls(
                ("record_field", {"field": "since", "value": "2026-11-01"}),
                ("record_field", {"field": "landlord_told", "value": "yes"}),
                ("go_to_step", {"step": "advice"}),
            ),
            say("Noted. Here is what the law says next."),
            say("You're welcome."),
        ],
        frontier=[say("Under section 11 your landlord must repair the boiler. Draft letter: ...")],
    )
    writer = InMemoryTurnLogWriter()
    loop = ConversationLoop(
        persona, tiers, FixedRouter("mid"), toolbox=Toolbox([lookup_statute, deadline_calculator]), writer=writer
    )
    runner = JourneyRunner(loop, intents=IntentRouter(persona.journeys))
    conversation = loop.new_conversation()

    first = await runner.achat(conversation, None, "My boiler is broken")
    assert first.intent is not None and (first.intent.journey, first.intent.method) == ("repair_report", "rules")
    assert first.state is not None and first.state.step == "contact" and first.state.turns == 1
    log = first.turn_log
    assert log.tier == "small" and log.requested_tier == "small"  # the step's tier preference
    assert "journey repair_report step contact prefers small (router chose mid" in log.decision_reason
    assert log.decision_features["router_tier"] == "mid"
    assert log.labels["intent"] == "repair_report" and log.labels["journey_step"] == "contact"
    request = backends["small"].requests[0]
    assert "Current step 1 of 3: contact" in request.system and "tenant_name (string)" in request.system
    assert tool_names(request) == ["go_to_step", "record_field"]  # the contact step allows no persona tool

    second = await runner.achat(conversation, first.state, "I'm Sam, sam@example.org")
    assert second.intent is None  # a journey is active: the intent router is not asked
    assert second.state is not None and second.state.step == "problem"
    assert dict(second.state.fields) == {"tenant_name": "Sam", "email": "sam@example.org"}
    assert second.state.completed_steps == ("contact",)
    labels = second.turn_log.labels
    assert (labels["journey_step"], labels["journey_next_step"]) == ("contact", "problem")
    assert labels["journey_fields"] == "tenant_name,email" and labels["journey_transitions"] == "contact>problem"
    assert second.answer == "Thanks Sam. What is broken?"

    third = await runner.achat(conversation, second.state, "The boiler, since 1 November; yes I told them")
    records = third.turn_log.tool_calls
    assert [(r.name, r.is_error) for r in records] == [
        ("record_field", False),
        ("record_field", True),
        ("go_to_step", True),
        ("go_to_step", True),
        ("record_field", False),
        ("record_field", False),
        ("go_to_step", False),
    ]
    assert "since must be a date as YYYY-MM-DD" in records[1].result
    assert "cannot move from 'problem' to 'contact'; declared transitions: advice" in records[2].result
    assert "step 'problem' still needs: since, landlord_told" in records[3].result
    assert third.turn_log.tier == "mid" and third.turn_log.labels["journey_rejected_calls"] == "3"
    assert third.state is not None and third.state.step == "advice" and third.state.active
    assert third.state.fields["landlord_told"] is True and third.state.fields["since"] == "2026-11-01"

    saved = json.dumps(third.state.to_dict())  # the caller owns the state: a new process resumes it
    loop2 = ConversationLoop(persona, tiers, FixedRouter("mid"), toolbox=Toolbox([lookup_statute]), writer=writer)
    runner2 = JourneyRunner(loop2, intents=IntentRouter(persona.journeys))
    fourth = await runner2.achat(conversation, runner2.resume(json.loads(saved)), "What now?")
    assert fourth.turn_log.tier == "frontier"
    assert tool_names(backends["frontier"].requests[0]) == ["lookup_statute"]  # no journey tool left to call
    assert fourth.state is not None and fourth.state.status == "completed"
    assert fourth.state.completed_steps == ("contact", "problem", "advice")
    assert fourth.turn_log.labels["journey_status"] == "completed"

    fifth = await runner2.achat(conversation, fourth.state, "Thanks!")
    assert fifth.intent is not None and fifth.intent.journey is None
    assert fifth.turn_log.labels == {
        "intent": "none",
        "intent_method": "none",
        "intent_reason": "no rule matched",
        "intent_cost_usd": "0.00000000",
    }
    assert fifth.turn_log.tier == "mid"  # plain chat: the router decides alone

    steps = journey_step_costs(writer.records)
    assert list(steps["journey_step"]) == ["contact", "problem", "advice"]
    assert list(steps["turns"]) == [2, 1, 1]
    by_step = dict(zip(steps["journey_step"], steps["cost_usd"], strict=True))
    assert by_step["advice"] == pytest.approx(fourth.turn_log.total_cost_usd)
    summary = journey_summary(writer.records)
    assert summary.to_dict("records")[0] | {"cost_usd": 0} == {
        "conversation_id": conversation.id,
        "journey": "repair_report",
        "turns": 4,
        "cost_usd": 0,
        "completed": True,
        "steps": "contact > problem > advice",
    }


def definition(**changes: Any) -> dict[str, Any]:
    steps = [
        {"name": "ask", "instructions": "Ask.", "fields": [{"name": "age", "type": "integer"}], "transitions": ["end"]},
        {"name": "end", "instructions": "Thank them."},
    ]
    return {"name": "survey", "description": "a survey", "steps": steps, **changes}


def persona_with(journey: dict[str, Any]) -> dict[str, Any]:
    return {"id": "p", "identity": {"name": "A", "role": "B"}, "journeys": [journey]}


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (
            lambda j: j["steps"][0].update(transitions=["finish"]),
            "journeys.0.steps.0.transitions",
            "unknown step 'finish'; steps: ask, end",
        ),
        (
            lambda j: j["steps"][0]["fields"][0].update(type="colour"),
            "journeys.0.steps.0.fields.0.type",
            "unknown field type 'colour'; expected one of: string, integer, number, boolean, date, email, choice",
        ),
        (lambda j: j["steps"][1].update(name="ask"), "journeys.0.steps.1.name", "step 'ask' is declared twice"),
        (
            lambda j: j["steps"][0]["fields"][0].update(type="choice"),
            "journeys.0.steps.0.fields.0",
            "has type 'choice' but no choices",
        ),
        (lambda j: j.update(start="middle"), "journeys.0.start", "unknown step 'middle'"),
    ],
)
def test_a_bad_journey_names_the_field(mutate: Any, field: str, message: str) -> None:
    journey = definition()
    mutate(journey)
    with pytest.raises(PersonaError, match=r"^<dict>: ") as info:
        Persona.from_dict(persona_with(journey))
    assert info.value.field == field and message in str(info.value)


def test_a_state_from_an_older_definition_names_the_mismatch() -> None:
    journey = Journey.from_dict(definition())
    state = JourneyState.start(journey)
    work = JourneyWork(journey, state, 0)
    work.record_field("age", "42")
    work.go_to_step("end")
    saved = work.state.to_dict()
    assert saved["fields"] == {"age": 42} and saved["step"] == "end"

    same = JourneyState.from_dict(saved).check(journey)
    assert same == work.state

    retyped = definition()
    retyped["steps"][0]["fields"][0]["type"] = "date"
    with pytest.raises(JourneyStateMismatch, match="field 'age' is now of type 'date'") as info:
        JourneyState.from_dict(saved).check(Journey.from_dict(retyped))
    assert f"saved with definition {journey.version}" in str(info.value)

    renamed = definition()
    renamed["steps"][1]["name"] = "done"
    renamed["steps"][0]["transitions"] = ["done"]
    with pytest.raises(JourneyStateMismatch, match="current step 'end' no longer exists"):
        JourneyState.from_dict(saved).check(Journey.from_dict(renamed))

    added = definition()
    added["steps"][1]["fields"] = [{"name": "comment", "type": "string", "required": False}]
    newer = Journey.from_dict(added)
    assert JourneyState.from_dict(saved).check(newer).version == newer.version  # still fits: upgraded
    with pytest.raises(JourneyStateMismatch, match="steps, fields or transitions changed"):
        JourneyState.from_dict(saved).check(newer, strict=True)
    with pytest.raises(JourneyStateMismatch, match="belongs to journey 'survey', not 'other'"):
        JourneyState.from_dict(saved).check(Journey.from_dict(definition(name="other")))
    with pytest.raises(JourneyStateMismatch, match="not a journey state"):
        JourneyState.from_dict({"journey": "survey"})


def test_journey_tools_reject_what_the_definition_forbids() -> None:
    journey = Journey.from_dict(definition())
    work = JourneyWork(journey, JourneyState.start(journey), 3)
    with pytest.raises(ValueError, match="step 'ask' does not collect 'name'; it collects: age"):
        work.record_field("name", "Sam")
    with pytest.raises(ValueError, match="age must be an integer, got 'old'"):
        work.record_field("age", "old")
    with pytest.raises(ValueError, match="step 'ask' still needs: age"):
        work.go_to_step("end")
    work.record_field("age", 30)
    assert "call go_to_step with one of: end" in work.record_field("age", 31)
    work.go_to_step("end")
    assert work.state.active  # the final step has not run a turn yet
    assert work.labels()["journey_status"] == "active"
    later = JourneyWork(journey, work.state, 4)
    assert later.labels()["journey_status"] == "completed" and later.state.completed_steps == ("ask", "end")
    with pytest.raises(ValueError, match="already completed"):
        later.go_to_step("ask")
    assert later.rejected == 1


async def test_the_intent_model_picks_a_journey_or_plain_chat(persona: Persona) -> None:
    tiers, backends = registry(
        small=[
            calls(("start_repair_report", {})),
            say("none"),
            calls(("start_world_peace", {})),
            ScriptedResponse(error=ProviderError("down", provider="scripted")),
        ],
        mid=["fine"],
    )
    router = IntentRouter(persona.journeys, tiers=tiers, tier="small")
    chosen = await router.choose("the heating has stopped working")  # no rule word: the model decides
    assert (chosen.journey, chosen.method, chosen.tier) == ("repair_report", "model", "small")
    assert chosen.cost_usd > 0 and chosen.input_tokens > 0
    request = backends["small"].requests[0]
    assert tool_names(request) == ["start_repair_report"] and request.tools[0].description.startswith("collect")

    none = await router.choose("what's the weather like?")
    assert none.journey is None and none.method == "model" and "chose no journey (answered 'none')" in none.reason
    odd = await router.choose("hello")
    assert odd.journey is None and "called 'world_peace', not a journey" in odd.reason
    fallback = await router.choose("hello again")  # small fails: the call falls back to mid like any call
    assert (fallback.journey, fallback.method, fallback.tier) == (None, "model", "mid")
    only_small, _ = registry(small=[ScriptedResponse(error=ProviderError("down", provider="scripted"))])
    down = await IntentRouter(persona.journeys, tiers=only_small).choose("hello")
    assert (down.journey, down.method) == (None, "none") and "intent model unavailable" in down.reason

    assert (await router.choose("the boiler is broken")).method == "rules"  # rules first, no model call
    assert len(backends["small"].requests) == 4 and len(backends["mid"].requests) == 1

    writer = InMemoryTurnLogWriter()
    tiers2, _ = registry(small=[say("none")], mid=["It is sunny."])
    loop = ConversationLoop(persona, tiers2, FixedRouter("mid"), writer=writer)
    runner = JourneyRunner(loop, intents=IntentRouter(persona.journeys, tiers=tiers2, use_rules=False))
    turn = await runner.achat(loop.new_conversation(), None, "the boiler is broken")
    assert turn.state is None and turn.answer == "It is sunny."  # no journey: plain chat, logged
    assert turn.turn_log.labels["intent"] == "none" and turn.turn_log.labels["intent_method"] == "model"
    assert float(turn.turn_log.labels["intent_cost_usd"]) > 0


def test_journey_widget_shows_progress_and_fields(persona: Persona) -> None:
    pytest.importorskip("ipywidgets")
    from persona_lab.journeys import JourneyChatWidget, JourneySession, render_journey_html

    journey = persona.journey("repair_report")
    work = JourneyWork(journey, JourneyState.start(journey), 0)
    work.record_field("tenant_name", "Sam")
    work.record_field("email", "sam@example.org")
    work.go_to_step("problem")
    html = render_journey_html(journey, work.state)
    assert html.count('data-status="done"') == 1 and html.count('data-status="current"') == 1
    assert html.count('data-status="pending"') == 1 and "sam@example.org" in html
    assert "No journey yet" in render_journey_html(None, None)

    tiers, _ = registry(small=[say("Hi! Your name?")], mid=["ok"])
    loop = ConversationLoop(persona, tiers, FixedRouter("mid"))
    session = JourneySession(JourneyRunner(loop, intents=IntentRouter(persona.journeys)))
    widget = JourneyChatWidget(session)
    assert "No journey yet" in widget.progress.value
    from persona_lab.core import run_sync

    async def drive() -> None:
        async for _ in session.turn(widget.chat.conversation, "my flat has mould"):
            pass

    run_sync(drive())
    assert session.state is not None and session.state.step == "contact"
    assert 'data-status="current"' in widget.progress.value and "repair_report" in widget.progress.value
    assert session.persona is persona  # the session stands in for the loop
