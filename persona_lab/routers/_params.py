"""Estimator-style parameters for routers that do not need scikit-learn.

``get_params``, ``set_params`` and a changed-only repr come from the ``__init__`` signature, as
in scikit-learn's ``BaseEstimator``, so ``sklearn.base.clone`` works on every router without
importing scikit-learn when the router is built.
"""

from __future__ import annotations

import inspect
from typing import Any

from persona_lab.core import UsageError

__all__ = ["RouterParams"]

_MISSING = inspect.Parameter.empty


def _same(a: object, b: object) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:  # arrays and other values whose == is not a bool
        return False


class RouterParams:
    """Mixin: parameters are exactly the ``__init__`` arguments, stored unchanged as attributes."""

    @classmethod
    def _param_names(cls) -> tuple[str, ...]:
        signature = inspect.signature(cls.__init__)
        return tuple(
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )

    @classmethod
    def _param_defaults(cls) -> dict[str, Any]:
        signature = inspect.signature(cls.__init__)
        return {
            p.name: p.default
            for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments (with ``deep``, nested routers' as ``name__param`` too)."""
        params: dict[str, Any] = {}
        for name in self._param_names():
            value = getattr(self, name)
            params[name] = value
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                for key, inner in value.get_params(deep=True).items():
                    params[f"{name}__{key}"] = inner
        return params

    def set_params(self, **params: Any) -> RouterParams:
        """Set constructor arguments (``name__param`` reaches a nested router); returns self."""
        names = set(self._param_names())
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, sep, inner = key.partition("__")
            if name not in names:
                raise UsageError(
                    f"{type(self).__name__} has no parameter {name!r} (parameters: {', '.join(sorted(names))})"
                )
            if sep:
                nested.setdefault(name, {})[inner] = value
            else:
                setattr(self, name, value)
        for name, inner_params in nested.items():
            getattr(self, name).set_params(**inner_params)
        self._params_changed()
        return self

    def _params_changed(self) -> None:
        """Hook: rebuild anything derived from the parameters (compiled patterns, …)."""

    def __repr__(self) -> str:
        defaults = self._param_defaults()
        shown = []
        for name in self._param_names():
            value = getattr(self, name)
            default = defaults[name]
            if default is _MISSING or not _same(value, default):
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"
