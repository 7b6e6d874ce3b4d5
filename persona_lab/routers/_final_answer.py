"""The final answer an answer text gives: a JSON ``answer`` field, ``#### n``, "the answer is (X)", a box.

Verifiers compare final answers (agreement) and check that one is present (the requested
form). :func:`final_answer` tries the explicit forms first, in this order: a JSON block with
an ``answer`` field (ZeroEval's format), GSM8K's ``#### n``, ``\\boxed{...}``, "the answer is
...", and, for ``kind="number"``, the last number. It returns a normalised string (numbers
without commas, ``$`` or a trailing ``.0``; letters upper-case; text stripped and
lower-cased), or None when no final answer can be read.
"""

from __future__ import annotations

import json
import re

from persona_lab.core import InvalidArgument

__all__ = ["ANSWER_KINDS", "final_answer", "normalize_answer"]

ANSWER_KINDS = ("auto", "number", "letter", "json", "text")
"""What :func:`final_answer` looks for: ``auto`` tries every explicit form, then the last number."""

_JSON_ANSWER = re.compile(r'"answer"\s*:\s*("(?:[^"\\]|\\.)*"|[^,}\n]+)', re.IGNORECASE)
_HASHES = re.compile(r"####\s*([^\n]+)")
_BOXED = re.compile(r"\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}")
_ANSWER_IS = re.compile(
    r"(?:final answer|the answer|answer)\s*(?:is|:)\s*:?\s*\(?\**\s*([A-J])\s*\**\)?(?![A-Za-z])"
    r"|(?:final answer|the answer)\s*(?:is|:)\s*:?\s*([^\n]+)",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")
_LETTER_ONLY = re.compile(r"^\(?([A-J])\)?[.)]?$")


def _number(raw: str) -> str | None:
    cleaned = raw.replace(",", "").replace("$", "").strip().rstrip(".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return str(int(value)) if value.is_integer() else repr(value)


def normalize_answer(raw: object) -> str:
    """One spelling per answer: numbers canonical, option letters upper-case, text lower-cased."""
    text = str(raw).strip().strip("\"'`").strip()
    number = _number(text)
    if number is not None:
        return number
    letter = _LETTER_ONLY.match(text)
    if letter:
        return letter.group(1).upper()
    return " ".join(text.lower().split())


def _json_answer(text: str) -> str | None:
    found = list(_JSON_ANSWER.finditer(text))
    if not found:
        return None
    raw = found[-1].group(1).strip()
    if raw.startswith('"'):
        try:
            raw = str(json.loads(raw))
        except json.JSONDecodeError:
            raw = raw.strip('"')
    return raw if raw.strip() else None


def _last_number(text: str) -> str | None:
    for raw in reversed(_NUMBER.findall(text)):
        number = _number(raw)
        if number is not None:
            return number
    return None


def final_answer(text: str, kind: str = "auto") -> str | None:
    """The normalised final answer of ``text``, or None when it states none (see the module doc).

    ``kind``: ``number`` (the explicit forms, else the last number), ``letter`` (an option letter
    A–J), ``json`` (only a JSON ``answer`` field), ``text`` (the explicit forms, no number
    fallback), ``auto`` (explicit forms, then the last number).
    """
    if kind not in ANSWER_KINDS:
        raise InvalidArgument(f"final_answer: kind must be one of {', '.join(ANSWER_KINDS)}, got {kind!r}")
    if not text or not text.strip():
        return None
    candidate = _json_answer(text)
    if kind == "json":
        return None if candidate is None else normalize_answer(candidate)
    if candidate is None:
        hashes = _HASHES.search(text)
        candidate = hashes.group(1) if hashes else None
    if candidate is None:
        boxed = list(_BOXED.finditer(text))
        candidate = boxed[-1].group(1) if boxed else None
    if candidate is None:
        stated = list(_ANSWER_IS.finditer(text))
        if stated:
            letter, rest = stated[-1].groups()
            candidate = letter if letter is not None else rest.strip().rstrip(".")
    if kind == "letter":
        if candidate is None:
            return None
        value = normalize_answer(candidate)
        if len(value) == 1 and value.isalpha():
            return value.upper()
        letter = re.match(r"\(?([A-J])\)", candidate.strip())
        return letter.group(1) if letter else None
    if candidate is not None:
        value = normalize_answer(candidate)
        if kind in ("number", "auto"):
            number = _last_number(candidate) if _number(value) is None and _NUMBER.search(candidate) else None
            if number is not None and len(candidate) > 12:  # "18 dollars per day" → 18
                return number
        return value or None
    if kind in ("number", "auto"):
        return _last_number(text)
    return None
