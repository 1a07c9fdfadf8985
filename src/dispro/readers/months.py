"""The coverage of records: which months, per area, the records actually passed cover.

One rule for the month of a record, used everywhere: the data.police.uk ``month`` column (the
file's month) where the records have one, else the local (Europe/London) calendar month of
``date`` (a timestamp with a time zone is converted to UK local time; a naive one is taken as UK
local time already). A search at 00:30 BST on 1 April is an April search, not a March one.

:func:`coverage` gives the months each area's records cover. Records read by
:func:`dispro.read_police_uk` carry the reader's force x month table in ``attrs`` (which files
were given, header-only files included); pandas keeps ``attrs`` through a filter, so after
``records[records["month"] >= "2018-05"]`` the table still lists the months filtered out.
:func:`coverage` checks the table against the records passed and corrects it, with a warning;
records without the table get one derived from the months present in them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import DataQualityWarning, ValidationError, did_you_mean

__all__ = ["coverage", "record_months", "COVERAGE_COLUMNS", "SUPPLIED_FIELDS"]

#: Columns of the coverage table (``force`` is the ``area`` argument's column).
COVERAGE_COLUMNS = (
    "force", "month", "present", "rows", "source",
    "outcome_linked_supplied", "removal_outer_clothing_supplied",
    "part_of_policing_operation_supplied", "location_supplied", "self_defined_ethnicity_supplied",
)  # fmt: skip

#: Each ``<field>_supplied`` column of the coverage table and the record field it describes.
SUPPLIED_FIELDS = {
    "outcome_linked_supplied": "outcome_linked",
    "removal_outer_clothing_supplied": "removal_outer_clothing",
    "part_of_policing_operation_supplied": "part_of_policing_operation",
    "location_supplied": "latitude",
    "self_defined_ethnicity_supplied": "self_defined_ethnicity",
}

_MONTH = r"[0-9]{4}-(0[1-9]|1[0-2])"
UK = "Europe/London"


def record_months(records: pd.DataFrame, *, month: str = "month", date: str = "date") -> pd.Series:
    """The month (``YYYY-MM``) of each record: ``month`` where present, else the UK local
    calendar month of ``date``.

    Parameters
    ----------
    records : DataFrame
        Records with a ``month`` column (``YYYY-MM``, as :func:`dispro.read_police_uk` gives) or
        a ``date`` column (timestamps, or text that pandas parses).
    month, date : str
        The column names.

    Returns
    -------
    Series
        ``YYYY-MM`` strings on the records' index; missing where the date is.

    Raises
    ------
    ValidationError
        The records have neither column, or a ``month`` value is not ``YYYY-MM``.

    Examples
    --------
    >>> import pandas as pd
    >>> recs = pd.DataFrame({"date": pd.to_datetime(["2024-03-31T23:30:00+00:00",
    ...                                               "2024-01-31T23:30:00+00:00"])})
    >>> record_months(recs).tolist()  # 00:30 BST on 1 April; 23:30 GMT on 31 January
    ['2024-04', '2024-01']
    """
    if month in records.columns:
        values = records[month]
        if isinstance(values.dtype, pd.PeriodDtype):
            return values.dt.strftime("%Y-%m").astype(object)
        text = values.astype("string")
        bad = text.notna() & ~text.str.fullmatch(_MONTH).fillna(False)
        if bad.any():
            raise ValidationError(
                f"column {month!r} must hold months as YYYY-MM, but it holds "
                f"{sorted(set(text[bad].astype(str)))[:5]}"
            )
        return text.astype(object).where(text.notna(), None)
    if date not in records.columns:
        raise ValidationError(
            f"the records have no {month!r} or {date!r} column to tell the month of each record"
            f"{did_you_mean(date, records.columns)}; columns present: {list(records.columns)}"
        )
    stamps = records[date]
    if not pd.api.types.is_datetime64_any_dtype(stamps):
        text = stamps.astype("string")
        zoned = text.str.contains(r"(?:Z|[+-][0-9]{2}:?[0-9]{2})$", regex=True).fillna(False)
        stamps = pd.to_datetime(text, errors="coerce", utc=bool(zoned.any()), format="ISO8601")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert(UK)
    out = stamps.dt.strftime("%Y-%m")
    return out.astype(object).where(out.notna(), None)


def coverage(records: pd.DataFrame, *, area: str | None = "force") -> pd.DataFrame:
    """The months each area's records cover: the one source of the exposure of a rate.

    Parameters
    ----------
    records : DataFrame
        Records, e.g. from :func:`dispro.read_police_uk` (which carry the reader's coverage
        table in ``attrs``), a synthetic or canonical dataset, or any subset of them.
    area : str or None
        The column naming the area (default ``"force"``); ``None`` for the records as one area.

    Returns
    -------
    DataFrame
        One row per area x month, sorted: the ``area`` column (``force`` by default), ``month``
        (``YYYY-MM``), ``present`` (the month was supplied), ``rows`` (records in the file;
        missing when no file: a missing month is never zero), ``source``, and per field whether
        it was supplied at all that month (``outcome_linked_supplied``,
        ``removal_outer_clothing_supplied``, ``part_of_policing_operation_supplied``,
        ``location_supplied``, ``self_defined_ethnicity_supplied``): a field blank for a whole
        force-month is "not supplied", not False.

        With the reader's table (``attrs["coverage"]``, keyed by ``force``): that table, checked
        against the records passed. Without it, or for another ``area`` column: derived from
        the months present in the records (:func:`record_months`), ``rows`` the records in each.

    Raises
    ------
    ValidationError
        The records have neither a coverage table nor a month or date column, or lack the
        ``area`` column.

    Warns
    -----
    DataQualityWarning
        When the reader's table does not match the records and is corrected: it lists months (or
        forces) that hold no records beyond the months the records span (the records were
        filtered after reading: those months are dropped), or the records hold months it lacks
        (they are added). How a month listed as supplied but holding no records is judged: when
        the records hold every row of their other months, it was filtered out (dropped); when
        they hold fewer but at least half of them (e.g. person searches of a time window), it is
        dropped beyond the months the records span and kept within it; when they hold under
        half (a subset such as one group, which can leave a supplied month empty), it is kept.
    """
    if "coverage" not in records.attrs and "month" not in records and "date" not in records:
        raise ValidationError(
            "these records carry no coverage table (read_police_uk makes one, and operations "
            "that drop pandas attrs lose it) and have no 'month' or 'date' column to derive it "
            f"from; columns present: {list(records.columns)}"
        )
    if area is not None and area not in records.columns:
        raise ValidationError(
            f"column {area!r} (given as `area`) is not in the records"
            f"{did_you_mean(area, records.columns)}; columns present: {list(records.columns)}"
        )
    keys = [area] if area is not None else []
    fields = [f for f in SUPPLIED_FIELDS.values() if f in records.columns]
    present = pd.DataFrame(
        {
            **{k: records[k].to_numpy() for k in keys},
            "month": record_months(records).to_numpy(),
            **{f"__{f}": records[f].notna().to_numpy() for f in fields},
        }
    ).dropna(subset=["month", *keys])
    if "coverage" in records.attrs and area == "force":
        table = pd.DataFrame(records.attrs["coverage"], columns=list(COVERAGE_COLUMNS))
        table = _checked(table, present[["force", "month"]])
    else:
        table = _derived(present, keys, [f"__{f}" for f in fields])
        if area != "force":
            table = table.rename(columns={"force": area}) if area else table.drop(columns="force")
    table["rows"] = table["rows"].astype("Int64")
    return table


def _derived(present: pd.DataFrame, keys: list[str], flags: list[str]) -> pd.DataFrame:
    """The coverage of records without a reader's table: the months present in them."""
    grouped = present.groupby([*keys, "month"], sort=True)
    table = grouped.size().rename("rows").to_frame()
    if flags:
        table = table.join(grouped[flags].any())
    table = table.reset_index()
    if keys:
        table = table.rename(columns={keys[0]: "force"})
    else:
        table.insert(0, "force", None)
    table["present"] = True
    table["source"] = None
    for k, field in SUPPLIED_FIELDS.items():
        table[k] = table.pop(f"__{field}") if f"__{field}" in table else pd.NA
    return table[list(COVERAGE_COLUMNS)]


