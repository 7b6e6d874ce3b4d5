"""Compatibility modules: each fails here, loudly, when an installed version breaks what it relies on."""

from __future__ import annotations

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
