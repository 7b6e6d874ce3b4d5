"""Journey figures from turn logs: cost per step, and turns and cost per journey."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from persona_lab.core import TurnLog

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["JOURNEY_COLUMNS", "journey_frame", "journey_step_costs", "journey_summary"]

JOURNEY_COLUMNS: Mapping[str, str] = MappingProxyType({
    "conversation_id": "the conversation",
    "turn_index": "the turn",
    "journey": "the journey the turn ran in (missing: plain chat)",
    "journey_step": "the step the turn started in",
    "journey_next_step": "the step after the turn",
    "journey_status": "active or completed after the turn",
    "journey_fields": "fields recorded in the turn, comma-separated",
    "journey_transitions": "transitions made in the turn (source>target, comma-separated)",
    "intent": "the intent router's choice in this turn (missing: not consulted)",
    "intent_method": "rules, model or none",
    "tier": "the tier that answered",
    "cost_usd": "the turn's total cost plus its intent call",
    "intent_cost_usd": "the intent call's cost (0 when rules decided or none was made)",
    "ok": "False when the turn failed",
})


def _labels(log: TurnLog) -> Any:
    return getattr(log, "labels", None) or {}


def journey_frame(turn_logs: Iterable[TurnLog]) -> pd.DataFrame:
    """One row per turn with its journey labels; columns in :data:`JOURNEY_COLUMNS`."""
    import pandas as pd

    rows = []
    for log in turn_logs:
        labels = _labels(log)
        intent_cost = float(labels.get("intent_cost_usd") or 0.0)
        rows.append(
            {
                "conversation_id": log.conversation_id,
                "turn_index": log.turn_index,
                "journey": labels.get("journey"),
                "journey_step": labels.get("journey_step"),
                "journey_next_step": labels.get("journey_next_step"),
                "journey_status": labels.get("journey_status"),
                "journey_fields": labels.get("journey_fields"),
                "journey_transitions": labels.get("journey_transitions"),
                "intent": labels.get("intent"),
                "intent_method": labels.get("intent_method"),
                "tier": log.tier,
                "cost_usd": (log.total_cost_usd or 0.0) + intent_cost,
                "intent_cost_usd": intent_cost,
                "ok": log.ok,
            }
        )
    frame = pd.DataFrame(rows, columns=list(JOURNEY_COLUMNS))
    strings = [c for c in JOURNEY_COLUMNS if c not in ("turn_index", "cost_usd", "intent_cost_usd", "ok")]
    return frame.astype({**dict.fromkeys(strings, "string"), "turn_index": "Int64", "ok": "bool"})


def journey_step_costs(turn_logs: Iterable[TurnLog]) -> pd.DataFrame:
    """Per (journey, step): turns, total cost and mean cost per turn, in step order of first appearance."""
    frame = journey_frame(turn_logs)
    frame = frame[frame["journey"].notna()]
    grouped = frame.groupby(["journey", "journey_step"], sort=False)["cost_usd"]
    out = grouped.agg(turns="count", cost_usd="sum", cost_per_turn_usd="mean").reset_index()
    return out


def _steps(part: pd.DataFrame) -> list[str]:
    seen: list[str] = []
    for start, end in zip(part["journey_step"], part["journey_next_step"], strict=True):
        seen.extend(s for s in (start, end) if isinstance(s, str))
    return seen


def journey_summary(turn_logs: Iterable[TurnLog]) -> pd.DataFrame:
    """Per (conversation, journey): turns, cost, whether it completed, and the steps it went through."""
    import pandas as pd

    frame = journey_frame(turn_logs)
    frame = frame[frame["journey"].notna()]
    rows = []
    for (cid, name), part in frame.groupby(["conversation_id", "journey"], sort=False):
        rows.append(
            {
                "conversation_id": cid,
                "journey": name,
                "turns": len(part),
                "cost_usd": float(part["cost_usd"].sum()),
                "completed": bool((part["journey_status"] == "completed").any()),
                "steps": " > ".join(
                    dict.fromkeys([*part["journey_step"].dropna(), *part["journey_next_step"].dropna()])
                ),
            }
        )
    return pd.DataFrame(rows, columns=["conversation_id", "journey", "turns", "cost_usd", "completed", "steps"])
