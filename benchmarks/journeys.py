"""Journeys: completion, turns and cost per completed journey for scripted users; per-turn overheads.

Everything runs offline on a scripted model (a test double that plays the model's part: it
records the fields it can read in the user's message, moves on when a step is complete, and
otherwise asks for what is missing). Scripted users differ in how they answer; each user kind
runs with several seeds and the figures are the mean and spread over seeds. Prices are the
scripted tiers' ($0.10/$0.40, $1/$4, $10/$30 per Mtok for small/mid/frontier).

Overheads (median per-turn wall time over the same scripted conversation):
  plain loop vs the same loop with an active journey (target: within the loop's 0.3 ms/turn budget),
  and tracing off (no sink), tracing "installed but not configured" (the sink with OpenTelemetry's
  no-op global provider) and tracing on (in-memory exporter).

    python benchmarks/journeys.py [--seeds 5] [--users 20] [--turns 400]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

VALUES = {
    "tenant_name": ["Sam Jones", "Ada Obi", "Li Wei", "Maria Rossi"],
    "email": ["sam@example.org", "ada@example.net", "li@example.com", "maria@example.org"],
    "defect": ["boiler", "black mould", "leaking roof", "broken window"],
    "since": ["2026-09-14", "2026-10-01", "2026-11-02", "2026-08-20"],
    "landlord_told": ["yes", "no"],
}
WRONG = {"since": "last autumn", "email": "sam at example dot org"}
KINDS = ("all_at_once", "one_by_one", "typos", "wanders_off")


def user_messages(kind: str, rng: random.Random) -> list[str]:
    """What a scripted user says, turn by turn (fields as 'name: value' fragments)."""
    pick = {k: rng.choice(v) for k, v in VALUES.items()}
    opener = rng.choice(["My boiler is broken", "There is mould in my flat", "The roof has a leak"])
    contact = ["tenant_name", "email"]
    problem = ["defect", "since", "landlord_told"]

    def say(names: list[str], wrong: bool = False) -> str:
        return "; ".join(f"{n}: {WRONG[n] if wrong and n in WRONG else pick[n]}" for n in names)

    if kind == "all_at_once":
        return [opener, say(contact), say(problem), "What should I do now?", "Thanks"]
    if kind == "one_by_one":
        return [opener, *(say([n]) for n in contact), *(say([n]) for n in problem), "What now?", "Thanks"]
    if kind == "typos":
        return [opener, say(contact, wrong=True), say(["email"]), say(problem, wrong=True), say(["since"]), "Next?"]
    # wanders off: never gives an email, then leaves
    return [opener, say(["tenant_name"]), "Why do you need my email?", "I'd rather not say", "Never mind"]


_STEP = re.compile(r"Current step \d+ of \d+: (\w+)\.")
_ASK = re.compile(r"Ask for: ([^\n]*)")
_NEXT = re.compile(r"call go_to_step with one of: (\w+)")
_PAIR = re.compile(r"(\w+):\s*([^;]+)")


def scripted_model(request: Any) -> Any:
    """The model's part, as a test double: record what it can read, move on when done, else ask."""
    from persona_lab import ToolCall
    from persona_lab.tiers import ScriptedResponse

    last = request.messages[-1]
    if last.role == "tool" or "Current step" not in request.system:
        return ScriptedResponse("Thanks, noted. Could you tell me the rest?")
    wanted = _ASK.search(request.system)
    names = set(re.findall(r"(\w+) \(", wanted.group(1))) if wanted else set()
    calls = [
        ToolCall(id=f"c{i}", name="record_field", arguments=f'{{"field": "{k}", "value": "{v.strip()}"}}')
        for i, (k, v) in enumerate(_PAIR.findall(last.content))
        if k in names
    ]
    nxt = _NEXT.search(request.system)
    if nxt and calls and len(calls) == len(names):
        calls.append(ToolCall(id="go", name="go_to_step", arguments=f'{{"step": "{nxt.group(1)}"}}'))
    if calls:
        return ScriptedResponse(tool_calls=tuple(calls))
    return ScriptedResponse("Here is what the law says, and a draft letter." if not names else "Could you tell me?")


def make_tiers(script: Callable[[Any], Any]) -> Any:
    from persona_lab.tiers import ModelConfig, Price, ScriptedBackend, TierRegistry

    prices = {"small": Price(0.1, 0.4), "mid": Price(1.0, 4.0), "frontier": Price(10.0, 30.0)}
    return TierRegistry(
        {t: ModelConfig("scripted", f"{t}-model", backend=ScriptedBackend(script), price=p) for t, p in prices.items()}
    )


