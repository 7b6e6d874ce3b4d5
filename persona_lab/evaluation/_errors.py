"""The evaluation's errors, subclasses of the project's error tree."""

from __future__ import annotations

from persona_lab.core import ConfigError

__all__ = ["ScenarioError"]


class ScenarioError(ConfigError):
    """A scenario suite that does not validate or cannot run; names the file, line and field.

    Also raised when a scenario references a persona or tool the evaluation was not given.
    """

    code = "persona_lab.config.scenario"

    def __init__(
        self, message: str, *, source: str | None = None, line: int | None = None, field: str | None = None
    ):
        super().__init__(message)
        self.source = source
        self.line = line
        self.field = field
