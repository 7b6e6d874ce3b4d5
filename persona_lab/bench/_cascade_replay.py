"""Verifier cascades over N tiers, evaluated on recorded answers with every attempt paid.

A :class:`VerifierCascade` tries its stages in order (e.g. small → mid → frontier). At each
stage but the last, a verifier scores that tier's answer, seeing as peers the answers already
paid for (earlier stages) and any ``probes`` (tiers asked only for a second opinion, paid too);
the answer is accepted when the verifier's status is ``ok`` and its score reaches the
threshold, else the cascade moves on. The last stage is accepted without review. A unit's
cost is the sum of every tier it called: rejected answers and probes included.

A *combination*: with ``start_router`` (a prompt-only learned router) the prompts it scores in
the top ``skip_share`` (calibrated on the training prompts) go straight to the last stage.

:meth:`VerifierCascade.scores` computes every stage's verifier scores once; the outcome at any
threshold is then exact arithmetic over the recorded scores and costs (:meth:`CascadeScores.outcome`,
:meth:`CascadeScores.sweep`). :class:`ReplayCascadeRouter` runs the same decisions through the
real loop (``compare``), where each attempt is paid and logged as ``escalated``/``accepted``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from persona_lab.bench._answer_table import AnswerTable
from persona_lab.core import RouterError, RoutingContext, RoutingDecision, Verdict

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import NDArray

__all__ = [
    "CascadeOutcome",
    "CascadeScores",
    "CascadeStage",
    "ReplayCascadeRouter",
    "VerifierCascade",
    "choose_threshold",
    "cross_val_scores",
    "tier_points",
    "with_cascade_sweep",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class CascadeStage:
    """One stage: the tier that answers, the verifier that judges it (None: accept), the probe tiers."""

    tier: str
    verifier: Any = None
    probes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CascadeOutcome:
    """Per unit at one threshold: the accepting stage, its score, the cost of every call."""

    stage: NDArray[np.int64]
    quality: NDArray[np.float64]
    cost: NDArray[np.float64]
    calls: NDArray[np.int64]

    def summary(self, last_stage: int) -> dict[str, float]:
        return {"quality": float(self.quality.mean()), "cost_usd": float(self.cost.sum()),
                "strong_share": float((self.stage == last_stage).mean()), "calls_per_turn": float(self.calls.mean())}


@dataclass(frozen=True, kw_only=True)
class CascadeScores:
    """Every stage's verifier scores on a table (rows: units; columns: stages but the last)."""

    table: AnswerTable
    tiers: tuple[str, ...]
    probes: tuple[tuple[str, ...], ...]
    score: NDArray[np.float64]
    status: NDArray[np.str_]
    skip: NDArray[np.bool_]
    reasons: tuple[tuple[str, ...], ...] = field(default=(), repr=False)

    def counts(self) -> dict[str, int]:
        """Answers per status over every reviewed stage (``no_answer`` and ``error`` escalate)."""
        values, counts = np.unique(self.status, return_counts=True)
        return {str(v): int(c) for v, c in zip(values, counts, strict=True)}

    def outcome(self, threshold: float | Sequence[float]) -> CascadeOutcome:
        """Decisions at ``threshold`` (one per reviewed stage, or one for all)."""
        n, reviewed = self.score.shape
        limits = np.broadcast_to(np.asarray(threshold, dtype=float), (reviewed,))
        accept = (self.status == "ok") & (self.score >= limits[None, :])
        accept = np.column_stack([accept, np.ones(n, dtype=bool)])
        accept[self.skip, :-1] = False
        stage = accept.argmax(axis=1)
        stage_costs = np.column_stack([self.table.costs[t] for t in self.tiers])
        probe_costs = np.column_stack([
            sum((self.table.costs[p] for p in probes), np.zeros(n)) for probes in self.probes
        ] + [np.zeros(n)])
        tried = np.arange(len(self.tiers))[None, :] <= stage[:, None]
        tried[self.skip, :-1] = False
        # every tried stage but the last ran its verifier and paid its probes
        cost = (stage_costs * tried).sum(axis=1) + (probe_costs * tried).sum(axis=1)
        calls = tried.sum(axis=1) + (np.array([len(p) for p in self.probes] + [0])[None, :] * tried).sum(axis=1)
        scores = np.column_stack([self.table.scores[t] for t in self.tiers])
        quality = scores[np.arange(n), stage]
        return CascadeOutcome(stage=stage, quality=quality, cost=cost, calls=calls)

    def thresholds(self, points: int = 41) -> NDArray[np.float64]:
        """Thresholds spanning every decision: quantiles of the ok scores, plus accept-all and escalate-all."""
        ok = self.score[self.status == "ok"]
        inner = np.unique(np.quantile(ok, np.linspace(0, 1, points))) if ok.size else np.zeros(0)
        return np.concatenate([[-np.inf], inner, [np.nextafter(inner.max(), np.inf) if inner.size else 1.0]])

    def sweep(self, thresholds: Sequence[float] | None = None) -> pd.DataFrame:
        """``threshold, quality, cost_usd, strong_share, calls_per_turn`` per threshold."""
        import pandas as pd

        grid = self.thresholds() if thresholds is None else np.asarray(thresholds, dtype=float)
        last = len(self.tiers) - 1
        return pd.DataFrame([{"threshold": float(t), **self.outcome(float(t)).summary(last)} for t in grid])


