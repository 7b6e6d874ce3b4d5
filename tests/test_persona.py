from pathlib import Path

import pytest

from persona_lab import Persona, PersonaError
from tests.helpers import EXAMPLES


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_persona_loads(path: Path) -> None:
    persona = Persona.from_yaml(path)
    assert persona.identity.name
    assert persona.system_prompt().startswith(f"You are {persona.identity.name}")


def test_ships_three_example_personas() -> None:
    assert len(list(EXAMPLES.glob("*.yaml"))) >= 3


def test_fields_are_parsed(persona: Persona) -> None:
    assert persona.id == "tenancy-advisor"
    assert persona.routing.max_cost_per_session_usd == 2.0
    assert persona.routing.keywords["frontier"][0] == "court"
    assert persona.worldview[0].confidence == 0.95
    assert "lookup_statute" in persona.tools
    assert persona.autonomy.max_questions == 2


def test_missing_field_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nidentity:\n  role: advisor\n")
    with pytest.raises(PersonaError) as info:
        Persona.from_yaml(bad)
    assert str(bad) in str(info.value)
    assert "identity.name" in str(info.value)
    assert info.value.field == "identity.name"


def test_wrong_type_names_the_nested_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nidentity: {name: A, role: B}\nworldview:\n  - claim: c\n    confidence: 7\n")
    with pytest.raises(PersonaError, match=r"worldview\.0\.confidence"):
        Persona.from_yaml(bad)


def test_unknown_tier_in_keyword_override_is_rejected() -> None:
    text = "id: x\nidentity: {name: A, role: B}\nrouting:\n  keywords:\n    huge: [court]\n"
    with pytest.raises(PersonaError, match="unknown tier 'huge'"):
        Persona.from_yaml_text(text, source="p.yaml")


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("id: x\nidentity: {name: A, role: B\n")
    with pytest.raises(PersonaError, match=r"broken\.yaml: not valid YAML \(line"):
        Persona.from_yaml(bad)


def test_unknown_top_level_key_is_an_error() -> None:
    with pytest.raises(PersonaError, match="persona_colour"):
        Persona.from_dict({"id": "x", "identity": {"name": "A", "role": "B"}, "persona_colour": "red"})


def test_missing_file_is_a_persona_error(tmp_path: Path) -> None:
    with pytest.raises(PersonaError, match="cannot read"):
        Persona.from_yaml(tmp_path / "nope.yaml")


def test_persona_is_immutable(persona: Persona) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="frozen"):
        persona.id = "other"  # type: ignore[misc]
