"""Bounded waits for a provider call: retries within a deadline, Retry-After within the deadline,
an idle timeout between stream events.

Both SDK backends run with the SDK's own retries off and hand each attempt to :func:`bounded_stream`:

* **Deadline** (``ModelConfig.deadline_s``): the wall-clock budget to get an answer started —
  every attempt, backoff and ``Retry-After`` wait included. A ``Retry-After`` that would pass
  the deadline is not waited out: the call fails at once, and the turn moves to the next tier.
* **Timeout** (``ModelConfig.timeout_s``): the HTTP connect/read timeout of one attempt, and the
  idle timeout of a running stream (no event for this long: the stream stalled).
* **Retries** (``ModelConfig.max_retries``): further attempts after a retryable failure (429,
  5xx, 529, a timeout, a dropped connection) *before* any answer text was streamed. A stream
  that breaks after text was streamed is never retried (the text would repeat).
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Any

from persona_lab.core import Chunk, ProviderError, ProviderTimeout, StreamInterrupted
from persona_lab.tiers._config import ModelConfig

__all__ = ["OpenAttempt", "backoff_s", "bounded_stream", "retry_after_s"]

OpenAttempt = Callable[[], AsyncGenerator[Chunk | None, None]]
"""Opens one attempt: a stream of chunks, with ``None`` for events that carry no answer text
(they keep the stream alive for the idle timeout)."""

_MAX_BACKOFF_S = 4.0


def retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """Seconds a ``Retry-After`` (or ``retry-after-ms``) header asks to wait; ``None`` if absent or unreadable."""
    if not headers:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        value = email.utils.mktime_tz(parsed) - time.time()
    if not math.isfinite(value):
        return None
    return max(0.0, value)


def backoff_s(config: ModelConfig, retry: int, *, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff before retry number ``retry`` (1, 2, …), with up to 25 % jitter."""
    base = min(config.backoff_s * 2.0 ** (retry - 1), _MAX_BACKOFF_S)
    return base * (1.0 - 0.25 * rng())


def _fmt(seconds: float) -> str:
    return f"{seconds:.3g} s"


async def bounded_stream(
    config: ModelConfig,
    attempt: OpenAttempt,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[Chunk]:
    """Run ``attempt`` until it streams an answer, retrying within ``config.deadline_s``.

    Raises the last attempt's :class:`ProviderError` (with what was tried in its message) when
    the retries or the deadline run out; :class:`ProviderTimeout` when nothing started in time;
    :class:`StreamInterrupted` when a started stream fell silent for ``config.timeout_s``.
    """
    deadline = clock() + config.deadline_s
    retry = 0
    while True:
        receiving = started = False
        try:
            async with aclosing(attempt()) as events:
                while True:
                    remaining = deadline - clock()
                    limit = config.timeout_s if receiving else min(config.timeout_s, remaining)
                    if limit <= 0:
                        raise _deadline_passed(config)
                    try:
                        async with asyncio.timeout(limit):
                            item = await anext(events, _END)
                    except TimeoutError:
                        if not receiving and remaining <= config.timeout_s:
                            raise _deadline_passed(config) from None
                        raise _silent(config, limit, started=started, receiving=receiving) from None
                    if item is _END:
                        return
                    receiving = True
                    if item is None:
                        continue
                    assert isinstance(item, Chunk)
                    started = True
                    yield item
        except ProviderError as error:
            if started or isinstance(error, StreamInterrupted) or not error.retryable:
                raise
            if retry >= config.max_retries:
                _note(error, f"gave up after {retry + 1} attempt{'s' if retry else ''}")
                raise
            retry += 1
            wait = error.retry_after_s if error.retry_after_s is not None else backoff_s(config, retry)
            remaining = deadline - clock()
            if wait >= remaining:
                asked = "Retry-After asked for" if error.retry_after_s is not None else "the next retry needs"
                _note(error, f"{asked} {_fmt(wait)}, beyond the {_fmt(config.deadline_s)} deadline; not waiting")
                raise
            await sleep(wait)


_END = object()


def _note(error: ProviderError, text: str) -> None:
    """Append ``text`` to the error's message (its args), keeping its type and fields."""
    error.args = (f"{error.args[0] if error.args else ''} ({text})", *error.args[1:])


def _deadline_passed(config: ModelConfig) -> ProviderTimeout:
    return ProviderTimeout(
        f"{config.ref}: no answer within the {_fmt(config.deadline_s)} deadline (timeout {_fmt(config.timeout_s)}, "
        f"{config.max_retries} retries)",
        provider=config.provider,
        model=config.model,
        retryable=False,
    )


def _silent(config: ModelConfig, limit: float, *, started: bool, receiving: bool) -> ProviderError:
    common: dict[str, Any] = {"provider": config.provider, "model": config.model}
    if started:
        return StreamInterrupted(
            f"stream broke part-way: {config.ref}: no data for {_fmt(limit)} (idle timeout)", **common
        )
    if receiving:
        return ProviderTimeout(f"{config.ref}: the stream stalled before any answer ({_fmt(limit)})", **common)
    return ProviderTimeout(f"{config.ref}: no response within {_fmt(limit)}", **common)
