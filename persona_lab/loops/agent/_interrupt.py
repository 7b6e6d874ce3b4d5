"""Waits a run's cancel token may interrupt: a model call's event stream, a tool, the user's answer."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from persona_lab.core import LoopEvent, Retrying, TextDelta
from persona_lab.loops.agent._cancel import CancelToken
from persona_lab.loops.agent._run_events import EventSink

__all__ = ["ConsumerFailed", "Interrupted", "guard", "pump"]

T = TypeVar("T")


class Interrupted(Exception):
    """The run's cancel token stopped a wait (or refused to start one)."""


class ConsumerFailed(Exception):
    """The caller's ``on_event`` raised; the run stops at this step boundary."""


async def guard(awaitable: Awaitable[T], token: CancelToken) -> T:
    """Await something the cancel token may interrupt."""
    if not token._arm():
        if inspect.iscoroutine(awaitable):
            awaitable.close()
        raise Interrupted
    try:
        return await awaitable
    except asyncio.CancelledError:
        if token._take_interrupt():
            raise Interrupted from None
        raise
    finally:
        token._disarm()


async def pump(
    events: AsyncIterator[LoopEvent], sink: EventSink, token: CancelToken, partial: list[str] | None = None
) -> None:
    """Forward a model call's events; a cancel interrupts the call between or inside chunks.

    ``partial`` collects the text streamed since the last retry (what a cut generation said).
    """
    while True:
        if not token._arm():
            await events.aclose()  # type: ignore[attr-defined]
            raise Interrupted
        try:
            event = await anext(events)
        except StopAsyncIteration:
            return
        except asyncio.CancelledError:
            if token._take_interrupt():
                raise Interrupted from None
            raise
        finally:
            token._disarm()
        if partial is not None:
            if type(event) is TextDelta:
                partial.append(event.text)
            elif type(event) is Retrying:
                partial.clear()
        await sink.emit(event)
