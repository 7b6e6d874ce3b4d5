"""Persona variants: each persona (and, with several routers, each router) an evaluation compares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from persona_lab.core import TIER_NAMES, InvalidArgument, Router, router_name
from persona_lab.persona import Persona
from persona_lab.routers import FixedRouter

__all__ = ["Variant", "build_variants", "tier_routers"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Variant:
    """A persona under a router, with the label tables and plots use."""

    label: str
    persona: Persona
    router: Router
    router_label: str

    def serves(self, names: Sequence[str] | None) -> bool:
        """Whether a scenario restricted to ``names`` (persona ids or variant labels) runs on this variant."""
        return names is None or self.persona.id in names or self.label in names


def _unique(labels: list[str]) -> list[str]:
    out: list[str] = []
    for label in labels:
        name, n = label, 2
        while name in out:
            name, n = f"{label}#{n}", n + 1
        out.append(name)
    return out


def build_variants(
    personas: Persona | Sequence[Persona] | Mapping[str, Persona],
    router: Router | Mapping[str, Router] | None = None,
) -> list[Variant]:
    """Variants for every persona × router.

    Labels: the persona's key (or id); ``persona/router`` when there are several routers.
    """
    if isinstance(personas, Persona):
        persona_items = [(personas.id, personas)]
    elif isinstance(personas, Mapping):
        persona_items = [(str(k), v) for k, v in personas.items()]
    else:
        persona_items = list(zip(_unique([p.id for p in personas]), personas, strict=True))
    if not persona_items:
        raise InvalidArgument("evaluate needs at least one persona: pass a Persona or {label: Persona}")
    for label, persona in persona_items:
        if not isinstance(persona, Persona):
            raise InvalidArgument(f"persona variant {label!r} is a {type(persona).__name__}, not a Persona")
    if router is None:
        routers: list[tuple[str, Router]] = [("fixed-mid", FixedRouter("mid"))]
    elif isinstance(router, Mapping):
        routers = [(str(k), v) for k, v in router.items()]
        if not routers:
            raise InvalidArgument("evaluate got an empty mapping of routers: pass None (default) or {label: router}")
    else:
        routers = [(router_name(router), router)]
    several = len(routers) > 1
    return [
        Variant(label=f"{plabel}/{rlabel}" if several else plabel, persona=persona, router=r, router_label=rlabel)
        for plabel, persona in persona_items
        for rlabel, r in routers
    ]


def tier_routers(tiers: Sequence[str] = TIER_NAMES) -> dict[str, Router]:
    """``{tier: FixedRouter(tier)}`` (a persona's pinned tier ignored): evaluate a persona on every tier."""
    return {tier: FixedRouter(tier, respect_pin=False) for tier in tiers}
