"""The three user stories (chat with a persona, see cost per turn, compare routers) as two scripts,
before and after issue 15: prints imported names, lines and concepts of each, then runs both.

    PYTHONPATH=. .venv/bin/python benchmarks/user_stories.py

"Lines" are non-blank, non-comment lines (ruff-formatted: a long import list takes a line per
name); "statements" counts Python statements, which formatting does not change. "Concepts" are
the distinct persona-lab names a user must know: imported names, plus the attributes and keyword
arguments used on persona-lab objects.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent / "user_stories"
ROOT = HERE.parents[1]
NOT_PERSONA_LAB = {"px", "write_html", "bar", "assign", "sort_values", "print", "x", "y", "color", "turn"}


def measure(path: Path) -> dict[str, object]:
    source = path.read_text()
    tree = ast.parse(source)
    imported = [a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                and (n.module or "").startswith("persona_lab") for a in n.names]
    lines = [ln for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    statements = [n for n in ast.walk(tree) if isinstance(n, ast.stmt)]
    attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} - NOT_PERSONA_LAB
    keywords = {k.arg for n in ast.walk(tree) if isinstance(n, ast.Call) for k in n.keywords if k.arg} - NOT_PERSONA_LAB
    concepts = set(imported) | attributes | keywords
    return {"imports": len(imported), "lines": len(lines), "statements": len(statements), "concepts": len(concepts),
            "names": sorted(concepts)}


def main() -> None:
    (ROOT / "runs").mkdir(exist_ok=True)
    for name in ("before", "after"):
        path = HERE / f"{name}.py"
        figures = measure(path)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(path)], cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        status = "ran" if result.returncode == 0 else f"FAILED:\n{result.stderr[-2000:]}"
        print(f"{name:<7} imports {figures['imports']:>2} · lines {figures['lines']:>2} · "
              f"statements {figures['statements']:>2} · "
              f"concepts {figures['concepts']:>2} · {status} in {seconds:.1f} s")
        print(f"        {', '.join(figures['names'])}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
