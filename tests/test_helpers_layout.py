"""Test helpers live in tests/ helper modules: no test file imports another test file or conftest."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_test_module_or_conftest_is_imported() -> None:
    offending = []
    for path in sorted(TESTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                name = node.module.split(".")[-1]
                if node.module.startswith("tests.") and (name.startswith("test_") or name == "conftest"):
                    offending.append(f"{path.name}:{node.lineno}: from {node.module} import ...")
    assert not offending, "\n".join(offending)


def test_helper_modules_hold_no_tests() -> None:
    for path in sorted(TESTS.glob("*.py")):
        if path.name.startswith("test_") or path.name == "conftest.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tests = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and n.name.startswith("test")]
        assert not tests, f"{path.name} is a helper module but defines {tests}"


def test_the_browser_harness_does_not_ship_in_the_package() -> None:
    package = TESTS.parent / "persona_lab"
    assert not (package / "widgets" / "testing.py").exists()
    assert (TESTS / "browser_harness.py").exists()
