"""The routers a default benchmark compares: every router ``persona_lab.routers`` offers.

One function builds the list, configured for a two-tier replay (small = weak, frontier =
strong): add a router here and ``persona-lab bench`` picks it up. A router class that is not
available (an older install) is skipped. The always-weak and always-strong baselines are added
by :func:`compare` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from persona_lab.core import Router, UnknownName

__all__ = ["default_routers", "router_factories"]


def router_factories(seed: int = 0, *, texts: Iterable[str] | None = None) -> dict[str, Callable[[], Router]]:
    """``{label: factory}`` for every known router (factories, so unused ones are never built).

    With ``texts`` (every prompt of the suites to run), the learned routers share a
    :class:`FoldTfidfEmbedder` over counts of those texts: the same embedding as their default
    TF-IDF fitted per fold, without tokenising every prompt again for every fold and router.
    """
    import persona_lab.routers as r

    def get(name: str) -> Any:
        return getattr(r, name)

    counts: list[Any] = []

    def embedder() -> Any:
        if texts is None:
            return None
        if not counts:
            from persona_lab.bench._embedding import TextCounts

            counts.append(TextCounts(texts))
        from persona_lab.bench._embedding import FoldTfidfEmbedder

        return FoldTfidfEmbedder(counts=counts[0])

    return {
        "random": lambda: get("RandomRouter")({"small": 0.5, "frontier": 0.5}, seed=seed),
        "oracle": lambda: get("OracleRouter")(),
        "heuristic": lambda: get("HeuristicRouter")(default_tier="small"),
        "constraint": lambda: get("ConstraintRouter")(),
        "cascade": lambda: get("CascadeRouter")(),
        "sticky-heuristic": lambda: get("StickyRouter")(get("HeuristicRouter")(default_tier="small")),
        "knn": lambda: get("KNNRouter")(embedder=embedder()),
        "classifier": lambda: get("ClassifierRouter")(embedder=embedder()),
        # 50 epochs: as good on the bundled sets as the default 100 (APGR within its CI) in half the time
        "mf": lambda: get("MatrixFactorizationRouter")(epochs=50, embedder=embedder()),
    }


def default_routers(*, seed: int = 0, only: list[str] | None = None,
                    texts: Iterable[str] | None = None) -> dict[str, Router]:
    """Every available router, by label (``only`` picks labels; an unknown one raises :class:`UnknownName`).

    ``texts``: the prompts the routers will see, for the shared fold-fitted TF-IDF (see
    :func:`router_factories`).
    """
    factories = router_factories(seed, texts=texts)
    if only is not None:
        unknown = [name for name in only if name not in factories]
        if unknown:
            raise UnknownName("router label", unknown[0], factories)
        factories = {name: factories[name] for name in only}
    routers: dict[str, Router] = {}
    for label, factory in factories.items():
        try:
            routers[label] = factory()
        except (AttributeError, ImportError):  # not in this version of persona_lab.routers
            continue
    return routers
