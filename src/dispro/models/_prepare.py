"""Records checked, encoded and collapsed for a model: the one place the models read records.

:func:`_prepare` checks the columns and missing values and encodes every categorical key as
integer codes; :func:`_collapse` turns the codes into one row per covariate pattern (the
collapsed cells) with the sums a model needs; :func:`_record_frame` gives the records instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._checks import as_list as _as_list
from .._checks import require_columns as _require_columns

# the condition language (which records are events): imported here only, for every model
from ..counts.conditions import evaluate as _condition  # noqa: F401
from ..errors import (
    DataQualityWarning,
    DisproError,
    ParameterError,
    ReferenceGroupError,
    ValidationError,
    did_you_mean,
)
from ..ethnicity import GROUPS
from .results import FEW_CLUSTERS

# column names dispro adds to the frames it fits; a user column of the same name is refused
_RESERVED = ("_events", "_nonevents", "_n", "_mean", "_exposure", "_s1", "_s2", "_months")


def _check_frame(frame, name: str, func: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(
            f"{func}: `{name}` must be a pandas DataFrame, but {type(frame).__name__} was passed"
        )
    if len(frame) == 0:
        raise ValidationError(f"{func}: `{name}` has no rows")
    clash = sorted(set(_RESERVED) & {str(c) for c in frame.columns})
    if clash:
        raise ParameterError(
            f"{func}: column names {clash} are reserved for dispro's working columns; rename them"
        )


def _is_continuous(values: pd.Series) -> bool:
    return (
        pd.api.types.is_numeric_dtype(values)
        and not pd.api.types.is_bool_dtype(values)
        and not isinstance(values.dtype, pd.CategoricalDtype)
    )


def _order_levels(levels) -> list[str]:
    """Groups in code-list order (Asian, Black, Mixed, White, Other, Not stated), others after."""
    rank = {g: i for i, g in enumerate(GROUPS)}
    return sorted(levels, key=lambda g: (rank.get(g, len(rank)), g))


def _count_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """``np.bincount(codes, minlength=k)``, by one comparison per level when there are few.

    With few levels ``np.bincount``'s increments of the same few counters wait on each other:
    9 ms for 1,000,000 codes in 12 levels, against 2 ms for twelve vectorised comparisons.
    """
    if k * codes.dtype.itemsize <= 64:
        return np.array([np.count_nonzero(codes == j) for j in range(k)], dtype=np.intp)
    return np.bincount(codes, minlength=k)


def _encode(values: pd.Series, weights=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer codes (0..k-1, only levels present), the levels as strings and their counts.

    Levels keep a categorical column's category order (e.g. ordered bands) and are sorted
    otherwise, as statsmodels' formulas would order them.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        uniques = values.cat.categories
    else:
        codes, uniques = pd.factorize(values, sort=True)
    counts = (
        _count_codes(codes, len(uniques))
        if weights is None  # records
        else np.bincount(codes, weights=weights, minlength=len(uniques)).round().astype(np.intp)
    )
    present = counts > 0
    if not present.all():
        remap = np.cumsum(present) - 1
        codes = remap[codes]
        uniques = uniques[present]
        counts = counts[present]
    # the narrowest integer type: six int64 code arrays of 5 million records would be 240 MB
    codes = codes.astype(np.min_scalar_type(max(len(uniques) - 1, 0)), copy=False)
    levels = np.asarray(pd.Index(uniques).astype(str), dtype=object)
    return codes, levels, counts


@dataclass
class _Prepared:
    """Records checked and encoded for a model (one entry per column used)."""

    n_input: int
    n_used: int
    keep: np.ndarray | None  # boolean mask of the records used, None = all
    group: str
    reference: str
    groups: list[str]
    categorical: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # (codes, levels, counts)
    continuous: dict[str, np.ndarray]
    controls: list[str]  # used, in the order given
    dropped: list[str]
    cluster: str | None
    entries: list[tuple[str, int]]
    notes: list[str]
    weights: np.ndarray | None = None  # records per row when the rows are cells (Ibis tables)


def _take(values, keep):
    return values if keep is None else values[keep]


def _prepare(
    records: pd.DataFrame,
    *,
    func: str,
    group: str,
    reference,
    controls,
    cluster=None,
    extra: Mapping[str, str] | None = None,
    responses: Mapping[str, Any] | None = None,
    dropna: bool,
    weights: np.ndarray | None = None,
) -> _Prepared:
    """Check the records' columns and missing values; encode the categorical keys.

    ``weights`` (cells counted by an engine): the number of records each row stands for; every
    count, level frequency and ledger entry is then a sum of weights.

    ``extra`` maps a parameter name to a further categorical column (e.g. ``period``);
    ``responses`` maps a description to an array whose missing values also exclude a record.
    """
    _check_frame(records, "records", func)
    controls = _as_list(controls)
    extra = dict(extra or {})
    if len(set(controls)) != len(controls):
        raise ParameterError(f"{func}: `controls` lists a column twice: {controls}")
    if group in controls:
        raise ParameterError(f"{func}: the `group` column {group!r} must not also be a control")
    for param, col in extra.items():
        if col == group or col in controls:
            raise ParameterError(
                f"{func}: the `{param}` column {col!r} must not also be the group or a control"
            )
    named = {group: "group", **{c: "controls" for c in controls}}
    if cluster is not None:
        if not isinstance(cluster, str):
            raise ParameterError(
                f"{func}: `cluster` must be a column name (e.g. 'force'), but {cluster!r} was passed"
            )
        named.setdefault(cluster, "cluster")
    for param, col in extra.items():
        named[col] = param
    _require_columns(records, named, "the records")

    w = None if weights is None else np.asarray(weights, dtype=np.int64)

    def total(mask):
        return int(mask.sum()) if w is None else int(w[mask].sum())

    n = len(records) if w is None else int(w.sum())
    missing: dict[str, np.ndarray] = {}
    for col in named:
        mask = records[col].isna().to_numpy()
        if mask.any():
            missing[f"{col!r}"] = mask
    for label, values in (responses or {}).items():
        mask = np.asarray(pd.isna(values), dtype=bool)
        if mask.any():
            missing[label] = mask
    keep = None
    entries: list[tuple[str, int]] = []
    if missing:
        if not dropna:
            detail = "; ".join(f"{k}: {total(m)} record(s)" for k, m in missing.items())
            first = np.flatnonzero(np.logical_or.reduce(list(missing.values())))[:10]
            where = f"; first rows: {records.index[first].tolist()}" if w is None else ""
            raise ValidationError(
                f"{func}: missing values ({detail}{where}). "
                "A missing value is not a level of its own: label it (e.g. 'Not recorded') to "
                "keep those records, or pass dropna=True to exclude them (they are counted in "
                "the exclusions ledger)."
            )
        drop = np.zeros(len(records), dtype=bool)
        for label, mask in missing.items():
            entries.append((f"records with a missing {label} (dropna=True)", total(mask & ~drop)))
            drop |= mask
        keep = ~drop
        if keep.sum() == 0:
            raise ValidationError(f"{func}: no records are left after dropping missing values")
    n_used = n if keep is None else total(keep)
    wk = _take(w, keep) if w is not None else None

    notes: list[str] = []
    gvalues = _take(records[group], keep)
    gcodes, glevels, gcounts = _encode(gvalues, wk)
    reference_s = str(reference)
    if reference_s not in set(glevels):
        counts = pd.Series(gcounts, index=glevels).to_dict()
        left = " left after dropping missing values" if keep is not None else ""
        raise ReferenceGroupError(
            f"{func}: the reference group {reference!r} has no records{left} in column "
            f"{group!r}{did_you_mean(reference_s, glevels)}; groups present (records): {counts}"
        )
    if len(glevels) < 2:
        raise DisproError(
            f"{func}: only one group ({list(glevels)}) is in the records; there is nothing to compare"
        )
    categorical = {group: (gcodes, glevels, gcounts)}
    continuous: dict[str, np.ndarray] = {}
    used, dropped = [], []
    for c in controls:
        values = _take(records[c], keep)
        if _is_continuous(values):
            arr = values.to_numpy(dtype=float)
            if not np.isfinite(arr).all():
                raise ValidationError(f"{func}: control {c!r} has infinite values")
            if np.ptp(arr) == 0:
                dropped.append(c)
                continue
            continuous[c] = arr
        else:
            encoded = _encode(values, wk)
            if len(encoded[1]) < 2:
                dropped.append(c)
                continue
            categorical[c] = encoded
        used.append(c)
    if dropped:
        message = (
            f"{func}: control(s) {dropped} take a single value among the {n_used:,} records used "
            "(e.g. one force, or one court type), so they cannot be estimated and were dropped"
        )
        warnings.warn(message, DataQualityWarning, stacklevel=3)
        notes.append(message + ".")
    if cluster is not None and cluster not in categorical:
        categorical[cluster] = _encode(_take(records[cluster], keep), wk)
    if cluster is not None:
        n_clusters = len(categorical[cluster][1])
        if n_clusters < 2:
            raise DisproError(
                f"{func}: `cluster` column {cluster!r} has a single value among the records used; "
                "cluster-robust errors need at least two clusters (many more to be reliable)"
            )
        if n_clusters < FEW_CLUSTERS:
            message = (
                f"{func}: only {n_clusters} clusters in {cluster!r}; cluster-robust standard "
                f"errors are unreliable with fewer than about {FEW_CLUSTERS} to 50 clusters "
                "(Cameron & Miller 2015): treat the intervals with caution"
            )
            warnings.warn(message, DataQualityWarning, stacklevel=3)
            notes.append(message + ".")
    for param, col in extra.items():
        encoded = _encode(_take(records[col], keep), wk)
        levels = encoded[1]
        if len(levels) < 2:
            raise DisproError(
                f"{func}: the `{param}` column {col!r} has a single value ({list(levels)}) among "
                "the records used; at least two are needed"
            )
        categorical[col] = encoded
    return _Prepared(
        n_input=n,
        n_used=n_used,
        keep=keep,
        group=group,
        reference=reference_s,
        groups=_order_levels(list(glevels)),
        categorical=categorical,
        continuous=continuous,
        controls=used,
        dropped=dropped,
        cluster=cluster,
        entries=entries,
        notes=notes,
        weights=wk,
    )


def _control_reference(prep: _Prepared) -> dict[str, str]:
    """Each categorical control's reference level: its most frequent level (ties alphabetical)."""
    out = {}
    for c in prep.controls:
        if c in prep.categorical:
            _, levels, counts = prep.categorical[c]
            best = np.flatnonzero(counts == counts.max())
            out[c] = str(sorted(levels[best])[0])
    return out


