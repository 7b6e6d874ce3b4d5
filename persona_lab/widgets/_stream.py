"""Batched updates of one HTML widget while text streams in.

One widget-state message per token lags the page at full model speed and, above about 1,000
messages a second, the server drops updates, the last one included. So changes only mark the
view dirty; a timer renders at most once per ``interval_s``, and :meth:`close` always sends the
final, complete state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["FLUSH_INTERVAL_S", "ThrottledView"]

FLUSH_INTERVAL_S = 0.05


class ThrottledView:
    """Renders ``render()`` into ``target.value`` at most every ``interval_s`` seconds.

    ``flushes`` counts the assignments made (what reaches the browser), ``changes`` the
    :meth:`touch` calls (what happened) — their ratio is the batching factor.
    """

    def __init__(self, target: Any, render: Callable[[], str], *, interval_s: float = FLUSH_INTERVAL_S):
        self.target = target
        self.render = render
        self.interval_s = interval_s
        self.flushes = 0
        self.changes = 0
        self._timer: asyncio.TimerHandle | None = None

    def touch(self) -> None:
        """Something changed: render soon (within ``interval_s``), not now."""
        self.changes += 1
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._timer = loop.call_later(self.interval_s, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.flush()

    def flush(self) -> None:
        """Render now, cancelling a pending timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        value = self.render()
        if self.target.value != value:
            self.target.value = value
            self.flushes += 1

    close = flush
