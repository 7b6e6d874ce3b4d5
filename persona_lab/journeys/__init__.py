"""Journeys: guided multi-step conversations on the ordinary loop, and an intent router.

    runner = JourneyRunner(loop, intents=IntentRouter(persona.journeys))   # journeys from the persona YAML
    turn = await runner.achat(conversation, state, "My boiler is broken")   # state: None or a JourneyState
    state = turn.state                                                       # yours: save state.to_dict()

See docs/journeys.md.
"""

from persona_lab.journeys._costs import JOURNEY_COLUMNS, journey_frame, journey_step_costs, journey_summary
from persona_lab.journeys._intent import IntentDecision, IntentRouter
from persona_lab.journeys._runner import JourneyBox, JourneyRunner, JourneyTurn, step_instructions
from persona_lab.journeys._session import JourneySession
from persona_lab.journeys._state import JourneyError, JourneyState, JourneyStateMismatch, Transition
from persona_lab.journeys._tools import GO_TO_STEP, RECORD_FIELD, JourneyTools, JourneyWork
from persona_lab.persona import FIELD_TYPES, Journey, JourneyField, JourneyStep, check_field_value

__all__ = [
    "FIELD_TYPES",
    "GO_TO_STEP",
    "JOURNEY_COLUMNS",
    "RECORD_FIELD",
    "IntentDecision",
    "IntentRouter",
    "Journey",
    "JourneyBox",
    "JourneyChatWidget",
    "JourneyError",
    "JourneyField",
    "JourneyRunner",
    "JourneySession",
    "JourneyState",
    "JourneyStateMismatch",
    "JourneyStep",
    "JourneyTools",
    "JourneyTurn",
    "JourneyWork",
    "Transition",
    "check_field_value",
    "journey_frame",
    "journey_step_costs",
    "journey_summary",
    "render_journey_html",
    "step_instructions",
]


def __getattr__(name: str) -> object:
    if name in ("JourneyChatWidget", "render_journey_html"):  # needs the widgets extra
        from persona_lab.journeys import _widget

        return getattr(_widget, name)
    raise AttributeError(f"module 'persona_lab.journeys' has no attribute {name!r}")