def _collapse(prep: _Prepared, keys: list[str], sums: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """One row per distinct combination of ``keys`` with the ``sums`` of each array and ``_n``.

    Categorical keys come back as pandas Categoricals of their (string) levels, continuous keys as
    floats. Uses a mixed-radix integer key and ``np.bincount`` (``np.unique`` if the key space is
    too large), so collapsing millions of records costs little more than reading them.
    """
    codes_list, decoders = [], []
    for k in keys:
        if k in prep.categorical:
            codes, levels, _ = prep.categorical[k]
            codes_list.append(codes)
            decoders.append(("cat", levels))
        else:
            codes, uniques = pd.factorize(prep.continuous[k], sort=True)
            codes_list.append(codes.astype(np.int64))
            decoders.append(("num", np.asarray(uniques, dtype=float)))
    cards = [len(d[1]) for d in decoders]
    space = float(np.prod([float(c) for c in cards]))
    w = prep.weights
    if space < 2**62:
        # int32 where it fits: combining the codes is then three times faster than in int64
        key = codes_list[0].astype(np.int32 if 2 * space < 2**31 else np.int64)
        for codes, card in zip(codes_list[1:], cards[1:], strict=True):
            key *= card
            key += codes
        flag = next(iter(sums.values())) if len(sums) == 1 else None
        if w is not None:  # the rows are cells already (an engine's): sum their records
            cell_key, inverse = np.unique(key, return_inverse=True)
            n = np.bincount(inverse, weights=w, minlength=len(cell_key)).round()
            sums_out = {
                name: np.bincount(inverse, weights=np.asarray(arr, dtype=float) * w,
                                  minlength=len(cell_key))
                for name, arr in sums.items()
            }  # fmt: skip
        elif flag is not None and flag.dtype == bool and space <= 2**25:
            # a single boolean sum (events) is folded into the key: one count gives both
            key *= 2
            key += flag
            both = np.bincount(key, minlength=2 * int(space)).reshape(-1, 2)
            n = both.sum(axis=1)
            present = np.flatnonzero(n)
            sums_out = {next(iter(sums)): both[present, 1].astype(float)}
            n = n[present]
            cell_key = present.astype(np.int64)
        elif space <= 2**26:
            n = np.bincount(key, minlength=int(space))
            present = np.flatnonzero(n)
            sums_out = {
                name: np.bincount(key, weights=arr, minlength=int(space))[present]
                for name, arr in sums.items()
            }
            n = n[present]
            cell_key = present.astype(np.int64)
        else:
            cell_key, inverse, n = np.unique(key, return_inverse=True, return_counts=True)
            sums_out = {
                name: np.bincount(inverse, weights=arr, minlength=len(cell_key))
                for name, arr in sums.items()
            }
        cell_codes = []
        rem = cell_key.copy()
        for card in reversed(cards):
            cell_codes.append(rem % card)
            rem //= card
        cell_codes = cell_codes[::-1]
    else:  # pragma: no cover - more than 2**62 possible patterns
        stacked = np.column_stack(codes_list)
        uniq, inverse, n = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
        sums_out = {
            name: np.bincount(inverse.ravel(), weights=arr, minlength=len(uniq))
            for name, arr in sums.items()
        }
        cell_codes = [uniq[:, j] for j in range(uniq.shape[1])]
    frame = {}
    for k, codes, (kind, dec) in zip(keys, cell_codes, decoders, strict=True):
        if kind == "cat":
            frame[k] = pd.Categorical.from_codes(codes, categories=pd.Index(dec, dtype=object))
        else:
            frame[k] = dec[codes]
    out = pd.DataFrame(frame)
    for name, arr in sums_out.items():
        out[name] = arr
    out["_n"] = n.astype(np.int64)
    return out


def _record_frame(prep: _Prepared, keys: list[str]) -> pd.DataFrame:
    """The records used, one column per key (categoricals of string levels, or floats)."""
    frame = {}
    for k in keys:
        if k in prep.categorical:
            codes, levels, _ = prep.categorical[k]
            frame[k] = pd.Categorical.from_codes(codes, categories=pd.Index(levels, dtype=object))
        else:
            frame[k] = prep.continuous[k]
    return pd.DataFrame(frame)
