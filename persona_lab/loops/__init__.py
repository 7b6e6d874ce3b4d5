"""The loops: one turn engine, the conversation loop and the agentic loop as policies around it.

- :class:`ConversationLoop`: chat turns (memory, prompt, tool rounds, review, write-back);
- :mod:`persona_lab.loops.agent`: :class:`AgenticLoop` runs, steps, actions, run records;
- tools (:func:`tool`, :class:`Toolbox`), history compaction, per-turn extras.

The events both loops stream and the turn-log records they write live in :mod:`persona_lab.core`.
"""

from persona_lab.loops._compaction import HistoryCompactor
from persona_lab.loops._conversation import ConversationLoop
from persona_lab.loops._extras import TurnExtras
from persona_lab.loops._sinks import TurnLogSink, TurnResult
from persona_lab.loops._tools import Tool, Toolbox, ToolOutcome, tool
from persona_lab.loops.agent import (
    MAX_OPTIONS,
    AgenticLoop,
    CancelToken,
    EventCallback,
    Run,
    RunStatus,
    RunStep,
    RunStream,
    StepCompactor,
    UserResponder,
)

__all__ = [
    "MAX_OPTIONS",
    "AgenticLoop",
    "CancelToken",
    "ConversationLoop",
    "EventCallback",
    "HistoryCompactor",
    "Run",
    "RunStatus",
    "RunStep",
    "RunStream",
    "StepCompactor",
    "Tool",
    "ToolOutcome",
    "Toolbox",
    "TurnExtras",
    "TurnLogSink",
    "TurnResult",
    "UserResponder",
    "tool",
]