def _checked(table: pd.DataFrame, present: pd.DataFrame) -> pd.DataFrame:
    """The reader's table corrected to the records passed (see :func:`coverage`)."""
    table = table.copy()
    table["month"] = table["month"].astype(str)
    counts = present.groupby(["force", "month"]).size().rename("_n")
    table = table.merge(counts.reset_index(), on=["force", "month"], how="left")
    table["_n"] = table["_n"].fillna(0).astype(int)
    listed = table["present"].fillna(False).astype(bool)
    rows = pd.to_numeric(table["rows"], errors="coerce")
    first = present.groupby("force")["month"].min()
    last = present.groupby("force")["month"].max()
    lo, hi = table["force"].map(first), table["force"].map(last)
    below = lo.notna() & (table["month"] < lo.fillna("0000-00"))
    above = hi.notna() & (table["month"] > hi.fillna("9999-99"))
    outside = lo.isna() | below | above
    # the records' months hold every row the table lists: nothing was filtered out within them
    whole = (table["_n"] >= rows) | (table["_n"] == 0)
    whole_forces = whole.groupby(table["force"]).transform("all")
    # the records hold under half the rows of their months: a subset of the rows (one group),
    # whose empty months were supplied all the same
    held = table["_n"].groupby(table["force"]).transform("sum")
    listed_rows = rows.where(table["_n"] > 0, 0).groupby(table["force"]).transform("sum")
    subset = held < 0.5 * listed_rows
    empty = listed & (table["_n"] == 0) & (rows > 0)
    stale = empty & ((outside & ~subset) | whole_forces)
    # header-only months beyond a stale month, on the side the records were cut
    cut_low = table["force"].isin(table.loc[stale & below, "force"])
    cut_high = table["force"].isin(table.loc[stale & above, "force"])
    beyond = (cut_low & below) | (cut_high & above)
    gone = lo.isna() & table["force"].map(empty.groupby(table["force"]).any())
    drop = (stale | beyond | gone.fillna(False)).to_numpy(dtype=bool)
    known = set(zip(table.loc[listed, "force"], table.loc[listed, "month"], strict=True))
    extra = counts[[k not in known for k in counts.index]]
    if drop.any() or len(extra):
        _warn(table[drop], extra)
    table = table.loc[~drop & ~table.set_index(["force", "month"]).index.isin(extra.index)]
    if len(extra):
        added = extra.reset_index().rename(columns={"_n": "rows"}).assign(present=True)
        table = pd.concat([table, added], ignore_index=True)
    table = table.sort_values(["force", "month"]).reset_index(drop=True)
    return table[list(COVERAGE_COLUMNS)]


