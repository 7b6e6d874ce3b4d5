"""The widgets in a real JupyterLab page, driven through Debian's Chromium (Playwright).

Skipped where no browser exists, except under CI (env ``CI`` set), where a missing browser fails.
The notebooks run on scripted tiers (test doubles) with a per-chunk delay so streaming is visible.
Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser_harness import (
    JupyterLab,
    LabPage,
    alive,
    chromium,
    chromium_available,
    descendants,
    jupyterlab_server,
    write_notebook,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
PERSONA = ROOT / "examples" / "personas" / "tenancy_advisor.yaml"

ANSWER = "Your deposit must be **protected** within 30 days of payment. " * 5
ANSWER_TEXT = ANSWER.replace("**", "").strip()

SETUP = f"""
from persona_lab import ConversationLoop, FixedRouter, ModelConfig, Persona, Price, TierRegistry
from persona_lab.tiers import ScriptedBackend
from persona_lab.widgets import ChatWidget
persona = Persona.from_yaml({str(PERSONA)!r})
backend = ScriptedBackend([{ANSWER!r}], chunk_chars=6, time_per_chunk_s=0.015, cycle=True)  # test double
tiers = TierRegistry({{"small": ModelConfig("scripted", "scripted-small", price=Price(0.5, 1.5), backend=backend)}})
loop = ConversationLoop(persona, tiers, FixedRouter("small"))
"""

# Records the answer's visible length at every DOM change, to prove it streamed in.
WATCH_ANSWER = """() => {
  window.__lengths = [];
  const box = document.querySelector('.plab-chat-messages');
  new MutationObserver(() => {
    const answers = document.querySelectorAll('.plab-assistant-turn .plab-answer');
    if (answers.length) { window.__lengths.push(answers[answers.length - 1].innerText.length); }
  }).observe(box, {subtree: true, childList: true, characterData: true});
}"""


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    problem = chromium_available()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests must run in CI, but {problem}")
        pytest.skip(problem)
    started: set[int] = set()
    with jupyterlab_server(tmp_path_factory.mktemp("lab")) as server:
        yield server
        started.update(descendants(server.pid))  # kernels of the tests that ran
    assert not alive(server.pid)
    assert started and [pid for pid in started if alive(pid)] == []  # no kernel left behind


@pytest.fixture(scope="module")
def browser(lab: JupyterLab) -> Iterator[Any]:
    with chromium() as instance:
        yield instance


@pytest.fixture
def lab_page(browser: Any, lab: JupyterLab) -> Iterator[LabPage]:
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    try:
        yield LabPage(context.new_page(), lab)
    finally:
        context.close()


def _send(page: Any, text: str) -> None:
    field = page.locator(".plab-chat-input input").last
    field.wait_for(state="visible", timeout=30_000)
    page.wait_for_function(
        "() => { const f = document.querySelectorAll('.plab-chat-input input'); return f.length && "
        "!f[f.length - 1].disabled; }",
        timeout=30_000,
    )
    field.fill(text)
    field.press("Enter")


def test_chat_streams_an_answer_and_updates_the_cost_chart(lab: JupyterLab, lab_page: LabPage) -> None:
    write_notebook(lab.root / "chat.ipynb", [SETUP, "chat = ChatWidget(loop)\nchat"])
    lab_page.open("chat.ipynb")
    lab_page.run_all()
    state = lab_page.wait_all_executed()
    assert [c["errors"] for c in state["cells"]] == [[], []]
    page = lab_page.page
    page.wait_for_selector(".plab-chat-messages", state="attached", timeout=30_000)
    page.evaluate(WATCH_ANSWER)

    _send(page, "When must my deposit be protected?")
    page.wait_for_selector(".plab-chat-stop button:not([disabled]), button.plab-chat-stop:not([disabled])")
    done = page.wait_for_selector('.plab-assistant-turn .plab-bubble[data-status="done"]', timeout=30_000)
    lab_page.screenshot(ARTIFACTS / "chat-answered.png")

    answer = done.query_selector(".plab-answer")
    assert answer is not None and _normalise(answer.inner_text()) == ANSWER_TEXT
    assert "protected" in (done.query_selector(".plab-answer strong") or done).inner_text()  # Markdown rendered
    lengths: list[int] = page.evaluate("() => window.__lengths")
    partial = sorted({n for n in lengths if 0 < n < len(ANSWER_TEXT)})
    assert len(partial) >= 3, f"the answer did not stream in: {lengths}"
    meta = done.query_selector(".plab-meta")
    assert meta is not None and "small" in meta.inner_text() and "scripted-small" in meta.inner_text()
    assert "1 turn" in page.inner_text(".plab-chat-total")
    page.wait_for_selector(".plab-cost-chart .js-plotly-plot .bars path", timeout=20_000)
    assert page.locator(".plab-chat-input input").last.is_enabled()

    # the Send button works too (its click blurs the box, which also commits the text): one turn only
    field = page.locator(".plab-chat-input input").last
    field.fill("And the deposit scheme?")
    page.locator("button.plab-chat-send").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.plab-assistant-turn .plab-bubble[data-status=\"done\"]').length === 2",
        timeout=30_000,
    )
    page.wait_for_timeout(300)
    assert page.locator(".plab-assistant-turn").count() == 2 and page.locator(".plab-user-turn").count() == 2
    assert "2 turns" in page.inner_text(".plab-chat-total")

    # a later "cell" can await the task the widget started
    out = lab_page.execute("log = await chat.task\nprint(log.tier, chat.view.flushes, chat.view.changes)")
    tier, flushes, changes = out.split()
    assert tier == "small" and 1 < int(flushes) < int(changes)
    assert lab_page.execute("print(len(chat.turn_logs), len(backend.requests))").split() == ["2", "2"]
    lab_page.screenshot(ARTIFACTS / "chat-with-cost-chart.png")


def test_the_sync_helper_survives_run_all_and_widgets_still_answer(lab: JupyterLab, lab_page: LabPage) -> None:
    cells = [
        SETUP,
        'conversation = loop.new_conversation()\nr1 = loop.chat(conversation, "first")\nprint("ONE", r1.turn_log.tier)',
        'r2 = loop.chat(conversation, "second")\nprint("TWO", r2.turn_log.turn_index)',
        'r3 = await loop.achat(conversation, "third")\nprint("THREE", r3.turn_log.turn_index)',
        "chat = ChatWidget(loop, conversation)\nchat",
        'print("END", conversation.turn_count)',
    ]
    write_notebook(lab.root / "sync.ipynb", cells)
    lab_page.open("sync.ipynb")
    for run in (1, 2):  # Run All twice: the second one re-enters a loop nest_asyncio2 already patched
        lab_page.run_all()
        state = lab_page.wait_all_executed(after=(run - 1) * len(cells), timeout_s=90)
        assert [e for c in state["cells"] for e in c["errors"]] == []
        outputs = "".join(c["text"] for c in state["cells"])
        assert "ONE small" in outputs and "TWO 1" in outputs and "THREE 2" in outputs and "END 3" in outputs
    page = lab_page.page
    _send(page, "and a widget turn after nest_asyncio2?")
    done = page.wait_for_selector('.plab-assistant-turn .plab-bubble[data-status="done"]', timeout=30_000)
    assert _normalise(done.inner_text()).startswith(ANSWER_TEXT)
    assert lab_page.execute("print(conversation.turn_count)").strip() == "4"
    lab_page.screenshot(ARTIFACTS / "sync-helper-run-all.png")


RUN_SETUP = f"""
import json
from persona_lab import AgenticLoop, ModelConfig, Persona, Price, TierRegistry, ToolCall
from persona_lab.tiers import ScriptedBackend, ScriptedResponse
from persona_lab.widgets import RunWidget
persona = Persona.from_yaml({str(PERSONA)!r})