class VerifierCascade:
    """A cascade plan over N tiers with a verifier per stage (see the module docstring).

    Parameters
    ----------
    stages:
        :class:`CascadeStage` per tier, cheapest first; the last one's verifier is ignored.
    threshold:
        The operating point (set by :meth:`choose_threshold`, or by hand).
    start_router, skip_share, calibrate:
        Optional prompt-only learned router; the ``skip_share`` of prompts it scores highest go
        straight to the last stage. ``calibrate="traffic"`` (default) takes that share of the
        prompts being routed (their scores only, no outcomes: RouteLLM's calibration on sample
        traffic); ``"train"`` fixes the score threshold on the training prompts, which sends
        far more or fewer prompts when the traffic differs from the training set.
    margin:
        A stage's answer is "good" for training when its score ≥ the last stage's − ``margin``.
    """

    def __init__(self, *, stages: Sequence[CascadeStage], name: str = "cascade", threshold: float = 0.5,
                 start_router: Any = None, skip_share: float = 0.0, margin: float = 0.0,
                 calibrate: str = "traffic"):
        if len(stages) < 2:
            raise RouterError("VerifierCascade needs at least two stages (a cheaper tier and the last one)")
        for stage in stages[:-1]:
            if stage.verifier is None:
                raise RouterError(f"VerifierCascade: stage {stage.tier!r} has no verifier (only the last may not)")
        if calibrate not in ("traffic", "train"):
            raise RouterError(f"VerifierCascade: calibrate must be 'traffic' or 'train', got {calibrate!r}")
        if not 0.0 <= skip_share < 1.0:
            raise RouterError(f"VerifierCascade: skip_share must be in [0, 1), got {skip_share!r}")
        self.stages = tuple(stages)
        self.name = name
        self.threshold = threshold
        self.start_router = start_router
        self.skip_share = skip_share
        self.margin = margin
        self.calibrate = calibrate
        self.skip_threshold_: float | None = None

    def __repr__(self) -> str:
        stages = " → ".join(s.tier + (f"[{type(s.verifier).__name__}" + (f"+{','.join(s.probes)}" if s.probes else "")
                                      + "]" if s.verifier is not None else "") for s in self.stages)
        return f"VerifierCascade({self.name!r}: {stages})"

    @property
    def tiers(self) -> tuple[str, ...]:
        return tuple(s.tier for s in self.stages)

    def _check(self, table: AnswerTable) -> None:
        table.check_tiers([*self.tiers, *(p for s in self.stages for p in s.probes)], f"cascade {self.name!r}")

    def _peers(self, table: AnswerTable, k: int) -> list[list[str]]:
        sources = [*self.tiers[:k], *self.stages[k].probes]
        return [[table.answers[t][i] for t in sources] for i in range(len(table))]

    def fit(self, table: AnswerTable) -> VerifierCascade:
        """Fit every learned verifier (and the start router) on ``table``; returns a fitted copy."""
        import pandas as pd
        from sklearn.base import clone

        self._check(table)
        last = table.scores[self.tiers[-1]]
        stages = []
        for k, stage in enumerate(self.stages):
            verifier = stage.verifier
            if verifier is not None and k < len(self.stages) - 1 and callable(getattr(verifier, "fit", None)):
                frame = pd.DataFrame({"prompt": list(table.prompts), "answer": list(table.answers[stage.tier]),
                                      "good": table.scores[stage.tier] >= last - self.margin,
                                      "peers": self._peers(table, k)})
                verifier = clone(verifier).fit(frame)
            stages.append(CascadeStage(tier=stage.tier, verifier=verifier, probes=stage.probes))
        fitted = VerifierCascade(stages=stages, name=self.name, threshold=self.threshold,
                                 start_router=self.start_router, skip_share=self.skip_share, margin=self.margin,
                                 calibrate=self.calibrate)
        if self.start_router is not None and self.skip_share > 0:
            frame = pd.DataFrame({"prompt": list(table.prompts),
                                  **{f"quality_{t}": table.scores[t] for t in (self.tiers[0], self.tiers[-1])}})
            fitted.start_router = clone(self.start_router).fit(frame)
            fitted.skip_threshold_ = float(fitted.start_router.threshold_for_share(list(table.prompts),
                                                                                   self.skip_share))
        return fitted

    def scores(self, table: AnswerTable) -> CascadeScores:
        """Every reviewed stage's verifier score and status on ``table`` (and which prompts skip)."""
        self._check(table)
        if self.start_router is not None and self.skip_share > 0 and self.skip_threshold_ is None:
            raise RouterError(f"cascade {self.name!r}: fit it before scoring (the start router is not fitted)")
        n = len(table)
        reviewed = self.stages[:-1]
        score = np.zeros((n, len(reviewed)))
        status = np.empty((n, len(reviewed)), dtype="<U9")
        reasons = []
        for k, stage in enumerate(reviewed):
            results = stage.verifier.score_many(list(table.prompts), list(table.answers[stage.tier]),
                                                self._peers(table, k))
            score[:, k] = [r.score for r in results]
            status[:, k] = [r.status for r in results]
            reasons.append(tuple(r.reason for r in results))
        skip = np.zeros(n, dtype=bool)
        if self.start_router is not None and self.skip_share > 0 and self.skip_threshold_ is not None:
            prompt_scores = np.asarray(self.start_router.score_texts(list(table.prompts)), dtype=float)
            if self.calibrate == "traffic":  # exactly that share, ties broken by order
                top = np.argsort(-prompt_scores, kind="stable")[: int(np.ceil(self.skip_share * n))]
                skip[top] = True
            else:
                skip = prompt_scores >= self.skip_threshold_
        return CascadeScores(table=table, tiers=self.tiers, probes=tuple(s.probes for s in reviewed),
                             score=score, status=status, skip=skip, reasons=tuple(reasons))


