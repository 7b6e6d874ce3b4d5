"""The conversation loop, the agentic loop, their events, turn-log records, tools and helpers."""

from persona_lab.loops._agentic import AgenticLoop
from persona_lab.loops._cancel import CancelToken
from persona_lab.loops._clock import Clock, SystemClock
from persona_lab.loops._compaction import HistoryCompactor
from persona_lab.loops._conversation import ConversationLoop, TurnLogSink, TurnResult
from persona_lab.loops._events import (
    AskingUser,
    BudgetExceededEvent,
    Compacted,
    ErrorOccurred,
    Finished,
    LoopEvent,
    MaxStepsReached,
    Reasoning,
    Retrying,
    RunCancelled,
    RunCompleted,
    Started,
    TextDelta,
    Thinking,
    TierChosen,
    ToolCalling,
    ToolResult,
    TurnDone,
    UserResponded,
    event_from_dict,
)
from persona_lab.loops._extras import TurnExtras
from persona_lab.loops._model_call import CallBox, CallResult, ModelCaller
from persona_lab.loops._prompt import FittedPrompt, PromptParts
from persona_lab.loops._run import Run, RunStatus, RunStep
from persona_lab.loops._run_events import RunStream
from persona_lab.loops._step_compaction import StepCompactor
from persona_lab.loops._sync import run_sync
from persona_lab.loops._tools import Tool, Toolbox, ToolOutcome, tool
from persona_lab.loops._turn_log import (
    TURN_LOG_SCHEMA_VERSION,
    Attempt,
    CompactionCall,
    ToolCallRecord,
    TurnLog,
)

__all__ = [
    "TURN_LOG_SCHEMA_VERSION",
    "AgenticLoop",
    "AskingUser",
    "Attempt",
    "BudgetExceededEvent",
    "CallBox",
    "CallResult",
    "CancelToken",
    "Clock",
    "Compacted",
    "CompactionCall",
    "ConversationLoop",
    "ErrorOccurred",
    "Finished",
    "FittedPrompt",
    "HistoryCompactor",
    "LoopEvent",
    "MaxStepsReached",
    "ModelCaller",
    "PromptParts",
    "Reasoning",
    "Retrying",
    "Run",
    "RunCancelled",
    "RunCompleted",
    "RunStatus",
    "RunStep",
    "RunStream",
    "Started",
    "StepCompactor",
    "SystemClock",
    "TextDelta",
    "Thinking",
    "TierChosen",
    "Tool",
    "ToolCallRecord",
    "ToolCalling",
    "ToolOutcome",
    "ToolResult",
    "Toolbox",
    "TurnDone",
    "TurnExtras",
    "TurnLog",
    "TurnLogSink",
    "TurnResult",
    "UserResponded",
    "event_from_dict",
    "run_sync",
    "tool",
]
