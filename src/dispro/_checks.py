"""Small argument checks shared by the measures and models (one definition each)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DisproError, ParameterError, ValidationError, did_you_mean

__all__ = [
    "MAX_COUNT",
    "as_list",
    "bad_counts",
    "bool_mask",
    "check_alpha",
    "check_counts",
    "check_distinct",
    "describe_rows",
    "plain_records",
    "require_columns",
]


#: Counts above this are refused: beyond it a float no longer holds every whole number exactly.
MAX_COUNT = 2**53


def bool_mask(values: pd.Series) -> np.ndarray:
    """Cells holding True/False: a boolean column, or Python/numpy booleans in an object column."""
    if pd.api.types.is_bool_dtype(values):
        return values.notna().to_numpy(dtype=bool)
    if values.dtype == object:
        return np.fromiter(
            (isinstance(v, bool | np.bool_) for v in values), dtype=bool, count=len(values)
        )
    return np.zeros(len(values), dtype=bool)


def bad_counts(values: pd.Series, *, integer: bool = True) -> list[tuple[str, np.ndarray]]:
    """What is wrong with a column of counts, as ``(what, mask)`` pairs (missing is not checked).

    True/False, text that is not a number (``'nan'`` included), infinite, negative, fractional
    (if ``integer``) and values above :data:`MAX_COUNT`; each mask marks the offending cells.
    """
    bools = bool_mask(values)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        num = values.astype(float)
        text = np.zeros(len(values), dtype=bool)
    else:
        num = pd.to_numeric(values.where(~bools), errors="coerce").astype(float)
        text = num.isna().to_numpy() & values.notna().to_numpy() & ~bools
    arr = num.to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(arr)
    with np.errstate(invalid="ignore"):
        out = [
            ("are True/False, not counts", bools),
            ("are not numbers", text),
            ("are infinite", np.isinf(arr)),
            ("are negative", finite & (arr < 0)),
            (f"are above {MAX_COUNT:,}", finite & (arr > MAX_COUNT)),
        ]
        if integer:
            out.append(("are not whole numbers", finite & (arr != np.round(arr))))
    return [(what, mask) for what, mask in out if mask.any()]


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
    booleans = bool_mask(values)
    if booleans.any():
        raise ValidationError(
            f"column {column!r} (given as `{param}`) must hold counts, but it holds True/False in "
            f"{describe_rows(frame, booleans, column)}. Count the rows where a condition holds "
            "(e.g. with dispro.aggregate or a groupby sum) and pass the counts."
        )
    if not pd.api.types.is_numeric_dtype(values):
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


def _identity(path: Path):
    try:
        st = os.stat(path)  # follows links
    except OSError:
        return ("path", os.path.realpath(path))
    if st.st_ino:
        return ("inode", st.st_dev, st.st_ino)
    return ("path", os.path.realpath(path))  # pragma: no cover - file systems without inodes


def check_distinct(paths, what: str = "file") -> None:
    """Raise :class:`DisproError` if two of ``paths`` are one file (resolved path or inode)."""
    seen: dict = {}
    for p in paths:
        key = _identity(Path(p))
        if key in seen:
            first = seen[key]
            how = (
                "listed twice"
                if str(first) == str(p)
                else "one file reached by two spellings (a relative and an absolute path, a "
                "link, or a glob and a name)"
            )
            raise DisproError(
                f"the same {what} was given twice: {str(first)!r} and {str(p)!r} are {how}; every "
                "record in it would be counted twice. Give each file once."
            )
        seen[key] = p
