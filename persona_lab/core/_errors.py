"""Every error persona-lab raises, as one tree.

    PersonaLabError
    ├── ConfigError                 bad persona file, bad tier configuration, missing variable
    │   ├── PersonaError            a persona YAML that does not validate (names file and field)
    │   ├── BenchmarkFormatError    a benchmark-set file that does not validate (names file, line, field)
    │   ├── ClusterUnavailable      a Dask scheduler that does not answer (names the address)
    │   └── InvalidArgument         an argument or option that cannot work (also ValueError, TypeError)
    │       └── UnknownName         a name (router label, variant, step…) that is not one of the known ones
    │                               (also KeyError; carries ``name`` and ``known``)
    ├── TierError
    │   ├── UnknownTier             a tier name that is not small / mid / frontier
    │   ├── TierNotConfigured       no configured tier can serve a request
    │   └── ProviderError           a provider call failed (carries tier, model, attempt)
    │       ├── RateLimited
    │       ├── ProviderTimeout
    │       ├── AuthFailed
    │       ├── StreamInterrupted   a stream broke after it had started
    │       └── AllTiersFailed      every candidate tier and model failed for one request
    ├── RouterError
    │   └── NotFittedError          a learned router used before ``fit`` (also ValueError, AttributeError)
    ├── LoopError
    │   └── BudgetExceeded          a persona's session cost cap is spent
    └── LogSchemaError              a turn-log line that is not a valid record

    UsageError (RuntimeError)       the programmer used an object the wrong way

Every class has a stable dotted ``code`` so callers branch on codes, never on message text.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AllTiersFailed",
    "AuthFailed",
    "BenchmarkFormatError",
    "BudgetExceeded",
    "ClusterUnavailable",
    "ConfigError",
    "InvalidArgument",
    "LogSchemaError",
    "LoopError",
    "NotFittedError",
    "PersonaError",
    "PersonaLabError",
    "ProviderError",
    "ProviderTimeout",
    "RateLimited",
    "RouterError",
    "StreamInterrupted",
    "TierError",
    "TierNotConfigured",
    "UnknownName",
    "UnknownTier",
    "UsageError",
]


class PersonaLabError(Exception):
    """Root of every persona-lab error."""

    code = "persona_lab.error"


class ConfigError(PersonaLabError):
    """Configuration that cannot work: a missing variable, an invalid value."""

    code = "persona_lab.config"


class PersonaError(ConfigError):
    """A persona definition that does not validate; the message names the file and the field or line."""

    code = "persona_lab.config.persona"

    def __init__(
        self, message: str, *, source: str | None = None, field: str | None = None, line: int | None = None
    ):
        super().__init__(message)
        self.source = source
        self.field = field
        self.line = line


class BenchmarkFormatError(ConfigError):
    """A benchmark set that does not validate; the message names the file, line and field."""

    code = "persona_lab.config.benchmark_format"

    def __init__(
        self, message: str, *, source: str | None = None, line: int | None = None, field: str | None = None
    ):
        super().__init__(message)
        self.source = source
        self.line = line
        self.field = field


class ClusterUnavailable(ConfigError):
    """A Dask scheduler that did not answer in time; the message names the address."""

    code = "persona_lab.config.cluster_unavailable"


class InvalidArgument(ConfigError, ValueError, TypeError):
    """An argument or option whose value cannot work; the message names it and what would.

    Also a ``ValueError`` and a ``TypeError``, so code that caught the built-in errors still does.
    """

    code = "persona_lab.config.invalid_argument"


class UnknownName(InvalidArgument, KeyError):
    """A name that is not one of the known ones: the message names it and lists the known ones."""

    code = "persona_lab.config.unknown_name"

    def __init__(self, what: str, name: object, known: Iterable[object], *, hint: str = ""):
        self.name = name
        self.known = tuple(str(k) for k in known)
        listed = ", ".join(self.known) or "none"
        super().__init__(f"unknown {what} {name!r}; known: {listed}{hint}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class TierError(PersonaLabError):
    code = "persona_lab.tier"


class UnknownTier(TierError, ValueError):
    """A tier name outside small / mid / frontier."""

    code = "persona_lab.tier.unknown"

    def __init__(self, tier: str, *, where: str = ""):
        place = f" in {where}" if where else ""
        super().__init__(f"unknown tier {tier!r}{place}; expected one of: small, mid, frontier")
        self.tier = tier


class TierNotConfigured(TierError):
    """No configured tier can serve the request."""

    code = "persona_lab.tier.not_configured"


class ProviderError(TierError):
    """A provider call failed. ``retryable`` says whether another attempt may succeed;
    ``retry_after_s`` is the wait the provider asked for (its ``Retry-After``), if any."""

    code = "persona_lab.tier.provider"

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        tier: str | None = None,
        attempt: int | None = None,
        status_code: int | None = None,
        retryable: bool = True,
        retry_after_s: float | None = None,
    ):
        super().__init__(message)
        self.provider = provider
        self.model = model
        self.tier = tier
        self.attempt = attempt
        self.status_code = status_code
        self.retryable = retryable
        self.retry_after_s = retry_after_s


class RateLimited(ProviderError):
    code = "persona_lab.tier.provider.rate_limited"


class ProviderTimeout(ProviderError):
    code = "persona_lab.tier.provider.timeout"


class AuthFailed(ProviderError):
    code = "persona_lab.tier.provider.auth"


class StreamInterrupted(ProviderError):
    """The stream broke after it had started; the SDKs do not retry this."""

    code = "persona_lab.tier.provider.stream_interrupted"


class AllTiersFailed(ProviderError):
    """Every candidate model of every reachable tier failed for one request."""

    code = "persona_lab.tier.provider.all_failed"


class RouterError(PersonaLabError):
    code = "persona_lab.router"


class NotFittedError(RouterError, ValueError, AttributeError):
    """A learned router was used before ``fit``."""

    code = "persona_lab.router.not_fitted"


class LoopError(PersonaLabError):
    code = "persona_lab.loop"


class BudgetExceeded(LoopError):
    """The persona's cost cap is spent; no model was called."""

    code = "persona_lab.loop.budget_exceeded"

    def __init__(self, message: str, *, spent_usd: float, cap_usd: float):
        super().__init__(message)
        self.spent_usd = spent_usd
        self.cap_usd = cap_usd


class LogSchemaError(PersonaLabError):
    """A turn-log line that is not a valid record; names the file and line."""

    code = "persona_lab.logs.schema"

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.line = line


class UsageError(RuntimeError):
    """The programmer used an object the wrong way (not a runtime failure)."""

    code = "persona_lab.usage"


def _report_public_module() -> None:
    """Every error reports ``persona_lab`` as its module (its one documented import path)."""
    for name in __all__:
        globals()[name].__module__ = "persona_lab"


_report_public_module()
