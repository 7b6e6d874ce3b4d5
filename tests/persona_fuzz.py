"""Malformed persona files, generated from a seed: random bytes, other encodings, deep nesting,
YAML tags, aliases, huge values, wrong types, mutations of a valid file.

Used by ``tests/test_persona_malformed.py`` and ``benchmarks/fault_matrix.py``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

from persona_lab import Persona, PersonaError

VALID = """\
id: fuzz-persona
identity:
  name: Ada
  role: a careful research assistant
  background: |
    Reads papers. Writes summaries — with care, naïvely or not. 中文 🙂
  constraints: [cite sources]
self_facts: [likes tea]
worldview:
  - claim: Data beats opinion.
    confidence: 0.9
memories:
  - text: Met the user last week.
tools: [lookup_statute]
skills:
  - name: summarise
    description: short summaries
routing:
  tier: auto
  max_cost_per_turn_usd: 0.05
  max_cost_per_session_usd: 2.0
  keywords:
    frontier: [court, appeal]
autonomy:
  max_questions: 2
  max_steps: 10
"""

_TAGS = [
    "!!python/object/apply:os.system ['echo pwned']",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!custom value",
    "!!timestamp 2024-13-45",
    "!!float .inf",
    "!!str 10",
    "!!omap [a: 1]",
]

_VALUES = [
    '"10"', "true", "false", ".inf", "-.inf", ".nan", "1e999", "-1", "0", "null", "~", "[]", "{}",
    "9" * 5000, "0x10", "0o17", "1_000", "2024-01-01", "12:30:00", "yes", "no", "on", "'0.5'",
    "[1, 2]", "{a: 1}", "3.5", "-0.0",
]

_FIELDS = [
    "id", "identity", "identity.name", "identity.role", "identity.constraints", "worldview.0.confidence",
    "worldview.0.claim", "routing.tier", "routing.max_cost_per_turn_usd", "routing.max_cost_per_session_usd",
    "routing.keywords", "autonomy.max_steps", "autonomy.max_questions", "tools", "skills.0.name", "memories",
]


def _set_field(text: str, dotted: str, value: str) -> str:
    """``VALID`` with the line of a field's last key replaced (a crude but line-preserving edit)."""
    key = dotted.split(".")[-1]
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.lstrip(" -")
        if stripped.startswith(key + ":"):
            indent = line[: len(line) - len(line.lstrip())]
            dash = "- " if line.lstrip().startswith("- ") else ""
            lines[i] = f"{indent}{dash}{key}: {value}"
            return "\n".join(lines) + "\n"
    return text


def _nested(rng: random.Random) -> str:
    depth = rng.choice([40, 200, 1_000])
    if rng.random() < 0.5:
        return "id: x\nidentity: " + "[" * depth + "]" * depth + "\n"
    body = "".join("  " * i + f"k{i}:\n" for i in range(min(depth, 300)))
    return "id: x\nidentity:\n" + "\n".join("  " + line for line in body.splitlines()) + " 1\n"


def _alias_bomb(rng: random.Random) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, rng.randint(3, 10)):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "id: x\nidentity: {name: A, role: B}\n" + "\n".join(lines) + "\n"


def _encoded(rng: random.Random) -> bytes:
    encoding = rng.choice(
        ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252", "shift_jis", "utf-8-sig"]
    )
    text = VALID
    if encoding in ("latin-1", "cp1252"):
        text = VALID.replace("中文 🙂", "").replace("—", "-").replace("Ada", "Adé")
    if encoding == "shift_jis":
        text = VALID.replace("Reads papers", "論文を読む").replace("—", "-").replace("🙂", "")
    return text.encode(encoding, errors="replace")


def _mutated(rng: random.Random) -> bytes:
    data = bytearray(VALID.encode())
    for _ in range(rng.randint(1, 12)):
        op = rng.random()
        pos = rng.randrange(len(data))
        if op < 0.4:
            data[pos] = rng.randrange(256)
        elif op < 0.6:
            del data[pos : pos + rng.randint(1, 20)]
        elif op < 0.8:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            data = data[:pos]
            break
    return bytes(data)


def _huge(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return _set_field(VALID, "identity.background", '"' + "x" * 100_001 + '"')
    if kind == 1:
        return _set_field(VALID, "autonomy.max_steps", "9" * rng.choice([30, 5_000, 50_000]))
    if kind == 2:
        return _set_field(VALID, "max_cost_per_session_usd", "1" * rng.choice([400, 5_000]) + ".0")
    return VALID + "#" * (1 << 20) + "\n"


Case = tuple[str, bytes]


def cases(n: int, *, seed: int = 0) -> Iterator[Case]:
    """``n`` (kind, file bytes) cases, reproducibly."""
    rng = random.Random(seed)
    makers: list[tuple[str, Callable[[random.Random], bytes]]] = [
        ("random-bytes", lambda r: bytes(r.randrange(256) for _ in range(r.randint(0, 400)))),
        ("encoding", _encoded),
        ("nesting", lambda r: _nested(r).encode()),
        ("tag", lambda r: _set_field(VALID, r.choice(_FIELDS), r.choice(_TAGS)).encode()),
        ("alias", lambda r: _alias_bomb(r).encode()),
        ("huge", lambda r: _huge(r).encode()),
        ("wrong-type", lambda r: _set_field(VALID, r.choice(_FIELDS), r.choice(_VALUES)).encode()),
        ("mutation", _mutated),
        ("duplicate-key", lambda r: (VALID + r.choice(["id: again\n", "routing: {}\n", "tools: []\n"])).encode()),
    ]
    for i in range(n):
        kind, make = makers[i % len(makers)]
        yield kind, make(rng)


def load_case(data: bytes, directory: Path, index: int) -> Persona | PersonaError:
    """Load one case from a file: the persona, or the :class:`PersonaError` it raised (anything else propagates)."""
    path = directory / f"case_{index}.yaml"
    path.write_bytes(data)
    try:
        return Persona.from_yaml(path)
    except PersonaError as exc:
        return exc
