"""The lines of a benchmark-set file as pydantic models: the header line and an item line.

pydantic checks each line's shape and types; :func:`field_problem` turns its first error into
the ``(field, message)`` pair the reader puts after ``file:line:``. What depends on more than
one line (the header's scale and models, duplicate ids, mixed scales) is checked by the reader.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from persona_lab.core import TIER_NAMES

__all__ = ["HeaderLine", "ItemLine", "ModelLine", "OutcomeLine", "field_problem"]

_DEFAULT_TIER: Mapping[str, str] = MappingProxyType({"weak": "small", "strong": "frontier"})


def _finite(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


def _text(value: Any) -> Any:
    """Numbers are accepted where text is expected (an id of 7 is "7")."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


Finite = Annotated[float, BeforeValidator(_finite)]
Count = Annotated[StrictInt, Field(ge=0)]
Text = Annotated[str, BeforeValidator(_text)]


class _Line(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=False)


class PriceLine(_Line):
    input_per_mtok: Finite
    output_per_mtok: Finite


class ModelLine(_Line):
    """A recorded model in the header: its tier (or a role that implies one), price, context window."""

    role: Literal["weak", "strong"] | None = None
    tier: str | None = None
    price: PriceLine | None = None
    price_ref: str | None = None
    context_window: Annotated[StrictInt, Field(ge=2048)] = 32_768

    @model_validator(mode="after")
    def _tier(self) -> ModelLine:
        """No tier and no role: a recorded model that plays no tier until a run maps it (``map_tiers``)."""
        tier = self.tier or (_DEFAULT_TIER[self.role] if self.role else None)
        if tier is not None and tier not in TIER_NAMES:
            raise ValueError(f"tier: unknown tier {tier!r} (expected one of {', '.join(TIER_NAMES)})")
        return self.model_copy(update={"tier": tier}) if tier != self.tier else self


class HeaderLine(_Line):
    """The first line: format version, suite, scale and the recorded models."""

    format_version: Any = None
    suite: Text = ""
    scale: Text = ""
    models: dict[str, ModelLine] = {}
    description: Text = ""
    source: Text = ""
    license: Text = ""

    @field_validator("suite", "scale", "description", "source", "license", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("models", mode="before")
    @classmethod
    def _models(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ValueError("expected an object {model name: {tier, role, price…}}")
        return value


class OutcomeLine(_Line):
    """How one model did on one turn (a bare number is its score)."""

    score: Finite
    response: str | None = None
    input_tokens: Count | None = None
    output_tokens: Count | None = None


class ItemLine(_Line):
    """One item: its turns and, per model, one outcome per turn (a single one for one-turn items)."""

    id: Text
    suite: Text | None = None
    category: Text = ""
    scale: Text | None = None
    turns: list[str]
    reference: list[Any] | None = None
    outcomes: dict[str, list[OutcomeLine]]
    meta: dict[str, Any] = {}

    @field_validator("turns", mode="before")
    @classmethod
    def _turns(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise ValueError("expected a non-empty list of user messages")
        for k, turn in enumerate(value):
            if not isinstance(turn, str) or not turn.strip():
                raise ValueError(f"turns.{k}: expected a non-empty string")
        return value

    @field_validator("reference", mode="before")
    @classmethod
    def _reference(cls, value: Any) -> Any:
        if value is None:
            return None
        values = value if isinstance(value, list) else [value]
        for k, one in enumerate(values):
            if one is not None and not isinstance(one, (str, int, float)):
                raise ValueError(f"reference.{k}: expected a string or null")
        return values

    @field_validator("outcomes", mode="before")
    @classmethod
    def _outcomes(cls, value: Any) -> Any:
        if not isinstance(value, Mapping) or not value:
            raise ValueError("expected a non-empty object {model: outcomes}")
        return {model: [_outcome(one) for one in (raw if isinstance(raw, list) else [raw])]
                for model, raw in value.items()}

    @field_validator("meta", mode="before")
    @classmethod
    def _meta(cls, value: Any) -> Any:
        return {} if value is None else value


def _outcome(raw: Any) -> Any:
    return raw if isinstance(raw, Mapping) else {"score": raw}


_MISSING_HINTS: Mapping[tuple[str, ...], str] = MappingProxyType({
    ("turns",): "missing (required): a list of user messages",
    ("outcomes",): "missing (required): {model: score or per-turn outcomes}",
})


def field_problem(error: ValidationError, data: Mapping[str, Any]) -> tuple[str | None, str]:
    """``(field, message)`` for the first problem pydantic found in line ``data``.

    The field is the dotted path into the line as written: ``outcomes.b.score`` for a model's
    single outcome, ``outcomes.b.1.score`` for the second of a list.
    """
    first = error.errors(include_url=False)[0]
    loc = [str(part) for part in first["loc"]]
    if len(loc) >= 3 and loc[0] == "outcomes" and not isinstance((data.get("outcomes") or {}).get(loc[1]), list):
        del loc[2]  # a single outcome was written without a list around it
    message = str(first["msg"]).removeprefix("Value error, ")
    head, sep, rest = message.partition(": ")
    if sep and "." not in head and " " not in head and head.replace("_", "").isalnum():
        loc.append(head)  # a validator naming a sub-field ("tier: …", "turns.0: …")
        message = rest
    elif sep and head.split(".")[0] in ("turns", "reference") and head.split(".")[-1].isdigit():
        loc = [*loc[:-1], *head.split(".")] if loc else head.split(".")
        message = rest
    kind = first["type"]
    if kind == "missing" or (kind.endswith("_type") and first.get("input", ...) is None):
        message = _MISSING_HINTS.get(tuple(loc), "missing (required)")
    elif kind in ("string_type", "dict_type", "list_type", "model_type"):
        expected = {"string_type": "a string", "dict_type": "an object", "list_type": "a list",
                    "model_type": "an object"}[kind]
        message = f"expected {expected}, got {type(first.get('input')).__name__}"
    elif kind.startswith(("int_", "greater_than")) and loc and loc[-1] in ("input_tokens", "output_tokens"):
        message = f"expected a non-negative integer, got {first.get('input')!r}"
    elif kind.startswith(("int_", "greater_than")) and loc and loc[-1] == "context_window":
        message = f"expected an integer ≥ 2048, got {first.get('input')!r}"
    elif kind == "literal_error" and loc and loc[-1] == "role":
        message = f"expected 'weak' or 'strong', got {first.get('input')!r}"
    return (".".join(loc) or None), message
