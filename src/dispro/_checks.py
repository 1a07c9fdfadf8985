"""Small argument checks shared by the measures and models (one definition each)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ParameterError, ValidationError, did_you_mean

__all__ = [
    "as_list",
    "check_alpha",
    "check_counts",
    "describe_rows",
    "plain_records",
    "require_columns",
]


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


def require_columns(frame: pd.DataFrame, columns: dict[str, str], what: str = "the data") -> None:
    """``columns`` maps a column name to the parameter that named it."""
    for column, param in columns.items():
        if column not in frame.columns:
            raise ValidationError(
                f"column {column!r} (given as `{param}`) is not in {what}"
                f"{did_you_mean(column, frame.columns)}; columns present: {list(frame.columns)}"
            )


def describe_rows(frame: pd.DataFrame, mask: np.ndarray, column: str, limit: int = 10) -> str:
    idx = frame.index[mask]
    vals = frame.loc[mask, column]
    shown = ", ".join(f"{i!r}: {v!r}" for i, v in zip(idx[:limit], vals[:limit], strict=False))
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return f"{len(idx)} row(s) (index: value) {shown}{more}"


def check_counts(
    frame: pd.DataFrame, column: str, param: str, *, integer: bool, dropna: bool
) -> tuple[pd.DataFrame, int]:
    """Check a count column; returns the frame (NaN rows dropped if ``dropna``) and rows dropped."""
    values = frame[column]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        converted = pd.to_numeric(values, errors="coerce")
        bad = converted.isna().to_numpy() & values.notna().to_numpy()
        if bad.any():
            raise ValidationError(
                f"column {column!r} (given as `{param}`) must hold numbers; non-numeric values in "
                f"{describe_rows(frame, bad, column)}. Fix the input or convert the column."
            )
        frame = frame.assign(**{column: converted})
        values = frame[column]
    missing = values.isna().to_numpy()
    dropped = 0
    if missing.any():
        if not dropna:
            raise ValidationError(
                f"column {column!r} (given as `{param}`) has missing values in "
                f"{describe_rows(frame, missing, column)}. A missing count is not a zero: "
                "supply the count, or pass dropna=True to exclude these rows (they are counted "
                "in the exclusions ledger)."
            )
        dropped = int(missing.sum())
        frame = frame.loc[~missing]
        values = frame[column]
    arr = values.to_numpy(dtype=float)
    negative = arr < 0
    if negative.any():
        raise ValidationError(
            f"column {column!r} (given as `{param}`) must not be negative; negative values in "
            f"{describe_rows(frame, negative, column)}."
        )
    infinite = np.isinf(arr)
    if infinite.any():
        raise ValidationError(
            f"column {column!r} (given as `{param}`) must be finite; infinite values in "
            f"{describe_rows(frame, infinite, column)}."
        )
    if integer:
        fractional = arr != np.round(arr)
        if fractional.any():
            raise ValidationError(
                f"column {column!r} (given as `{param}`) must hold whole counts; non-integer values "
                f"in {describe_rows(frame, fractional, column)}."
            )
    return frame, dropped


def plain_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values (None for missing), safe to keep in ``attrs``.

    ``attrs`` must stay comparable with ``==`` (pandas compares them when concatenating), which a
    DataFrame or ``pd.NA`` is not.
    """
    plain = frame.astype(object).where(frame.notna(), None)
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in plain.to_dict("records")
    ]
