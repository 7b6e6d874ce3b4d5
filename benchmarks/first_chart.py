"""Fresh clone → first non-zero cost-per-turn chart on screen in JupyterLab (installs excluded).

Clones the repository into a temporary folder, starts JupyterLab there (as ``make lab`` does),
opens ``notebooks/01_prototype_a_persona.ipynb`` in headless Chromium, runs Run All and waits
until the chat widget's cost chart shows a bar taller than one pixel. Prints the seconds from
the clone to that moment, with the steps in between. Needs the widgets and local extras and
Debian's chromium (``make browser``).

    PYTHONPATH=. .venv/bin/python benchmarks/first_chart.py
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from tests.browser_harness import LabPage, chromium, jupyterlab_server  # the browser tests' harness

ROOT = Path(__file__).resolve().parents[1]
NONZERO_BAR = """() => [...document.querySelectorAll('.plab-cost-chart .js-plotly-plot .bars path')]
  .some(p => p.getBBox().height > 1)"""


def main() -> None:
    marks: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="persona-lab-first-chart-") as tmp:
        started = time.perf_counter()
        clone = Path(tmp) / "persona-lab"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        marks.append(("git clone", time.perf_counter()))
        with jupyterlab_server(clone) as lab, chromium() as browser:
            marks.append(("JupyterLab answering", time.perf_counter()))
            page = LabPage(browser.new_page(viewport={"width": 1280, "height": 1000}), lab)
            page.open("notebooks/01_prototype_a_persona.ipynb", timeout_s=120)
            marks.append(("notebook open, kernel idle", time.perf_counter()))
            page.run_all()
            page.page.wait_for_function(NONZERO_BAR, timeout=300_000, polling=100)
            marks.append(("first non-zero cost-per-turn bar", time.perf_counter()))
            page.wait_all_executed(timeout_s=300)
            marks.append(("Run All finished", time.perf_counter()))
            errors = page.errors()
    previous = started
    for label, at in marks:
        print(f"{label:<34} +{at - previous:6.1f} s   {at - started:6.1f} s")
        previous = at
    chart = dict(marks)["first non-zero cost-per-turn bar"] - started
    print(f"fresh clone → first non-zero cost-per-turn chart: {chart:.1f} s (target ≤ 60 s); cell errors: {errors}")


if __name__ == "__main__":
    main()
