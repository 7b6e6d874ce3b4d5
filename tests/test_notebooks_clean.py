"""The notebooks are committed clean (no outputs, counts or widget state) and use the public API only."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = (
    "01_prototype_a_persona.ipynb",
    "02_compare_routers.ipynb",
    "03_cost_per_turn.ipynb",
    "04_agent_run_with_ask_user.ipynb",
    "05_evaluate_persona_variants.ipynb",
    "06_journeys_branching_traces.ipynb",
)


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def code_cells(path: Path) -> list[tuple[int, str]]:
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    return [(n, cell.source) for n, cell in enumerate(nb.cells) if cell.cell_type == "code"]


def test_the_notebooks_are_there() -> None:
    assert [p.name for p in notebook_paths()] == list(EXPECTED)


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_a_notebook_has_no_outputs_counts_or_widget_state(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(nb)
    dirty = [
        f"cell {n}: {'outputs' if cell.outputs else 'execution_count'}"
        for n, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name} was saved with outputs ({', '.join(dirty)}); see notebooks/README.md"
    assert "widgets" not in nb.metadata, f"{path.name} carries saved widget state in its metadata"


def imported_names(source: str) -> list[tuple[str, str | None]]:
    """(module, name) for every persona_lab import in a cell; name is None for ``import module``."""
    tree = compile(source, "<cell>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "persona_lab":
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names if alias.name.split(".")[0] == "persona_lab"]
    return found


def import_problems(source: str) -> list[str]:
    """Imports in a cell that reach past the public API (private modules, names not in ``__all__``)."""
    problems = []
    for module, name in imported_names(source):
        if any(part.startswith("_") for part in module.split(".")):
            problems.append(f"private module {module}")
            continue
        public = getattr(importlib.import_module(module), "__all__", ())
        if name is not None and name not in public:
            problems.append(f"{name} is not in {module}.__all__")
    return problems


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_a_notebook_imports_public_names_only(path: Path) -> None:
    problems = [f"cell {n}: {problem}" for n, source in code_cells(path) for problem in import_problems(source)]
    assert not problems, f"{path.name}: " + "; ".join(problems)


def test_the_public_api_check_catches_private_modules_and_unexported_names() -> None:
    cell = (
        "from persona_lab.tiers._llama_cpp import LlamaCppBackend\n"
        "import persona_lab._persona\n"
        "from persona_lab.loops import logger, AgenticLoop\n"
        "await AgenticLoop"
    )
    assert import_problems(cell) == [
        "private module persona_lab.tiers._llama_cpp",
        "private module persona_lab._persona",
        "logger is not in persona_lab.loops.__all__",
    ]
    assert import_problems("from persona_lab import Persona\nfrom persona_lab.widgets import ChatWidget") == []
