"""Speed of the local tier (SmolLM2-135M-Instruct Q4_1 through llama.cpp), in process and via the server.

For each path and thread count: model load / server start time, then ``--runs`` generations
of up to ``--max-tokens`` tokens (temperature 0) for a short chat prompt and for a persona-sized
system prompt. Each run starts with a fresh prompt (llama.cpp would otherwise reuse the cached
prefix and skip the prompt). Prints the median time to first token, decode speed (tokens after
the first, per second of streaming) and end-to-end tokens per second, with usage as the model
counted it. On a loaded machine the figures move a lot: look at the load average printed.

    python benchmarks/local_model.py [--runs 5] [--max-tokens 128] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

from persona_lab import Message, Persona
from persona_lab.core import Backend, ChatRequest
from persona_lab.tiers import LlamaCppBackend, LocalModelServer, TierRegistry, local_model_config

ROOT = Path(__file__).resolve().parents[1]
PERSONA = ROOT / "examples" / "personas" / "tenancy_advisor.yaml"


@dataclass(frozen=True, slots=True)
class Sample:
    ttft_s: float
    total_s: float
    input_tokens: int
    output_tokens: int

    @property
    def decode_tps(self) -> float:
        streaming = self.total_s - self.ttft_s
        return (self.output_tokens - 1) / streaming if streaming > 0 and self.output_tokens > 1 else 0.0

    @property
    def end_to_end_tps(self) -> float:
        return self.output_tokens / self.total_s


def prompts(max_tokens: int) -> dict[str, ChatRequest]:
    question = Message.user("My landlord has ignored black mould in my flat for months. What should I do?")
    return {
        "short chat": ChatRequest(
            model="smollm2-135m-instruct",
            system="You are a helpful assistant.",
            messages=(Message.user("Tell me about the history of bread."),),
            max_output_tokens=max_tokens,
            temperature=0.0,
        ),
        "persona prompt": ChatRequest(
            model="smollm2-135m-instruct",
            system=Persona.from_yaml(PERSONA).system_prompt(),
            messages=(question,),
            max_output_tokens=max_tokens,
            temperature=0.0,
        ),
    }


async def measure(backend: Backend, request: ChatRequest, run: int) -> Sample:
    request = replace(request, system=f"[conversation {run}-{time.time_ns()}] {request.system}")
    started = time.perf_counter()
    first: float | None = None
    usage = None
    async for chunk in backend.stream(request):
        if chunk.delta and first is None:
            first = time.perf_counter()
        if chunk.usage is not None:
            usage = chunk.usage
    total = time.perf_counter() - started
    assert first is not None, "the model answered with no text"
    assert usage is not None and usage.input_tokens is not None and usage.output_tokens is not None
    return Sample(first - started, total, usage.input_tokens, usage.output_tokens)


def report(path: str, threads: int, setup_s: float, name: str, samples: list[Sample]) -> None:
    med = statistics.median
    print(
        f"{path:<10} {threads:>7} {setup_s:>8.2f} {name:<15} {med(s.input_tokens for s in samples):>6.0f} "
        f"{med(s.output_tokens for s in samples):>6.0f} {med(s.ttft_s for s in samples) * 1000:>8.0f} "
        f"{med(s.decode_tps for s in samples):>10.1f} {med(s.end_to_end_tps for s in samples):>9.1f}"
    )


async def run_path(path: str, threads: int, runs: int, max_tokens: int) -> None:
    requests = prompts(max_tokens)
    if path == "in-process":
        started = time.perf_counter()
        backend = LlamaCppBackend(local_model_config(), n_threads=threads)
        # loading is lazy: a one-token request pays for it
        await measure(backend, replace(requests["short chat"], max_output_tokens=1), -1)
        setup_s = time.perf_counter() - started
        try:
            for name, request in requests.items():
                report(path, threads, setup_s, name, [await measure(backend, request, i) for i in range(runs)])
        finally:
            await backend.aclose()
        return
    started = time.perf_counter()
    async with LocalModelServer(n_threads=threads) as server:
        setup_s = time.perf_counter() - started
        registry = TierRegistry({"small": server.model_config(max_output_tokens=max_tokens)})
        backend = registry.backend(registry.config("small").primary)
        try:
            for name, request in requests.items():
                report(path, threads, setup_s, name, [await measure(backend, request, i) for i in range(runs)])
        finally:
            await registry.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured generations per prompt")
    parser.add_argument("--max-tokens", type=int, default=128, help="output tokens per generation")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="llama.cpp thread counts")
    parser.add_argument("--paths", nargs="+", default=["in-process", "server"], choices=["in-process", "server"])
    args = parser.parse_args()
    print(f"SmolLM2-135M-Instruct Q4_1, temperature 0, up to {args.max_tokens} tokens, median of {args.runs} runs")
    print(f"{'path':<10} {'threads':>7} {'setup_s':>8} {'prompt':<15} {'in_tok':>6} {'out_tok':>6} "
          f"{'ttft_ms':>8} {'decode_t/s':>10} {'e2e_t/s':>9}")
    for threads in args.threads:
        for path in args.paths:
            await run_path(path, threads, args.runs, args.max_tokens)
    print(f"load average afterwards: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    asyncio.run(main())