def choose_threshold(scores: CascadeScores, *, target: float | None = None) -> float:
    """The cheapest threshold whose quality reaches ``target`` (default: always-last-stage quality);
    when none does, the threshold of best quality (the cheaper one on ties). Use out-of-fold scores."""
    sweep = scores.sweep()
    goal = float(scores.table.scores[scores.tiers[-1]].mean()) if target is None else target
    reached = sweep[sweep["quality"] >= goal - 1e-12]
    if len(reached):
        return float(reached.sort_values(["cost_usd", "threshold"]).iloc[0]["threshold"])
    best = sweep.sort_values(["quality", "cost_usd"], ascending=[False, True])
    return float(best.iloc[0]["threshold"])


class ReplayCascadeRouter:
    """Runs a cascade's precomputed decisions through the real loop (an ``EscalatingRouter``).

    ``route`` starts on the first stage (the last for skipped prompts); ``review`` accepts or
    escalates one stage up by the stored verifier score at ``threshold``; the probes' recorded
    costs are reported as the review's cost, so the turn's ``total_cost_usd`` pays for them.
    The benchmark metadata (``item_id``, ``turn``) keys the lookup.
    """

    def __init__(self, scores: CascadeScores, threshold: float, *, name: str = "cascade"):
        self.name = name
        self.threshold = float(threshold)
        self._scores = scores
        self._row = {key: n for n, key in enumerate(scores.table.unit_keys())}

    def __repr__(self) -> str:
        return f"ReplayCascadeRouter({self.name!r}, tiers={'→'.join(self._scores.tiers)}, threshold={self.threshold:g})"

    def _unit(self, context: RoutingContext) -> int:
        key = (str(context.metadata.get("item_id")), int(context.metadata.get("turn", context.turn_index)))
        if key not in self._row:
            raise RouterError(f"ReplayCascadeRouter {self.name!r}: no recorded scores for item {key[0]!r} "
                              f"turn {key[1]}")
        return self._row[key]

    def route(self, context: RoutingContext) -> RoutingDecision:
        unit = self._unit(context)
        missing = [t for t in self._scores.tiers if t not in context.tiers]
        if missing:
            raise RouterError(f"cascade {self.name!r} names tier {missing[0]!r}, which is not configured "
                              f"(configured: {', '.join(context.tiers)})")
        if self._scores.skip[unit]:
            tier = self._scores.tiers[-1]
            return RoutingDecision(tier=tier, reason=f"the start router sends this prompt straight to {tier}")
        return RoutingDecision(tier=self._scores.tiers[0], reason=f"cascade starts on {self._scores.tiers[0]}")

    async def review(self, context: RoutingContext, decision: RoutingDecision, answer: str) -> Verdict:
        tiers = self._scores.tiers
        stage = tiers.index(decision.tier) if decision.tier in tiers else len(tiers) - 1
        if stage >= len(tiers) - 1:
            return Verdict(accept=True, reason=f"{decision.tier} is the cascade's last stage; accepted without review")
        unit = self._unit(context)
        score, status = float(self._scores.score[unit, stage]), str(self._scores.status[unit, stage])
        probes = self._scores.probes[stage]
        cost = float(sum(self._scores.table.costs[p][unit] for p in probes)) if probes else None
        if status == "ok" and score >= self.threshold:
            return Verdict(
                accept=True, reason=f"verifier {score:.3f} >= {self.threshold:g}", escalate_to=None, cost_usd=cost,
            )
        why = f"verifier {score:.3f} < {self.threshold:g}" if status == "ok" else f"verifier status {status}"
        return Verdict(
            accept=False,
            reason=f"{why}; escalating to {tiers[stage + 1]}",
            escalate_to=tiers[stage + 1],
            cost_usd=cost,
        )


