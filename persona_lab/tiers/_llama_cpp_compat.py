"""Compatibility module: everything persona-lab relies on inside llama-cpp-python beyond its documented API.

Tested with llama-cpp-python 0.3.x (see ``pyproject.toml``). ``tests/test_compat.py`` checks each
point below against the installed version and fails loudly when one no longer holds:

- **Model defaults.** ``Llama.__init__`` takes its model parameters from
  ``llama_cpp.llama_cpp.llama_model_default_params()`` and offers no argument for
  ``use_extra_bufts`` (llama.cpp's repacked/AMX weight buffers, which segfault on multi-token
  batches on some Intel CPUs: llama.cpp issue #20824). :func:`plain_weight_buffers` turns them off
  *for the models loaded inside its ``with`` block, in this thread or task only*: a wrapper
  installed once around the defaults function reads a context variable, so other threads and
  other loads see llama.cpp's own defaults. :func:`plain_weight_buffers_for_this_process` is the
  process-wide form, for the dedicated ``llama_cpp.server`` process only.
- **Chat handler registry.** ``llama_cpp.server`` names chat formats by string, so the server
  process registers persona-lab's handler in llama.cpp's global registry
  (:func:`register_chat_format`). The in-process backend never does: it passes the handler to
  its own ``Llama(chat_handler=...)``.
- **Error texts.** llama.cpp signals two conditions only through ``ValueError`` messages:
  automatic tool choice while streaming (:func:`is_streaming_tool_choice_refusal`) and a prompt
  longer than the context (:func:`is_context_overflow`).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

from persona_lab.core import ConfigError

__all__ = [
    "CONTEXT_OVERFLOW_TEXT",
    "STREAMING_TOOL_CHOICE_TEXT",
    "amx_present",
    "is_context_overflow",
    "is_streaming_tool_choice_refusal",
    "plain_weight_buffers",
    "plain_weight_buffers_for_this_process",
    "register_chat_format",
]

STREAMING_TOOL_CHOICE_TEXT = "Automatic streaming tool choice is not supported"
"""The ``ValueError`` text of ``chatml_function_calling`` for ``tool_choice="auto"`` with streaming."""

CONTEXT_OVERFLOW_TEXT = "exceed context window"
"""Part of the ``ValueError`` text of ``Llama`` for a prompt longer than ``n_ctx``."""

_PLAIN_BUFFERS: contextvars.ContextVar[bool] = contextvars.ContextVar("persona_lab_plain_weight_buffers",
                                                                     default=False)
_WRAPPED = "__persona_lab_defaults__"


def is_streaming_tool_choice_refusal(exc: BaseException) -> bool:
    """True for llama.cpp's refusal to stream an automatic tool choice."""
    return isinstance(exc, ValueError) and STREAMING_TOOL_CHOICE_TEXT in str(exc)


def is_context_overflow(exc: BaseException) -> bool:
    """True for llama.cpp's "Requested tokens (…) exceed context window of …"."""
    return CONTEXT_OVERFLOW_TEXT in str(exc)


def amx_present() -> bool:
    """Whether llama.cpp would put weights into AMX buffers on this CPU."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info()
    return b"AMX_INT8 = 1" in (info if isinstance(info, bytes) else str(info).encode())


def _without_extra_buffers(params: Any) -> Any:
    if not hasattr(params, "use_extra_bufts"):
        raise ConfigError("llama_model_params has no use_extra_bufts field: this llama-cpp-python version is "
                          "not supported by persona-lab (install 'persona-lab[local]' for a tested one)")
    params.use_extra_bufts = False
    return params


def _install_defaults_wrapper() -> None:
    """Wrap ``llama_model_default_params`` once; the wrapper changes nothing unless the context asks."""
    import llama_cpp.llama_cpp as raw

    current = raw.llama_model_default_params
    if getattr(current, _WRAPPED, False):
        return

    def defaults() -> Any:
        params = current()
        return _without_extra_buffers(params) if _PLAIN_BUFFERS.get() else params

    setattr(defaults, _WRAPPED, True)
    raw.llama_model_default_params = defaults


@contextlib.contextmanager
def plain_weight_buffers(enabled: bool = True) -> Iterator[None]:
    """Inside the block (this thread/task only), models load with ``use_extra_bufts=False``."""
    if not enabled:
        yield
        return
    _install_defaults_wrapper()
    token = _PLAIN_BUFFERS.set(True)
    try:
        yield
    finally:
        _PLAIN_BUFFERS.reset(token)


def plain_weight_buffers_for_this_process() -> None:
    """Every model this process loads uses plain buffers: for the dedicated server process only."""
    import llama_cpp.llama_cpp as raw

    original: Callable[[], Any] = raw.llama_model_default_params

    def defaults() -> Any:
        return _without_extra_buffers(original())

    setattr(defaults, _WRAPPED, True)
    raw.llama_model_default_params = defaults


def register_chat_format(name: str, handler: Callable[..., Any]) -> None:
    """Register ``handler`` in llama.cpp's global chat-format registry (the server process only)."""
    from llama_cpp.llama_chat_format import LlamaChatCompletionHandlerRegistry

    LlamaChatCompletionHandlerRegistry().register_chat_completion_handler(  # type: ignore[no-untyped-call]
        name, handler, overwrite=True
    )
