"""No module-level mutable state in persona_lab: every module-level value is immutable.

Module state made concurrent ``compare()`` calls return each other's routers. The scan reads
every module's top-level assignments (AST) and checks the imported value: constants, tuples,
frozensets, read-only mappings, compiled patterns, loggers, type aliases, classes, functions
and frozen records pass; dicts, lists, sets, caches and other mutable objects fail, as do
``global`` statements and ``functools.cache``/``lru_cache`` on module functions.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import importlib
import logging
import re
import threading
import types
import typing
from pathlib import Path
from typing import Any

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "persona_lab"

# (module, name): why this module-level object may change
ALLOWED: dict[tuple[str, str], str] = {
    ("persona_lab.core._sync", "_local"): "run_sync's per-thread private event loop (one per thread, never shared)",
    ("persona_lab.tiers._llama_cpp_compat", "_PLAIN_BUFFERS"): "a context variable: scopes the llama.cpp model "
    "defaults to one load in one thread or task",
}

# (module, function): why a module-level memo is allowed (a pure function of immutable
# arguments whose result is never changed: a memo, not state shared between callers' work)
ALLOWED_CACHES: dict[tuple[str, str], str] = {
    ("persona_lab.routers._word_patterns", "word_patterns"): "pattern tuple → compiled search, never mutated",
    ("persona_lab.routers._word_patterns", "word_phrases"): "phrase tuple → compiled search, never mutated",
    ("persona_lab.routers._difficulty", "_signals"): "the default signal search, built once, never mutated",
}

_ATOMS = (str, bytes, int, float, complex, bool, type(None), range, re.Pattern, logging.Logger,
          typing.TypeVar, types.UnionType, types.GenericAlias, type(Ellipsis), types.FunctionType,
          types.BuiltinFunctionType, types.ModuleType, enum.Enum, type)


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _immutable(value: Any, depth: int = 0) -> bool:
    if depth > 6:
        return False
    if isinstance(value, _ATOMS) or type(value).__module__ == "typing" or type(value) is object:  # a sentinel
        return True
    if isinstance(value, (tuple, frozenset)):
        return all(_immutable(v, depth + 1) for v in value)
    if isinstance(value, types.MappingProxyType):
        return all(_immutable(k, depth + 1) and _immutable(v, depth + 1) for k, v in value.items())
    if dataclasses.is_dataclass(value):
        params = getattr(type(value), "__dataclass_params__", None)
        return bool(params and params.frozen) and all(
            _immutable(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value))
    config = getattr(type(value), "model_config", None)
    if isinstance(config, dict) and "model_fields" in dir(type(value)):  # pydantic
        return bool(config.get("frozen"))
    return False


def _assigned_names(tree: ast.Module) -> list[tuple[str, int]]:
    found = []
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        for target in targets:
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Name):
                    found.append((leaf.id, node.lineno))
    return found


def _cached_functions(tree: ast.Module) -> list[tuple[str, int]]:
    found = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                text = ast.unparse(decorator)
                if re.search(r"\b(lru_cache|cache)\b", text):
                    found.append((node.name, node.lineno))
    return found


def test_the_scan_sees_the_whole_package() -> None:
    modules = _modules()
    assert len(modules) > 100 and "persona_lab.bench._compare" in modules


@pytest.mark.parametrize("module_name", _modules())
def test_no_module_level_mutable_state(module_name: str) -> None:
    path = PACKAGE.parent / (module_name.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE.parent / module_name.replace(".", "/") / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems = [f"line {node.lineno}: global {', '.join(node.names)}" for node in ast.walk(tree)
                if isinstance(node, ast.Global)]
    problems += [f"line {line}: {name}() caches at module level" for name, line in _cached_functions(tree)
                 if (module_name, name) not in ALLOWED_CACHES]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # an optional extra that is not installed
        pytest.skip(f"{module_name}: {exc}")
    for name, line in _assigned_names(tree):
        if name == "__all__" or (module_name, name) in ALLOWED or not hasattr(module, name):
            continue
        value = getattr(module, name)
        if not _immutable(value):
            problems.append(f"line {line}: {name} is a mutable {type(value).__name__}")
    assert not problems, f"{module_name} keeps module-level mutable state:\n" + "\n".join(problems)


def test_the_scan_catches_mutable_values() -> None:
    assert not _immutable({"a": 1}) and not _immutable([1]) and not _immutable({1})
    assert not _immutable(types.MappingProxyType({"a": {"nested": 1}}))
    assert not _immutable(threading.Lock()) and not _immutable((1, [2]))
    assert _immutable(types.MappingProxyType({"a": (1, 2)})) and _immutable(frozenset({"x"}))
    tree = ast.parse("import functools\n@functools.lru_cache\ndef f(): pass\n@cache\ndef g(): pass\n")
    assert [name for name, _ in _cached_functions(tree)] == ["f", "g"]
