"""``SideBySide``: pick two persona variants and a scenario; see both conversations turn by turn."""

from __future__ import annotations

from typing import Any

try:
    import ipywidgets as w
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise ImportError("SideBySide needs ipywidgets: pip install 'persona-lab[widgets]'") from _exc

from persona_lab.core import InvalidArgument, UnknownName
from persona_lab.evaluation._result import EvaluationResult
from persona_lab.evaluation._side_by_side import side_by_side_html

__all__ = ["SideBySide", "side_by_side_html"]


class SideBySide(w.VBox):  # type: ignore[misc]
    """Two variants' answers to one scenario, with grades, tier and cost; differing turns shaded.

    With no scenario given it opens on the scenario where the two variants differ most.
    """

    def __init__(self, result: EvaluationResult, *, a: str | None = None, b: str | None = None,
                 scenario: str | None = None, **kwargs: Any):
        variants = result.variants
        if not variants or not result.scenarios:
            raise InvalidArgument("SideBySide needs an evaluation with at least one variant and one scenario")
        self.result = result
        a = a or variants[0]
        b = b or (variants[1] if len(variants) > 1 else variants[0])
        for name in (a, b):
            if name not in variants:
                raise UnknownName("variant", name, variants)
        if scenario is None:
            diffs = result.differences(a, b) if a != b else None
            scenario = str(diffs["scenario"].iloc[0]) if diffs is not None and len(diffs) else result.scenarios[0]
        if scenario not in result.scenarios:
            raise UnknownName("scenario", scenario, result.scenarios)
        self.variant_a = w.Dropdown(options=variants, value=a, description="A")
        self.variant_b = w.Dropdown(options=variants, value=b, description="B")
        self.scenario = w.Dropdown(options=result.scenarios, value=scenario, description="scenario")
        self.view = w.HTML()
        for control in (self.variant_a, self.variant_b, self.scenario):
            control.observe(self._refresh, names="value")
        super().__init__(children=(w.HBox((self.variant_a, self.variant_b, self.scenario)), self.view), **kwargs)
        self._refresh()

    def _refresh(self, change: Any = None) -> None:
        self.view.value = side_by_side_html(self.result, self.variant_a.value, self.variant_b.value,
                                            self.scenario.value)
