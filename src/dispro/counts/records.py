"""Records in memory (or in a database) to counts: :func:`tally` and :func:`count_events`.

:func:`tally` is the one group-by of records in dispro: every table that counts records per cell
(search counts, the stages of the pathway, hit-rate, share and concordance tables, the counts of
:func:`count_events` and so of :func:`dispro.rri_from_records`) is a call to it, with the rows
chosen by the condition language of :mod:`dispro.counts.conditions`. :func:`count_events` adds
the rules for missing values (an error, or an exclusion counted in the ledger) and takes an Ibis
table too, which is grouped on its own engine (:mod:`dispro.counts.ibis`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import ledger
from .._checks import as_list, require_columns
from ..errors import ValidationError
from . import ibis as ibis_engine
from .conditions import evaluate, holds, to_ibis

__all__ = ["count_events", "tally"]


def _ranks(values: pd.Series, levels, dropna: bool) -> tuple[np.ndarray, pd.Index]:
    """Each row's rank among the key's values (sorted, missing last; or the order of ``levels``),
    -1 for a row left out, and the values in rank order."""
    if levels is not None:
        index = pd.Index(list(levels))
        return index.get_indexer(values).astype(np.int64), index
    codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=dropna)
    order, ordered = pd.factorize(uniques, sort=True, use_na_sentinel=False)
    ranks = np.asarray(order, dtype=np.int64)[codes]
    if dropna:
        ranks[codes < 0] = -1
    return ranks, ordered


def _strides(sizes: list[int]) -> np.ndarray:
    """Place values of the mixed-radix cell number whose digits are the keys' ranks."""
    return np.cumprod([1, *sizes[::-1]])[:-1][::-1].astype(np.int64)


