"""Drawing records: Poisson cells, categorical draws, and the columns of a record frame (the
kernels the generators share)."""

from __future__ import annotations

import numpy as np
import pandas as pd

_Drawn = tuple[pd.DataFrame, dict]  # a generator's records and its truth inputs


def _cells(rng: np.random.Generator, expected: np.ndarray) -> tuple[np.ndarray, ...]:
    """Poisson counts per cell of ``expected``; one row per event, as indices of each axis."""
    counts = rng.poisson(expected.ravel())
    flat = np.repeat(np.arange(counts.size), counts)
    return np.unravel_index(flat, expected.shape)


def _draw(
    rng: np.random.Generator,
    probs: np.ndarray,
    keys: np.ndarray | None = None,
    n: int | None = None,
) -> np.ndarray:
    """Categorical draws: ``probs`` is (K,) for every row, or (G, K) with row ``i`` using
    ``probs[keys[i]]`` (inverse CDF, one uniform per row, one pass per key in use)."""
    probs = np.asarray(probs, dtype=float)
    cum = np.cumsum(probs / probs.sum(axis=-1, keepdims=True), axis=-1)
    # from each row's last positive category on, +inf: rounding never picks a zero-weight one
    positive = probs > 0
    last = probs.shape[-1] - 1 - np.argmax(positive[..., ::-1], axis=-1)
    cum[np.arange(probs.shape[-1]) >= np.expand_dims(last, -1)] = np.inf
    if probs.ndim == 1:
        return np.searchsorted(cum, rng.random(n), side="right")
    u = rng.random(len(keys))
    out = np.empty(len(keys), dtype=np.int64)
    for key in np.flatnonzero(np.bincount(keys, minlength=len(probs))):
        rows = np.flatnonzero(keys == key)
        out[rows] = np.searchsorted(cum[key], u[rows], side="right")
    return out


def _month_bounds(months: pd.PeriodIndex) -> tuple[np.ndarray, np.ndarray]:
    """Month starts (naive datetime64[s]) and days in each month."""
    starts = months.to_timestamp().to_numpy().astype("datetime64[s]")
    return starts, months.days_in_month.to_numpy()


def _frame(columns: dict) -> pd.DataFrame:
    """A DataFrame whose text columns stay numpy object arrays (no string conversion cost)."""
    n = len(next(iter(columns.values())))
    index = pd.RangeIndex(n)
    return pd.DataFrame(
        {
            k: pd.Series(v, index=index, dtype=object)
            if isinstance(v, np.ndarray) and v.dtype == object
            else v
            for k, v in columns.items()
        },
        index=index,
    )


def _labels(levels, index: np.ndarray) -> np.ndarray:
    """``levels[index]`` as an object array (a new array, safe to modify)."""
    table = np.empty(len(levels), dtype=object)
    table[:] = list(levels)
    return table[index]


def _text(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """An object array of labels, with None where ``mask`` is True."""
    out = np.asarray(values, dtype=object)
    if mask is not None and mask.any():
        out = out.copy()
        out[mask] = None
    return out


def _boolean(values: np.ndarray, blank: np.ndarray | None = None) -> pd.arrays.BooleanArray:
    mask = np.zeros(len(values), dtype=bool) if blank is None else blank
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), mask.copy())


def _own(g: np.ndarray, stated: np.ndarray) -> np.ndarray:
    """The group index where ethnicity is recorded, -1 where it is Not stated."""
    return np.where(stated, g, -1)
