"""Turn logs: writers, the JSONL reader and the DataFrame view."""

from persona_lab.logs._figures import cost_per_turn_figure, tier_mix_figure, tokens_figure
from persona_lab.logs._frame import TURN_LOG_COLUMNS, Column, turn_logs_to_frame
from persona_lab.logs._writers import (
    InMemoryTurnLogWriter,
    JsonlTurnLogWriter,
    TurnLogWarning,
    read_turn_logs,
)

__all__ = [
    "TURN_LOG_COLUMNS",
    "Column",
    "InMemoryTurnLogWriter",
    "JsonlTurnLogWriter",
    "TurnLogWarning",
    "cost_per_turn_figure",
    "read_turn_logs",
    "tier_mix_figure",
    "tokens_figure",
    "turn_logs_to_frame",
]
