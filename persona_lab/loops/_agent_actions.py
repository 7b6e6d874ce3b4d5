"""How an agent step says what it decided: the built-in ``ask_user`` / ``final_answer`` tools,
and, for models without tool calling, the ``[ASK_USER]`` / ``[FINAL]`` line markers.

Decisions are read from structured signals only. A marker counts only at the start of a line,
so an answer that merely contains a question mark, or mentions a marker mid-sentence, is not
mistaken for a question.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from persona_lab.core import ToolSpec

__all__ = [
    "ASK_USER",
    "BUILTIN_NAMES",
    "FINAL_ANSWER",
    "MAX_OPTIONS",
    "AskArguments",
    "MarkerAction",
    "agent_instructions",
    "ask_user_spec",
    "final_answer_spec",
    "parse_ask_user",
    "parse_final_answer",
    "parse_markers",
    "pick_option",
    "question_key",
]

ASK_USER = "ask_user"
FINAL_ANSWER = "final_answer"
BUILTIN_NAMES = frozenset({ASK_USER, FINAL_ANSWER})
MAX_OPTIONS = 3


def ask_user_spec() -> ToolSpec:
    """The built-in ``ask_user`` tool (a fresh spec: its JSON schema is a plain, mutable dict)."""
    return ToolSpec(
        name=ASK_USER,
        description="Ask the user one question when you cannot continue without their answer. Offer up to "
        "three short options when the likely answers are known; the user may also answer freely.",
        parameters={
            "type": "object",
            "properties": {
                "question": {"type": "string", "description": "The question, in one or two sentences."},
                "options": {
                    "type": "array",
                    "items": {"type": "string"},
                    "maxItems": MAX_OPTIONS,
                    "description": "Up to three suggested answers (optional).",
                },
            },
            "required": ["question"],
            "additionalProperties": False,
        },
    )


def final_answer_spec() -> ToolSpec:
    """The built-in ``final_answer`` tool (a fresh spec)."""
    return ToolSpec(
        name=FINAL_ANSWER,
        description="Finish the task: give your complete final answer to the user. Ends the run.",
        parameters={
            "type": "object",
            "properties": {"text": {"type": "string", "description": "The complete final answer."}},
            "required": ["text"],
            "additionalProperties": False,
        },
    )


@dataclass(frozen=True, slots=True)
class AskArguments:
    question: str
    options: tuple[str, ...]
    note: str = ""


def _object(arguments: str, name: str) -> dict[str, object] | str:
    try:
        value = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        return f"ERROR: arguments for {name} are not valid JSON ({exc.msg} at char {exc.pos})"
    if not isinstance(value, dict):
        return f"ERROR: arguments for {name} must be a JSON object, got {type(value).__name__}"
    return value


def parse_ask_user(arguments: str) -> AskArguments | str:
    """The question and options of an ``ask_user`` call, or an error text the model can read.

    More than three options are cut to three (noted in ``note``) rather than refused.
    """
    value = _object(arguments, ASK_USER)
    if isinstance(value, str):
        return value
    question = value.get("question")
    if not isinstance(question, str) or not question.strip():
        return "ERROR: ask_user needs a non-empty string 'question'"
    raw = value.get("options")
    if raw is None:
        raw = []
    if not isinstance(raw, list) or not all(isinstance(o, str) for o in raw):
        return "ERROR: ask_user 'options' must be a list of strings (at most three)"
    return _ask(question, raw)


def _ask(question: str, raw: list[str]) -> AskArguments:
    options = tuple(dict.fromkeys(o.strip() for o in raw if o.strip()))
    note = ""
    if len(options) > MAX_OPTIONS:
        note = f"only the first {MAX_OPTIONS} of {len(options)} options were shown"
        options = options[:MAX_OPTIONS]
    return AskArguments(question.strip(), options, note)


def parse_final_answer(arguments: str) -> str | None:
    """The text of a ``final_answer`` call, or ``None`` when it has none."""
    value = _object(arguments, FINAL_ANSWER)
    if isinstance(value, str):
        return None
    text = value.get("text")
    if not isinstance(text, str) or not text.strip():
        return None
    return text.strip()


@dataclass(frozen=True, slots=True)
class MarkerAction:
    """What a marker reply decided; ``reasoning`` is the text written before the marker."""

    kind: Literal["ask_user", "final"]
    reasoning: str
    text: str = ""
    ask: AskArguments | None = None


_MARKER = re.compile(r"^[ \t]*\[(ASK_USER|FINAL)\][ \t:]*", re.MULTILINE | re.IGNORECASE)
_OPTION = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+(.+?)\s*$")


def parse_markers(text: str) -> MarkerAction | None:
    """The first ``[ASK_USER]`` / ``[FINAL]`` marker at the start of a line, if any.

    ``[FINAL]`` takes everything after it as the answer. ``[ASK_USER]`` takes the rest of its
    line as the question (or the next non-empty line), then up to three option lines written
    as ``- option`` or ``1. option`` right below it.
    """
    match = _MARKER.search(text)
    if match is None:
        return None
    reasoning = text[: match.start()].strip()
    rest = text[match.end() :]
    if match.group(1).upper() == "FINAL":
        return MarkerAction("final", reasoning, text=rest.strip())
    lines = rest.splitlines()
    question, position = "", 0
    while position < len(lines) and not question:
        question = lines[position].strip()
        position += 1
    options: list[str] = []
    for line in lines[position:]:
        if not line.strip():
            if options:
                break
            continue
        option = _OPTION.match(line)
        if option is None:
            break
        options.append(option.group(1))
    return MarkerAction("ask_user", reasoning, ask=_ask(question, options))


def question_key(question: str) -> str:
    """A question normalised for "asked before?" checks (case, spacing, end punctuation)."""
    return " ".join(question.casefold().split()).rstrip(" ?.!:")


def pick_option(answer: str, options: tuple[str, ...]) -> str:
    """An answer of ``"2"`` means the second option, unless ``"2"`` is itself an option."""
    stripped = answer.strip()
    if stripped.isdigit() and stripped not in options and 1 <= int(stripped) <= len(options):
        return options[int(stripped) - 1]
    return stripped


def agent_instructions(*, native_tools: bool, max_questions: int, tool_names: tuple[str, ...]) -> str:
    """The part of the system prompt that explains how a step decides."""
    can_ask = max_questions > 0
    if native_tools:
        lines = [
            "You are working on a task in steps. At each step do exactly one of these:",
            "- call one or more of your tools to gather what you need;"
            if tool_names
            else "- think about the task;",
        ]
        if can_ask:
            lines.append(
                f"- call ask_user with one question (and up to {MAX_OPTIONS} options) when you "
                f"cannot continue without the user's answer; you may ask at most {max_questions} "
                "question(s) in this task;"
            )
        lines.append("- call final_answer with your complete answer when you are done.")
        lines.append("Text you write next to a tool call is shown to the user as your reasoning.")
        return "\n".join(lines)
    lines = [
        "You are working on a task in steps. You cannot call tools.",
        "When you are done, write a line that starts with [FINAL] followed by your complete answer.",
    ]
    if can_ask:
        lines.append(
            "If you cannot continue without the user's answer, write a line that starts with "
            f"[ASK_USER] followed by one question, then up to {MAX_OPTIONS} suggested answers, "
            f"each on its own line starting with '- '. You may ask at most {max_questions} "
            "question(s) in this task."
        )
    lines.append("Markers count only at the very start of a line.")
    return "\n".join(lines)
