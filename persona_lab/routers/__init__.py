"""Routers choose a tier for every turn and agent step."""

from persona_lab.routers._fixed import FixedRouter
from persona_lab.routers._protocol import (
    EscalatingRouter,
    Router,
    RoutingContext,
    RoutingDecision,
    Verdict,
    router_name,
)

__all__ = [
    "EscalatingRouter",
    "FixedRouter",
    "Router",
    "RoutingContext",
    "RoutingDecision",
    "Verdict",
    "router_name",
]
