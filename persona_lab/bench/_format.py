"""The benchmark-set format: versioned JSONL (optionally gzip), one item per line.

The first line is a header (``format_version``, ``suite``, ``scale``, the recorded ``models``);
every other line is an item: its user turns and, per recorded model, the score (and optionally
the response text and tokens) of each turn. ``docs/benchmark-format.md`` is the reference;
:func:`read_benchmark_set` validates and names the file, line and field of any problem.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

from persona_lab.core import TIER_NAMES, BenchmarkFormatError
from persona_lab.tiers import Price

__all__ = [
    "FORMAT_VERSION",
    "SCALES",
    "BenchmarkItem",
    "BenchmarkSet",
    "ModelSpec",
    "TurnOutcome",
    "read_benchmark_set",
    "write_benchmark_set",
]

FORMAT_VERSION = 1
"""The version this code writes and reads (the ``format_version`` of the header line)."""

SCALES: Mapping[str, tuple[float, float]] = MappingProxyType({"binary": (0.0, 1.0), "grade-1-10": (1.0, 10.0)})
"""Score scales: ``binary`` is 0/1 correctness, ``grade-1-10`` a judge's grade."""

_ROLES = ("weak", "strong")
_DEFAULT_TIER = MappingProxyType({"weak": "small", "strong": "frontier"})


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """How one recorded model did on one turn: its score, and what it said if recorded."""

    score: float
    response: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"score": self.score}
        if self.response is not None:
            data["response"] = self.response
        if self.input_tokens is not None:
            data["input_tokens"] = self.input_tokens
        if self.output_tokens is not None:
            data["output_tokens"] = self.output_tokens
        return data