def script(request):  # test double: step 1 asks the user, step 2 answers in streamed text
    if len(request.messages) == 1:
        question = {{"question": "Which city is the flat in?", "options": ["London", "Leeds", "Other"]}}
        call = ToolCall(id="ask_1", name="ask_user", arguments=json.dumps(question))
        return ScriptedResponse("I need the city first.", tool_calls=(call,))
    return "Here is the repair letter for your flat. " * 4 + request.messages[-1].content

backend = ScriptedBackend(script, chunk_chars=6, time_per_chunk_s=0.01)
tiers = TierRegistry({{"mid": ModelConfig("scripted", "scripted-mid", price=Price(1.0, 3.0), backend=backend)}})
agent = AgenticLoop(persona, tiers)
"""


def test_a_run_asks_the_user_and_completes_after_an_option_is_clicked(lab: JupyterLab, lab_page: LabPage) -> None:
    write_notebook(
        lab.root / "run.ipynb", [RUN_SETUP, 'runner = RunWidget(agent, task="Draft a repair letter")\nrunner']
    )
    lab_page.open("run.ipynb")
    lab_page.run_all()
    state = lab_page.wait_all_executed()
    assert [c["errors"] for c in state["cells"]] == [[], []]
    page = lab_page.page

    page.locator("button.plab-run-start").click()
    option = page.locator("button.plab-ask-option", has_text="Leeds")
    option.wait_for(state="visible", timeout=30_000)
    assert "Which city is the flat in?" in page.inner_text(".plab-ask")
    assert page.locator("button.plab-ask-option").count() == 3
    page.locator(".plab-ask").scroll_into_view_if_needed()
    lab_page.screenshot(ARTIFACTS / "run-asking-user.png")

    option.click()
    page.wait_for_selector('.plab-run-state [data-status="completed"]', timeout=30_000)
    timeline = page.inner_text(".plab-run-timeline")
    assert "answered: Leeds" in timeline and "Which city is the flat in?" in timeline
    output = _normalise(page.inner_text(".plab-run-output"))
    assert output.endswith("The user answered: Leeds") and output.startswith("Here is the repair letter")
    assert not page.locator(".plab-ask").is_visible()
    page.wait_for_selector(".plab-run .plab-cost-chart .js-plotly-plot .bars path", timeout=20_000)
    out = lab_page.execute("run = await runner.task\nprint(run.status.value, len(run.steps), run.steps[0].answer)")
    assert out.split() == ["completed", "2", "Leeds"]
    page.locator(".plab-run-output").scroll_into_view_if_needed()
    lab_page.screenshot(ARTIFACTS / "run-completed.png")


FEED_AT_END = """() => { const box = document.querySelector('.plab-chat-feed');
  return {gap: box.scrollHeight - box.scrollTop - box.clientHeight, overflow: box.scrollHeight - box.clientHeight,
          top: box.scrollTop}; }"""


def _done_bubbles(page: Any, n: int) -> None:
    page.wait_for_function(
        f"() => document.querySelectorAll('.plab-assistant-turn .plab-bubble[data-status=\"done\"]').length >= {n}",
        timeout=60_000,
    )
    page.wait_for_timeout(300)  # the follower scrolls after the last DOM change


def test_the_chat_feed_follows_new_turns_unless_scrolled_up_and_blur_does_not_send(
    lab: JupyterLab, lab_page: LabPage
) -> None:
    write_notebook(lab.root / "follow.ipynb", [SETUP, "chat = ChatWidget(loop, feed_height=300)\nchat"])
    lab_page.open("follow.ipynb")
    lab_page.run_all()
    assert [c["errors"] for c in lab_page.wait_all_executed()["cells"]] == [[], []]
    page = lab_page.page
    page.wait_for_selector(".plab-chat-feed", state="attached", timeout=30_000)

    # leaving the box keeps the draft: nothing is sent
    field = page.locator(".plab-chat-input input").last
    field.fill("a draft I am still writing")
    page.locator(".plab-status").first.click()  # focus moves out of the box
    page.wait_for_timeout(800)
    assert page.locator(".plab-user-turn").count() == 0 and field.input_value() == "a draft I am still writing"
    assert lab_page.execute("print(chat.task is None, chat.conversation.turn_count)").split() == ["True", "0"]
    field.fill("")

    # type-ahead: messages sent while a turn runs wait for it, then run in order
    lab_page.execute("for n in range(5):\n    chat.send(f'question {n}')")
    _done_bubbles(page, 5)
    at_end = page.evaluate(FEED_AT_END)
    assert at_end["overflow"] > 100 and at_end["gap"] < 5, at_end  # bounded, scrolled to the newest turn
    lab_page.screenshot(ARTIFACTS / "chat-feed-follows.png")

    page.evaluate("() => { document.querySelector('.plab-chat-feed').scrollTop = 0; }")  # the reader scrolls up
    page.wait_for_timeout(300)
    _send(page, "one more")
    _done_bubbles(page, 6)
    assert page.evaluate(FEED_AT_END)["top"] < 5  # left where the reader is

    page.evaluate("() => { const b = document.querySelector('.plab-chat-feed'); b.scrollTop = b.scrollHeight; }")
    page.wait_for_timeout(300)
    _send(page, "and the last one")
    _done_bubbles(page, 7)
    assert page.evaluate(FEED_AT_END)["gap"] < 5  # back at the end: following again
    assert lab_page.execute("print(chat.conversation.turn_count)").strip() == "7"


def test_the_run_timeline_follows_the_newest_event(lab: JupyterLab, lab_page: LabPage) -> None:
    cells = [RUN_SETUP, 'runner = RunWidget(agent, task="Draft a repair letter", timeline_height=120)\nrunner']
    write_notebook(lab.root / "timeline.ipynb", cells)
    lab_page.open("timeline.ipynb")
    lab_page.run_all()
    assert [c["errors"] for c in lab_page.wait_all_executed()["cells"]] == [[], []]
    page = lab_page.page
    page.locator("button.plab-run-start").click()
    page.locator("button.plab-ask-option", has_text="Leeds").click(timeout=30_000)
    page.wait_for_selector('.plab-run-state [data-status="completed"]', timeout=30_000)
    page.wait_for_timeout(300)
    box = page.evaluate("""() => { const b = document.querySelector('.plab-run-timeline-box');
      return {gap: b.scrollHeight - b.scrollTop - b.clientHeight, overflow: b.scrollHeight - b.clientHeight,
              last: b.querySelector('.plab-event:last-child').getBoundingClientRect().bottom,
              bottom: b.getBoundingClientRect().bottom}; }""")
    assert box["overflow"] > 50 and box["gap"] < 5, box
    assert abs(box["last"] - box["bottom"]) < 30  # the last event ("finished") is on screen
    lab_page.screenshot(ARTIFACTS / "run-timeline-follows.png")


def test_a_saved_chat_shows_its_transcript_after_the_kernel_is_gone(lab: JupyterLab, lab_page: LabPage) -> None:
    path = lab.root / "saved.ipynb"
    write_notebook(path, [SETUP, "chat = ChatWidget(loop)\nchat"])
    lab_page.open("saved.ipynb")
    lab_page.run_all()
    lab_page.wait_all_executed()
    page = lab_page.page
    _send(page, "Is my deposit protected?")
    _done_bubbles(page, 1)
    assert not page.locator(".plab-static").first.is_visible()  # hidden while the widget is alive
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=20_000)
    saved = path.read_text()
    assert "plab-static" in saved and "Is my deposit protected?" in saved and "protected</strong>" in saved

    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.shutdown()")
    page.wait_for_timeout(1000)
    lab_page.open("saved.ipynb")  # reopened: a new kernel, the widget's model is gone
    static = page.locator(".plab-static").last
    static.wait_for(state="visible", timeout=30_000)
    text = _normalise(static.inner_text())
    assert "Is my deposit protected?" in text and ANSWER_TEXT[:60] in text and "1 turn" in text
    lab_page.screenshot(ARTIFACTS / "chat-static-after-kernel.png")
