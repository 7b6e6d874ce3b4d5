r"""Whole-word, case-insensitive search for many regexes at once, exact and fast on long messages.

``re`` tries every alternative of ``(?<!\w)(?:a|b|…)(?!\w)`` at every position of the text:
about 30 µs per rule group on a 1,600-character prompt. :class:`WordPatterns` keeps that regex
as the definition and puts a *filter* in front of it: a bytes regex over a copy of the message
(:attr:`ScanText.boundary`) that is lower-cased and has every non-word character replaced by a
space, so the filter starts with a literal space and ``re`` jumps from word start to word start.
The filter is built from the literal start of each pattern (read with ``re``'s own parser) and
may match where the pattern does not, never the other way round; each place it matches is
checked with the real regex, in text order, so every result equals the plain search.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from persona_lab.routers import _re_parser_compat as re_parser

__all__ = ["CombinedSearch", "ScanText", "WordPatterns", "word_patterns", "word_phrases", "words_of"]

_SPACE = re.compile(r" (?![?*+{])")  # a space in a pattern matches any whitespace, unless quantified
_WORD = re.compile(r"[a-z0-9']+")

_MAX_STARTS = 64
_WORD_ASCII = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
# Lower-cased ASCII word characters stay, everything else (punctuation, whitespace, and the '?'
# that stands for each non-ASCII character) becomes a space.
_BOUNDARY_TABLE = bytes(c if chr(c) in _WORD_ASCII else 0x20 for c in range(256))
# For counting words_of() words: [a-z0-9'] → 'a', everything else → ' '.
_WORD_COUNT_TABLE = bytes(0x61 if chr(c) in _WORD_ASCII - {"_"} or c == 0x27 else 0x20 for c in range(256))
# The only characters for which lower-casing does not mirror re.IGNORECASE on ASCII patterns:
# 'İ' lower-cases to two characters, 'ı' and 'ſ' match 'i' and 's' but do not lower-case to them.
_FOLD_MISMATCH = re.compile("[\u0130\u0131\u017f]")


def words_of(text: str) -> list[str]:
    """Lower-case words (letters, digits, apostrophes)."""
    return _WORD.findall(text.lower())


class ScanText:
    """One message, prepared once for every pattern group and word count that reads it."""

    __slots__ = ("_boundary", "_boundary_done", "_lower", "_word_count", "_words", "text")

    def __init__(self, text: str):
        self.text = text
        self._lower: str | None = None
        self._boundary: bytes | None = None
        self._boundary_done = False
        self._word_count: int | None = None
        self._words: list[str] | None = None

    @property
    def lower(self) -> str:
        if self._lower is None:
            self._lower = self.text.lower()
        return self._lower

    @property
    def boundary(self) -> bytes | None:
        """The filter's view of the text, or None when the plain regex must be used.

        Byte ``i + 1`` stands for character ``i`` (byte 0 is the space before the text): the
        lower-cased ASCII word character, else a space. None for a text with a character whose
        case folding lower-casing does not reproduce ('İ', 'ı', 'ſ').
        """
        if not self._boundary_done:
            self._boundary_done = True
            text = self.text
            if text.isascii() or (_FOLD_MISMATCH.search(text) is None and len(self.lower) == len(text)):
                self._boundary = b" " + self.lower.encode("ascii", "replace").translate(_BOUNDARY_TABLE)
        return self._boundary

    def word_count(self) -> int:
        """``len(words_of(text))``, without building the list."""
        if self._word_count is None:
            if self._words is not None:
                self._word_count = len(self._words)
            else:
                letters = self.lower.encode("ascii", "replace").translate(_WORD_COUNT_TABLE)
                self._word_count = (b" " + letters).count(b" a")
        return self._word_count

    def words(self) -> list[str]:
        """:func:`words_of` the text."""
        if self._words is None:
            self._words = _WORD.findall(self.lower)
        return self._words


class WordPatterns:
    r"""Several regexes as one case-insensitive whole-word search.

    ``pattern`` is the definition: ``(?<!\w)(?:p1|p2|…)(?!\w)`` with IGNORECASE. ``starts``
    are the literal starts the filter looks for, ``filter`` the filter itself; both are None
    when some pattern's start cannot be read as literals (then searches use ``pattern`` alone).
    """

    __slots__ = ("filter", "pattern", "starts")

    def __init__(self, bodies: Sequence[str]):
        joined = "|".join(bodies)
        self.pattern = re.compile(rf"(?<!\w)(?:{joined})(?!\w)", re.IGNORECASE)
        self.starts = _starts(bodies)
        self.filter = None if self.starts is None else _filter(self.starts)

    def __repr__(self) -> str:
        return f"WordPatterns({self.pattern.pattern!r}, filtered={self.filter is not None})"


class CombinedSearch:
    """Several :class:`WordPatterns` groups searched in one pass over a text.

    One filter holds every group's starts; where it matches, each group whose own filter
    matches there is checked with its real regex. Per group the matches are exactly those of
    ``pattern.search`` (``first_only``) or ``pattern.finditer``.
    """

    __slots__ = ("filter", "first_only", "groups")

    def __init__(self, groups: Sequence[WordPatterns], *, first_only: bool | Sequence[bool] = True):
        self.groups = tuple(groups)
        flags = [first_only] * len(self.groups) if isinstance(first_only, bool) else list(first_only)
        if len(flags) != len(self.groups):
            raise ValueError(f"first_only has {len(flags)} flags for {len(self.groups)} groups")
        self.first_only = tuple(flags)
        starts = [g.starts for g in self.groups]
        self.filter = None
        if self.groups and all(s is not None for s in starts):
            self.filter = _filter([units for s in starts if s is not None for units in s])

    def __repr__(self) -> str:
        return f"CombinedSearch({len(self.groups)} groups, filtered={self.filter is not None})"

    def matches(self, text: ScanText, *, until: int = 0) -> list[list[re.Match[str]]]:
        """Per group, its first match (``first_only``) or all its ``finditer`` matches.

        The scan stops as soon as one of the first ``until`` groups has a match; the other
        groups' lists are then incomplete.
        """
        boundary = text.boundary
        if self.filter is None or boundary is None:
            return self._plain(text.text, until)
        whole = text.text
        found: list[list[re.Match[str]]] = [[] for _ in self.groups]
        open_from = [0] * len(self.groups)  # where each group's next match may start; -1: done
        remaining = len(self.groups)
        pos = 0
        while remaining and (candidate := self.filter.search(boundary, pos)) is not None:
            start = candidate.start()
            for index, group in enumerate(self.groups):
                if not 0 <= open_from[index] <= start or group.filter is None:
                    continue
                if group.filter.match(boundary, start) is None:
                    continue
                match = group.pattern.match(whole, start)
                if match is None:
                    continue
                if match.end() == start:  # an empty match: let re apply its own rules
                    return self._plain(whole, until)
                found[index].append(match)
                if self.first_only[index]:
                    open_from[index] = -1
                    remaining -= 1
                else:
                    open_from[index] = match.end()
                if index < until:
                    return found
            pos = start + 1
        return found

    def _plain(self, text: str, until: int) -> list[list[re.Match[str]]]:
        found: list[list[re.Match[str]]] = [[] for _ in self.groups]
        for index, group in enumerate(self.groups):
            if self.first_only[index]:
                match = group.pattern.search(text)
                found[index] = [] if match is None else [match]
            else:
                found[index] = list(group.pattern.finditer(text))
            if index < until and found[index]:
                break
        return found


@functools.lru_cache(maxsize=256)
def word_patterns(patterns: tuple[str, ...]) -> WordPatterns | None:
    """One search for regex ``patterns`` (a space matches any whitespace); None when there are none."""
    bodies = [_SPACE.sub(r"\\s+", p) for p in patterns if p]
    return WordPatterns(bodies) if bodies else None


@functools.lru_cache(maxsize=256)
def word_phrases(phrases: tuple[str, ...]) -> WordPatterns | None:
    """Like :func:`word_patterns` for plain words and phrases (no regex syntax)."""
    bodies = [r"\s+".join(re.escape(w) for w in p.split()) for p in phrases if p.strip()]
    return WordPatterns(bodies) if bodies else None


# -- the filter --------------------------------------------------------------------------------
#
# A pattern's start is read as alternatives, each a tuple of *units*: one-character regexes on
# the filter's text (a letter, a space, a small class), possibly quantified. Alternatives that
# extend another are dropped (the shorter one finds all their places), and the rest become a
# trie, so at each space ``re`` checks a handful of first letters instead of every alternative.

Units = tuple[str, ...]
Start = tuple[list[Units], bool]
"""How a match of a parsed sequence can begin, and whether those units spell all of it."""


def _starts(bodies: Sequence[str]) -> tuple[Units, ...] | None:
    """Every way a match of one of ``bodies`` can begin, or None when some cannot be read.

    None (no filter, the plain regex) is for patterns whose start is not literal; a Python
    whose private parser changed is caught by ``tests/test_compat.py``, not here.
    """
    starts: list[Units] = []
    for body in bodies:
        found, _ = _sequence(re_parser.parse(body, re.IGNORECASE))
        # A start without a letter or digit would stop the filter at every word.
        if not all(any(unit[:1] in _WORD_ASCII for unit in units) for units in found):
            return None
        starts.extend(found)
    return tuple(starts)


def _filter(starts: Iterable[Units]) -> re.Pattern[bytes]:
    """A bytes regex that matches at index ``i`` of :attr:`ScanText.boundary` where one of ``starts`` can begin."""
    return re.compile(f" {_trie_source(_shortest(starts))}".encode("ascii"))


def _shortest(starts: Iterable[Units]) -> list[Units]:
    """The starts no other start is a prefix of (sorted, so a prefix comes right before its extensions)."""
    kept: list[Units] = []
    for units in sorted(set(starts)):
        if not kept or units[: len(kept[-1])] != kept[-1]:
            kept.append(units)
    return kept


def _trie_source(starts: list[Units]) -> str:
    """One regex for ``starts`` (none a prefix of another), sharing common leading units."""
    branches: dict[str, list[Units]] = {}
    for units in starts:
        branches.setdefault(units[0], []).append(units[1:])
    parts = [first + _trie_source(rest) if rest[0] else first for first, rest in branches.items()]
    return parts[0] if len(parts) == 1 else f"(?:{'|'.join(parts)})"


def _sequence(nodes: Iterable[re_parser.Node]) -> Start:
    starts: list[Units] = [()]
    for node in nodes:
        step = _item(node)
        if step is None:
            return starts, False
        alternatives, complete = step
        joined = [s + a for s in starts for a in alternatives]
        if len(joined) > _MAX_STARTS:
            return starts, False
        starts = joined
        if not complete:
            return starts, False
    return starts, True


def _item(node: re_parser.Node) -> Start | None:
    """Starts of one parsed item; None when it cannot be mirrored (the start stops before it)."""
    op = node[0]
    if op in ("LITERAL", "IN"):
        unit = _unit(node)
        return None if unit is None else ([(unit,)], True)
    if op == "REPEAT":
        _, low, high, children = node
        if len(children) == 1:
            unit = _unit(children[0])
            if unit is not None:
                return [(f"{unit}{{{low},{'' if high is None else high}}}",)], True
        if low == 0:
            return None
        return _sequence(children)[0], False
    if op == "GROUP":
        return _sequence(node[1])
    if op == "BRANCH":
        starts: list[Units] = []
        complete = True
        for branch in node[1]:
            found, whole = _sequence(branch)
            starts.extend(found)
            complete = complete and whole
        return starts, complete
    return None


def _unit(node: re_parser.Node) -> str | None:
    """A one-character regex on the filter's text for a LITERAL or IN item, or None."""
    if node[0] == "LITERAL":
        char = _literal(node[1])
        return None if char is None else _char_source({char})
    if node[0] != "IN":
        return None
    chars: set[str] = set()
    for kind, value in node[1]:
        if kind == "LITERAL":
            one = _literal(value)
            if one is None:
                return None
            chars.add(one)
        elif kind == "RANGE" and value[1] - value[0] <= 64:
            for code in range(value[0], value[1] + 1):
                one = _literal(code)
                if one is None:
                    return None
                chars.add(one)
        elif kind == "CATEGORY" and value in ("CATEGORY_SPACE", "CATEGORY_NOT_WORD"):
            chars.add(" ")
        else:  # NEGATE, \w, \d, wide ranges: not mirrored
            return None
    return _char_source(chars) if chars else None


def _literal(code: int) -> str | None:
    """What pattern character ``code`` (case-insensitive) looks like on the filter's text."""
    char = chr(code)
    lower = char.lower()
    if lower in _WORD_ASCII:
        return lower
    if char.isascii():  # ASCII punctuation and whitespace have no case and are not word characters
        return " "
    return None


def _char_source(chars: set[str]) -> str:
    if len(chars) == 1:
        char = next(iter(chars))
        return " " if char == " " else re.escape(char)
    return "[" + "".join(" " if c == " " else re.escape(c) for c in sorted(chars)) + "]"
