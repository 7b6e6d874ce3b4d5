"""Every malformed persona file ends in PersonaError naming the file and the field or line."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from persona_lab import Persona, PersonaError
from tests.persona_fuzz import VALID, cases, load_case


def load(tmp_path: Path, data: bytes | str) -> Persona:
    path = tmp_path / "p.yaml"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return Persona.from_yaml(path)


def test_the_fuzz_base_file_is_valid(tmp_path: Path) -> None:
    persona = load(tmp_path, VALID)
    assert persona.autonomy.max_steps == 10 and persona.routing.max_cost_per_session_usd == 2.0


def test_non_utf8_bytes_name_the_line_and_column(tmp_path: Path) -> None:
    data = VALID.replace("Ada", "Ad\xe9").encode("latin-1", errors="replace")
    with pytest.raises(PersonaError, match=r"p\.yaml: line 3, column 11: byte 0xe9 is not UTF-8") as info:
        load(tmp_path, data)
    assert info.value.line == 3 and info.value.source == str(tmp_path / "p.yaml")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_utf16_and_utf32_files_are_named(tmp_path: Path, encoding: str) -> None:
    with pytest.raises(PersonaError, match=encoding.upper()):
        load(tmp_path, VALID.encode(encoding))


def test_a_utf8_byte_order_mark_is_fine(tmp_path: Path) -> None:
    assert load(tmp_path, VALID.encode("utf-8-sig")).identity.name == "Ada"


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_deep_nesting_is_refused_before_it_recurses(tmp_path: Path, depth: int) -> None:
    with pytest.raises(PersonaError, match="nested more than 32 levels deep") as info:
        load(tmp_path, "id: x\nidentity: " + "[" * depth + "]" * depth + "\n")
    assert info.value.line == 2


@pytest.mark.parametrize(
    "value", ["!!python/object/apply:os.system ['true']", "!!binary aGk=", "!custom x", "!!str 5"]
)
def test_yaml_tags_are_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(PersonaError, match=r"line 3: YAML tags .* are not allowed"):
        load(tmp_path, f"id: x\nidentity:\n  name: {value}\n  role: r\n")


def test_aliases_are_refused(tmp_path: Path) -> None:
    text = "id: x\nidentity: {name: A, role: B}\nbase: &b [x, x]\nself_facts: *b\n"
    with pytest.raises(PersonaError, match=r"line 4: aliases \(\*b\)"):
        load(tmp_path, text)


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PersonaError, match=r"line 3: duplicate key 'id'"):
        load(tmp_path, "id: x\nidentity: {name: A, role: B}\nid: y\n")


def test_huge_values_and_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PersonaError, match="the limit is 100,000"):
        load(tmp_path, "id: x\nidentity: {name: A, role: '" + "x" * 100_001 + "'}\n")
    with pytest.raises(PersonaError, match="at most 1,048,576"):
        load(tmp_path, "id: x\n" + "#" * (1 << 20) + "\n")
    with pytest.raises(PersonaError, match="line 3: a value cannot be read"):
        load(tmp_path, "id: x\nidentity: {name: A, role: B}\nautonomy: {max_steps: " + "9" * 5000 + "}\n")
    with pytest.raises(PersonaError, match="more than 20,000 values"):
        load(tmp_path, "id: x\nidentity: {name: A, role: B}\ntools: [" + "t," * 20_001 + "]\n")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_steps", '"10"', "valid integer"),
        ("max_steps", "true", "valid integer"),
        ("max_steps", "10.0", "valid integer"),
        ("max_questions", "yes", "valid integer"),
        ("max_cost_per_session_usd", ".inf", "finite number"),
        ("max_cost_per_session_usd", "1.0e+999", "finite number"),
        ("max_cost_per_session_usd", "1e999", "valid number"),  # YAML 1.1 reads this as a string
        ("max_cost_per_turn_usd", ".nan", "finite number"),
        ("max_cost_per_turn_usd", '"0.05"', "valid number"),
        ("max_cost_per_turn_usd", "true", "valid number"),
        ("confidence", "true", "valid number"),
    ],
)
def test_numbers_are_strict_and_finite(tmp_path: Path, field: str, value: str, message: str) -> None:
    from tests.persona_fuzz import _set_field

    with pytest.raises(PersonaError, match=message) as info:
        load(tmp_path, _set_field(VALID, field, value))
    assert info.value.field is not None and info.value.field.endswith(field)
    line = info.value.line
    assert line is not None and field in VALID.splitlines()[line - 1]  # the line of the bad value
    assert f"p.yaml:{line}: " in str(info.value)


def test_an_int_where_a_float_is_expected_is_fine(tmp_path: Path) -> None:
    from tests.persona_fuzz import _set_field

    assert load(tmp_path, _set_field(VALID, "max_cost_per_session_usd", "3")).routing.max_cost_per_session_usd == 3.0


def test_fuzzed_files_either_load_or_raise_persona_error(tmp_path: Path) -> None:
    outcomes: Counter[tuple[str, str]] = Counter()
    for index, (kind, data) in enumerate(cases(270, seed=14)):
        result = load_case(data, tmp_path, index)  # anything but PersonaError fails the test here
        if isinstance(result, PersonaError):
            assert str(tmp_path / f"case_{index}.yaml") in str(result)
            assert result.field is not None or result.line is not None or "bytes" in str(result), str(result)
        outcomes[kind, "rejected" if isinstance(result, PersonaError) else "loaded"] += 1
    for kind in ("nesting", "tag", "alias", "huge", "duplicate-key"):
        assert outcomes[kind, "loaded"] == 0, kind
    assert outcomes["random-bytes", "rejected"] > 0 and outcomes["mutation", "rejected"] > 0
