"""The benchmark-set format: versioned JSONL (optionally gzip), one item per line.

The first line is a header (``format_version``, ``suite``, ``scale``, the recorded ``models``);
every other line is an item: its user turns and, per recorded model, the score (and optionally
the response text and tokens) of each turn. ``docs/benchmark-format.md`` is the reference;
:func:`read_benchmark_set` validates and names the file, line and field of any problem.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, TypeVar

from pydantic import BaseModel, ValidationError

from persona_lab.bench._format_lines import HeaderLine, ItemLine, ModelLine, field_problem
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

_L = TypeVar("_L", bound=BaseModel)


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


class _Where:
    """The file and line being read; every error names them and the field."""

    def __init__(self, source: str):
        self.source = source
        self.line = 0

    def fail(self, field_name: str | None, message: str) -> BenchmarkFormatError:
        where = f"{self.source}:{self.line}" if self.line else self.source
        what = f" field {field_name!r}:" if field_name else ""
        return BenchmarkFormatError(f"{where}:{what} {message}", source=self.source, line=self.line or None,
                                    field=field_name)

    def parse(self, model: type[_L], data: Mapping[str, Any]) -> _L:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise self.fail(*field_problem(exc, data)) from None


def _header(where: _Where, data: Mapping[str, Any]) -> HeaderLine:
    version = data.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise where.fail("format_version", f"unsupported format_version {version!r} "
                                           f"(this persona-lab reads version {FORMAT_VERSION})")
    header = where.parse(HeaderLine, data)
    if header.scale and header.scale not in SCALES:
        raise where.fail("scale", f"unknown scale {header.scale!r} (expected one of {', '.join(SCALES)})")
    tiers = [m.tier for m in header.models.values() if m.tier]
    if len(set(tiers)) != len(tiers):
        raise where.fail("models", f"two models play the same tier: {tiers}")
    return header


def _model_spec(name: str, line: ModelLine) -> ModelSpec:
    price = None if line.price is None else Price(line.price.input_per_mtok, line.price.output_per_mtok)
    return ModelSpec(name=name, tier=line.tier, role=line.role, price=price, price_ref=line.price_ref,
                     context_window=line.context_window)


def _item(where: _Where, data: Mapping[str, Any], header: HeaderLine) -> tuple[BenchmarkItem, str]:
    line = where.parse(ItemLine, data)
    suite = line.suite if line.suite is not None else header.suite
    if not suite:
        raise where.fail("suite", "missing (required when the header gives no suite)")
    scale = line.scale if line.scale is not None else header.scale
    if not scale:
        raise where.fail("scale", "missing (required when the header gives no scale)")
    if scale not in SCALES:
        raise where.fail("scale", f"unknown scale {scale!r} (expected one of {', '.join(SCALES)})")
    n_turns = len(line.turns)
    reference = tuple(None if r is None else str(r) for r in line.reference or ())
    if len(reference) > n_turns:
        raise where.fail("reference", f"{len(reference)} references for {n_turns} turns")
    low, high = SCALES[scale]
    outcomes: dict[str, tuple[TurnOutcome, ...]] = {}
    for model, per_turn in line.outcomes.items():
        name = f"outcomes.{model}"
        if header.models and model not in header.models:
            raise where.fail(name, f"unknown model {model!r}: the header declares {', '.join(header.models)}")
        if len(per_turn) != n_turns:
            raise where.fail(name, f"{len(per_turn)} outcomes for {n_turns} turns (give one per turn)")
        listed = isinstance(data["outcomes"][model], list)
        shorthand = [not isinstance(o, Mapping) for o in
                     (data["outcomes"][model] if listed else [data["outcomes"][model]])]
        for k, outcome in enumerate(per_turn):
            if not low <= outcome.score <= high:
                at = f"{name}.{k}" if listed else name
                raise where.fail(at if shorthand[k] else f"{at}.score",
                                 f"score {outcome.score:g} is outside the scale [{low:g}, {high:g}]")
        outcomes[model] = tuple(TurnOutcome(o.score, o.response, o.input_tokens, o.output_tokens) for o in per_turn)
    item = BenchmarkItem(line.id, suite, line.category, tuple(line.turns), outcomes, reference, dict(line.meta),
                         where.line)
    return item, scale


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
    where = _Where(str(path))
    try:
        handle = _open_text(path)
    except OSError as exc:
        raise where.fail(None, f"cannot read benchmark set: {exc}") from exc
    header: HeaderLine | None = None
    items: list[BenchmarkItem] = []
    seen: dict[str, int] = {}
    scales: set[str] = set()
    with handle:
        try:
            for number, text in _lines(handle):
                where.line = number
                try:
                    data = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise where.fail(None, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
                if not isinstance(data, dict):
                    raise where.fail(None, f"expected a JSON object, got {type(data).__name__}")
                if header is None:
                    if "format_version" not in data:
                        raise where.fail("format_version", "missing: the first line must be a header "
                                                           "(or an item) carrying format_version")
                    if "id" in data:  # no header: the first item carries the version
                        header = _header(where, {"format_version": data["format_version"]})
                    else:
                        header = _header(where, data)
                        continue
                item, scale = _item(where, data, header)
                if item.id in seen:
                    raise where.fail("id", f"duplicate id {item.id!r} (first on line {seen[item.id]})")
                seen[item.id] = number
                scales.add(scale)
                items.append(item)
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise where.fail(None, f"cannot read benchmark set: {exc}") from exc
    where.line = 0
    if header is None or not items:
        raise where.fail(None, "no items: a benchmark set needs a header line and at least one item")
    if len(scales) > 1:
        raise where.fail("scale", f"items mix scales {sorted(scales)}; use one scale per set")
    models = {name: _model_spec(name, line) for name, line in header.models.items()} or _infer_models(items)
    for item in items:
        missing = [m for m in models if m not in item.outcomes]
        if missing:
            where.line = item.line or 0
            raise where.fail(f"outcomes.{missing[0]}", f"item {item.id!r} has no outcome for model {missing[0]!r}")
    suites = {i.suite for i in items}
    return BenchmarkSet(
        suite=header.suite or (suites.pop() if len(suites) == 1 else path.name.split(".")[0]),
        scale=scales.pop(),
        models=models,
        items=tuple(items),
        description=header.description,
        source=header.source,
        license=header.license,
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
