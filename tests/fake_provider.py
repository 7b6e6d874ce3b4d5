"""A local OpenAI-compatible chat server with a fixed latency that records when each request arrived.

Used by the distributed-run tests and ``benchmarks/distributed_live.py`` (a real HTTP server on
127.0.0.1, streaming Chat Completions SSE like the real API; never a mock transport).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAIServer:
    """``with FakeOpenAIServer(latency_s=0.2) as server:`` → ``server.base_url``; ``server.arrivals`` times."""

    def __init__(self, *, latency_s: float = 0.2, answer: str = "The answer is 42.\n#### 42") -> None:
        self.latency_s = latency_s
        self.answer = answer
        self.arrivals: list[float] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                with owner._lock:
                    owner.arrivals.append(time.monotonic())
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                time.sleep(owner.latency_s)
                model = body.get("model", "fake")
                chunks = [
                    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": owner.answer}}]},
                    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                    {"choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 12, "total_tokens": 62}},
                ]
                payload = b"".join(
                    b"data: " + json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": 0,
                                            "model": model, **c}).encode() + b"\n\n" for c in chunks
                ) + b"data: [DONE]\n\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def max_in_window(self, window_s: float = 1.0) -> int:
        """The most requests that arrived within any ``window_s`` seconds."""
        return max_in_window(self.arrivals, window_s)

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def acquire_times(run: str, per_second: float, coroutines: int, each: int) -> list[float]:
    """A Dask task: ``coroutines`` × ``each`` acquisitions of one cluster rate limiter; when each returned."""
    import asyncio

    from distributed import get_client

    from persona_lab.scale import ClusterRateLimiter

    limiter = ClusterRateLimiter("provider", per_second, run=run, client=get_client())

    async def one() -> list[float]:
        times = []
        for _ in range(each):
            await limiter.acquire()
            times.append(time.time())
        return times

    async def many() -> list[float]:
        parts = await asyncio.gather(*(one() for _ in range(coroutines)))
        return [t for part in parts for t in part]

    return asyncio.run(many())


def max_in_window(times: list[float], window_s: float = 1.0) -> int:
    """The most of ``times`` within any ``window_s`` seconds."""
    ordered = sorted(times)
    best, left = 0, 0
    for right, t in enumerate(ordered):
        while t - ordered[left] >= window_s:
            left += 1
        best = max(best, right - left + 1)
    return best
