"""Compatibility modules: each fails here, loudly, when an installed version breaks what it relies on."""

from __future__ import annotations

import inspect
import re

import pytest

from persona_lab.routers import _re_parser_compat as re_parser
from persona_lab.routers._signals import IDENTITY_PATTERNS, REASONING_PATTERNS, SAFETY_PATTERNS
from persona_lab.routers._word_patterns import word_patterns, word_phrases

# -- re._parser (routers/_re_parser_compat.py) ------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("ab", (("LITERAL", 97), ("LITERAL", 98))),
        ("[a-c_]", (("IN", (("RANGE", (97, 99)), ("LITERAL", 95))),)),
        (r"[\s\W]", (("IN", (("CATEGORY", "CATEGORY_SPACE"), ("CATEGORY", "CATEGORY_NOT_WORD"))),)),
        ("[^ab]", (("IN", (("NEGATE", None), ("LITERAL", 97), ("LITERAL", 98))),)),
        ("a{2,}", (("REPEAT", 2, None, (("LITERAL", 97),)),)),
        ("a*?", (("REPEAT", 0, None, (("LITERAL", 97),)),)),
        ("a{1,3}+", (("REPEAT", 1, 3, (("LITERAL", 97),)),)),
        ("(?:ab|c)", (("BRANCH", ((("LITERAL", 97), ("LITERAL", 98)), (("LITERAL", 99),))),)),
        ("(a|bc)d", (("GROUP", (("BRANCH", ((("LITERAL", 97),), (("LITERAL", 98), ("LITERAL", 99)))),)),
                     ("LITERAL", 100))),
        ("(x)", (("GROUP", (("LITERAL", 120),)),)),
        ("(?>x)", (("GROUP", (("LITERAL", 120),)),)),
        (r"\bx", (("AT", None), ("LITERAL", 120))),
    ],
)
def test_re_parser_reads_as_expected(pattern: str, expected: tuple[object, ...]) -> None:
    assert re_parser.parse(pattern) == expected


def test_re_parser_keeps_case_insensitive_literals() -> None:
    assert re_parser.parse("Ab", re.IGNORECASE) == (("LITERAL", 65), ("LITERAL", 98))


@pytest.mark.parametrize("patterns", [SAFETY_PATTERNS, IDENTITY_PATTERNS, REASONING_PATTERNS])
def test_the_default_signal_groups_get_their_fast_filter(patterns: tuple[str, ...]) -> None:
    found = word_patterns(patterns)
    assert found is not None and found.filter is not None, "re._parser no longer reads these patterns"
    assert word_phrases(("court", "tribunal")) is not None


# -- llama-cpp-python (tiers/_llama_cpp_compat.py) --------------------------------------------


def _llama_cpp() -> object:
    return pytest.importorskip("llama_cpp", reason="the [local] extra is not installed")


def test_llama_model_defaults_can_be_changed_for_one_scoped_load_only() -> None:
    _llama_cpp()
    import threading

    import llama_cpp
    import llama_cpp.llama_cpp as raw

    from persona_lab.tiers import _llama_cpp_compat as compat

    # Llama.__init__ must still take its model parameters from this function, by name
    assert "llama_model_default_params()" in inspect.getsource(llama_cpp.Llama.__init__)
    assert hasattr(raw.llama_model_default_params(), "use_extra_bufts"), "the AMX workaround would do nothing"
    assert raw.llama_model_default_params().use_extra_bufts is True
    seen_elsewhere: list[bool] = []
    with compat.plain_weight_buffers():
        assert raw.llama_model_default_params().use_extra_bufts is False
        other = threading.Thread(target=lambda: seen_elsewhere.append(raw.llama_model_default_params().use_extra_bufts))
        other.start()
        other.join()
    assert seen_elsewhere == [True]  # another thread loading meanwhile keeps llama.cpp's defaults
    assert raw.llama_model_default_params().use_extra_bufts is True


def test_llama_accepts_a_per_model_chat_handler_and_the_server_registry_exists() -> None:
    _llama_cpp()
    import llama_cpp
    from llama_cpp.llama_chat_format import LlamaChatCompletionHandlerRegistry

    assert "chat_handler" in inspect.signature(llama_cpp.Llama.__init__).parameters
    register = LlamaChatCompletionHandlerRegistry.register_chat_completion_handler
    assert "overwrite" in inspect.signature(register).parameters


def test_llama_error_texts_we_branch_on_are_still_raised() -> None:
    _llama_cpp()
    import llama_cpp.llama as llama_module
    import llama_cpp.llama_chat_format as chat_format

    from persona_lab.tiers import _llama_cpp_compat as compat

    assert compat.STREAMING_TOOL_CHOICE_TEXT in inspect.getsource(chat_format.chatml_function_calling)
    assert compat.CONTEXT_OVERFLOW_TEXT in inspect.getsource(llama_module)
    assert compat.is_streaming_tool_choice_refusal(ValueError(compat.STREAMING_TOOL_CHOICE_TEXT))
    assert compat.is_context_overflow(ValueError("Requested tokens (9000) exceed context window of 8192"))
