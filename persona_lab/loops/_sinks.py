"""Where a loop's turn logs go, and what the sync chat helper returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from persona_lab.core import LoopEvent, TurnLog

__all__ = ["KeptTurnLogs", "TurnLogSink", "TurnResult"]


class TurnLogSink(Protocol):
    """Where finished turn logs go (JSONL file, memory list, …)."""

    def write(self, record: TurnLog) -> None: ...


class KeptTurnLogs:
    """The default sink: keeps every turn log in ``records`` (like ``logs.InMemoryTurnLogWriter``)."""

    def __init__(self) -> None:
        self.records: list[TurnLog] = []

    def __repr__(self) -> str:
        return f"KeptTurnLogs({len(self.records)} records)"

    def write(self, record: TurnLog) -> None:
        self.records.append(record)


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnResult:
    """What the sync helper returns: the answer, its turn log and every event."""

    answer: str
    turn_log: TurnLog
    events: tuple[LoopEvent, ...] = field(repr=False)
