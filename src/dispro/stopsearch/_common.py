"""Checks and tallies shared by the stop-and-search tables (hit rates, shares, concordance).

Column checks, the vehicle-only and section 60 rules in the condition language of
:mod:`dispro.counts.conditions`, the "not supplied" rule (a field blank for a whole force-month),
the tally of searches, events and exclusions by cell (a call to :func:`dispro.counts.tally`), the
status of a share and the exclusions ledger of a table.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from .. import ledger
from ..counts import tally
from ..counts.conditions import holds
from ..dictionary import codelist
from ..errors import (
    DisproError,
    NotSuppliedError,
    ParameterError,
    ValidationError,
    did_you_mean,
)
from ..ethnicity import GROUPS

#: Vehicle-only searches (no person), in the condition language: the True/False column
#: ``vehicle_only`` holds (a missing flag counts as a person search).
VEHICLE_ONLY = "vehicle_only"


def section60() -> dict[str, list[str]]:
    """Section 60 searches, in the condition language: legislation flagged ``section60``."""
    return {"legislation": _section60_codes()}


def _check_records(records, func: str) -> None:
    if not isinstance(records, pd.DataFrame):
        raise ParameterError(
            f"`records` must be a pandas DataFrame (e.g. from dispro.read_police_uk), but "
            f"{type(records).__name__} was passed"
        )
    if records.empty:
        raise DisproError(f"{func}: the records hold no searches (0 rows)")


def _require(records: pd.DataFrame, params: dict[str, str], fixed: dict[str, str], func: str):
    """Raise :class:`ValidationError` for a missing column.

    ``params`` maps a column to the parameter that named it; ``fixed`` maps a column the function
    always needs to the reason it needs it.
    """
    present = [str(c) for c in records.columns]
    for column, param in params.items():
        if column not in records.columns:
            raise ValidationError(
                f"{func}: column {column!r} (given as `{param}`) is not in the records"
                f"{did_you_mean(str(column), present)}; columns present: {present}"
            )
    for column, why in fixed.items():
        if column not in records.columns:
            raise ValidationError(
                f"{func}: the records have no {column!r} column, needed {why}"
                f"{did_you_mean(column, present)}. Read the data with dispro.read_police_uk, "
                "which makes every stop_search field."
            )


def _check_group(records: pd.DataFrame, group: str, by: list[str], func: str) -> None:
    if group in by:
        raise ParameterError(f"{func}: the `group` column {group!r} must not also be a `by` column")
    missing = records[group].isna().to_numpy()
    if missing.any():
        raise ValidationError(
            f"{func}: column {group!r} (given as `group`) has no value in {int(missing.sum())} of "
            f"{len(records)} row(s) (e.g. rows {records.index[missing][:5].tolist()}). Label them "
            "(read_police_uk labels unrecorded ethnicity 'Not stated') or drop them first."
        )


def _levels(values: pd.Series) -> list:
    """Distinct non-missing values in display order: ethnicity groups in their code-list order."""
    present = list(pd.unique(values.dropna()))
    if present and all(isinstance(v, str) for v in present) and set(present) <= set(GROUPS):
        return [g for g in GROUPS if g in set(present)]
    return sorted(present, key=lambda v: (str(type(v)), v))


def _vehicle_only(records: pd.DataFrame) -> np.ndarray:
    """Vehicle-only searches (no person); a missing flag counts as a person search."""
    return holds(records, VEHICLE_ONLY, "vehicle_only")


def _section60_codes() -> list[str]:
    """Legislation codes flagged ``section60`` in the legislation code list."""
    table = codelist("legislation")
    return table.loc[table["section60"].str.strip().str.lower() == "true", "code"].tolist()


def _blank(values: pd.Series) -> np.ndarray:
    out = values.isna().to_numpy(dtype=bool)
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        out = out | values.astype("string").str.strip().eq("").fillna(False).to_numpy(dtype=bool)
    return out


@functools.cache
def _source_columns() -> dict[str, str]:
    from ..readers.mapping import load_mapping

    return {field: column for column, field in load_mapping("police_uk").columns.items()}


def source_column(field: str) -> str | None:
    """The data.police.uk column a record field is read from (``None`` for a derived field)."""
    return _source_columns().get(field)


def _not_supplied(records: pd.DataFrame, field: str) -> np.ndarray:
    """Rows in a force-month where ``field`` was not supplied: blank for every row of it.

    Judged on the rows passed (all of them, vehicle-only included, as :func:`dispro.coverage`
    does). When the records carry read_police_uk's coverage table with a ``<field>_supplied``
    flag, a force-month it marks as supplied is never "not supplied" (so a filtered subset whose
    rows happen all to be blank is read as "not recorded", not "not supplied").
    """
    blank = pd.Series(_blank(records[field]), index=records.index)
    keys = [records["force"].astype(object).fillna("").to_numpy(),
            records["month"].astype(object).fillna("").to_numpy()]  # fmt: skip
    all_blank = blank.groupby(keys, sort=False).transform("all").to_numpy(dtype=bool)
    coverage = records.attrs.get("coverage")
    flag = f"{field}_supplied"
    if all_blank.any() and coverage and isinstance(coverage, list) and flag in coverage[0]:
        supplied = [(r["force"], r["month"]) for r in coverage if r.get(flag)]
        if supplied:
            index = pd.MultiIndex.from_arrays(keys)
            all_blank = all_blank & ~index.isin(supplied)
    return all_blank


def _raise_if_never_supplied(records, field, param_text, func, hint=""):
    ns = _not_supplied(records, field)
    if ns.all():
        months = records.groupby(["force", "month"], dropna=False).ngroups
        column = source_column(field)
        named = f"{field!r}" + (f" (police.uk column {column!r})" if column else "")
        raise NotSuppliedError(
            f"{func}: the field {named} ({param_text}) was not supplied: it is blank in all "
            f"{len(records)} row(s), i.e. in every one of the {months} force-month(s) given, so "
            f"no share can be computed (a field that was not supplied is not 0%). {hint}",
            field=field,
            column=column,
        )
    return ns


def _tally(
    records: pd.DataFrame,
    *,
    group: str,
    by: list[str],
    exclusions: dict[str, object],
    event,
    levels: list | None = None,
) -> pd.DataFrame:
    """Count searches, events and exclusions per (by..., group) cell, by :func:`dispro.counts.tally`.

    ``exclusions`` maps an output column to a condition (or a row mask); a row is counted under
    the FIRST rule that applies (dict order) and is not a search. ``event`` (a condition or a
    mask) counts among the rows kept. The grid is every ``by`` combination seen in the records
    crossed with every group level, so a group with no searches in a slice has a row (with
    zeros). ``by`` values that are missing form their own cell.
    """
    levels = _levels(records[group]) if levels is None else levels
    counted = tally(records, [*by, group], events=event, exclude=exclusions, levels={group: levels})
    out = pd.DataFrame(index=counted.index)
    for b in by:
        out[b] = np.asarray(counted[b], dtype=object)
    out["group"] = np.asarray(counted[group], dtype=object)
    for c in exclusions:
        out[c] = counted[c].to_numpy()
    out["searches"] = counted["base"].to_numpy()
    out["events"] = counted["events"].to_numpy()
    out["__key"] = out.groupby(by, dropna=False, sort=False).ngroup().to_numpy() if by else 0
    return out


def _status(searches: np.ndarray, not_supplied: np.ndarray) -> np.ndarray:
    """Status of each cell (see :data:`STATUSES`)."""
    searches = np.asarray(searches)
    not_supplied = np.asarray(not_supplied)
    return np.select(
        [(searches == 0) & (not_supplied > 0), searches == 0, not_supplied > 0],
        ["not_supplied", "no_searches", "partly_supplied"],
        default="ok",
    ).astype(object)


def _record_ledger(out: pd.DataFrame, records: pd.DataFrame, step: str, rules: dict[str, str]):
    out.attrs["exclusions"] = list(records.attrs.get("exclusions", []))
    for column, rule in rules.items():
        ledger.record(out, step, rule, int(out[column].sum()))
