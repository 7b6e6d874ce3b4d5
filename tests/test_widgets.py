"""Widgets driven in-process (no browser, no kernel) against scripted tiers (test doubles)."""

from __future__ import annotations

import asyncio
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ipywidgets")

from persona_lab import (
    AgenticLoop,
    AllTiersFailed,
    ConversationLoop,
    FixedRouter,
    Persona,
    Run,
    TierRegistry,
    Toolbox,
    ToolCall,
    tool,
)
from persona_lab.core import AskingUser, ChatRequest, ProviderError, TurnLog, Usage
from persona_lab.tiers import ScriptedBackend, ScriptedResponse
from persona_lab.widgets import (
    AskUserPanel,
    ChatWidget,
    CostChart,
    RunWidget,
    ThrottledView,
    TurnLogPanel,
    TurnLogTable,
    cost_series,
    format_usd,
    render_markdown,
    render_turn_html,
)


class _Text(HTMLParser):
    """Visible text of one ``<div class="plab-answer">`` (what a reader sees)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self.depth += tag != "br"
        elif tag == "div" and ("class", "plab-answer") in attrs:
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag != "br":
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def answer_text(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    return "".join(parser.parts).strip()


def status_of(markup: str) -> str:
    match = re.search(r'data-status="(\w+)"', markup)
    assert match, markup
    return match.group(1)


def chat_loop(persona: Persona, make_tiers: Any, **backends: ScriptedBackend) -> ConversationLoop:
    tier = next(iter(backends))
    return ConversationLoop(persona, make_tiers(**backends), FixedRouter(tier))


def bubbles(widget: ChatWidget) -> list[str]:
    return [child.value for child in widget.messages.children]


# -- chat ------------------------------------------------------------------------------------


def press_enter(widget: ChatWidget) -> None:
    """What Enter in the browser does: the text box sends a ``submit`` event."""
    widget.text._handle_string_msg(None, {"event": "submit"}, [])


async def test_streaming_fills_the_bubble_with_exactly_the_generated_text(persona: Persona, make_tiers: Any) -> None:
    answer = "The deposit must be protected within thirty days of payment, " * 8
    backend = ScriptedBackend([answer], chunk_chars=5, time_per_chunk_s=0.002)
    widget = ChatWidget(chat_loop(persona, make_tiers, mid=backend), flush_interval_s=0.02)
    seen: list[str] = []

    widget.text.value = "When must my deposit be protected?"  # typing (or leaving the box) sends nothing
    assert not widget.running and widget.task is None
    press_enter(widget)
    assert widget.running and widget.text.value == ""
    await asyncio.sleep(0)
    assert not widget.text.disabled and not widget.send_button.disabled and not widget.stop_button.disabled
    bubble = widget.messages.children[-1]
    bubble.observe(lambda change: seen.append(change["new"]), names="value")
    log = await widget.task

    final = bubble.value
    assert answer_text(final) == answer.strip()
    assert status_of(final) == "done"
    assert isinstance(log, TurnLog) and log.tier == "mid"
    partial = [answer_text(v) for v in seen[:-1]]
    assert len(partial) >= 3, "the answer should arrive in several flushes"
    assert all(answer.startswith(p) for p in partial)
    assert len(seen) < len(answer) / 5, "every chunk became a widget update: no batching"
    assert widget.view is not None and widget.view.flushes == len(seen) + 1  # + the empty bubble
    assert widget.view.changes > widget.view.flushes
    assert not widget.text.disabled and widget.stop_button.disabled and widget.text.value == ""
    assert "When must my deposit be protected?" in bubbles(widget)[0]
    assert widget.conversation.turn_count == 1


async def test_each_turn_shows_tier_model_tokens_cost_and_latency_and_a_running_total(
    persona: Persona, make_tiers: Any
) -> None:
    backend = ScriptedBackend(["First **answer**.", "Second answer."], chunk_chars=4)
    widget = ChatWidget(chat_loop(persona, make_tiers, frontier=backend))
    for question in ("one?", "two?"):
        assert widget.send(question)
        await widget.task
    logs = widget.turn_logs
    assert [log.turn_index for log in logs] == [0, 1]
    last = bubbles(widget)[-1]
    assert "#6a1b9a" in last and ">frontier<" in last and "frontier-model" in last
    assert f"{logs[1].gen_ai_usage_input_tokens} in · {logs[1].gen_ai_usage_output_tokens} out" in last
    assert f"{logs[1].latency_s:.2f} s" in last
    assert "<strong>answer</strong>" in bubbles(widget)[1]
    total = sum(log.total_cost_usd or 0 for log in logs)
    assert total > 0 and widget.conversation.cost_usd == pytest.approx(total)
    assert format_usd(total) in widget.total.value and "2 turns" in widget.total.value

    # the cost chart and the table updated after each turn
    assert widget.panel is not None and widget.panel.chart is not None and widget.panel.table is not None
    figure = widget.panel.chart.figure
    bars = {trace.name: trace for trace in figure.data}
    assert list(bars["frontier"].y) == pytest.approx([log.total_cost_usd for log in logs])
    assert list(bars["small"].y) == []
    assert list(bars["cumulative"].y) == pytest.approx([logs[0].total_cost_usd, total])
    assert widget.panel.table.table.value.count("<tr") == 3  # header + two turns


async def test_a_retry_discards_the_partial_text(persona: Persona, make_tiers: Any) -> None:
    broken = ScriptedBackend([ScriptedResponse("HALF AN ANSWER THAT BREAKS OFF", fail_after_chunks=2)], chunk_chars=4)
    good = ScriptedBackend(["A clean answer from mid."], chunk_chars=4)
    loop = ConversationLoop(persona, make_tiers(frontier=broken, mid=good), FixedRouter("frontier"))
    widget = ChatWidget(loop)
    assert widget.send("help")
    await widget.task
    final = bubbles(widget)[-1]
    assert answer_text(final) == "A clean answer from mid."
    assert "HALF" not in answer_text(final)
    assert 'data-kind="retry"' in final and ">mid<" in final


async def test_stop_cancels_the_turn_in_progress(persona: Persona, make_tiers: Any) -> None:
    slow = ScriptedBackend(["word " * 400], chunk_chars=5, time_per_chunk_s=0.01)
    widget = ChatWidget(chat_loop(persona, make_tiers, mid=slow))
    widget.send("a long answer please")
    await asyncio.sleep(0.1)
    assert widget.running and answer_text(widget.messages.children[-1].value)  # some text arrived
    widget.stop_button.click()
    with pytest.raises(asyncio.CancelledError):
        await widget.task
    await asyncio.sleep(0)
    final = bubbles(widget)[-1]
    assert status_of(final) == "stopped" and "Stopped" in final
    assert 0 < len(answer_text(final)) < len("word " * 400) - 1
    assert "Stopped" in widget.status.value
    assert widget.conversation.turn_count == 0
    assert not widget.running and not widget.text.disabled and widget.stop_button.disabled
    assert widget.stop() is False  # nothing left to stop


async def test_a_failing_backend_shows_its_error_and_keeps_it_on_the_task(persona: Persona, make_tiers: Any) -> None:
    failing = ScriptedBackend([ScriptedResponse(error=ProviderError("upstream exploded", provider="scripted"))])
    widget = ChatWidget(chat_loop(persona, make_tiers, mid=failing))
    widget.send("hello?")
    with pytest.raises(AllTiersFailed):
        await widget.task
    await asyncio.sleep(0)
    assert "AllTiersFailed" in widget.status.value and "upstream exploded" in widget.status.value
    final = bubbles(widget)[-1]
    assert status_of(final) == "failed" and "upstream exploded" in final
    assert len(widget.turn_logs) == 1 and widget.turn_logs[0].error_type == "AllTiersFailed"
    assert not widget.text.disabled  # the user can try again


async def test_messages_sent_while_a_turn_runs_wait_and_run_in_order(persona: Persona, make_tiers: Any) -> None:
    backend = ScriptedBackend(["one answer " * 20], chunk_chars=4, time_per_chunk_s=0.001, cycle=True)
    widget = ChatWidget(chat_loop(persona, make_tiers, mid=backend))
    widget.text.value = "first"
    widget.send_button.click()
    assert widget.send("second") and list(widget.pending) == ["second"]
    assert "1 message waiting" in widget.status.value
    widget.text.value = "third"  # typed ahead while the first turn streams
    press_enter(widget)
    assert list(widget.pending) == ["second", "third"] and widget.text.value == ""
    for _ in range(10):
        await widget.task
        await asyncio.sleep(0)
        if not widget.running and not widget.pending:
            break
    assert [r.messages[-1].content for r in backend.requests] == ["first", "second", "third"]
    assert widget.conversation.turn_count == 3 and len(widget.messages.children) == 6
    assert "waiting" not in widget.status.value


async def test_leaving_the_box_keeps_the_draft_and_sends_nothing(persona: Persona, make_tiers: Any) -> None:
    backend = ScriptedBackend(["answer"], cycle=True)
    widget = ChatWidget(chat_loop(persona, make_tiers, mid=backend))
    widget.text.value = "a draft"  # the browser syncs the value on every key and on blur
    await asyncio.sleep(0.05)
    assert widget.task is None and backend.requests == [] and widget.text.value == "a draft"


async def test_the_bubble_shows_the_wait_until_the_first_token(persona: Persona, make_tiers: Any) -> None:
    slow = ScriptedBackend([ScriptedResponse("late answer", latency_s=0.5)])
    widget = ChatWidget(chat_loop(persona, make_tiers, mid=slow), flush_interval_s=0.01)
    seen: list[str] = []
    widget.send("hello")
    await asyncio.sleep(0)
    widget.messages.children[-1].observe(lambda change: seen.append(change["new"]), names="value")
    await widget.task
    waits = [float(m) for v in seen for m in re.findall(r"waiting for the first token… ([0-9.]+) s", v)]
    assert len(waits) >= 2 and waits == sorted(waits) and waits[-1] >= 0.2
    assert "waiting for the first token" not in bubbles(widget)[-1]


async def test_an_answer_cut_by_the_token_limit_is_marked(persona: Persona) -> None:
    from tests.helpers import scripted_tier

    cut = ScriptedResponse("an answer that stops mid", usage=Usage(input_tokens=20, output_tokens=16))
    whole = ScriptedResponse("short", usage=Usage(input_tokens=20, output_tokens=3))
    tiers = TierRegistry({"mid": scripted_tier(ScriptedBackend([cut, whole]), model="m", max_output_tokens=16)})
    widget = ChatWidget(ConversationLoop(persona, tiers, FixedRouter("mid")))
    widget.send("one")
    await widget.task
    assert 'data-cut="length"' in bubbles(widget)[-1] and "16 tokens" in bubbles(widget)[-1]
    widget.send("two")
    await widget.task
    assert "plab-cut" not in bubbles(widget)[-1]


async def test_the_transcript_has_a_static_copy_and_exports_to_html(
    persona: Persona, make_tiers: Any, tmp_path: Path
) -> None:
    widget = ChatWidget(chat_loop(persona, make_tiers, mid=ScriptedBackend(["Static **answer**."])))
    widget.send("<b>question</b>")
    await widget.task
    static = widget.static_html()
    assert "plab-static" in static and "<strong>answer</strong>" in static and "&lt;b&gt;question" in static
    assert "<b>question</b>" not in static and "1 turn" in static
    bundle = widget._repr_mimebundle_()
    assert bundle is not None and "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"] == static
    link = widget.to_html(tmp_path / "chat.html")
    page = (tmp_path / "chat.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "Static <strong>answer" in page
    assert "chat.html" in link._repr_html_()


async def test_clicks_from_another_thread_start_and_stop_turns_on_the_loop(persona: Persona, make_tiers: Any) -> None:
    backend = ScriptedBackend(["threaded answer"], chunk_chars=4, cycle=True)
    widget = ChatWidget(chat_loop(persona, make_tiers, mid=backend))
    widget.text.value = ""

    def click_send() -> None:  # a kernel subshell delivers the click on its own thread
        widget.text.value = "from a thread"
        widget.send_button.click()

    await asyncio.to_thread(click_send)
    for _ in range(100):
        if widget.task is not None:
            break
        await asyncio.sleep(0.01)
    assert widget.task is not None
    await widget.task
    assert answer_text(bubbles(widget)[-1]) == "threaded answer"

    slow = ScriptedBackend(["x " * 500], chunk_chars=2, time_per_chunk_s=0.01)
    widget2 = ChatWidget(chat_loop(persona, make_tiers, mid=slow))
    widget2.send("go")
    await asyncio.sleep(0.05)
    await asyncio.to_thread(widget2.stop_button.click)
    with pytest.raises(asyncio.CancelledError):
        await widget2.task


async def test_a_chat_without_configured_tiers_says_so(persona: Persona) -> None:
    widget = ChatWidget(ConversationLoop(persona, TierRegistry({}), FixedRouter("mid")))
    assert "No model tier is configured" in widget.status.value
    assert widget.text.disabled and widget.send_button.disabled
    assert widget.send("hello") is False and widget.task is None


async def test_a_conversation_with_history_shows_its_turns(persona: Persona, make_tiers: Any) -> None:
    loop = chat_loop(persona, make_tiers, small=ScriptedBackend(["earlier answer"]))
    conversation = loop.new_conversation()
    await loop.achat(conversation, "earlier question")
    widget = ChatWidget(loop, conversation)
    shown = bubbles(widget)
    assert len(shown) == 2 and "earlier question" in shown[0] and answer_text(shown[1]) == "earlier answer"
    assert ">small<" in shown[1] and f"{format_usd(conversation.cost_usd)} · " in shown[1]
    assert "$" in widget.total.value and "1 turn " in widget.total.value


# -- rendering and batching -------------------------------------------------------------------


def test_markdown_is_rendered_and_raw_html_is_escaped() -> None:
    source = "**bold** `a<b` <script>alert(1)</script>\n\n[x](javascript:alert(1))\n\n<img src=x onerror=y>"
    out = render_markdown(source)
    assert "<strong>bold</strong>" in out and "<code>a&lt;b</code>" in out
    assert "<script" not in out and "<img" not in out and "javascript:" not in out


def test_render_turn_html_escapes_and_names_everything() -> None:
    log = TurnLog(
        conversation_id="c", turn_index=3, timestamp="2025-01-01T00:00:00+00:00", persona_id="p",
        router_name="r", requested_tier="frontier", tier="mid", decision_reason="why", latency_s=1.234,
        gen_ai_response_model="<evil>", gen_ai_usage_input_tokens=10, gen_ai_usage_output_tokens=5,
        cost_usd=0.00012, total_cost_usd=0.00012, fallback_from="frontier", fallback_to="mid",
        fallback_reason="frontier down",
    )  # fmt: skip
    out = render_turn_html(log)
    assert "&lt;evil&gt;" in out and "<evil>" not in out
    assert ">mid<" in out and "#1565c0" in out and "10 in · 5 out" in out and "$0.00012" in out
    assert "1.23 s" in out and "frontier → mid" in out


def test_throttled_view_batches_and_always_sends_the_last_state() -> None:
    class Target:
        value = ""

    async def scenario() -> tuple[int, str]:
        target = Target()
        text: list[str] = []
        view = ThrottledView(target, lambda: "".join(text), interval_s=0.05)
        for i in range(200):
            text.append(str(i % 10))
            view.touch()
        await asyncio.sleep(0.08)
        mid_flushes = view.flushes
        text.append("END")
        view.touch()
        view.close()
        assert target.value.endswith("END")
        return mid_flushes, target.value

    flushes, value = asyncio.run(scenario())
    assert flushes == 1 and len(value) == 203


# -- turn-log views ---------------------------------------------------------------------------


def _log(index: int, tier: str | None, cost: float | None, **kw: Any) -> TurnLog:
    return TurnLog(
        conversation_id="c", turn_index=index, timestamp="2025-01-01T00:00:00+00:00", persona_id="p",
        router_name="r", requested_tier=tier or "mid", tier=tier, decision_reason="", latency_s=0.5,
        cost_usd=cost, total_cost_usd=cost, gen_ai_response_model=f"{tier}-m", **kw,
    )  # fmt: skip


def test_cost_series_numbers_turns_and_accumulates() -> None:
    series = cost_series([_log(0, "small", 0.001), _log(1, "frontier", 0.01), _log(2, None, None, error="x")])
    assert series.turn == (1, 2, 3) and series.tier == ("small", "frontier", "no tier")
    assert series.cumulative_usd == pytest.approx((0.001, 0.011, 0.011))
    assert series.for_tier("frontier")[:2] == ([2], [0.01])


def test_the_table_filters_by_tier_and_escapes_text() -> None:
    table = TurnLogTable([_log(0, "small", 0.001, user_text="<b>hi</b>"), _log(1, "frontier", 0.01)])
    assert table.table.value.count("<tr") == 3 and "&lt;b&gt;hi&lt;/b&gt;" in table.table.value
    table.tier_filter.value = "frontier"
    assert table.table.value.count("<tr") == 2 and "frontier-m" in table.table.value
    assert "small-m" not in table.table.value
    table.tier_filter.value = "mid"
    assert "No turns on tier mid" in table.table.value
    table.add(_log(2, "mid", 0.002))
    assert "mid-m" in table.table.value
    assert list(table.frame["tier"]) == ["small", "frontier", "mid"]


def test_the_cost_chart_colours_bars_by_tier_and_draws_the_cumulative_line() -> None:
    chart = CostChart([_log(0, "small", 0.001)])
    chart.add(_log(1, "frontier", 0.004))
    data = {trace.name: trace for trace in chart.figure.data}
    assert list(data["small"].x) == [1] and list(data["frontier"].x) == [2]
    assert data["small"].marker.color == "#2e7d32" and data["frontier"].marker.color == "#6a1b9a"
    assert list(data["cumulative"].y) == pytest.approx([0.001, 0.005])
    panel = TurnLogPanel()
    panel.add(_log(0, "mid", 0.003))
    assert panel.records and panel.chart is not None and list(panel.chart.figure.data[1].y) == [0.003]


def test_rendered_values_never_contain_unescaped_user_text() -> None:
    from persona_lab.widgets import render_user_html

    assert html.escape("<script>") in render_user_html("<script>") and "<script>" not in render_user_html("<script>")


# -- run viewer -------------------------------------------------------------------------------


def ask(question: str, options: list[str] | None = None) -> ScriptedResponse:
    args: dict[str, Any] = {"question": question}
    if options is not None:
        args["options"] = options
    return ScriptedResponse(tool_calls=(ToolCall(id="ask_1", name="ask_user", arguments=json.dumps(args)),))


def final(text: str) -> ScriptedResponse:
    return ScriptedResponse(tool_calls=(ToolCall(id="fin", name="final_answer", arguments=json.dumps({"text": text})),))


def asks_then_echoes(question: str, options: list[str] | None = None) -> ScriptedBackend:
    """Step 1 asks; step 2 finishes with what the user answered (a scripted test double)."""

    def script(request: ChatRequest) -> ScriptedResponse:
        if len(request.messages) == 1:
            return ask(question, options)
        return final(f"Noted: {request.messages[-1].content}")

    return ScriptedBackend(script)


async def until(condition: Any, timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def agent_with(persona: Persona, make_tiers: Any, backend: ScriptedBackend, **kw: Any) -> AgenticLoop:
    return AgenticLoop(persona, make_tiers(mid=backend), **kw)


async def test_an_option_button_answers_the_agent_and_the_run_completes(persona: Persona, make_tiers: Any) -> None:
    backend = asks_then_echoes("Which city is the flat in?", ["London", "Leeds", "Other"])
    widget = RunWidget(agent_with(persona, make_tiers, backend), task="Draft a repair letter")
    widget.run_button.click()
    assert widget.running and widget.task is not None
    await until(lambda: widget.ask.is_open)
    assert "Which city is the flat in?" in widget.ask.prompt.value
    assert [b.description for b in widget.ask.option_buttons] == ["London", "Leeds", "Other"]
    assert widget.ask.layout.display == "flex" and widget.run_button.disabled
    assert 'data-kind="asking"' in widget.timeline.value

    widget.ask.option_buttons[1].click()
    assert widget.ask.option_buttons[0].disabled  # answered once; the other buttons are closed
    run = await widget.task
    assert isinstance(run, Run) and run.status == "completed"
    assert run.output == "Noted: The user answered: Leeds" and widget.last_run == run
    assert "answered: <b>Leeds</b>" in widget.timeline.value
    assert "Noted: The user answered: Leeds" in widget.output.value
    assert 'data-status="completed"' in widget.status.value
    assert widget.ask.layout.display == "none" and not widget.run_button.disabled and widget.cancel_button.disabled
    assert len(widget.turn_logs) == 2 and all(log.kind == "agent_step" for log in widget.turn_logs)
    assert widget.panel is not None and widget.panel.chart is not None
    assert len(widget.panel.chart.figure.data[-1].y) == 2  # the cumulative line has both steps


async def test_free_text_answers_resume_the_run(persona: Persona, make_tiers: Any) -> None:
    widget = RunWidget(agent_with(persona, make_tiers, asks_then_echoes("What is the address?")))
    assert widget.start("Draft a letter")
    await until(lambda: widget.ask.is_open)
    assert widget.ask.option_buttons == ()
    widget.ask.free_text.value = "12 Mill Lane"
    assert widget.ask.is_open  # typing (or leaving the box) answers nothing
    widget.ask.free_text._handle_string_msg(None, {"event": "submit"}, [])  # Enter
    run = await widget.task
    assert run.output == "Noted: The user answered: 12 Mill Lane"
    assert widget.answer("again") is False  # nothing is asked any more


async def test_a_run_has_a_static_copy_and_exports_to_html(persona: Persona, make_tiers: Any, tmp_path: Path) -> None:
    widget = RunWidget(agent_with(persona, make_tiers, asks_then_echoes("Which <city>?", ["Leeds"])), task="A letter")
    assert widget.start()
    await until(lambda: widget.ask.is_open)
    widget.ask.option_buttons[0].click()
    await widget.task
    static = widget.static_html()
    assert "plab-static" in static and "Which &lt;city&gt;?" in static and "answered: <b>Leeds</b>" in static
    assert 'data-status="completed"' in static and "Noted: The user answered: Leeds" in static
    assert widget._repr_mimebundle_()["text/html"] == static  # type: ignore[index]
    widget.to_html(tmp_path / "run.html")
    page = (tmp_path / "run.html").read_text()
    assert "<script" not in page and "Task: A letter" in page and 'data-kind="asking"' in page


async def test_an_answer_clicked_on_another_thread_resumes_the_run(persona: Persona, make_tiers: Any) -> None:
    widget = RunWidget(agent_with(persona, make_tiers, asks_then_echoes("Pick", ["yes", "no"])), task="t")
    widget.start()
    await until(lambda: widget.ask.is_open)
    await asyncio.to_thread(widget.ask.option_buttons[0].click)
    run = await asyncio.wait_for(widget.task, 5)  # type: ignore[arg-type]
    assert run.output == "Noted: The user answered: yes"


async def test_the_timeline_shows_tool_calls_with_arguments_and_results(persona: Persona, make_tiers: Any) -> None:
    @tool
    def lookup_statute(name: str) -> str:
        """Look up what a statute says.

        Args:
            name: the statute's short name
        """
        return f"{name}: the landlord must keep the structure in repair"

    call = ToolCall(id="c1", name="lookup_statute", arguments=json.dumps({"name": "LTA 1985 s11"}))
    backend = ScriptedBackend(
        [ScriptedResponse("Let me check the statute.", tool_calls=(call,)), "The landlord must repair it."],
        chunk_chars=4,
        time_per_chunk_s=0.02,
    )
    agent = agent_with(persona, make_tiers, backend, toolbox=Toolbox([lookup_statute]))
    widget = RunWidget(agent, task="Who repairs the roof?")
    streamed: list[str] = []
    widget.step_view.observe(lambda change: streamed.append(answer_text(change["new"])), names="value")
    widget.start()
    run = await widget.task
    timeline = widget.timeline.value
    assert run.status == "completed" and run.output == "The landlord must repair it."
    assert 'data-kind="tool-call"' in timeline and "LTA 1985 s11" in timeline and "lookup_statute" in timeline
    assert 'data-kind="tool-result"' in timeline and "the landlord must keep the structure in repair" in timeline
    assert 'data-kind="reasoning"' in timeline and "Let me check the statute." in timeline
    assert 'data-kind="finished"' in timeline and timeline.index('data-kind="tool-call"') < timeline.index(
        'data-kind="finished"'
    )
    assert any(v and "Let me check the statute.".startswith(v) for v in streamed)  # step 1 streamed in
    assert "The landlord must repair it." in streamed  # the last step's complete text was shown
    assert widget.step_view.value == ""  # at the end the output box shows the answer, not twice
    assert "The landlord must repair it." in widget.output.value


async def test_cancel_stops_a_running_run_and_a_waiting_one(persona: Persona, make_tiers: Any) -> None:
    slow = ScriptedBackend(["thinking " * 300], chunk_chars=4, time_per_chunk_s=0.01)
    widget = RunWidget(agent_with(persona, make_tiers, slow), task="long task")
    widget.start()
    await until(lambda: "thinking" in widget.step_view.value)
    widget.cancel_button.click()
    run = await widget.task
    assert run.status == "cancelled" and "cancelled from the widget" in run.reason
    assert "Cancelled" in widget.error.value and 'data-kind="cancelled"' in widget.timeline.value
    assert widget.cancel() is False

    waiting = RunWidget(agent_with(persona, make_tiers, asks_then_echoes("Sure?", ["yes"])), task="t")
    waiting.start()
    await until(lambda: waiting.ask.is_open)
    waiting.cancel()
    run = await waiting.task
    assert run.status == "cancelled" and waiting.ask.layout.display == "none"


async def test_a_parked_run_is_resumed_from_the_widget(persona: Persona, make_tiers: Any) -> None:
    parked = await AgenticLoop(persona, make_tiers(mid=ScriptedBackend([ask("Which city?", ["London", "Leeds"])]))).run(
        "Draft a letter"
    )
    assert parked.status == "awaiting_user"
    restored = Run.from_json(parked.to_json())
    agent = AgenticLoop(persona, make_tiers(mid=asks_then_echoes("unused")))
    widget = RunWidget(agent)
    widget.load(restored)
    assert widget.ask.is_open and "Which city?" in widget.ask.prompt.value
    assert 'data-status="awaiting_user"' in widget.status.value and widget.task_box.value == "Draft a letter"
    widget.ask.option_buttons[0].click()
    run = await widget.task
    assert run.status == "completed" and run.id == parked.id
    assert run.output == "Noted: The user answered: London"
    assert "answered: <b>London</b>" in widget.timeline.value
    assert len(widget.turn_logs) == 2  # the parked step and the resumed one


async def test_a_failing_backend_ends_the_run_with_its_error_shown(persona: Persona, make_tiers: Any) -> None:
    failing = ScriptedBackend([ScriptedResponse(error=ProviderError("model melted", provider="scripted"))])
    widget = RunWidget(agent_with(persona, make_tiers, failing), task="t")
    widget.start()
    run = await widget.task
    assert run.status == "error"
    assert "model melted" in widget.error.value and run.error_type in widget.error.value
    assert 'data-kind="error"' in widget.timeline.value


async def test_an_exception_escaping_the_run_is_shown_and_kept_on_the_task(persona: Persona, make_tiers: Any) -> None:
    agent = agent_with(persona, make_tiers, ScriptedBackend(["unused"]))

    async def broken_run(*args: Any, **kwargs: Any) -> Run:
        raise RuntimeError("the loop itself broke")

    agent.run = broken_run  # type: ignore[method-assign]
    widget = RunWidget(agent, task="t")
    widget.start()
    with pytest.raises(RuntimeError, match="the loop itself broke"):
        await widget.task  # type: ignore[misc]
    await asyncio.sleep(0)
    assert "RuntimeError" in widget.error.value and "the loop itself broke" in widget.error.value
    assert not widget.run_button.disabled


async def test_a_second_run_click_is_ignored_and_bad_input_is_explained(persona: Persona, make_tiers: Any) -> None:
    backend = ScriptedBackend(["done " * 50], chunk_chars=4, time_per_chunk_s=0.001, cycle=True)
    widget = RunWidget(agent_with(persona, make_tiers, backend), task="t")
    widget.run_button.click()
    widget.run_button.click()
    assert widget.start() is False
    await widget.task
    assert len(backend.requests) == 1

    assert widget.start("   ") is False and "Write a task" in widget.error.value
    empty = RunWidget(AgenticLoop(persona, TierRegistry({})), task="t")
    assert "No model tier is configured" in empty.error.value and empty.run_button.disabled
    assert empty.start() is False and empty.task is None


def test_the_ask_panel_shows_at_most_three_options() -> None:
    taken: list[str] = []
    panel = AskUserPanel(lambda text: taken.append(text) is None)
    panel.show(AskingUser(id="r", index=0, question="<b>Which?</b>", options=("a", "b", "c", "d")))
    assert len(panel.option_buttons) == 3 and "&lt;b&gt;Which?&lt;/b&gt;" in panel.prompt.value
    panel.option_buttons[2].click()
    panel.option_buttons[0].click()
    panel.free_text.value = "late"
    panel.free_text._handle_string_msg(None, {"event": "submit"}, [])
    assert taken == ["c"]


async def test_tool_calls_in_a_chat_turn_show_as_notes_above_the_answer(persona: Persona, make_tiers: Any) -> None:
    @tool
    def deadline_calculator(days: int) -> str:
        """Add days to today.

        Args:
            days: how many days
        """
        return f"{days} days from today is the 14th"

    call = ToolCall(id="c1", name="deadline_calculator", arguments=json.dumps({"days": 14}))
    backend = ScriptedBackend([ScriptedResponse("Checking the date.", tool_calls=(call,)), "Reply by the 14th."])
    loop = ConversationLoop(
        persona, make_tiers(mid=backend), FixedRouter("mid"), toolbox=Toolbox([deadline_calculator])
    )
    widget = ChatWidget(loop)
    widget.send("When is the deadline?")
    await widget.task
    final = bubbles(widget)[-1]
    assert answer_text(final) == "Reply by the 14th."
    assert 'data-kind="tool-call"' in final and "deadline_calculator" in final and "&quot;days&quot;: 14" in final
    assert "14 days from today is the 14th" in final and "Checking the date." in final
    assert final.index("Checking the date.") < final.index('class="plab-answer"')


def test_the_widgets_subpackage_exports_exactly_its_all() -> None:
    import sys

    import persona_lab.widgets as widgets

    public = {n for n in vars(widgets) if not n.startswith("_") and n != "annotations"}
    modules = {n for n in public if isinstance(getattr(widgets, n), type(sys))}
    assert widgets.__all__ == sorted(widgets.__all__, key=lambda n: (not n.isupper(), n))
    assert set(widgets.__all__) == public - modules
