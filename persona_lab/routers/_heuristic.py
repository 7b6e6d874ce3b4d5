"""Readable, ordered routing rules with per-persona overrides.

The order is the design. Safety and identity rules run first, so a jailbreak that opens with
"ok," is never taken for small talk; small talk must be the *whole* message; keywords match
whole words. The persona's constraints are not used as keywords: sharing a word with them says
nothing about how hard a question is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from persona_lab.core import (
    TIER_RANK,
    Feature,
    RouterError,
    RoutingContext,
    RoutingDecision,
    check_tiers,
    estimate_tokens,
    nearest_tier,
)
from persona_lab.routers._params import RouterParams
from persona_lab.routers._signals import (
    IDENTITY_PATTERNS,
    REASONING_PATTERNS,
    SAFETY_PATTERNS,
    SMALL_TALK_WORDS,
    is_small_talk,
    looks_like_code_or_math,
    words_of,
)
from persona_lab.routers._tier_choice import configured_tiers, persona_keywords, pinned_tier
from persona_lab.routers._word_patterns import (
    CombinedSearch,
    ScanText,
    WordPatterns,
    word_patterns,
    word_phrases,
)

__all__ = ["HeuristicRouter"]


@dataclass(frozen=True, slots=True)
class _Hit:
    rule: str
    tier: str
    why: str
    match: str | None = None
    critical: bool = False


@dataclass(frozen=True, slots=True)
class _PersonaRules:
    """The pattern rules for one persona, derived once: one search over the message for all.

    ``labels[i]`` is the (rule, tier) of search group ``i``, in rule order: safety, identity,
    keywords of the tiers above the default tier (strongest first), then reasoning; ``long_*``
    leave reasoning out (a long message is decided before it). ``down`` holds the default tier
    and below, cheapest first, with the words of their keywords.
    """

    search: CombinedSearch
    labels: tuple[tuple[str, str], ...]
    long_search: CombinedSearch
    long_labels: tuple[tuple[str, str], ...]
    down: tuple[tuple[str, frozenset[str]], ...]


_CACHED_PERSONAS = 64


class HeuristicRouter(RouterParams):
    """Route by ordered rules; the first rule that fires decides. See :meth:`describe_rules`.

    1. ``pinned``: the persona's ``routing.tier`` (when ``respect_pin``);
    2. ``safety`` then 3. ``identity``: safety risks and persona attacks go to ``critical_tier``;
    4. keywords (the persona's ``routing.keywords`` plus ``keywords``) for tiers above
       ``default_tier``, strongest tier first;
    5. ``long``: a message of ``long_message_tokens`` or more goes to ``complex_tier``;
    6. ``reasoning``: reasoning, code or maths goes to ``complex_tier``;
    7. ``small_talk``: a message of at most ``small_talk_max_words`` small-talk words goes to
       ``small_talk_tier``;
    8. keywords for ``default_tier`` and below count as extra small talk for that tier: a
       message of at most ``small_talk_max_words`` words made only of small-talk words and those
       keywords goes there ("thanks, and what about my deposit?" is not sent down);
    9. ``default``: everything else goes to ``default_tier``.

    A wanted tier that is not configured becomes the nearest configured one, so critical turns
    never land on a cheaper tier than ordinary ones (``critical_tier`` must not be cheaper than
    ``default_tier``).
    """

    def __init__(
        self,
        *,
        default_tier: str = "mid",
        critical_tier: str = "frontier",
        complex_tier: str = "frontier",
        small_talk_tier: str = "small",
        keywords: Mapping[str, Sequence[str]] | None = None,
        safety_patterns: Sequence[str] = SAFETY_PATTERNS,
        identity_patterns: Sequence[str] = IDENTITY_PATTERNS,
        reasoning_patterns: Sequence[str] = REASONING_PATTERNS,
        small_talk_words: frozenset[str] = SMALL_TALK_WORDS,
        small_talk_max_words: int = 8,
        long_message_tokens: int = 300,
        respect_pin: bool = True,
    ):
        self.default_tier = default_tier
        self.critical_tier = critical_tier
        self.complex_tier = complex_tier
        self.small_talk_tier = small_talk_tier
        self.keywords = keywords
        self.safety_patterns = safety_patterns
        self.identity_patterns = identity_patterns
        self.reasoning_patterns = reasoning_patterns
        self.small_talk_words = small_talk_words
        self.small_talk_max_words = small_talk_max_words
        self.long_message_tokens = long_message_tokens
        self.respect_pin = respect_pin
        self._params_changed()

    def _params_changed(self) -> None:
        tiers = (self.default_tier, self.critical_tier, self.complex_tier, self.small_talk_tier)
        check_tiers(tiers, where="HeuristicRouter")
        if TIER_RANK[self.critical_tier] < TIER_RANK[self.default_tier]:
            raise RouterError(
                f"HeuristicRouter: critical_tier {self.critical_tier!r} is cheaper than default_tier "
                f"{self.default_tier!r}; safety and identity turns must not go below ordinary turns"
            )
        if self.keywords:
            check_tiers(self.keywords, where="HeuristicRouter keywords")
        self._safety = word_patterns(tuple(self.safety_patterns))
        self._identity = word_patterns(tuple(self.identity_patterns))
        self._reasoning = word_patterns(tuple(self.reasoning_patterns))
        self._persona_rules: dict[int, tuple[object, _PersonaRules]] = {}

    @property
    def name(self) -> str:
        return "heuristic"

    def describe_rules(self) -> list[str]:
        """The rules in the order they run, as a notebook would show them."""
        d, c, x, s = self.default_tier, self.critical_tier, self.complex_tier, self.small_talk_tier
        return [
            "1. pinned: the persona's routing.tier, when it is not 'auto'" + ("" if self.respect_pin else " (off)"),
            f"2. safety: {len(self.safety_patterns)} whole-word patterns (self-harm, violence, abuse, "
            f"emergencies) → {c}",
            f"3. identity: {len(self.identity_patterns)} patterns (ignore your instructions, drop the act, "
            f"system prompt, are you an AI) → {c}",
            f"4. keywords for tiers above {d} (persona routing.keywords + router keywords) → that tier",
            f"5. long: messages of {self.long_message_tokens}+ tokens → {x}",
            f"6. reasoning: {len(self.reasoning_patterns)} patterns (step by step, prove, compare, …), "
            f"code or maths → {x}",
            f"7. small_talk: the whole message is at most {self.small_talk_max_words} small-talk words → {s}",
            f"8. keywords for {d} and below: a short message of only small talk and those keywords → that tier",
            f"9. default → {d}",
        ]

    # -- routing -----------------------------------------------------------------------------

    def _rules_for(self, context: RoutingContext) -> _PersonaRules:
        """The persona's keywords merged with the router's rules, cached per preferences object.

        Preferences are frozen, so the object identity is the key (the entry keeps the object,
        so its id is not reused while cached).
        """
        preferences = context.preferences
        cached = self._persona_rules.get(id(preferences))
        if cached is not None and cached[0] is preferences:
            return cached[1]
        merged: dict[str, list[str]] = {}
        for source in (persona_keywords(context, "HeuristicRouter"), self.keywords or {}):
            for tier, words in source.items():
                merged.setdefault(tier, []).extend(words)
        default_rank = TIER_RANK[self.default_tier]
        groups: list[tuple[str, str, WordPatterns | None]] = [
            ("safety", self.critical_tier, self._safety),
            ("identity", self.critical_tier, self._identity),
        ]
        for tier in sorted(merged, key=TIER_RANK.__getitem__, reverse=True):
            if TIER_RANK[tier] > default_rank:
                groups.append(("keywords", tier, word_phrases(tuple(merged[tier]))))
        long_groups = [(rule, tier, g) for rule, tier, g in groups if g is not None]
        short_groups = [*long_groups, *([("reasoning", self.complex_tier, self._reasoning)] if self._reasoning else [])]
        down = tuple(
            (tier, frozenset(w for phrase in merged[tier] for w in words_of(phrase)))
            for tier in sorted(merged, key=TIER_RANK.__getitem__)
            if TIER_RANK[tier] <= default_rank
        )
        rules = _PersonaRules(
            CombinedSearch([g for _, _, g in short_groups]),
            tuple((rule, tier) for rule, tier, _ in short_groups),
            CombinedSearch([g for _, _, g in long_groups]),
            tuple((rule, tier) for rule, tier, _ in long_groups),
            down,
        )
        if len(self._persona_rules) >= _CACHED_PERSONAS:
            self._persona_rules.clear()
        self._persona_rules[id(preferences)] = (preferences, rules)
        return rules

    def _keyword_hit_down(self, words: list[str], rules: _PersonaRules) -> _Hit | None:
        """Keywords of the default tier and below count as extra small talk for that tier.

        The message must be short and made only of small-talk words and that tier's keywords,
        so "thanks, and what about my deposit?" is not sent down.
        """
        if not words or len(words) > self.small_talk_max_words:
            return None
        for tier, extra in rules.down:
            if any(w in extra for w in words) and all(w in extra or w in self.small_talk_words for w in words):
                match = next(w for w in words if w in extra)
                return _Hit("keywords", tier, f"short message with keyword {match!r}", match)
        return None

    def _first_hit(self, text: ScanText, context: RoutingContext, tokens: int) -> _Hit:
        if self.respect_pin:
            pinned = pinned_tier(context, "HeuristicRouter")
            if pinned is not None:
                return _Hit("pinned", pinned, f"persona pins tier {pinned}")
        rules = self._rules_for(context)
        long = tokens >= self.long_message_tokens
        search, labels = (rules.long_search, rules.long_labels) if long else (rules.search, rules.labels)
        # Rules 2, 3, 4 and 6 in one pass; the first group in rule order that matched decides.
        for (rule, tier), found in zip(labels, search.matches(text, until=1), strict=True):
            if found:
                match = " ".join(found[0].group(0).split())
                if rule == "keywords":
                    return _Hit(rule, tier, f"keyword {match!r}", match)
                if rule == "reasoning":
                    return _Hit(rule, tier, f"reasoning rule matched {match!r}", match)
                return _Hit(rule, tier, f"{rule} rule matched {match!r}", match, critical=True)
        if long:
            return _Hit("long", self.complex_tier, f"long message ({tokens} tokens)")
        if looks_like_code_or_math(text.text):
            return _Hit("reasoning", self.complex_tier, "code or maths in the message")
        # Rules 7 and 8 need at most small_talk_max_words words; a longer message skips the list.
        words = text.words() if text.word_count() <= self.small_talk_max_words else []
        if is_small_talk(words, self.small_talk_words, self.small_talk_max_words):
            return _Hit("small_talk", self.small_talk_tier, "the whole message is small talk")
        hit = self._keyword_hit_down(words, rules)
        if hit is not None:
            return hit
        return _Hit("default", self.default_tier, "no rule fired")

    def route(self, context: RoutingContext) -> RoutingDecision:
        configured = configured_tiers(context, "HeuristicRouter")
        text = ScanText(context.message)
        tokens = estimate_tokens(context.message)
        hit = self._first_hit(text, context, tokens)
        tier = nearest_tier(hit.tier, configured)
        if hit.critical:
            ordinary = nearest_tier(self.default_tier, configured)
            if TIER_RANK[tier] < TIER_RANK[ordinary]:
                tier = ordinary
        reason = f"{hit.rule}: {hit.why} → {tier}"
        if tier != hit.tier:
            reason += f" ({hit.tier} is not configured)"
        features: dict[str, Feature] = {
            "rule": hit.rule,
            "match": hit.match,
            "wanted_tier": hit.tier,
            "message_tokens": tokens,
            "message_words": text.word_count(),
            "critical": hit.critical,
        }
        return RoutingDecision(tier=tier, reason=reason, features=features)
