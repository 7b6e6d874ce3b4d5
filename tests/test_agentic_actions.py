"""Reading an agent step's decision: marker parsing, built-in call arguments, run records."""

from __future__ import annotations

import json

import pytest

from persona_lab import Run, RunStatus, RunStep, ToolCall
from persona_lab.core import AskingUser, ToolCallRecord, TurnLog
from persona_lab.loops.agent._actions import (
    AskArguments,
    parse_ask_user,
    parse_final_answer,
    parse_markers,
    pick_option,
    question_key,
)
from persona_lab.loops.agent._run import FailedCall


def test_final_marker_takes_everything_after_it_even_with_question_marks() -> None:
    action = parse_markers("Let me think.\n[FINAL] Is it legal? No: section 21 needs a protected deposit.\nBye?")
    assert action is not None and action.kind == "final"
    assert action.reasoning == "Let me think."
    assert action.text == "Is it legal? No: section 21 needs a protected deposit.\nBye?"


def test_markers_only_count_at_the_start_of_a_line() -> None:
    assert parse_markers("Should I [ASK_USER] you? Maybe [FINAL] later.") is None
    assert parse_markers("What is your address?") is None
    indented = parse_markers("notes\n   [final]: done")
    assert indented is not None and indented.kind == "final" and indented.text == "done"


def test_ask_marker_reads_the_question_and_up_to_three_options() -> None:
    action = parse_markers("[ASK_USER] Which room has mould?\n- bedroom\n- kitchen\n* bathroom\n1. hall\nThanks")
    assert action is not None and action.kind == "ask_user" and action.ask is not None
    assert action.ask.question == "Which room has mould?"
    assert action.ask.options == ("bedroom", "kitchen", "bathroom")
    assert "first 3 of 4" in action.ask.note

    on_next_line = parse_markers("[ASK_USER]\nWhen did it start?\n")
    assert on_next_line is not None and on_next_line.ask == AskArguments("When did it start?", ())


def test_the_first_marker_wins() -> None:
    action = parse_markers("[ASK_USER] Which city?\n[FINAL] London")
    assert action is not None and action.kind == "ask_user" and action.ask is not None
    assert action.ask.options == ()


def test_ask_user_arguments_are_checked() -> None:
    assert parse_ask_user('{"question": "City?", "options": ["A", "B", "A", " "]}') == AskArguments("City?", ("A", "B"))
    assert "not valid JSON" in str(parse_ask_user("{question"))
    assert "non-empty" in str(parse_ask_user('{"question": "  "}'))
    assert "list of strings" in str(parse_ask_user('{"question": "Q", "options": [1]}'))
    assert parse_ask_user('{"question": "Q", "options": null}') == AskArguments("Q", ())
    assert parse_final_answer('{"text": " Done. "}') == "Done."
    assert parse_final_answer('{"text": ""}') is None
    assert parse_final_answer("not json") is None


def test_question_keys_and_option_numbers() -> None:
    assert question_key("Which  City?") == question_key("which city")
    assert question_key("Which city?") != question_key("Which street?")
    assert pick_option("2", ("London", "Leeds")) == "Leeds"
    assert pick_option("3", ("London", "Leeds")) == "3"
    assert pick_option("2", ("3", "2", "1")) == "2"  # an answer that is itself an option stays
    assert pick_option(" Leeds ", ("London", "Leeds")) == "Leeds"


def test_a_run_record_round_trips_through_json_with_every_field() -> None:
    log = TurnLog(
        conversation_id="r1", turn_index=0, timestamp="2025-01-01T00:00:00+00:00", persona_id="p",
        router_name="fixed", requested_tier="mid", tier="mid", decision_reason="fixed", latency_s=0.1,
        kind="agent_step", run_id="r1", step_index=0, cost_usd=0.01,
    )
    step = RunStep(
        index=0,
        action="ask_user",
        tier="mid",
        model="m",
        text="thinking",
        tool_calls=(
            ToolCallRecord(call_id="c", name="lookup", arguments="{}", result="ok", is_error=False, duration_s=0.1),
        ),
        question="City?",
        options=("A", "B"),
        cost_usd=0.01,
        input_tokens=10,
        output_tokens=5,
    )
    run = Run(
        id="r1",
        task="Draft",
        persona_id="p",
        status=RunStatus.AWAITING_USER,
        output="",
        steps=(step,),
        pending_question=AskingUser(id="r1", index=0, question="City?", options=("A", "B")),
        cost_usd=0.01,
        input_tokens=10,
        output_tokens=5,
        duration_s=0.2,
        turn_logs=(log,),
        asked=(("Street?", "Mill Lane"),),
        failed_calls=(FailedCall(name="lookup", arguments='{"a": 1}', content="ERROR: x"),),
        pending_call_id="q1",
        questions_asked=2,
        summary="notes",
        summarized_steps=0,
        metadata={"suite": "s"},
    )
    text = run.to_json()
    assert json.loads(text)["status"] == "awaiting_user"
    again = Run.from_json(text)
    assert again == run and again.status is RunStatus.AWAITING_USER
    assert again.pending_question == run.pending_question and again.tokens == 15
    assert "awaiting_user" in repr(again)

    with pytest.raises(ValueError, match="status 'paused' is not one of"):
        Run.from_dict({**run.to_dict(), "status": "paused"})


def test_tool_call_record_in_messages_survive_the_round_trip() -> None:
    from persona_lab import Message

    call = ToolCall(id="c1", name="lookup", arguments='{"x": 1}')
    step = RunStep(
        index=1,
        action="tools",
        tier="small",
        model="m",
        messages=(Message.assistant("", tool_calls=(call,)), Message.tool_result(call, "ok")),
    )
    again = RunStep.from_dict(json.loads(json.dumps(step.to_dict())))
    assert again == step and again.messages[1].tool_call_id == "c1" and again.tokens == step.tokens
