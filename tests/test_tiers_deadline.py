"""bounded_stream: retries within the deadline, Retry-After within the deadline, idle timeouts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from persona_lab.core import (
    AuthFailed,
    Chunk,
    ConfigError,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    StreamInterrupted,
)
from persona_lab.tiers import ModelConfig, TierRegistry
from persona_lab.tiers._deadline import backoff_s, bounded_stream, retry_after_s

FAST = {"timeout_s": 0.2, "deadline_s": 0.6, "backoff_s": 0.01}


def config(**kw: float) -> ModelConfig:
    return ModelConfig("openai", "m", **{**FAST, **kw})  # type: ignore[arg-type]


Script = Callable[[int], AsyncGenerator[Chunk | None, None]]


class Attempts:
    """An attempt factory running ``script(n)`` for the n-th attempt (0-based), counting them."""

    def __init__(self, script: Script):
        self.script = script
        self.count = 0
        self.closed = 0

    def __call__(self) -> AsyncGenerator[Chunk | None, None]:
        n = self.count
        self.count += 1
        return self._run(n)

    async def _run(self, n: int) -> AsyncGenerator[Chunk | None, None]:
        try:
            async for item in self.script(n):
                yield item
        finally:
            self.closed += 1


async def collect(cfg: ModelConfig, attempts: Attempts) -> tuple[str, float]:
    started = time.monotonic()
    text = "".join([c.delta async for c in bounded_stream(cfg, attempts)])
    return text, time.monotonic() - started


def answer(text: str = "ok") -> Script:
    async def script(n: int) -> AsyncGenerator[Chunk | None, None]:
        yield None
        yield Chunk(delta=text)
        yield Chunk(final=True, finish_reason="stop")

    return script


def failing(error: Callable[[], ProviderError], *, then: Script | None = None, times: int = 99) -> Script:
    async def script(n: int) -> AsyncGenerator[Chunk | None, None]:
        if n < times:
            raise error()
        async for item in (then or answer())(n):
            yield item

    return script


def rate_limited(wait: float | None) -> Callable[[], ProviderError]:
    return lambda: RateLimited("429", status_code=429, retry_after_s=wait)


async def test_a_retryable_failure_is_retried_and_the_answer_streams() -> None:
    attempts = Attempts(failing(lambda: ProviderError("503", status_code=503), times=2))
    text, _ = await collect(config(max_retries=2), attempts)
    assert text == "ok"
    assert attempts.count == 3
    assert attempts.closed == 3


async def test_retries_stop_at_max_retries_and_the_message_says_so() -> None:
    attempts = Attempts(failing(lambda: ProviderError("503", status_code=503)))
    with pytest.raises(ProviderError, match=r"gave up after 3 attempts"):
        await collect(config(max_retries=2), attempts)
    assert attempts.count == 3


async def test_a_short_retry_after_is_honoured() -> None:
    attempts = Attempts(failing(rate_limited(0.15), times=1))
    text, elapsed = await collect(config(max_retries=1), attempts)
    assert text == "ok" and attempts.count == 2
    assert elapsed >= 0.15


@pytest.mark.parametrize("wait", [0.6, 3600.0, 4_294_967.0])
async def test_a_retry_after_beyond_the_deadline_fails_at_once(wait: float) -> None:
    attempts = Attempts(failing(rate_limited(wait)))
    started = time.monotonic()
    with pytest.raises(RateLimited, match=r"beyond the 0\.6 s deadline; not waiting"):
        await collect(config(max_retries=5), attempts)
    assert time.monotonic() - started < 0.1
    assert attempts.count == 1


async def test_a_non_retryable_error_is_not_retried() -> None:
    attempts = Attempts(failing(lambda: AuthFailed("401", status_code=401, retryable=False)))
    with pytest.raises(AuthFailed):
        await collect(config(max_retries=3), attempts)
    assert attempts.count == 1


async def test_a_hang_before_any_response_ends_at_the_deadline() -> None:
    async def hang(n: int) -> AsyncGenerator[Chunk | None, None]:
        await asyncio.sleep(60)
        yield None

    attempts = Attempts(hang)
    started = time.monotonic()
    with pytest.raises(ProviderTimeout):
        await collect(config(max_retries=10), attempts)
    elapsed = time.monotonic() - started
    assert 0.55 <= elapsed < 0.8  # the 0.6 s deadline, not 11 x the 0.2 s timeout
    assert attempts.closed == attempts.count  # every attempt was closed


async def test_a_stall_after_text_is_stream_interrupted_after_the_idle_timeout_and_not_retried() -> None:
    async def stall(n: int) -> AsyncGenerator[Chunk | None, None]:
        yield Chunk(delta="part")
        await asyncio.sleep(60)
        yield Chunk(delta="never")

    attempts = Attempts(stall)
    seen: list[str] = []
    started = time.monotonic()
    with pytest.raises(StreamInterrupted, match="idle timeout"):
        async for chunk in bounded_stream(config(max_retries=3), attempts):
            seen.append(chunk.delta)
    assert 0.18 <= time.monotonic() - started < 0.4
    assert seen == ["part"]
    assert attempts.count == 1


async def test_a_long_answer_that_keeps_streaming_outlives_the_deadline() -> None:
    async def slow(n: int) -> AsyncGenerator[Chunk | None, None]:
        for _ in range(8):  # 8 x 0.1 s = 0.8 s > the 0.6 s deadline, every gap < the 0.2 s timeout
            await asyncio.sleep(0.1)
            yield Chunk(delta="x")
        yield Chunk(final=True, finish_reason="stop")

    text, elapsed = await collect(config(), Attempts(slow))
    assert text == "x" * 8 and elapsed >= 0.8


async def test_keepalive_events_reset_the_idle_timer_but_carry_nothing() -> None:
    async def pings(n: int) -> AsyncGenerator[Chunk | None, None]:
        yield Chunk(delta="a")
        for _ in range(4):
            await asyncio.sleep(0.1)
            yield None
        yield Chunk(delta="b")

    text, _ = await collect(config(), Attempts(pings))
    assert text == "ab"


async def test_a_consumer_that_stops_early_closes_the_attempt() -> None:
    attempts = Attempts(answer())
    stream = bounded_stream(config(), attempts)
    async for _ in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]
    assert attempts.closed == 1


def test_retry_after_headers() -> None:
    assert retry_after_s({"retry-after": "3"}) == 3.0
    assert retry_after_s({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_s({"retry-after": "soon"}) is None
    assert retry_after_s({"retry-after": "nan"}) is None
    assert retry_after_s({}) is None and retry_after_s(None) is None
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    assert 3500 < (retry_after_s({"retry-after": later}) or 0) <= 3600


def test_backoff_grows_and_is_capped() -> None:
    cfg = config(backoff_s=0.5)
    assert backoff_s(cfg, 1, rng=lambda: 0.0) == 0.5
    assert backoff_s(cfg, 2, rng=lambda: 0.0) == 1.0
    assert backoff_s(cfg, 10, rng=lambda: 0.0) == 4.0
    assert backoff_s(cfg, 1, rng=lambda: 1.0) == 0.375


@pytest.mark.parametrize(
    ("field", "value"), [("timeout_s", 0), ("deadline_s", float("inf")), ("backoff_s", -1), ("max_retries", -1)]
)
def test_model_config_rejects_unbounded_waits(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        ModelConfig("openai", "m", **{field: value})  # type: ignore[arg-type]


def test_waits_come_from_the_environment_per_tier_with_a_general_fallback() -> None:
    env = {
        "PERSONA_PROVIDER": "openai",
        "PERSONA_MODEL": "gpt-4o-mini",
        "PERSONA_API_KEY": "sk-test",
        "PERSONA_TIMEOUT": "7",
        "PERSONA_SMALL_TIMEOUT": "3.5",
        "PERSONA_SMALL_MAX_RETRIES": "0",
        "PERSONA_SMALL_DEADLINE": "12",
        "PERSONA_SMALL_FALLBACK_MODELS": "openai/gpt-4.1-mini",
    }
    registry = TierRegistry.from_env(env, local_default=False)
    small = registry.config("small").models
    assert [(m.timeout_s, m.max_retries, m.deadline_s) for m in small] == [(3.5, 0, 12.0), (3.5, 0, 12.0)]
    mid = registry.config("mid").primary
    assert (mid.timeout_s, mid.max_retries, mid.deadline_s) == (7.0, 2, 25.0)


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("PERSONA_SMALL_TIMEOUT", "-1", "positive"),
        ("PERSONA_SMALL_DEADLINE", "inf", "positive, finite"),
        ("PERSONA_SMALL_MAX_RETRIES", "2.5", "not a valid int"),
        ("PERSONA_SMALL_MAX_RETRIES", "99", "from 0 to 10"),
    ],
)
def test_bad_waits_in_the_environment_name_the_variable(var: str, value: str, message: str) -> None:
    env = {"PERSONA_PROVIDER": "openai", "PERSONA_MODEL": "m", "PERSONA_API_KEY": "k", var: value}
    with pytest.raises(ConfigError, match=var) as info:
        TierRegistry.from_env(env, local_default=False)
    assert message in str(info.value)
