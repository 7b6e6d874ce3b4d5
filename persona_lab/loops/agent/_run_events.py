"""Delivering a run's events: to a callback (sync or async), or as an async iterator."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from persona_lab.core import LoopEvent, UsageError
from persona_lab.loops.agent._run import Run

__all__ = ["EventCallback", "EventSink", "RunStream"]

logger = logging.getLogger("persona_lab.loops")

EventCallback = Callable[[LoopEvent], "Awaitable[None] | None"]
"""Receives every event in order; may be a plain function or a coroutine function."""


class EventSink:
    """Delivers events to the caller's callback, sync or async, in order.

    A callback that raises is switched off (and logged); the run stops at the next step
    boundary with status ``error``, so no step is left half-done by a broken consumer.
    """

    __slots__ = ("callback", "failure")

    def __init__(self, callback: EventCallback | None):
        self.callback = callback
        self.failure: Exception | None = None

    async def emit(self, event: LoopEvent) -> None:
        callback = self.callback
        if callback is None:
            return
        try:
            result = callback(event)
            if result is not None and inspect.isawaitable(result):
                await result
        except Exception as exc:
            logger.error("on_event raised on a %s event; events are no longer delivered", event.kind, exc_info=True)
            self.callback = None
            if self.failure is None:
                self.failure = exc


class RunStream:
    """The events of one run as an async iterator; ``run`` holds the :class:`Run` at the end.

    Leaving the ``async for`` early cancels the run's task.
    """

    def __init__(self, start: Callable[[EventCallback], Awaitable[Run]]):
        self._start = start
        self._used = False
        self.run: Run | None = None

    def __repr__(self) -> str:
        return f"RunStream(run={self.run!r})"

    def __aiter__(self) -> AsyncIterator[LoopEvent]:
        if self._used:
            raise UsageError("a RunStream can be iterated only once; call agent.stream(...) again")
        self._used = True
        return self._events()

    async def _events(self) -> AsyncIterator[LoopEvent]:
        queue: asyncio.Queue[LoopEvent | None] = asyncio.Queue()

        async def main() -> None:
            try:
                self.run = await self._start(queue.put_nowait)
            finally:
                queue.put_nowait(None)

        task = asyncio.ensure_future(main())
        try:
            while True:
                event = await queue.get()
                if event is None:
                    break
                yield event
            await task
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
