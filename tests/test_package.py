"""The public surface, the layering rule, import cost and secrets."""

from __future__ import annotations

import ast
import importlib
import logging
import subprocess
import sys
from pathlib import Path

import pytest

import persona_lab

PACKAGE = Path(persona_lab.__file__).parent

# Lower layers first; a module may import only from its own layer or lower ones.
LAYERS = [
    {"_errors", "_tokens", "_persona", "_messages", "_display"},
    {"tiers"},
    {"routers"},
    {"memory"},
    {"loops"},
    {"logs", "tracing"},
    {"metrics"},
    {"widgets", "bench", "cli", "branching", "journeys", "evaluation"},
]


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "persona_lab" or len(parts) < 2:
        return None
    for level, names in enumerate(LAYERS):
        if parts[1] in names:
            return level
    return None


def test_every_export_resolves_and_all_is_sorted() -> None:
    assert persona_lab.__all__ == sorted(persona_lab.__all__)
    for name in persona_lab.__all__:
        assert getattr(persona_lab, name) is not None, name
    with pytest.raises(AttributeError):
        persona_lab.NoSuchThing  # noqa: B018


@pytest.mark.parametrize("sub", ["tiers", "routers", "memory", "loops", "logs", "evaluation"])
def test_subpackage_all_matches_its_reexports(sub: str) -> None:
    module = importlib.import_module(f"persona_lab.{sub}")
    assert len(module.__all__) == len(set(module.__all__))  # order: ruff's RUF022
    for name in module.__all__:
        assert getattr(module, name) is not None, name  # lazily loaded names resolve too
    public = {n for n in vars(module) if not n.startswith("_") and n not in ("annotations",)}
    imported_modules = {n for n in public if isinstance(getattr(module, n), type(sys))}
    assert public - imported_modules <= set(module.__all__)


def test_no_module_imports_a_higher_layer() -> None:
    violations = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        own = layer_of(module)
        if own is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                level = layer_of(target)
                if level is not None and level > own:
                    violations.append(f"{module} imports {target}")
    assert violations == []


def test_import_is_light() -> None:
    code = (
        "import sys, persona_lab; "
        "heavy = [m for m in ('openai', 'anthropic', 'pandas', 'pydantic', 'sklearn', 'ipywidgets', 'plotly') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_package_logger_is_silent_by_default() -> None:
    handlers = logging.getLogger("persona_lab").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_api_keys_never_reach_logs_or_turn_logs(caplog: pytest.LogCaptureFixture) -> None:
    from persona_lab import ConversationLoop, FixedRouter, Persona, TierRegistry
    from persona_lab.tiers import ModelConfig, ScriptedBackend

    key = "sk-live-SECRET-0123456789"
    persona = Persona.from_dict({"id": "p", "identity": {"name": "A", "role": "B"}})
    config = ModelConfig("scripted", "m", api_key=key, backend=ScriptedBackend(["hello"]))
    loop = ConversationLoop(persona, TierRegistry({"mid": config}), FixedRouter("mid"))
    with caplog.at_level(logging.DEBUG, logger="persona_lab"):
        result = loop.chat(loop.new_conversation(), "hi")
    dumped = str(result.turn_log.to_dict()) + repr(loop) + caplog.text + repr(result.events)
    assert key not in dumped
