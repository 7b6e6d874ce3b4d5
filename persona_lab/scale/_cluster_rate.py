"""A requests-per-second limit that holds across every worker of a Dask cluster.

Every request start reserves the next free slot of one schedule kept *on the Dask scheduler*:
the reservation runs there (``Client.run_on_scheduler``), where a single event loop makes it
atomic, and answers the start time reserved (wall-clock seconds). The worker waits until then
by its own clock, so a slow answer never makes a request start early; workers on one machine
share the clock, on several machines keep them in sync (NTP). A worker that dies holds nothing.
The scheduler must be able to import persona-lab (it can in a ``LocalCluster``; install it
beside a remote scheduler).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from persona_lab.core import InvalidArgument

__all__ = ["ClusterRateLimiter", "reserve_slot"]

_EXTENSION = "persona_lab_rate_limits"


def reserve_slot(key: str, interval: float, dask_scheduler: Any = None) -> float:
    """Runs on the scheduler: reserve the next start of schedule ``key``; return it (epoch seconds)."""
    schedules: dict[str, float] = dask_scheduler.extensions.setdefault(_EXTENSION, {})
    start = max(time.time(), schedules.get(key, 0.0))
    schedules[key] = start + interval
    return start


class ClusterRateLimiter:
    """At most ``per_second`` request starts per second for ``provider``, summed over the whole cluster.

    Same interface as :class:`persona_lab.bench.RateLimiter` (``await limiter.acquire()``), so
    ``run_live`` takes either. ``run`` names the schedule (one per run and provider).
    """

    def __init__(self, provider: str, per_second: float, *, run: str, client: Any) -> None:
        if per_second <= 0:
            raise InvalidArgument(f"a rate limit must be positive, got {provider}={per_second}")
        self.provider = provider
        self.interval = 1.0 / per_second
        self.key = f"{run}:{provider}"
        self.max_retakes = 3
        self._client = client

    def __repr__(self) -> str:
        return f"ClusterRateLimiter({self.provider!r}, {1.0 / self.interval:g}/s)"

    def _reserve(self) -> float:
        start: Any = self._client.run_on_scheduler(reserve_slot, self.key, self.interval)
        return float(start)

    async def acquire(self) -> None:
        """Wait for a reserved start; a start missed by more than half an interval is given up for a new one.

        A wake-up that late means this process's event loop was busy (building an SDK client, say)
        while other requests of it waited behind: taking a fresh slot keeps them from leaving in a
        burst. Abandoned slots lie in the past, so the rate can only come out lower, never higher.
        """
        for _ in range(self.max_retakes + 1):
            start = await asyncio.to_thread(self._reserve)
            wait = start - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if time.time() - start <= self.interval / 2:
                return
