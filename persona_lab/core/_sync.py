"""Run a coroutine to completion from sync code, in scripts and inside Jupyter.

In a plain script one private event loop is reused, so SDK clients bound to it keep working
across calls. Inside a running loop (Jupyter), ``nest_asyncio2`` is applied to that loop here
and only here, never at import (``nest_asyncio`` 1.6 froze ipykernel 7 on "Run All").
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")

_local = threading.local()


def _private_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
    return loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` and return its result, whether or not an event loop is already running."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is None:
        return _private_loop().run_until_complete(coro)
    import nest_asyncio2

    nest_asyncio2.apply(running)
    return running.run_until_complete(coro)