def _warn(dropped: pd.DataFrame, added: pd.Series) -> None:
    parts = []
    if len(dropped):
        spans = "; ".join(
            f"{force} {_runs(g['month'])}" for force, g in dropped.groupby("force", sort=True)
        )
        parts.append(
            f"it lists {len(dropped)} force-month(s) that hold no records, beyond the months the "
            f"records span ({spans}): the records were filtered after reading, so those months "
            "are left out of the coverage and of any person-years"
        )
    if len(added):
        shown = ", ".join(f"{f} {m}" for f, m in list(added.index)[:6])
        parts.append(
            f"the records hold {len(added)} force-month(s) it does not list as supplied "
            f"({shown}): they are added, as supplied"
        )
    warnings.warn(
        "the coverage table carried by these records (attrs['coverage']) does not match them: "
        + "; ".join(parts)
        + ". dispro.coverage(records) gives the corrected table.",
        DataQualityWarning,
        stacklevel=4,
    )


def _runs(months: pd.Series) -> str:
    """Months as runs of consecutive months: ``2017-12 to 2018-04, 2019-03``."""
    periods = pd.PeriodIndex(sorted(set(months)), freq="M")
    run = np.cumsum(np.r_[1, np.diff(periods.asi8) != 1])
    parts = []
    for r in np.unique(run):
        chunk = periods[run == r]
        parts.append(str(chunk[0]) if len(chunk) == 1 else f"{chunk[0]} to {chunk[-1]}")
    return ", ".join(parts)
