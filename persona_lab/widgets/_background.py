"""Background tasks on the kernel's event loop, started from widget callbacks.

A widget must never block the cell or await inside a callback: while a cell runs, button clicks
only reach Python if the work runs as a task on the kernel's running loop. Callbacks may arrive
on another thread (kernel subshells), so everything that touches the loop goes through
``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from persona_lab.core import UsageError

__all__ = ["TaskSlot", "current_loop", "resolve_threadsafe"]

T = TypeVar("T")


def current_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if any (in Jupyter: the kernel's loop)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def resolve_threadsafe(loop: asyncio.AbstractEventLoop, future: asyncio.Future[T], value: T) -> None:
    """Complete ``future`` with ``value`` from any thread (a no-op if it is already done)."""

    def resolve() -> None:
        if not future.done():
            future.set_result(value)

    loop.call_soon_threadsafe(resolve)


class TaskSlot:
    """Holds at most one background task: start, cancel, and report how it ended.

    ``start`` returns at once and refuses a second task while one runs (a double click does not
    start a second turn). ``on_done(task)`` runs on the loop when the task ends, however it ends;
    the task keeps its exception so a later cell can ``await`` it and see it.
    """

    def __init__(self, on_done: Callable[[asyncio.Task[Any]], None]):
        self.loop: asyncio.AbstractEventLoop | None = current_loop()
        self.task: asyncio.Task[Any] | None = None
        self._on_done = on_done
        self._busy = False
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._busy

    def start(self, factory: Callable[[], Coroutine[Any, Any, Any]]) -> bool:
        """Run ``factory()`` as a task on the loop; ``False`` if a task is already running."""
        with self._lock:
            if self._busy:
                return False
            self._busy = True
        loop = self.loop or current_loop()
        if loop is None or loop.is_closed():
            self._busy = False
            raise UsageError(
                "no running event loop: create the widget in a Jupyter notebook cell (or inside a "
                "coroutine), so its turns can run as tasks on that loop"
            )
        self.loop = loop
        if current_loop() is loop:
            self._create(factory)
        else:
            loop.call_soon_threadsafe(self._create, factory)
        return True

    def _create(self, factory: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        assert self.loop is not None
        try:
            task = self.loop.create_task(factory())
        except BaseException:
            self._busy = False
            raise
        self.task = task
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._busy = False
        self._on_done(task)

    def call(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` on the loop, whichever thread asks."""
        loop = self.loop or current_loop()
        if loop is None:
            callback()
            return
        if current_loop() is loop:
            callback()
        else:
            loop.call_soon_threadsafe(callback)

    def cancel(self) -> bool:
        """Cancel the running task (thread-safe); ``False`` if nothing runs."""
        task = self.task
        if not self._busy or task is None or task.done():
            return False
        self.call(task.cancel)
        return True
