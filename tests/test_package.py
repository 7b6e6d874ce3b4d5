"""The public surface, the layering rule, import cost and secrets."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

import persona_lab

PACKAGE = Path(persona_lab.__file__).parent

# Lower layers first; a module may import only from its own layer or lower ones. The top layer
# leaves room for the packages other work adds (evaluation, journeys, branching, tracing, …).
TOP_LAYER = {
    "bench",
    "evaluation",
    "widgets",
    "cli",
    "journeys",
    "branching",
    "tracing",
    "scale",
    "integrations",
    "mlflow",
}
LAYERS = [
    {"core"},
    {"persona"},
    {"tiers"},
    {"routers"},
    {"memory"},
    {"loops"},
    {"logs"},
    {"metrics"},
    TOP_LAYER,
]
ROOT = PACKAGE.parent


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


def test_the_top_level_holds_no_public_name_beyond_all() -> None:
    """httpx's test_exported_members: an accidental export fails here, not in a release."""
    for name in persona_lab.__all__:
        getattr(persona_lab, name)
    public = sorted(
        n
        for n, v in vars(persona_lab).items()
        if not n.startswith("_") and n != "annotations" and not isinstance(v, type(sys))  # subpackages
    )
    assert public == [n for n in persona_lab.__all__ if n != "__version__"]


def test_exported_members_report_the_public_module() -> None:
    """As httpx does: reprs and tracebacks show ``persona_lab.X``, the one documented path."""
    for name in persona_lab.__all__:
        member = getattr(persona_lab, name)
        if isinstance(member, type) or inspect.isfunction(member):
            assert member.__module__ == "persona_lab", name
    assert repr(persona_lab.AllTiersFailed) == "<class 'persona_lab.AllTiersFailed'>"


def test_the_whole_error_tree_is_importable_from_the_top_level() -> None:
    from persona_lab import core

    errors = {
        name
        for name in core.__all__
        if isinstance(getattr(core, name), type)
        and issubclass(getattr(core, name), (core.PersonaLabError, core.UsageError))
    }
    assert errors <= set(persona_lab.__all__)
    assert {"RateLimited", "ProviderTimeout", "AuthFailed", "StreamInterrupted"} <= errors
    # the error module of every subclass is the public one, even before the top level touched it
    assert all(getattr(core, name).__module__ == "persona_lab" for name in errors)


def test_no_error_class_is_declared_that_nothing_raises() -> None:
    from persona_lab import core

    source = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py") if p.name != "_errors.py")
    errors = [n for n in core.__all__ if isinstance(getattr(core, n), type) and issubclass(getattr(core, n), Exception)]
    never = [n for n in errors if not re.search(rf"\b{n}\b", source)]
    assert never == []


@pytest.mark.parametrize("sub", ["core", "persona", "tiers", "routers", "memory", "loops", "logs", "evaluation"])
def test_subpackage_all_matches_its_reexports(sub: str) -> None:
    module = importlib.import_module(f"persona_lab.{sub}")
    assert len(module.__all__) == len(set(module.__all__))  # order: ruff's RUF022
    for name in module.__all__:
        assert getattr(module, name) is not None, name  # lazily loaded names resolve too
    public = {n for n in vars(module) if not n.startswith("_") and n not in ("annotations",)}
    imported_modules = {n for n in public if isinstance(getattr(module, n), type(sys))}
    assert public - imported_modules <= set(module.__all__)


def _imports(path: Path) -> list[str]:
    """Every absolute module an import in ``path`` names (``from m import x`` gives ``m`` and ``m.x``)."""
    tree = ast.parse(path.read_text())
    targets: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets.append(node.module)
            targets += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Import):
            targets += [a.name for a in node.names]
    return targets


def private_reach(importer: str, target: str) -> bool:
    """True when ``target`` is ``persona_lab.<pkg>._x…`` and ``importer`` is not inside ``<pkg>``."""
    parts = target.split(".")
    if parts[0] != "persona_lab" or len(parts) < 2:
        return False
    if len(parts) == 2:  # persona_lab._x: the old top-level modules are gone
        return parts[1].startswith("_") and parts[1] != "__version__"
    inside = importer.split(".")[:2] == parts[:2]
    return not inside and any(p.startswith("_") for p in parts[2:])


def test_private_reach_rule() -> None:
    assert private_reach("persona_lab.bench._runner", "persona_lab.loops._conversation")
    assert private_reach("benchmarks.loop_overhead", "persona_lab.core._messages")
    assert not private_reach("persona_lab.loops.agent._loop", "persona_lab.loops.agent._run")
    assert not private_reach("persona_lab.bench._runner", "persona_lab.loops")
    assert not private_reach("persona_lab.bench._runner", "persona_lab.core")


def test_packages_and_benchmarks_import_other_packages_through_public_names_only() -> None:
    violations = []
    files = [*PACKAGE.rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
    for path in files:
        importer = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        violations += [f"{importer} imports {t}" for t in _imports(path) if private_reach(importer, t)]
    assert violations == []


def test_notebooks_import_public_names_only() -> None:
    violations = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for n, cell in enumerate(json.loads(path.read_text())["cells"]):
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or "persona_lab" not in source:
                continue
            tree = compile(source, path.name, "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and private_reach("notebook", node.module):
                    violations.append(f"{path.name} cell {n}: {node.module}")
    assert violations == []


def test_core_imports_nothing_else_of_persona_lab() -> None:
    for path in (PACKAGE / "core").rglob("*.py"):
        outside = [t for t in _imports(path) if t.startswith("persona_lab.") and not t.startswith("persona_lab.core")]
        assert outside == [], path.name


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
