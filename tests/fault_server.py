"""A real HTTP server on 127.0.0.1 speaking the OpenAI Chat Completions and Anthropic Messages
streaming APIs, with faults injected per model.

Not a mock transport: the SDKs connect over TCP, read chunked HTTP/1.1 responses and parse the
server-sent events themselves. ``POST /v1/chat/completions`` answers in the OpenAI shape,
``POST /v1/messages`` in the Anthropic shape. The request body's ``model`` picks the fault:

====================  ======================================================================
``ok``                a whole answer (a ``final_answer`` tool call when the request offers it)
``status``            an error status (429 with ``retry_after``, 500, 503, 529 …)
``auth_echo``         401 whose message echoes the API key the client sent
``hang``              reads the request and never answers
``stall``             starts streaming the answer, then falls silent
``cut``               starts streaming the answer, then closes the connection mid-body
``malformed``         an event stream whose data is not JSON
``empty``             a stream that ends without an answer (OpenAI: only ``choices: []``)
``slow``              a long answer, one event every 50 ms; notes when the client hangs up
====================  ======================================================================

Used by ``tests/test_fault_matrix.py``, ``tests/test_cli_live.py`` and ``benchmarks/fault_matrix.py``.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FAULTS", "Fault", "FaultServer", "RecordedRequest"]

FAULTS = ("ok", "status", "auth_echo", "hang", "stall", "cut", "malformed", "empty", "slow")


@dataclass(frozen=True, kw_only=True)
class Fault:
    """What the server does for one model. ``status``/``retry_after`` for ``kind="status"``."""

    kind: str = "ok"
    status: int = 500
    retry_after: str | None = None
    text: str | None = None
    delay_s: float = 0.0  # wait before answering (a provider's latency)

    def __post_init__(self) -> None:
        if self.kind not in FAULTS:
            raise ValueError(f"unknown fault {self.kind!r}; known: {', '.join(FAULTS)}")


@dataclass(frozen=True, kw_only=True)
class RecordedRequest:
    path: str
    model: str
    api: str
    at: float
    tools: tuple[str, ...]


@dataclass
class _State:
    faults: dict[str, Fault] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    disconnects: dict[str, float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


def _openai_events(model: str, text: str, tool: str | None) -> Iterator[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        body = {
            "id": "chatcmpl-fault",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return b"data: " + json.dumps(body).encode() + b"\n\n"

    yield chunk({"role": "assistant", "content": ""})
    if tool is None:
        for piece in _pieces(text):
            yield chunk({"content": piece})
        yield chunk({}, "stop")
    else:
        arguments = json.dumps({"text": text})
        call = {"index": 0, "id": "call_fault", "type": "function", "function": {"name": tool, "arguments": ""}}
        yield chunk({"tool_calls": [call]})
        for piece in _pieces(arguments):
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        yield chunk({}, "tool_calls")
    usage = {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28}
    body = {"id": "chatcmpl-fault", "object": "chat.completion.chunk", "created": 1, "model": model,
            "choices": [], "usage": usage}
    yield b"data: " + json.dumps(body).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"


def _anthropic_events(model: str, text: str, tool: str | None) -> Iterator[bytes]:
    def event(body: dict[str, Any]) -> bytes:
        return f"event: {body['type']}\ndata: {json.dumps(body)}\n\n".encode()

    yield event({
        "type": "message_start",
        "message": {"id": "msg_fault", "type": "message", "role": "assistant", "model": model, "content": [],
                    "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 20, "output_tokens": 1}},
    })
    yield event({"type": "ping"})
    if tool is None:
        yield event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        for piece in _pieces(text):
            yield event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}})
        stop = "end_turn"
    else:
        yield event({"type": "content_block_start", "index": 0,
                     "content_block": {"type": "tool_use", "id": "toolu_fault", "name": tool, "input": {}}})
        for piece in _pieces(json.dumps({"text": text})):
            yield event({"type": "content_block_delta", "index": 0,
                         "delta": {"type": "input_json_delta", "partial_json": piece}})
        stop = "tool_use"
    yield event({"type": "content_block_stop", "index": 0})
    yield event({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                 "usage": {"output_tokens": 8}})
    yield event({"type": "message_stop"})


def _pieces(text: str, size: int = 6) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    # -- plumbing ------------------------------------------------------------------------------

    def _client_gone_or_stopped(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True when the client closed the connection or the server stops."""
        if self.server.state.stop.is_set():
            return True
        readable, _, _ = select.select([self.connection], [], [], seconds)
        if readable:
            try:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
            except OSError:
                return True
        return self.server.state.stop.is_set()

    def _wait_forever(self) -> None:
        while not self._client_gone_or_stopped(0.05):
            pass
        self.close_connection = True

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _json(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _error(self, api: str, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        kind = _ERROR_TYPES.get(status, "api_error")
        if api == "anthropic":
            body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
        else:
            body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
        self._json(status, body, headers)

    # -- the API -------------------------------------------------------------------------------

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        if self.path.endswith("/chat/completions"):
            api = "openai"
        elif self.path.endswith("/messages"):
            api = "anthropic"
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        model = str(body.get("model", ""))
        tools = tuple(
            (t.get("function", {}) or {}).get("name", "") if api == "openai" else t.get("name", "")
            for t in body.get("tools") or ()
        )
        state = self.server.state
        with state.lock:
            fault = state.faults.get(model, Fault())
            state.requests.append(RecordedRequest(path=self.path, model=model, api=api, at=time.monotonic(),
                                                  tools=tools))
        self._serve(api, model, fault, "final_answer" if "final_answer" in tools else None)

    def _serve(self, api: str, model: str, fault: Fault, tool: str | None) -> None:
        if fault.delay_s and self._client_gone_or_stopped(fault.delay_s):
            return
        text = fault.text or f"answer from {model}"
        kind = fault.kind
        if kind == "slow":
            text = "tick " * 120
        events = list((_openai_events if api == "openai" else _anthropic_events)(model, text, tool))
        if kind == "slow":
            self._start_stream()
            try:
                for data in events:
                    self._chunk(data)
                    if self._client_gone_or_stopped(0.05):
                        raise ConnectionResetError
                self._end_stream()
            except OSError:
                with self.server.state.lock:
                    self.server.state.disconnects[model] = time.monotonic()
                self.close_connection = True
        elif kind == "status":
            headers = {"retry-after": fault.retry_after} if fault.retry_after is not None else {}
            self._error(api, fault.status, f"fault {fault.status} for {model}", headers)
        elif kind == "auth_echo":
            key = self.headers.get("x-api-key") or (self.headers.get("authorization") or "").removeprefix("Bearer ")
            self._error(api, 401, f"Incorrect API key provided: {key}. You can find your API key in settings.")
        elif kind == "hang":
            self._wait_forever()
        elif kind in ("stall", "cut"):
            self._start_stream()
            for data in events[: max(3, len(events) // 2)]:  # some answer text has streamed
                self._chunk(data)
            if kind == "stall":
                self._wait_forever()
            else:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
        elif kind == "malformed":
            self._start_stream()
            self._chunk(events[0])
            self._chunk(b"data: {this is not json\n\n")
            self._chunk(b"event: message_delta\ndata: [1, 2\n\n")
            self._end_stream()
        elif kind == "empty":
            self._start_stream()
            if api == "openai":
                empty = {"id": "chatcmpl-fault", "object": "chat.completion.chunk", "created": 1, "model": model,
                         "choices": []}
                for _ in range(3):
                    self._chunk(b"data: " + json.dumps(empty).encode() + b"\n\n")
                self._chunk(b"data: [DONE]\n\n")
            else:
                self._chunk(events[0])
                self._chunk(b'event: message_stop\ndata: {"type": "message_stop"}\n\n')
            self._end_stream()
        else:
            self._start_stream()
            for data in events:
                self._chunk(data)
            self._end_stream()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, state: _State):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-answer (a timeout, a fallback) is expected here, not an error."""
        return


class FaultServer:
    """The server, running in a background thread while the ``with`` block lasts."""

    def __init__(self, faults: Mapping[str, Fault] | None = None):
        self._state = _State(faults=dict(faults or {}))
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FaultServer:
        self._server = _Server(self._state)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._state.stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        assert self._server is not None, "use the server inside `with FaultServer() as server:`"
        return int(self._server.server_address[1])

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, provider: str) -> str:
        return self.anthropic_url if provider == "anthropic" else self.openai_url

    def set_fault(self, model: str, fault: Fault) -> None:
        with self._state.lock:
            self._state.faults[model] = fault

    def clear(self) -> None:
        with self._state.lock:
            self._state.faults.clear()
            self._state.requests.clear()

    def clear_requests(self) -> None:
        with self._state.lock:
            self._state.requests.clear()

    def disconnected_at(self, model: str) -> float | None:
        """When the client hung up on a ``slow`` answer for ``model`` (monotonic), if it did."""
        with self._state.lock:
            return self._state.disconnects.get(model)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)