def tier_points(table: AnswerTable) -> Mapping[str, tuple[float, float]]:
    """Always-<tier> (quality, cost) for every tier of ``table``."""
    return {t: (float(table.scores[t].mean()), float(table.costs[t].sum())) for t in table.tiers}


def cross_val_scores(cascade: VerifierCascade, table: AnswerTable, *, folds: int = 5, seed: int = 0) -> CascadeScores:
    """Out-of-fold :class:`CascadeScores` on ``table`` (folds over items): for choosing a threshold
    inside a training part without scoring answers the verifiers were fitted on."""
    from persona_lab.bench._learning import fold_assignment

    items = np.unique(table.item_index)
    assignment = fold_assignment(len(items), min(folds, len(items)), seed)
    fold_of_unit = assignment[np.searchsorted(items, table.item_index)]
    parts: list[tuple[NDArray[np.int64], CascadeScores]] = []
    for fold in range(int(assignment.max()) + 1):
        held = fold_of_unit == fold
        fitted = cascade.fit(table.rows(~held))
        parts.append((np.flatnonzero(held), fitted.scores(table.rows(held))))
    reviewed = len(cascade.stages) - 1
    score = np.zeros((len(table), reviewed))
    status = np.empty((len(table), reviewed), dtype="<U9")
    skip = np.zeros(len(table), dtype=bool)
    for rows, part in parts:
        score[rows], status[rows], skip[rows] = part.score, part.status, part.skip
    return CascadeScores(table=table, tiers=cascade.tiers, probes=tuple(s.probes for s in cascade.stages[:-1]),
                         score=score, status=status, skip=skip)


def with_cascade_sweep(comparison: Any, label: str, scores: CascadeScores, *, suite: str | None = None) -> Any:
    """``comparison`` (from :func:`~persona_lab.bench.compare`) with a cascade's threshold sweep added.

    The sweep's points join ``curves`` (``kind="sweep"``, drawn as a line in the figures and the
    report) and ``summary`` (``point="sweep"``); the loop row of ``label`` (a
    :class:`ReplayCascadeRouter` run through ``compare``) gets the sweep's APGR and CPT. PGR is
    measured between the first and the last stage's always-tier quality on ``scores.table``.
    """
    import dataclasses

    import pandas as pd

    from persona_lab.metrics import apgr, cpt, pgr

    name = suite or scores.table.suite
    sweep = scores.sweep()
    weak = float(scores.table.scores[scores.tiers[0]].mean())
    strong = float(scores.table.scores[scores.tiers[-1]].mean())
    pgrs = np.atleast_1d(pgr(sweep["quality"].to_numpy(), weak, strong))
    shares = sweep["strong_share"].to_numpy()
    base = pd.DataFrame({"suite": name, "router": label, "threshold": sweep["threshold"],
                         "strong_share": shares, "quality": sweep["quality"], "cost_usd": sweep["cost_usd"],
                         "pgr": pgrs})
    curves = pd.concat([comparison.curves, base.assign(kind="sweep")], ignore_index=True)
    summary = comparison.summary.copy()
    rows = base.assign(point="sweep", evaluation="cascade sweep", n_turns=len(scores.table), n_failed=0,
                       cost_per_turn_usd=base["cost_usd"] / max(1, len(scores.table)))
    loop = (summary["router"] == label) & (summary["point"] == "loop") & (summary["suite"] == name)
    if loop.any():
        summary.loc[loop, "apgr"] = apgr(shares, pgrs)
        summary.loc[loop, "cpt50"] = cpt(shares, pgrs, 0.5)
        summary.loc[loop, "cpt80"] = cpt(shares, pgrs, 0.8)
    summary = pd.concat([summary, rows], ignore_index=True)
    return dataclasses.replace(comparison, curves=curves, summary=summary)
