"""What a message looks like to a rule: safety, identity probes, small talk, reasoning.

Every pattern matches whole words (never a substring: "this" does not contain "hi", "skill"
does not contain "kill"), case-insensitively. Patterns are regular expressions so one entry can
cover "ignore your previous instructions" and "ignore all prior instructions".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from persona_lab.routers._word_patterns import word_patterns, word_phrases, words_of

__all__ = [
    "IDENTITY_PATTERNS",
    "REASONING_PATTERNS",
    "SAFETY_PATTERNS",
    "SMALL_TALK_WORDS",
    "compile_patterns",
    "compile_phrases",
    "first_match",
    "is_small_talk",
    "looks_like_code_or_math",
    "words_of",
]

SAFETY_PATTERNS: tuple[str, ...] = (
    r"suicid\w*",
    r"self[- ]?harm\w*",
    r"(?:kill|hurt|harm|cut|starve) myself",
    r"end (?:my life|it all)",
    r"(?:don'?t|do not) want to (?:live|be alive|wake up)",
    r"overdos\w*",
    r"(?:kill|murder|stab|strangle|poison|shoot) (?:him|her|them|you|someone|somebody|people|my \w+)",
    r"(?:bombs?|explosives?|firearms?|guns?|weapons?)",
    r"abus(?:e|ed|es|ive|ing)",
    r"(?:threaten(?:ed|ing|s)?|harass(?:ed|es|ing|ment)?|stalk(?:ed|ing|er|s)?)",
    r"(?:in danger|unsafe|emergency|domestic violence|assault(?:ed)?)",
    r"(?:gas leak|carbon monoxide)",
    r"(?:chest pains?|can'?t breathe|heart attack|seizure|unconscious|bleeding heavily)",
)
"""Turns where a wrong or careless answer can hurt someone."""

IDENTITY_PATTERNS: tuple[str, ...] = (
    r"(?:ignore|disregard|forget|override|bypass) (?:\w+ ){0,4}"
    r"(?:instructions?|rules|prompts?|guidelines|directives|constraints|programming|training)",
    r"(?:drop|break|leave|exit|stop) (?:the |this |your )?"
    r"(?:act|character|persona|role ?play(?:ing)?|pretending)",
    r"out of character",
    r"(?:system|initial|hidden|original|secret) (?:prompt|instructions?|message)",
    r"(?:reveal|show|print|repeat|output|leak|dump|tell me|what are|what is|what's) (?:me )?(?:your|the) "
    r"(?:\w+ ){0,2}(?:instructions|prompt)",
    r"(?:reveal|show|print|repeat|output|leak|dump|tell me|what are) (?:me )?your (?:\w+ ){0,2}"
    r"(?:rules|guidelines|constraints)",
    r"jailbr(?:eak|oken)\w*",
    r"developer mode",
    r"do anything now",
    r"prompt injection",
    r"(?:are|r) (?:you|u) (?:an? |really |actually )?(?:ai|a\.i|bot|robot|chatbot|language model|llm|gpt|"
    r"chatgpt|machine|computer program|real|human|real person|person)",
    r"who (?:are you really|really are you|made you|built you|created you|trained you|programmed you)",
    r"what (?:model|llm|ai) are you",
    r"pretend (?:to be|you are|you're|that you)",
    r"you are now (?:a|an|my|in)",
    r"from now on,? you (?:are|will|must)",
    r"role ?play as",
)
"""Turns that probe or attack the persona: jailbreaks, prompt extraction, "are you an AI?"."""

REASONING_PATTERNS: tuple[str, ...] = (
    r"step[- ]by[- ]step",
    r"prove",
    r"proof",
    r"derive",
    r"calculat\w*",
    r"compute",
    r"analy[sz]\w*",
    r"compar(?:e|ing|ison)",
    r"trade-?offs?",
    r"pros and cons",
    r"explain (?:why|how)",
    r"why (?:does|do|is|are|did|would|should|can't|cannot)",
    r"what if",
    r"implications?",
    r"optimi[sz]\w*",
    r"debug\w*",
    r"algorithms?",
    r"strateg(?:y|ies)",
    r"evaluate",
    r"justify",
    r"critique",
    r"(?:draft|write) (?:a|an|the|me a|me an) (?:\w+ ){0,2}"
    r"(?:letter|email|plan|report|essay|contract|claim|complaint|proposal)",
    r"equations?",
    r"integrals?",
    r"probability",
    r"traceback",
)
"""Signs that a turn needs several steps of thought."""

SMALL_TALK_WORDS: frozenset[str] = frozenset(
    {
        "hi", "hello", "hey", "hiya", "howdy", "yo", "thanks", "thank", "you", "thx", "ty",
        "cheers", "ok", "okay", "k", "kk", "cool", "great", "nice", "good", "bye", "goodbye", "see",
        "ya", "later", "morning", "afternoon", "evening", "night", "awesome", "perfect", "lovely",
        "brilliant", "wonderful", "lol", "haha", "wow", "np", "got", "it", "understood", "noted",
        "appreciate", "appreciated", "that's", "that", "much", "very", "so", "really", "all",
        "again", "too", "welcome", "you're", "oh", "ah", "well", "hmm", "ooh", "there", "a", "lot",
        "and", "for", "your", "help",
    }
)
"""A message made only of these words (and punctuation) is small talk.

"yes", "no" and "sure" are left out on purpose: as replies to the persona's question they can
carry the whole turn.
"""

# ```, a Python def, or digits around an operator (``\d\s*[-+*/^×÷=<>]\s*\d``), found by searches
# that skip ahead fast: a literal, or an operator, the rarest part of the arithmetic.
_CODE_FENCE = "```"
_PYTHON_DEF = re.compile(r"def(?<!\wdef) \w+\(")
_OPERATOR_THEN_DIGIT = re.compile(r"[-+*/^×÷=<>]\s*\d")

def compile_patterns(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One case-insensitive whole-word regex for all ``patterns`` (None when there are none).

    A space in a pattern matches any run of whitespace. :func:`word_patterns` is the same
    search, faster on long texts.
    """
    found = word_patterns(patterns)
    return None if found is None else found.pattern


def compile_phrases(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """Like :func:`compile_patterns` for plain words and phrases (no regex syntax)."""
    found = word_phrases(phrases)
    return None if found is None else found.pattern


def first_match(pattern: re.Pattern[str] | None, text: str) -> str | None:
    """The first text ``pattern`` matches in ``text``, normalised to single spaces."""
    if pattern is None:
        return None
    found = pattern.search(text)
    return " ".join(found.group(0).split()) if found else None


def is_small_talk(words: Sequence[str], vocabulary: Collection[str], max_words: int) -> bool:
    """True when the message (its :func:`words_of`) is short and all small talk ("ok thanks!")."""
    return 0 < len(words) <= max_words and all(w in vocabulary for w in words)


def looks_like_code_or_math(text: str) -> bool:
    """True for a code fence, a Python ``def name(``, or arithmetic such as ``3 * 4``."""
    if _CODE_FENCE in text or _PYTHON_DEF.search(text) is not None:
        return True
    for operator in _OPERATOR_THEN_DIGIT.finditer(text):
        before = operator.start() - 1
        while before >= 0 and text[before].isspace():  # str.isspace is re's \s
            before -= 1
        if before >= 0 and text[before].isdecimal():  # str.isdecimal is re's \d
            return True
    return False
