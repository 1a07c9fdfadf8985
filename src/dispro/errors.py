"""The exception and warning hierarchy.

Every error dispro raises on bad input is a :class:`DisproError`; its message says what was wrong,
where (file, column, rows, offending values with counts) and how to fix it. Every warning is a
:class:`DisproWarning`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "DisproError",
    "ValidationError",
    "ParameterError",
    "ReferenceGroupError",
    "AreaError",
    "NotSuppliedError",
    "DisproWarning",
    "LowCountWarning",
    "ZeroCellWarning",
    "DataQualityWarning",
    "did_you_mean",
]


class DisproError(Exception):
    """Base class of every error dispro raises on bad input or bad parameters."""


class ValidationError(DisproError, ValueError):
    """A data frame or file does not meet the data standard (or the counts contract).

    ``problems`` holds the full problem table (one row per problem) when available.
    """

    def __init__(self, message: str, problems=None):
        super().__init__(message)
        self.problems = problems


class ParameterError(DisproError, ValueError):
    """A parameter has a value outside what is allowed."""


class ReferenceGroupError(DisproError, KeyError):
    """The reference group is not present in the data."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class AreaError(DisproError, KeyError):
    """An area name or code is unknown, or has no valid denominator."""

    def __str__(self) -> str:
        return str(self.args[0])


class NotSuppliedError(DisproError, ValueError):
    """A measure needs a field that the data did not supply: blank in every row of every
    force-month given (not supplied, which is not the same as 0% or "not recorded").

    ``field`` names the record column (e.g. ``"removal_outer_clothing"``); ``column`` the
    data.police.uk column it is read from, when there is one.
    """

    def __init__(self, message: str, *, field: str, column: str | None = None):
        super().__init__(message)
        self.field = field
        self.column = column


class DisproWarning(UserWarning):
    """Base class of every warning dispro emits."""


class LowCountWarning(DisproWarning):
    """Counts are small enough that an interval's approximation is doubtful."""


class ZeroCellWarning(DisproWarning):
    """A zero cell was met (and, if asked, corrected)."""


class DataQualityWarning(DisproWarning):
    """The data are usable but something about them needs stating (e.g. suppressed cells)."""


def did_you_mean(value: str, choices: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest of ``choices``, or ``""``."""
    choices = [str(c) for c in choices]
    lowered = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(str(value).lower(), list(lowered), n=n, cutoff=cutoff)
    if not match:
        return ""
    return "; did you mean " + " or ".join(repr(lowered[m]) for m in match) + "?"


def check_choice(name: str, value, allowed: Iterable) -> None:
    """Raise :class:`ParameterError` if ``value`` is not one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ParameterError(
            f"`{name}` must be one of {allowed}, but {value!r} was passed"
            f"{did_you_mean(str(value), [str(a) for a in allowed])}"
        )