def _grid(seen: np.ndarray, sizes: list[int], free: list[bool]) -> np.ndarray:
    """Every combination of the free keys among the ``seen`` cells, crossed with every level of
    the other keys: the sorted cell numbers."""
    strides = _strides(sizes)
    digits = [seen // s % n for s, n in zip(strides, sizes, strict=True)]
    fixed = sum((d * s for d, s, f in zip(digits, strides, free, strict=True) if f), np.int64(0))
    combos = np.unique(np.asarray(fixed, dtype=np.int64).reshape(-1))
    for n, s, f in zip(sizes, strides, free, strict=True):
        if not f:
            combos = (combos[:, None] + np.arange(n, dtype=np.int64)[None, :] * s).ravel()
    return np.sort(combos)


def tally(
    records: pd.DataFrame,
    keys: str | Sequence[str],
    *,
    events=None,
    exclude: Mapping[str, object] | None = None,
    sums: Mapping[str, object] | None = None,
    levels: Mapping[str, Sequence] | None = None,
    dropna: bool = False,
    weights=None,
) -> pd.DataFrame:
    """Count records per combination of ``keys``: those kept, the events among them, the excluded.

    Parameters
    ----------
    records : DataFrame
        One row per record.
    keys : str or list of str
        The columns to count by.
    events : condition, optional
        Which kept records are events (any form of :mod:`dispro.counts.conditions`; a missing
        status is not an event). Default: every kept record.
    exclude : mapping, optional
        Exclusion rules, ``{column name: condition}``, in order: each record meeting a rule's
        condition (a missing status does not meet it) is excluded and counted under the FIRST
        rule it meets, in that rule's column.
    sums : mapping, optional
        ``{column name: column or array of numbers}`` summed over the kept records of each cell.
    levels : mapping, optional
        ``{key: its levels}``: those keys take exactly these values, in this order (records with
        other values are left out); every combination of the other keys that occurs is crossed
        with every level, so a level with no records has a row of zeros.
    dropna : bool
        Records with a missing key are left out (True) or form their own cell (False, default;
        missing keys sort last).
    weights : array of int, optional
        The number of records each row stands for (rows that are cells); default 1.

    Returns
    -------
    DataFrame
        The keys (sorted by value, or in the order of their ``levels``), one column per exclusion
        rule, ``base`` (records kept), ``events`` (events among them) and the ``sums`` columns.
        Key columns keep their dtype (levels are plain values).

    Examples
    --------
    >>> import pandas as pd
    >>> recs = pd.DataFrame({"force": ["A", "A", "B"], "vehicle_only": [False, True, False],
    ...                      "arrest": [True, False, False]})
    >>> tally(recs, "force", events="arrest", exclude={"vehicle": "vehicle_only"})
      force  vehicle  base  events
    0     A        1     1       1
    1     B        0     1       0
    """
    keys = as_list(keys)
    exclude = dict(exclude or {})
    sums = dict(sums or {})
    levels = dict(levels or {})
    require_columns(records, {k: "keys" for k in keys}, "the records")
    n = len(records)
    # each record's state: the exclusion rule that took it (0, 1, ...), kept, or a kept event
    rules = list(exclude)
    kept_state, event_state = len(rules), len(rules) + 1
    state = np.full(n, kept_state, dtype=np.int64)
    remaining = np.ones(n, dtype=bool)
    for i, (name, condition) in enumerate(exclude.items()):
        hit = holds(records, condition, name) & remaining
        state[hit] = i
        remaining &= ~hit
    event = remaining if events is None else remaining & holds(records, events, "events")
    state[event] = event_state

    ranks, values, valid = [], [], np.ones(n, dtype=bool)
    for key in keys:
        r, v = _ranks(records[key], levels.get(key), dropna)
        ranks.append(r)
        values.append(v)
        valid &= r >= 0
    sizes = [max(len(v), 1) for v in values]
    total = float(np.prod(sizes, dtype=float))
    if total * (kept_state + 2) >= 2**62:  # pragma: no cover - too many cells for an int64
        raise ValidationError(f"too many combinations of {keys} to count")
    strides = _strides(sizes)
    every = bool(valid.all())
    gid = np.zeros(n if every else int(valid.sum()), dtype=np.int64)
    for r, stride in zip(ranks, strides, strict=True):
        gid += (r if every else r[valid]) * stride
    # each row's slot: its cell number when the cells are few enough to number densely
    width = kept_state + 2
    dense = total * width <= 2 * n + 1_000_000
    known = None if dense else np.unique(gid)
    slot = gid if dense else np.searchsorted(known, gid)
    length = int(total) if dense else len(known)
    # one pass: the records (or weights) of every (slot, state)
    weight = None if weights is None else np.asarray(weights, dtype=np.int64)
    if weight is not None and not every:
        weight = weight[valid]
    combined = slot * width + (state if every else state[valid])
    table = np.bincount(combined, weights=weight, minlength=length * width)
    table = np.rint(table).astype(np.int64).reshape(length, width)
    seen = np.flatnonzero(np.bincount(slot, minlength=length) > 0) if dense else known
    cells = seen if not levels or not keys else _grid(seen, sizes, [k not in levels for k in keys])
    if dense:
        where, found = cells, np.ones(len(cells), dtype=bool)
    else:
        where = np.minimum(np.searchsorted(known, cells), max(length - 1, 0))
        found = known[where] == cells if length else np.zeros(len(cells), dtype=bool)
    got = table[where] if length else np.zeros((len(cells), width), dtype=np.int64)
    got[~found] = 0

    out = pd.DataFrame(index=range(len(cells)))
    for key, v, stride, size in zip(keys, values, strides, sizes, strict=True):
        out[key] = v.take(cells // stride % size).array
    for i, name in enumerate(rules):
        out[name] = got[:, i]
    out["base"] = got[:, kept_state] + got[:, event_state]
    out["events"] = got[:, event_state]
    if sums:
        kept = remaining[valid]
        for name, source in sums.items():
            v = records[source] if isinstance(source, str) else pd.Series(source)
            v = pd.to_numeric(v, errors="coerce").to_numpy(dtype=float)[valid][kept]
            summed = pd.Series(v).groupby(slot[kept]).sum()  # pandas' compensated sum
            value = summed.reindex(where, fill_value=0.0).to_numpy(dtype=float)
            out[name] = np.where(found, value, 0.0)
    return out


def count_events(
    records: pd.DataFrame,
    *,
    events,
    at_risk=None,
    group: str = "ethnicity",
    by: str | Sequence[str] | None = None,
    dropna: bool = False,
) -> pd.DataFrame:
    """Count events and those at risk per (by..., group) from one-row-per-event records.

    Parameters
    ----------
    records : DataFrame or Ibis table
        One row per person or decision. An Ibis table (DuckDB, Spark, a warehouse: see
        :mod:`dispro.counts.ibis`) is counted where it lives, by one ``GROUP BY``; only the
        counts come back. With a table, ``events`` and ``at_risk`` are a True/False column, a
        mapping or a function of the table returning an Ibis True/False expression.
    events : str, dict, callable or boolean array
        Which rows are events, in the condition language (:mod:`dispro.counts.conditions`): the
        name of a boolean column (e.g. ``"arrest"``), a mapping
        ``{"disposal": ["caution", "community_resolution"]}`` or a callable of the records; on a
        data frame also an expression (``"outcome == 'arrest'"``) or a boolean array.
    at_risk : same kinds as ``events``, optional
        Which rows are at risk (the base); default every row. Events are counted among these only.
    group, by
        As in :func:`dispro.rri`.
    dropna : bool
        Rows at risk whose group or event status is missing raise an error unless ``dropna=True``,
        in which case they are excluded and counted in the exclusions ledger.

    Returns
    -------
    DataFrame
        Columns ``by..., group, events, base`` (``group`` keeps its original column name).

    Examples
    --------
    >>> import pandas as pd, dispro
    >>> recs = pd.DataFrame({"ethnicity": ["White", "White", "Black"], "arrest": [True, False, True]})
    >>> dispro.count_events(recs, events="arrest")
      ethnicity  events  base
    0     Black       1     1
    1     White       1     2
    """
    by = as_list(by)
    records = ibis_engine.resolve(records)  # a (connection, table name) pair
    if ibis_engine.is_table(records):  # counted on the engine that holds the table
        risk = to_ibis(records, at_risk, "at_risk")
        hit = to_ibis(records, events, "events")
        cells = ibis_engine.count_cells(records, [*by, group], {"__risk": risk, "__hit": hit})
        for name, cond in (("__risk", risk), ("__hit", hit)):
            if cond is None:  # every record
                cells[name] = pd.array(np.ones(len(cells), dtype=bool), dtype="boolean")
        return _count_core(
            cells, cells["__risk"], cells["__hit"], group=group, by=by, dropna=dropna,
            weights=cells[ibis_engine.COUNT].to_numpy(dtype="int64"), carry=None,
        )  # fmt: skip
    require_columns(records, {group: "group", **{c: "by" for c in by}}, "the records")
    risk = evaluate(records, at_risk, "at_risk")
    hit = evaluate(records, events, "events")
    return _count_core(records, risk, hit, group=group, by=by, dropna=dropna, carry=records)


def _count_core(records, risk, hit, *, group, by, dropna, weights=None, carry=None):
    """count_events on rows (``weights`` None) or on cells of ``weights`` records each."""
    w = np.ones(len(records), dtype="int64") if weights is None else weights
    risk_known = risk.fillna(False).to_numpy(dtype=bool)
    result_ledger = pd.DataFrame()
    if carry is not None:
        ledger.carry(carry, result_ledger)
    n_risk_unknown = int(w[risk.isna().to_numpy()].sum())
    problems = {
        f"missing {group!r}": risk_known & records[group].isna().to_numpy(),
        "missing event status": risk_known & hit.isna().to_numpy(),
    }
    for c in by:
        problems[f"missing {c!r}"] = risk_known & records[c].isna().to_numpy()
    drop = np.zeros(len(records), dtype=bool)
    for what, mask in problems.items():
        if mask.any():
            if not dropna:
                where = (
                    f" (first rows: {records.index[mask][:10].tolist()})" if weights is None else ""
                )
                raise ValidationError(
                    f"{int(w[mask].sum())} record(s) at risk have a {what}{where}. Label them "
                    "(e.g. 'Not stated') or pass dropna=True to exclude them; exclusions are "
                    "counted in the ledger."
                )
            ledger.record(
                result_ledger,
                "count_events",
                f"records at risk with a {what}",
                int(w[mask & ~drop].sum()),
            )
            drop |= mask
    if n_risk_unknown:
        if not dropna:
            raise ValidationError(
                f"{n_risk_unknown} record(s) have a missing at-risk status; pass dropna=True to "
                "exclude them (they are counted in the ledger)."
            )
        ledger.record(
            result_ledger, "count_events", "records with a missing at-risk status", n_risk_unknown
        )
    keep = risk_known & ~drop
    hits = hit.fillna(False).to_numpy(dtype=bool)
    counts = tally(records, [*by, group], events=hits, exclude={"__out": ~keep}, weights=w)
    counts = counts.loc[counts["base"] > 0, [*by, group, "events", "base"]].reset_index(drop=True)
    counts.attrs = dict(result_ledger.attrs)
    return counts
