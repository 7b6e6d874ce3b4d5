"""The persona: identity, constraints, knowledge, skills, tools, routing preferences and autonomy."""

from persona_lab.persona._persona import Autonomy, Identity, Persona, SeedMemory, Skill, WorldviewClaim

__all__ = ["Autonomy", "Identity", "Persona", "SeedMemory", "Skill", "WorldviewClaim"]
