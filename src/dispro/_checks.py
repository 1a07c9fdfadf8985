"""Small argument checks shared by the measures and models (one definition each)."""

from __future__ import annotations

from .errors import ParameterError

__all__ = ["as_list", "check_alpha"]


def as_list(value) -> list:
    """``None`` -> ``[]``, a string -> ``[value]``, any other iterable -> a list of it."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def check_alpha(alpha) -> None:
    """Raise :class:`ParameterError` unless ``alpha`` is a number strictly between 0 and 1."""
    if isinstance(alpha, bool) or not (isinstance(alpha, float | int) and 0 < alpha < 1):
        raise ParameterError(
            f"`alpha` must be a number strictly between 0 and 1 (e.g. 0.05), but {alpha!r} was passed"
        )
