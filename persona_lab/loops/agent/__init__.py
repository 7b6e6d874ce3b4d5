"""The agentic loop: runs, steps, actions, cancel tokens and the run record.

A run works on a task in steps; each step is one model call on the turn engine (shared with the
conversation loop) and what followed it: tools run, a question asked, or the final answer.
"""

from persona_lab.loops.agent._acting import UserResponder
from persona_lab.loops.agent._actions import MAX_OPTIONS
from persona_lab.loops.agent._cancel import CancelToken
from persona_lab.loops.agent._loop import AgenticLoop
from persona_lab.loops.agent._run import FailedCall, Run, RunStatus, RunStep
from persona_lab.loops.agent._run_events import EventCallback, RunStream
from persona_lab.loops.agent._step_compaction import StepCompactor

__all__ = [
    "MAX_OPTIONS",
    "AgenticLoop",
    "CancelToken",
    "EventCallback",
    "FailedCall",
    "Run",
    "RunStatus",
    "RunStep",
    "RunStream",
    "StepCompactor",
    "UserResponder",
]
