"""The persona: identity, constraints, knowledge, skills, tools, journeys, routing preferences, autonomy."""

from persona_lab.persona._journey import FIELD_TYPES, Journey, JourneyField, JourneyStep, check_field_value
from persona_lab.persona._persona import Autonomy, Identity, Persona, SeedMemory, Skill, WorldviewClaim

__all__ = [
    "FIELD_TYPES",
    "Autonomy",
    "Identity",
    "Journey",
    "JourneyField",
    "JourneyStep",
    "Persona",
    "SeedMemory",
    "Skill",
    "WorldviewClaim",
    "check_field_value",
]
