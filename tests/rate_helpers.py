"""Helpers for the cluster rate-limit tests: acquisitions as a Dask task, and the busiest window."""

from __future__ import annotations

import time


def acquire_times(run: str, per_second: float, coroutines: int, each: int) -> list[float]:
    """A Dask task: ``coroutines`` × ``each`` acquisitions of one cluster rate limiter; when each returned."""
    import asyncio

    from distributed import get_client

    from persona_lab.scale import ClusterRateLimiter

    limiter = ClusterRateLimiter("provider", per_second, run=run, client=get_client())

    async def one() -> list[float]:
        times = []
        for _ in range(each):
            await limiter.acquire()
            times.append(time.time())
        return times

    async def many() -> list[float]:
        parts = await asyncio.gather(*(one() for _ in range(coroutines)))
        return [t for part in parts for t in part]

    return asyncio.run(many())


def max_in_window(times: list[float], window_s: float = 1.0) -> int:
    """The most of ``times`` within any ``window_s`` seconds."""
    ordered = sorted(times)
    best, left = 0, 0
    for right, t in enumerate(ordered):
        while t - ordered[left] >= window_s:
            left += 1
        best = max(best, right - left + 1)
    return best
