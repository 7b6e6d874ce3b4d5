"""How fast the chat widget renders a streamed answer in a real browser, and how quickly an
ask-user click resumes an agent run.

Starts JupyterLab on 127.0.0.1 (throwaway config, random token), opens a notebook in Debian's
Chromium through Playwright, and for each generation rate streams one answer of ``--tokens``
tokens (4 characters each, the offline estimate) from a scripted tier (a test double) into a
ChatWidget. In the page a MutationObserver records when the answer's text changes and a
requestAnimationFrame loop records frame gaps. Printed per rate:

- ``kernel tok/s``: how fast the answer was generated (tokens / turn latency, kernel side);
- ``DOM tok/s``: tokens / (last DOM update − first DOM text), what the page showed;
- ``end lag``: from the end of the turn in the kernel to the complete text in the DOM;
- ``max gap``: the longest frame gap while the answer streamed (smoothness);
- ``flushes`` / ``changes``: widget updates sent vs. text changes (the batching factor);
- ``lossless``: the final DOM text equals the generated text.

Then ``--resume-trials`` runs of a RunWidget whose agent asks a question: the time from the
click on an option to the answer appearing in the timeline (the run resumed and emitted
``UserResponded``) and to the run's completion.

Usage: ``python benchmarks/widget_streaming.py [--tokens 2000] [--rates 100,500,1000,2000,5000,0]``
(rate 0 = unpaced: the scripted tier yields every chunk without waiting).
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the browser harness is a test helper (tests/), not part of the package

from tests.browser_harness import (  # noqa: E402
    LabPage,
    chromium,
    chromium_available,
    jupyterlab_server,
    write_notebook,
)

PERSONA = ROOT / "examples" / "personas" / "tenancy_advisor.yaml"

SETUP = f"""
import json
from persona_lab import AgenticLoop, ConversationLoop, FixedRouter, ModelConfig, Persona, Price, TierRegistry, ToolCall
from persona_lab.tiers import ScriptedBackend, ScriptedResponse
from persona_lab.widgets import ChatWidget, RunWidget
persona = Persona.from_yaml({str(PERSONA)!r})
WORDS = ("law", "say", "one", "two", "and", "for", "not", "you", "are", "fix")

def make_text(tokens):
    return "".join(f"{{WORDS[i % len(WORDS)]}} " for i in range(tokens))  # 4 characters per token

def tiers_for(backend):
    return TierRegistry({{"small": ModelConfig("scripted", "bench", price=Price(0.5, 1.5), backend=backend)}})

def chat_for(rate, tokens, interval):
    per_chunk = max(1, round(rate / 500)) if rate else 1  # asyncio sleeps below ~2 ms are not precise
    backend = ScriptedBackend([make_text(tokens)], chunk_chars=4 * per_chunk,
                              time_per_chunk_s=per_chunk / rate if rate else 0.0)  # test double
    return ChatWidget(ConversationLoop(persona, tiers_for(backend), FixedRouter("small")),
                      show_turn_logs=False, flush_interval_s=interval)

def asking_script(request):  # test double: ask at step 1, answer at step 2
    if len(request.messages) == 1:
        question = {{"question": "Which city?", "options": ["London", "Leeds", "Other"]}}
        return ScriptedResponse(tool_calls=(ToolCall("ask_1", "ask_user", json.dumps(question)),))
    return "Done for " + request.messages[-1].content

def echo_widget():  # reference: a plain button whose handler sets an HTML value, no asyncio involved
    import ipywidgets as w
    button, out = w.Button(description="echo"), w.HTML("0")
    button.add_class("plab-echo-button")
    out.add_class("plab-echo-out")
    button.on_click(lambda _b: setattr(out, "value", str(int(out.value) + 1)))
    return w.VBox((button, out))

def run_widget():
    agent = AgenticLoop(persona, tiers_for(ScriptedBackend(asking_script)), FixedRouter("small"))
    return RunWidget(agent, task="Draft a letter", show_turn_logs=False)
