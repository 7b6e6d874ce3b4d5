"""What an agent step sends: the system text (native tools or markers), the offered tools, the history."""

from __future__ import annotations

import json
from dataclasses import dataclass

from persona_lab.core import MESSAGE_OVERHEAD_TOKENS, ChatRequest, Message, ToolSpec, estimate_tokens
from persona_lab.loops._tools import Toolbox
from persona_lab.loops.agent._actions import (
    ASK_USER,
    FINAL_ANSWER,
    agent_instructions,
    ask_user_spec,
    final_answer_spec,
)
from persona_lab.loops.agent._run_state import RunState
from persona_lab.persona import Persona
from persona_lab.tiers import ModelConfig

__all__ = ["WRAP_UP", "AgentPrompt"]

SUMMARY_HEADER = "\n\nNotes on the earlier steps of this task (summarised):\n"
WRAP_UP = (
    "You have used all {steps} steps allowed for this task. Stop working now: summarise what "
    "you found and give your best answer, noting what is still open. Do not call tools."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentPrompt:
    """The fixed part of every step's prompt for one loop (built once, in the loop's ``__init__``)."""

    system_native: str
    system_markers: str
    system_tokens: int
    specs: tuple[ToolSpec, ...]
    spec_tokens: int
    tool_names: tuple[str, ...]

    @classmethod
    def build(cls, persona: Persona, toolbox: Toolbox, *, max_questions: int) -> AgentPrompt:
        asks = max_questions > 0
        specs = (*toolbox.specs(), *((ask_user_spec(),) if asks else ()), final_answer_spec())
        block = persona.system_prompt()
        native = block + "\n\n" + agent_instructions(
            native_tools=True, max_questions=max_questions, tool_names=toolbox.names
        )
        markers = block + "\n\n" + agent_instructions(native_tools=False, max_questions=max_questions, tool_names=())
        return cls(
            system_native=native,
            system_markers=markers,
            system_tokens=estimate_tokens(native),
            specs=specs,
            spec_tokens=sum(
                estimate_tokens(s.name) + estimate_tokens(s.description) + estimate_tokens(json.dumps(s.parameters))
                for s in specs
            ),
            tool_names=(*toolbox.names, *((ASK_USER,) if asks else ()), FINAL_ANSWER),
        )

    def tokens(self, state: RunState) -> int:
        """Estimated tokens of the next step's whole prompt."""
        return (
            self.system_tokens + self.spec_tokens + state.summary_tokens + state.task_message.tokens
            + state.history_tokens
        )

    def request(self, state: RunState, config: ModelConfig, *, wrap_up: bool, max_steps: int) -> ChatRequest:
        """The step's request to ``config``'s model: markers instead of tools when it has none."""
        native = config.supports_tools
        system = self.system_native if native else self.system_markers
        if state.summary:
            system += SUMMARY_HEADER + state.summary
        room = config.prompt_budget - self.system_tokens - self.spec_tokens - state.summary_tokens
        room -= state.task_message.tokens + MESSAGE_OVERHEAD_TOKENS * 2
        extra = (Message.user(WRAP_UP.format(steps=max_steps)),) if wrap_up else ()
        return ChatRequest(
            model=config.model,
            system=system,
            messages=state.messages(room) + extra,
            tools=self.specs if native else (),
            tool_choice="none" if wrap_up else "auto",
            max_output_tokens=config.max_output_tokens,
            temperature=config.temperature,
        )
