"""A cancel token the caller holds to stop an agent run, from a button, a task or a thread.

The loop checks the token at every step boundary. Around the waits that may take long (a model
generating, an async tool running, a user being asked) the loop *arms* the token: cancelling an
armed token interrupts that wait at once by cancelling the run's task, and the loop turns the
interruption into a ``cancelled`` run. Outside armed waits a cancel only sets the flag, so the
loop's own bookkeeping (events, turn logs) is never cut in half.
"""

from __future__ import annotations

import asyncio
import threading

__all__ = ["CancelToken"]

_INTERRUPT = "persona_lab: run cancelled through its CancelToken"


class CancelToken:
    """Cancel a run: ``token.cancel(reason)``; ``token.cancelled`` says whether it was.

    A token stays cancelled. It may be shared by several runs; each run binds to it while it
    is running.
    """

    __slots__ = ("_armed", "_fired", "_loop", "_reason", "_task", "_thread")

    def __init__(self) -> None:
        self._reason: str | None = None
        self._task: asyncio.Task[object] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._armed = False
        self._fired = False

    def __repr__(self) -> str:
        state = f"cancelled, reason={self._reason!r}" if self._reason is not None else "active"
        return f"CancelToken({state})"

    @property
    def cancelled(self) -> bool:
        return self._reason is not None

    @property
    def reason(self) -> str | None:
        return self._reason

    def cancel(self, reason: str = "cancelled by the caller") -> None:
        """Ask the run to stop; safe to call from any thread, more than once (the first reason wins)."""
        if self._reason is not None:
            return
        self._reason = reason or "cancelled by the caller"
        loop = self._loop
        if loop is None:
            return
        if threading.get_ident() == self._thread:
            self._interrupt()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._interrupt)

    # -- used by the loop --------------------------------------------------------------------

    def _interrupt(self) -> None:
        task = self._task
        if not self._armed or task is None or self._fired or task.done():
            return
        try:
            current = asyncio.current_task()
        except RuntimeError:
            current = None
        if current is task:
            # Called from inside the run itself (a sync tool, an event callback): the flag is
            # enough, the next boundary stops the run.
            return
        self._fired = True
        task.cancel(_INTERRUPT)

    def _bind(self) -> None:
        """Attach to the running task: later cancels may interrupt its armed waits."""
        self._task = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._armed = False
        self._fired = False

    def _unbind(self) -> None:
        self._task = None
        self._armed = False

    def _arm(self) -> bool:
        """Open an interruptible wait; ``False`` when the token is already cancelled."""
        if self._reason is not None:
            return False
        self._armed = True
        return True

    def _disarm(self) -> None:
        self._armed = False

    def _take_interrupt(self) -> bool:
        """After a ``CancelledError``: ``True`` if this token caused it (and clear the task's cancel)."""
        if not self._fired:
            return False
        self._fired = False
        task = self._task
        if task is not None:
            task.uncancel()
            if task.cancelling():
                # Someone else cancelled the task as well: that cancellation must propagate.
                return False
        return True