async def completion(seeds: int, users: int) -> dict[str, list[tuple[float, float, float]]]:
    from persona_lab import ConversationLoop, FixedRouter, HistoryCompactor, InMemoryTurnLogWriter, Persona, Toolbox
    from persona_lab.journeys import IntentRouter, JourneyRunner, journey_summary

    persona = Persona.from_yaml(ROOT / "examples" / "personas" / "tenancy_advisor.yaml")
    results: dict[str, list[tuple[float, float, float]]] = {k: [] for k in KINDS}
    for seed in range(seeds):
        rng = random.Random(seed)
        for kind in KINDS:
            writer = InMemoryTurnLogWriter()
            loop = ConversationLoop(
                persona, make_tiers(scripted_model), FixedRouter("mid"), toolbox=Toolbox(),
                writer=writer, compactor=HistoryCompactor.off(),
            )
            runner = JourneyRunner(loop, intents=IntentRouter(persona.journeys))
            for _ in range(users):
                conversation, state = loop.new_conversation(), None
                for text in user_messages(kind, rng):
                    state = (await runner.achat(conversation, state, text)).state
                    if state is not None and state.status == "completed":
                        break
            summary = journey_summary(writer.records)
            done = summary[summary["completed"]]
            rate = len(done) / users
            turns = float(done["turns"].mean()) if len(done) else float("nan")
            cost = float(done["cost_usd"].mean()) if len(done) else float("nan")
            results[kind].append((rate, turns, cost))
    return results


def _timed_turns(turns: int, journey: bool, sink: str) -> list[float]:
    from persona_lab import ConversationLoop, FixedRouter, InMemoryTurnLogWriter, Persona
    from persona_lab.core import Usage
    from persona_lab.journeys import JourneyRunner
    from persona_lab.tiers import ScriptedResponse

    answer = ScriptedResponse(
        "Could you tell me more about the problem?", usage=Usage(input_tokens=120, output_tokens=12),
    )
    persona = Persona.from_yaml(ROOT / "examples" / "personas" / "tenancy_advisor.yaml")
    writer: Any = InMemoryTurnLogWriter()
    if sink != "none":
        from persona_lab.tracing import OtelTurnLogSink, tracer_provider

        if sink == "noop":
            writer = OtelTurnLogSink(writer)  # OpenTelemetry's global provider, not configured: no-op
        else:
            from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

            writer = OtelTurnLogSink(writer, tracer_provider=tracer_provider(InMemorySpanExporter()))
    loop = ConversationLoop(persona, make_tiers(lambda r: answer), FixedRouter("mid"), writer=writer)
    runner = JourneyRunner(loop)
    conversation = loop.new_conversation()
    state = runner.start("repair_report") if journey else None
    durations: list[float] = []

    async def go() -> None:
        nonlocal state
        for i in range(turns):
            started = time.perf_counter()
            if journey:
                state = (await runner.achat(conversation, state, f"question {i} about my boiler")).state
            else:
                await loop.achat(conversation, f"question {i} about my boiler")
            durations.append(time.perf_counter() - started)

    asyncio.run(go())
    return durations


def overheads(turns: int, repeats: int = 3) -> dict[str, float]:
    configs = {
        "loop": (False, "none"),
        "loop + journey": (True, "none"),
        "loop + tracing sink, no provider configured": (False, "noop"),
        "loop + tracing on (in-memory exporter)": (False, "memory"),
    }
    samples: dict[str, list[float]] = {k: [] for k in configs}
    for _ in range(repeats):  # interleaved, so machine noise hits every configuration alike
        for name, (journey, sink) in configs.items():
            samples[name].append(statistics.median(_timed_turns(turns, journey, sink)))
    return {name: statistics.median(v) * 1e3 for name, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--turns", type=int, default=400)
    args = parser.parse_args()

    print(f"scripted users (scripted model: a test double), {args.users} users x {args.seeds} seeds per kind")
    print(f"{'user kind':<14} {'completion rate':>18} {'turns/completed':>18} {'cost/completed':>22}")
    for kind, runs in asyncio.run(completion(args.seeds, args.users)).items():
        rates, turns, costs = zip(*runs, strict=True)

        def ms(values: tuple[float, ...], fmt: str) -> str:
            clean = [v for v in values if v == v]
            if not clean:
                return "—"
            spread = statistics.stdev(clean) if len(clean) > 1 else 0.0
            return f"{format(statistics.mean(clean), fmt)} ± {format(spread, fmt)}"

        cost = ms(costs, ".6f")
        print(f"{kind:<14} {ms(rates, '.2f'):>18} {ms(turns, '.2f'):>18} {cost if cost == '—' else '$' + cost:>22}")

    print(f"\nmedian per-turn wall time, {args.turns} turns, median of 3 interleaved runs:")
    figures = overheads(args.turns)
    base = figures["loop"]
    for name, value in figures.items():
        extra = "" if name == "loop" else f"  ({value - base:+.3f} ms vs loop)"
        print(f"  {name:<46} {value:.3f} ms{extra}")


if __name__ == "__main__":
    main()
