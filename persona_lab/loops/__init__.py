"""The conversation loop and the agentic loop, their tools, compactors and run records.

The events both loops stream and the turn-log records they write live in :mod:`persona_lab.core`.
"""

from persona_lab.loops._agent_actions import MAX_OPTIONS
from persona_lab.loops._agentic import AgenticLoop, UserResponder
from persona_lab.loops._cancel import CancelToken
from persona_lab.loops._compaction import HistoryCompactor
from persona_lab.loops._conversation import ConversationLoop, TurnLogSink, TurnResult
from persona_lab.loops._extras import TurnExtras
from persona_lab.loops._run import Run, RunStatus, RunStep
from persona_lab.loops._run_events import EventCallback, RunStream
from persona_lab.loops._step_compaction import StepCompactor
from persona_lab.loops._tools import Tool, Toolbox, ToolOutcome, tool

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