"""

WATCH = """([index, expected]) => {
  const root = document.querySelectorAll('.plab-chat')[index];
  const box = root.querySelector('.plab-chat-messages');
  const w = {updates: 0, first: null, done: null, last: null, frames: [], running: true, length: 0};
  window.__watch = w;
  new MutationObserver(() => {
    const answer = root.querySelector('.plab-assistant-turn .plab-answer');
    if (!answer) { return; }
    const n = answer.innerText.trim().length;
    if (n === w.length) { return; }
    const t = performance.timeOrigin + performance.now();
    w.length = n; w.updates += 1; w.last = t;
    if (n > 0 && w.first === null) { w.first = t; }
    if (n >= expected && w.done === null) { w.done = t; }
  }).observe(box, {subtree: true, childList: true, characterData: true});
  const frame = (t) => { w.frames.push(performance.timeOrigin + t); if (w.running) { requestAnimationFrame(frame); } };
  requestAnimationFrame(frame);
}"""


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _expected(tokens: int) -> str:
    words = ("law", "say", "one", "two", "and", "for", "not", "you", "are", "fix")
    return "".join(f"{words[i % len(words)]} " for i in range(tokens)).strip()


def measure_chat(lab_page: LabPage, index: int, rate: int, tokens: int, interval: float) -> dict[str, Any]:
    page = lab_page.page
    expected = _expected(tokens)
    root = page.locator(".plab-chat").nth(index)
    root.scroll_into_view_if_needed()
    page.evaluate(WATCH, [index, len(expected)])
    field = root.locator(".plab-chat-input input")
    field.fill(f"bench {rate}")
    field.press("Enter")
    root.locator('.plab-assistant-turn .plab-bubble[data-status="done"]').wait_for(timeout=120_000)
    page.wait_for_function("() => window.__watch.done !== null", timeout=30_000)
    page.wait_for_timeout(100)
    watch = page.evaluate("() => { window.__watch.running = false; return window.__watch; }")
    shown = _normalise(root.locator(".plab-assistant-turn .plab-answer").inner_text())
    out = lab_page.execute(
        f"log = w{index}.turn_logs[-1]\n"
        f"print(w{index}.view.flushes, w{index}.view.changes, log.latency_s, log.timestamp)"
    ).split()
    flushes, changes, latency = int(out[0]), int(out[1]), float(out[2])
    turn_end_ms = (datetime.fromisoformat(out[3]).timestamp() + latency) * 1000
    frames = [t for t in watch["frames"] if watch["first"] - 50 <= t <= watch["done"] + 50]
    gaps = [b - a for a, b in itertools.pairwise(frames)]
    dom_s = max((watch["done"] - watch["first"]) / 1000, 1e-3)
    return {
        "target_tok_s": rate or "unpaced",
        "flush_ms": round(interval * 1000),
        "tokens": tokens,
        "kernel_tok_s": round(tokens / latency),
        "dom_tok_s": round(tokens / dom_s) if watch["updates"] > 1 else "one update",
        "end_lag_ms": round(watch["done"] - turn_end_ms),
        "max_gap_ms": round(max(gaps), 1) if gaps else None,
        "flushes": flushes,
        "changes": changes,
        "dom_updates": watch["updates"],
        "lossless": shown == expected,
    }


def measure_resume(lab_page: LabPage, index: int, trials: int) -> dict[str, Any]:
    page = lab_page.page
    root = page.locator(".plab-run").nth(index)
    root.scroll_into_view_if_needed()
    to_answer: list[float] = []
    to_done: list[float] = []
    for trial in range(trials):
        root.locator("button.plab-run-start").click()
        option = root.locator("button.plab-ask-option", has_text="Leeds")
        option.wait_for(state="visible", timeout=30_000)
        page.evaluate(
            """(trial) => {
              const root = document.querySelectorAll('.plab-run')[0];
              const w = {click: null, answered: null, done: null};
              window.__resume = w;
              root.querySelector('button.plab-ask-option:nth-child(2)').addEventListener(
                'click', () => { w.click = performance.now(); }, {capture: true, once: true});
              new MutationObserver(() => {
                const t = performance.now();
                if (w.answered === null && root.querySelector('[data-kind="answered"]')) { w.answered = t; }
                if (w.done === null && root.querySelector('.plab-run-state [data-status="completed"]')) { w.done = t; }
              }).observe(root, {subtree: true, childList: true, characterData: true});
            }""",
            trial,
        )
        option.click()
        page.wait_for_function("() => window.__resume.done !== null", timeout=30_000)
        r = page.evaluate("() => window.__resume")
        to_answer.append(r["answered"] - r["click"])
        to_done.append(r["done"] - r["click"])
    echo: list[float] = []
    for trial in range(trials):
        echo.append(
            page.evaluate(
                """(trial) => new Promise((resolve) => {
                  const out = document.querySelector('.plab-echo-out');
                  const before = out.innerText;
                  const t0 = performance.now();
                  new MutationObserver((_, obs) => {
                    if (out.innerText !== before) { obs.disconnect(); resolve(performance.now() - t0); }
                  }).observe(out, {subtree: true, childList: true, characterData: true});
                  document.querySelector('button.plab-echo-button').click();
                })""",
                trial,
            )
        )
    return {
        "trials": trials,
        "plain_button_round_trip_ms_median": round(statistics.median(echo), 1),
        "click_to_resumed_ms_median": round(statistics.median(to_answer), 1),
        "click_to_resumed_ms_max": round(max(to_answer), 1),
        "click_to_completed_ms_median": round(statistics.median(to_done), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--rates", default="100,500,1000,2000,5000,0")
    parser.add_argument("--unbatched-rate", type=int, default=1000, help="also run this rate with per-chunk flushes")
    parser.add_argument("--resume-trials", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    problem = chromium_available()
    if problem is not None:
        print(f"cannot run: {problem}", file=sys.stderr)
        return 2
    # (rate, flush interval, tokens); the first one only warms the page and kernel up
    configs = [(200, 0.05, 200)] + [(int(r), 0.05, args.tokens) for r in args.rates.split(",")]
    if args.unbatched_rate:
        configs.append((args.unbatched_rate, 0.0, args.tokens))
    cells = [SETUP]
    cells += [f"w{i} = chat_for({rate}, {n}, {interval})\nw{i}" for i, (rate, interval, n) in enumerate(configs)]
    cells.append("runner = run_widget()\nrunner")
    cells.append("echo = echo_widget()\necho")
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, jupyterlab_server(Path(tmp)) as lab, chromium() as browser:
        write_notebook(Path(tmp) / "bench.ipynb", cells)
        page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        lab_page = LabPage(page, lab)
        lab_page.open("bench.ipynb")
        lab_page.run_all()
        state = lab_page.wait_all_executed(timeout_s=120)
        errors = [e for c in state["cells"] for e in c["errors"]]
        if errors:
            print("notebook failed:", errors, file=sys.stderr)
            return 1
        page.wait_for_function(f"() => document.querySelectorAll('.plab-chat').length === {len(configs)}")
        chat = [measure_chat(lab_page, i, rate, n, interval) for i, (rate, interval, n) in enumerate(configs)][1:]
        resume = measure_resume(lab_page, 0, args.resume_trials)
    header = list(chat[0])
    print(f"Chat streaming in Chromium ({args.tokens} tokens per answer):")
    print("  " + "  ".join(f"{h:>13}" for h in header))
    for row in chat:
        print("  " + "  ".join(f"{row[h]!s:>13}" for h in header))
    print("Ask-user resume (click on an option → the run resumed / completed):")
    for key, value in resume.items():
        print(f"  {key}: {value}")
    print(f"(benchmark took {time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps({"chat": chat, "resume": resume}, indent=2))
    return 0 if all(row["lossless"] for row in chat) else 1


if __name__ == "__main__":
    raise SystemExit(main())
