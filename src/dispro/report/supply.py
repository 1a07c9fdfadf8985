"""Measures a force's data cannot give: a field left blank for the whole period.

A data.police.uk force may never fill ``Outcome linked to object of search`` or ``Removal of
more than just outer clothing`` (and a force's own extract may lack other fields). The library
refuses to compute a share from a field that was not supplied (:class:`dispro.errors.
NotSuppliedError`: a field that was not supplied is not 0%). A chapter notebook calls such a
measure through :func:`supplied`, which returns the result or a :class:`NotSupplied` record;
the section given that record says in one sentence which field was not supplied and carries on
(:func:`not_supplied_sentence`), so that any force's files render.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import NotSuppliedError

__all__ = ["NotSupplied", "supplied", "not_supplied_sentence"]


@dataclass(frozen=True)
class NotSupplied:
    """A measure that could not be computed because a field it needs was not supplied."""

    measure: str
    field: str
    column: str | None
    message: str


def supplied(func, *args, **kwargs):
    """``func(*args, **kwargs)``, or a :class:`NotSupplied` record when it raises
    :class:`~dispro.errors.NotSuppliedError` (any other error propagates)."""
    try:
        return func(*args, **kwargs)
    except NotSuppliedError as exc:
        return NotSupplied(getattr(func, "__name__", str(func)), exc.field, exc.column, str(exc))


def not_supplied_sentence(what: str, result: NotSupplied) -> str:
    """One sentence for a measure whose field was not supplied, naming the field."""
    field = f"'{result.column}'" if result.column else f"the field `{result.field}`"
    return (
        f"{what}: not supplied by this force. The records leave {field} blank in every month "
        "of the period, so this measure cannot be given (a field that was not supplied is not "
        "the same as none: it is not shown as 0)."
    )