@dataclass(frozen=True, slots=True)
class BenchmarkItem:
    """One benchmark item: one or more user turns and each recorded model's per-turn outcome."""

    id: str
    suite: str
    category: str
    turns: tuple[str, ...]
    outcomes: Mapping[str, tuple[TurnOutcome, ...]]
    reference: tuple[str | None, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = field(default=None, compare=False)

    def score(self, model: str, turn: int) -> float:
        return self.outcomes[model][turn].score

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "suite": self.suite, "category": self.category,
                                "turns": list(self.turns)}
        if any(r is not None for r in self.reference):
            data["reference"] = self.reference[0] if len(self.reference) == 1 else list(self.reference)
        data["outcomes"] = {m: [o.to_dict() for o in outs] for m, outs in self.outcomes.items()}
        if self.meta:
            data["meta"] = dict(self.meta)
        return data


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A recorded model: its role (weak/strong), the replay tier it plays, and its price.

    ``tier`` is None for a model the set records but that plays no tier by default (a set may
    record more models than tiers; a run maps models to tiers, see ``map_tiers``).
    ``price`` is a price recorded in the set; otherwise ``price_ref`` names the model in the
    offline ``genai-prices`` list (resolved when a replay is built).
    """

    name: str
    tier: str | None
    role: str | None = None
    price: Price | None = None
    price_ref: str | None = None
    context_window: int = 32_768

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"tier": self.tier} if self.tier else {}
        if self.role:
            data["role"] = self.role
        if self.price is not None:
            data["price"] = {"input_per_mtok": self.price.input_per_mtok,
                             "output_per_mtok": self.price.output_per_mtok}
        if self.price_ref:
            data["price_ref"] = self.price_ref
        data["context_window"] = self.context_window
        return data


@dataclass(frozen=True, slots=True)
class BenchmarkSet:
    """A validated benchmark set: header fields plus items (see ``docs/benchmark-format.md``)."""

    suite: str
    scale: str
    models: Mapping[str, ModelSpec]
    items: tuple[BenchmarkItem, ...]
    description: str = ""
    source: str = ""
    license: str = ""
    format_version: int = FORMAT_VERSION
    path: str | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return (f"BenchmarkSet(suite={self.suite!r}, items={len(self.items)}, turns={self.n_turns}, "
                f"scale={self.scale!r}, models={list(self.models)})")

    @property
    def n_turns(self) -> int:
        return sum(len(i.turns) for i in self.items)

    @property
    def scale_range(self) -> tuple[float, float]:
        return SCALES[self.scale]

    @property
    def tier_models(self) -> dict[str, str]:
        """``{tier: model}`` for the replay, cheapest tier first."""
        by_tier = {spec.tier: name for name, spec in self.models.items() if spec.tier}
        return {t: by_tier[t] for t in TIER_NAMES if t in by_tier}

    @property
    def weak_model(self) -> str:
        return self._role("weak", 0)

    @property
    def strong_model(self) -> str:
        return self._role("strong", -1)

    def _role(self, role: str, position: int) -> str:
        for name, spec in self.models.items():
            if spec.role == role:
                return name
        return list(self.tier_models.values())[position]

    def head(self, n: int) -> BenchmarkSet:
        """The first ``n`` items (for quick runs: ``--limit``)."""
        return replace(self, items=self.items[:n])

    def subset(self, ids: Iterable[str]) -> BenchmarkSet:
        wanted = set(ids)
        return replace(self, items=tuple(i for i in self.items if i.id in wanted))

    def with_tiers(self, tiers: Mapping[str, str]) -> BenchmarkSet:
        """Re-assign which recorded model plays which tier: ``{"small": model, "frontier": model}``.

        Every other recorded model stays in the set, playing no tier (see ``map_tiers``).
        """
        from persona_lab.bench._tier_mapping import map_tiers

        return map_tiers(self, tiers)

    def header(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "suite": self.suite,
            "scale": self.scale,
            "description": self.description,
            "source": self.source,
            "license": self.license,
            "models": {name: spec.to_dict() for name, spec in self.models.items()},
        }


# -- reading -------------------------------------------------------------------------------


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


class _Reader:
    """Validates one file line by line; every error names the file, the line and the field."""

    def __init__(self, source: str):
        self.source = source
        self.line = 0

    def fail(self, field_name: str | None, message: str) -> BenchmarkFormatError:
        where = f"{self.source}:{self.line}" if self.line else self.source
        what = f" field {field_name!r}:" if field_name else ""
        return BenchmarkFormatError(f"{where}:{what} {message}", source=self.source, line=self.line or None,
                                    field=field_name)

    def text(self, data: Mapping[str, Any], key: str, where: str, *, required: bool = True,
             default: str = "") -> str:
        if key not in data or data[key] is None:
            if required:
                raise self.fail(f"{where}{key}", "missing (required)")
            return default
        value = data[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self.fail(f"{where}{key}", f"expected a string, got {type(value).__name__}")
        return value

    def number(self, value: Any, name: str) -> float:
        if isinstance(value, bool):
            return float(value)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(name, f"expected a finite number, got {value!r}")
        return float(value)

    def count(self, value: Any, name: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(name, f"expected a non-negative integer, got {value!r}")
        return value

    def header(self, data: Mapping[str, Any]) -> dict[str, Any]:
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise self.fail("format_version", f"unsupported format_version {version!r} "
                                              f"(this persona-lab reads version {FORMAT_VERSION})")
        scale = self.text(data, "scale", "", required=False, default="")
        if scale and scale not in SCALES:
            raise self.fail("scale", f"unknown scale {scale!r} (expected one of {', '.join(SCALES)})")
        models_raw = data.get("models") or {}
        if not isinstance(models_raw, Mapping):
            raise self.fail("models", "expected an object {model name: {tier, role, price…}}")
        models: dict[str, ModelSpec] = {}
        for name, spec in models_raw.items():
            models[name] = self.model(name, spec)
        tiers = [m.tier for m in models.values() if m.tier]
        if len(set(tiers)) != len(tiers):
            raise self.fail("models", f"two models play the same tier: {tiers}")
        return {
            "suite": self.text(data, "suite", "", required=False, default=""),
            "scale": scale,
            "models": models,
            "description": self.text(data, "description", "", required=False),
            "source": self.text(data, "source", "", required=False),
            "license": self.text(data, "license", "", required=False),
        }

    def model(self, name: str, spec: Any) -> ModelSpec:
        where = f"models.{name}."
        if not isinstance(spec, Mapping):
            raise self.fail(f"models.{name}", "expected an object")
        role = spec.get("role")
        if role is not None and role not in _ROLES:
            raise self.fail(f"{where}role", f"expected 'weak' or 'strong', got {role!r}")
        tier = spec.get("tier") or (_DEFAULT_TIER.get(role) if role else None)
        if tier is not None and tier not in TIER_NAMES:
            raise self.fail(f"{where}tier", f"unknown tier {tier!r} (expected one of {', '.join(TIER_NAMES)})")
        price = None
        if spec.get("price") is not None:
            raw = spec["price"]
            if not isinstance(raw, Mapping) or "input_per_mtok" not in raw or "output_per_mtok" not in raw:
                raise self.fail(f"{where}price", "expected {input_per_mtok, output_per_mtok} (USD per 1M tokens)")
            price = Price(self.number(raw["input_per_mtok"], f"{where}price.input_per_mtok"),
                          self.number(raw["output_per_mtok"], f"{where}price.output_per_mtok"))
        price_ref = spec.get("price_ref")
        if price_ref is not None and not isinstance(price_ref, str):
            raise self.fail(f"{where}price_ref", "expected a model name from the genai-prices list")
        window = spec.get("context_window", 32_768)
        if isinstance(window, bool) or not isinstance(window, int) or window < 2048:
            raise self.fail(f"{where}context_window", f"expected an integer ≥ 2048, got {window!r}")
        return ModelSpec(name=name, tier=tier, role=role, price=price, price_ref=price_ref, context_window=window)

    def item(self, data: Mapping[str, Any], suite: str, scale: str, models: Mapping[str, ModelSpec],
             declared: bool) -> tuple[BenchmarkItem, str]:
        item_id = self.text(data, "id", "")
        item_suite = self.text(data, "suite", "", required=False, default=suite)
        if not item_suite:
            raise self.fail("suite", "missing (required when the header gives no suite)")
        category = self.text(data, "category", "", required=False, default="")
        item_scale = self.text(data, "scale", "", required=False, default=scale)
        if not item_scale:
            raise self.fail("scale", "missing (required when the header gives no scale)")
        if item_scale not in SCALES:
            raise self.fail("scale", f"unknown scale {item_scale!r} (expected one of {', '.join(SCALES)})")
        if "turns" not in data:
            raise self.fail("turns", "missing (required): a list of user messages")
        turns_raw = data["turns"]
        if isinstance(turns_raw, str):
            turns_raw = [turns_raw]
        if not isinstance(turns_raw, list) or not turns_raw:
            raise self.fail("turns", "expected a non-empty list of user messages")
        for k, turn in enumerate(turns_raw):
            if not isinstance(turn, str) or not turn.strip():
                raise self.fail(f"turns.{k}", "expected a non-empty string")
        turns = tuple(turns_raw)
        reference = self.reference(data.get("reference"), len(turns))
        if "outcomes" not in data:
            raise self.fail("outcomes", "missing (required): {model: score or per-turn outcomes}")
        outcomes_raw = data["outcomes"]
        if not isinstance(outcomes_raw, Mapping) or not outcomes_raw:
            raise self.fail("outcomes", "expected a non-empty object {model: outcomes}")
        outcomes: dict[str, tuple[TurnOutcome, ...]] = {}
        low, high = SCALES[item_scale]
        for model, raw in outcomes_raw.items():
            if declared and model not in models:
                raise self.fail(f"outcomes.{model}", f"unknown model {model!r}: the header declares "
                                                     f"{', '.join(models) or 'no models'}")
            outcomes[model] = self.outcome(model, raw, len(turns), low, high)
        meta = data.get("meta") or {}
        if not isinstance(meta, Mapping):
            raise self.fail("meta", "expected an object")
        return BenchmarkItem(item_id, item_suite, category, turns, outcomes, reference, dict(meta),
                             self.line), item_scale

    def reference(self, raw: Any, n_turns: int) -> tuple[str | None, ...]:
        if raw is None:
            return ()
        values = raw if isinstance(raw, list) else [raw]
        if len(values) > n_turns:
            raise self.fail("reference", f"{len(values)} references for {n_turns} turns")
        out: list[str | None] = []
        for k, value in enumerate(values):
            if value is not None and not isinstance(value, (str, int, float)):
                raise self.fail(f"reference.{k}", "expected a string or null")
            out.append(None if value is None else str(value))
        return tuple(out)

    def outcome(self, model: str, raw: Any, n_turns: int, low: float, high: float) -> tuple[TurnOutcome, ...]:
        name = f"outcomes.{model}"
        per_turn = raw if isinstance(raw, list) else [raw]
        if len(per_turn) != n_turns:
            raise self.fail(name, f"{len(per_turn)} outcomes for {n_turns} turns (give one per turn)")
        result = []
        for k, value in enumerate(per_turn):
            where = f"{name}.{k}" if isinstance(raw, list) else name
            if isinstance(value, Mapping):
                if "score" not in value:
                    raise self.fail(f"{where}.score", "missing (required)")
                score = self.number(value["score"], f"{where}.score")
                response = value.get("response")
                if response is not None and not isinstance(response, str):
                    raise self.fail(f"{where}.response", "expected a string or null")
                outcome = TurnOutcome(score, response, self.count(value.get("input_tokens"), f"{where}.input_tokens"),
                                      self.count(value.get("output_tokens"), f"{where}.output_tokens"))
            else:
                outcome = TurnOutcome(self.number(value, f"{where}"))
            if not low <= outcome.score <= high:
                raise self.fail(f"{where}.score" if isinstance(value, Mapping) else where,
                                f"score {outcome.score:g} is outside the scale [{low:g}, {high:g}]")
            result.append(outcome)
        return tuple(result)


def _lines(handle: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(handle, start=1):
        if line.strip():
            yield number, line


def read_benchmark_set(path: str | Path) -> BenchmarkSet:
    """Read and validate a benchmark set (``.jsonl`` or ``.jsonl.gz``).

    Raises :class:`~persona_lab.BenchmarkFormatError` naming the file, line and field of the
    first problem: a missing field, a score outside its scale, an undeclared model, a duplicate id.
    """
    path = Path(path)
    reader = _Reader(str(path))
    try:
        handle = _open_text(path)
    except OSError as exc:
        raise reader.fail(None, f"cannot read benchmark set: {exc}") from exc
    header: dict[str, Any] | None = None
    items: list[BenchmarkItem] = []
    seen: dict[str, int] = {}
    scales: set[str] = set()
    with handle:
        try:
            for number, line in _lines(handle):
                reader.line = number
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise reader.fail(None, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
                if not isinstance(data, dict):
                    raise reader.fail(None, f"expected a JSON object, got {type(data).__name__}")
                if header is None:
                    if "format_version" not in data:
                        raise reader.fail("format_version", "missing: the first line must be a header "
                                                            "(or an item) carrying format_version")
                    if "id" in data:  # no header: the first item carries the version
                        header = reader.header({"format_version": data["format_version"]})
                    else:
                        header = reader.header(data)
                        continue
                item, scale = reader.item(data, header["suite"], header["scale"], header["models"],
                                          declared=bool(header["models"]))
                if item.id in seen:
                    raise reader.fail("id", f"duplicate id {item.id!r} (first on line {seen[item.id]})")
                seen[item.id] = number
                scales.add(scale)
                items.append(item)
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise reader.fail(None, f"cannot read benchmark set: {exc}") from exc
    reader.line = 0
    if header is None or not items:
        raise reader.fail(None, "no items: a benchmark set needs a header line and at least one item")
    if len(scales) > 1:
        raise reader.fail("scale", f"items mix scales {sorted(scales)}; use one scale per set")
    models = header["models"] or _infer_models(items)
    for item in items:
        missing = [m for m in models if m not in item.outcomes]
        if missing:
            reader.line = item.line or 0
            raise reader.fail(f"outcomes.{missing[0]}", f"item {item.id!r} has no outcome for model {missing[0]!r}")
    suites = {i.suite for i in items}
    return BenchmarkSet(
        suite=header["suite"] or (suites.pop() if len(suites) == 1 else path.name.split(".")[0]),
        scale=scales.pop(),
        models=models,
        items=tuple(items),
        description=header["description"],
        source=header["source"],
        license=header["license"],
        path=str(path),
    )


def _infer_models(items: Sequence[BenchmarkItem]) -> dict[str, ModelSpec]:
    """Without declared models: the lower-scoring model on average is the weak (small) one."""
    names = list(dict.fromkeys(m for i in items for m in i.outcomes))
    if len(names) != 2:
        raise BenchmarkFormatError(
            f"the set records {len(names)} models ({', '.join(names)}) and no header says which tier "
            "each plays; add a header line with models: {name: {tier: …}}", field="models")
    means = {n: sum(o.score for i in items for o in i.outcomes.get(n, ())) / max(1, len(items)) for n in names}
    weak, strong = sorted(names, key=lambda n: means[n])
    return {weak: ModelSpec(weak, "small", "weak"), strong: ModelSpec(strong, "frontier", "strong")}


# -- writing -------------------------------------------------------------------------------


def write_benchmark_set(benchmark: BenchmarkSet, path: str | Path) -> Path:
    """Write a set as JSONL (gzip-compressed when the name ends in ``.gz``, deterministically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(benchmark.header(), ensure_ascii=False)]
    lines += [json.dumps(item.to_dict(), ensure_ascii=False) for item in benchmark.items]
    payload = ("\n".join(lines) + "\n").encode("utf-8")
    if path.suffix == ".gz":
        with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                   compresslevel=9) as gz:
            gz.write(payload)
    else:
        path.write_bytes(payload)
    return path
