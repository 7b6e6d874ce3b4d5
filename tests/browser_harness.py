"""Drive the widgets in a real JupyterLab page through Chromium (browser tests, benchmarks).

:func:`jupyterlab_server` starts JupyterLab on 127.0.0.1 with throwaway config, data and
runtime directories and a random token, and stops it by its process id. :func:`chromium` opens
Debian's Chromium through Playwright (never ``playwright install``: nothing is downloaded).
:class:`LabPage` opens a notebook, runs its cells and reads their state through the JupyterLab
application object (``--LabApp.expose_app_in_browser``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CHROMIUM_ARGS",
    "CHROMIUM_PATH",
    "JupyterLab",
    "LabPage",
    "alive",
    "chromium",
    "chromium_available",
    "descendants",
    "free_port",
    "jupyterlab_server",
    "write_notebook",
]

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_notebook(path: Path, cells: Sequence[str]) -> Path:
    """Write a notebook of code cells (Python 3 kernel) to ``path``."""
    import nbformat

    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]  # type: ignore[no-untyped-call]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))  # type: ignore[no-untyped-call]
    return path


@dataclass(frozen=True, slots=True)
class JupyterLab:
    """A running JupyterLab server."""

    url: str
    token: str
    root: Path
    pid: int
    log_path: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str, timeout_s: float = 2.0) -> int:
    """HTTP status of ``url`` (0 when nothing answers), never through a proxy."""
    try:
        with _DIRECT.open(url, timeout=timeout_s) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def descendants(pid: int) -> list[int]:
    """Process ids of every live descendant of ``pid`` (Linux ``/proc``; empty elsewhere)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = entry.read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may contain spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.parent.name)] = int(fields[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not Path("/proc").exists()
    return state[state.rindex(")") + 2] != "Z"


@contextlib.contextmanager
def jupyterlab_server(root: Path, *, startup_timeout_s: float = 60.0) -> Iterator[JupyterLab]:
    """Run JupyterLab serving ``root`` on a free port; stop it (and its kernels) on exit.

    On exit the server gets SIGTERM by its process id (it shuts its kernels down); the server,
    and any of the processes it started (kernels, noted by id just before) that are still alive
    after 15 s, get SIGKILL by id. Nothing of it survives the block.
    """
    root = Path(root)
    state = root / ".jupyter-state"
    for sub in ("config", "data", "runtime", "ipython", "workspaces"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    labconfig = state / "config" / "labconfig"
    labconfig.mkdir(exist_ok=True)
    # No "get notified about Jupyter news?" toast over the page (and no fetch of it).
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    port = free_port()
    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(state / "config"),
        "JUPYTER_DATA_DIR": str(state / "data"),
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "IPYTHONDIR": str(state / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabServerApp.workspaces_dir={state / 'workspaces'}",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log_path = root / "jupyterlab.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True
        )
    lab = JupyterLab(f"http://127.0.0.1:{port}", token, root, process.pid, log_path)
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n{lab.log_tail()}")
            if _get(f"{lab.url}/api/status?token={token}") == 200:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"JupyterLab did not answer within {startup_timeout_s} s:\n{lab.log_tail()}")
            time.sleep(0.2)
        yield lab
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    started = descendants(process.pid)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in started:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def chromium_available() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when they can."""
    if not Path(CHROMIUM_PATH).exists():
        return f"{CHROMIUM_PATH} is missing (apt-get install chromium)"
    if not _playwright_importable():
        return "the playwright Python package is not installed"
    return None


def _playwright_importable() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def chromium(*, headless: bool = True) -> Iterator[Any]:
    """A Playwright ``Browser`` on Debian's Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=headless, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


_NOTEBOOK_STATE = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) { return null; }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code').map(c => {
    const outputs = c.model.outputs.toJSON();
    return {
      count: c.model.executionCount,
      errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
      text: outputs.map(o => o.text ? (Array.isArray(o.text) ? o.text.join('') : o.text) :
        (o.data && o.data['text/plain'] ? [].concat(o.data['text/plain']).join('') : '')).join(''),
    };
  });
  return {kernel: kernel ? kernel.status : null, cells: cells};
}"""


_EXECUTE = """async ({code, ms}) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code: code, stop_on_error: true});
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('no reply in ' + ms + ' ms')), ms));
  let out = '';
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') { out += msg.content.text; }
    if (msg.header.msg_type === 'error') { out += 'ERROR ' + msg.content.ename + ': ' + msg.content.evalue; }
  };
  await Promise.race([future.done, timeout]);
  return out;
}"""


class LabPage:
    """A JupyterLab page showing one notebook."""

    def __init__(self, page: Any, lab: JupyterLab):
        self.page = page
        self.lab = lab

    def open(self, name: str, *, timeout_s: float = 60.0) -> None:
        """Open notebook ``name`` (relative to the server root) and wait for an idle kernel."""
        self.page.goto(self.lab.notebook_url(name), timeout=timeout_s * 1000)
        self.page.wait_for_function(
            "() => { const s = (" + _NOTEBOOK_STATE + ")(); return s !== null && s.kernel === 'idle'; }",
            timeout=timeout_s * 1000,
            polling=200,
        )

    def state(self) -> dict[str, Any]:
        """Kernel status and, per code cell, execution count, error outputs and text outputs."""
        state: dict[str, Any] = self.page.evaluate(_NOTEBOOK_STATE)
        return state

    def run_all(self) -> None:
        """Run > Run All Cells (the same command the menu runs)."""
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    def wait_all_executed(self, *, after: int = 0, timeout_s: float = 60.0) -> dict[str, Any]:
        """Wait until every code cell ran (execution count above ``after``) and the kernel is idle."""
        self.page.wait_for_function(
            "(after) => { const s = (" + _NOTEBOOK_STATE + ")(); return s !== null && s.kernel === 'idle' && "
            "s.cells.every(c => c.count !== null && c.count > after); }",
            arg=after,
            timeout=timeout_s * 1000,
            polling=100,
        )
        return self.state()

    def execute(self, code: str, *, timeout_s: float = 30.0) -> str:
        """Run ``code`` in the notebook's kernel (not in a cell); its stdout, and errors as ``ERROR name: value``."""
        out: str = self.page.evaluate(_EXECUTE, {"code": code, "ms": int(timeout_s * 1000)})
        return out

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)

    def errors(self) -> list[str]:
        """Every error output in the notebook (``ename: evalue``)."""
        return [e for cell in self.state()["cells"] for e in cell["errors"]]

    def __repr__(self) -> str:
        return f"LabPage({json.dumps(self.lab.url)})"
