"""The data.police.uk records of a financial year set against the Home Office published total
of searches for the force and year (table SS_20): a data-quality check, not a statistic.

The two differ for known reasons: forces revise their records after publishing them, records
submitted late never reach data.police.uk, and a month a force did not supply is simply absent.
A difference of more than :data:`TOLERANCE` per cent is flagged with a sentence.

Every record counts: person searches, person-and-vehicle searches and vehicle-only searches,
because the Home Office total counts every stop and search under all relevant legislation,
whatever was searched. (The report's rates per resident count person searches only.)
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._checks import as_list, require_columns
from ..errors import DataQualityWarning, ParameterError, ValidationError
from ..readers.months import coverage, record_months
from ..readers.official import financial_year_label, read_official_totals

__all__ = ["RECONCILE_COLUMNS", "TOLERANCE", "financial_years", "reconcile_totals"]

#: Columns of :func:`reconcile_totals`.
RECONCILE_COLUMNS = (
    "force", "financial_year", "period", "months_supplied", "months_missing", "records",
    "published_total", "difference", "difference_pct", "beyond_tolerance", "note",
)  # fmt: skip
#: A difference of more than this many per cent of the published total is flagged.
TOLERANCE = 5.0

_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_LABEL = re.compile(r"^\s*(\d{4})\s*[/-]\s*(\d{2}|\d{4})\s*$")


def _months(year_end: int) -> list[str]:
    """The twelve months, April to March, of the financial year ending in ``year_end``."""
    return [str(p) for p in pd.period_range(f"{year_end - 1}-04", f"{year_end}-03", freq="M")]


def financial_years(start: str, end: str) -> list[int]:
    """The financial years (April to March) wholly within the months ``start`` to ``end``, each
    as the year it ends in.

    Parameters
    ----------
    start, end : str
        The first and last month of a period, ``YYYY-MM``.

    Returns
    -------
    list of int
        E.g. ``[2019, 2020]`` for ``2017-12`` to ``2020-11`` (2018/19 and 2019/20).

    Examples
    --------
    >>> financial_years("2017-12", "2020-11")
    [2019, 2020]
    >>> financial_years("2024-04", "2025-02")
    []
    """
    try:
        if not all(_MONTH.match(str(m)) for m in (start, end)):
            raise ValueError
        first, last = pd.Period(str(start), freq="M"), pd.Period(str(end), freq="M")
    except (ValueError, TypeError):
        raise ParameterError(
            f"`start` and `end` must be months as YYYY-MM (e.g. '2024-04'), but {start!r} and "
            f"{end!r} were passed"
        ) from None
    year = first.year + 1 if first.month <= 4 else first.year + 2
    out = []
    while pd.Period(f"{year}-03", freq="M") <= last:
        out.append(year)
        year += 1
    return out


def _year_end(value) -> int:
    """A financial year given as the year it ends in (``2025``) or a label (``2024/25``)."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        if 1990 <= int(value) <= 2100:
            return int(value)
    elif isinstance(value, str) and (m := _LABEL.match(value)):
        first, second = int(m.group(1)), m.group(2)
        if int(second) in ((first + 1) % 100, first + 1):
            return first + 1
    raise ParameterError(
        "`financial_years` must be financial years, each the year it ends in (2025 for April "
        f"2024 to March 2025) or a label such as '2024/25', but {value!r} was passed"
    )


def _runs(months: Sequence[str]) -> str:
    """Months as runs of consecutive months: ``2018-12 to 2019-03, 2019-06``."""
    if not len(months):
        return ""
    periods = pd.PeriodIndex(sorted(months), freq="M")
    run = np.cumsum(np.r_[1, np.diff(periods.asi8) != 1])
    return ", ".join(
        str(chunk[0]) if len(chunk) == 1 else f"{chunk[0]} to {chunk[-1]}"
        for chunk in (periods[run == r] for r in np.unique(run))
    )


def _totals(totals) -> pd.DataFrame:
    """The published totals: a table of :func:`read_official_totals`, a path, or None."""
    if totals is None or isinstance(totals, str | Path | list | tuple):
        return read_official_totals(totals)
    if not isinstance(totals, pd.DataFrame):
        raise ParameterError(
            "`totals` must be a table of published totals (dispro.read_official_totals), a path "
            f"of one, or None for the bundled table, but a {type(totals).__name__} was passed"
        )
    require_columns(
        totals, {c: "totals" for c in ("force", "year_end", "published_total")}, "`totals`"
    )
    if totals.duplicated(["force", "year_end"]).any():
        raise ValidationError(
            "`totals` gives a force and year more than once; read the files with "
            "dispro.read_official_totals, which names the rows"
        )
    return totals


def _sentence(row: dict, tolerance: float, missing: list[str]) -> str:
    """What a reader should know about one force and year, in one or two sentences."""
    gap = (
        f" The records cover {row['months_supplied']} of the 12 months; missing: "
        f"{row['months_missing']} (no file, or no records for the force)."
        if missing
        else ""
    )
    if pd.isna(row["published_total"]):
        return (
            f"No published total for {row['force']} in {row['financial_year']} in the totals "
            "table given: nothing to reconcile with." + gap
        )
    if row["months_supplied"] == 0:
        return (
            f"No records of {row['force']} in {row['financial_year']}: no month of the year was "
            "supplied, so the records cannot be set against the published total."
        )
    if pd.isna(row["difference_pct"]):
        return f"The published total for {row['force']} in {row['financial_year']} is 0." + gap
    if not row["beyond_tolerance"]:
        return gap.strip()
    side = "fewer" if row["difference"] < 0 else "more"
    return (
        f"{row['force']}, {row['financial_year']}: the data.police.uk records hold "
        f"{row['records']:,} searches, {abs(row['difference']):,} "
        f"({abs(row['difference_pct']):.1f}%) {side} than the Home Office published total of "
        f"{row['published_total']:,}. A difference of more than {tolerance:g}% is more than "
        "revisions and late records usually explain: check which months or searches are "
        "missing before relying on the records." + gap
    )


def reconcile_totals(
    records: pd.DataFrame,
    totals=None,
    *,
    financial_years: Sequence | None = None,
    tolerance: float = TOLERANCE,
) -> pd.DataFrame:
    """The data.police.uk records of each force and financial year against the Home Office
    published total.

    Parameters
    ----------
    records : DataFrame or None
        Stop-and-search records (None: no records, an empty table), from :func:`dispro.read_police_uk` (whose coverage table,
        ``attrs["coverage"]``, tells a month not supplied from a month of no searches), with a
        ``force`` column and a ``month`` (or ``date``) column. Every row is counted, vehicle-only
        searches included.
    totals : DataFrame, str, Path or list, optional
        The published totals: a table from :func:`dispro.read_official_totals`, the path(s) of
        files in its layout, or None for the bundled Home Office table (year ending March 2025).
    financial_years : list, optional
        The financial years to reconcile, each the year it ends in (``2025``) or a label
        (``"2024/25"``); a year the records cover only in part is shown with its missing months
        named. Default: every financial year wholly within the months the records span (from the
        first to the last month of their coverage, over all forces).
    tolerance : float
        A difference of more than this many per cent of the published total is flagged.

    Returns
    -------
    DataFrame
        :data:`RECONCILE_COLUMNS`, one row per force of the records and financial year, sorted:

        - ``force``, ``financial_year`` (``2018/19``), ``period`` (``2018-04 to 2019-03``);
        - ``months_supplied``: months of the year with records of the force (of 12);
          ``months_missing``: the others, as runs (``2019-01 to 2019-03``), or empty: a month
          with no file, or a file with no rows for the force;
        - ``records``: the records of the force in the year's months (all search types);
        - ``published_total``: the Home Office total (missing where the table has none);
        - ``difference``: records - published total; ``difference_pct``: that in per cent of
          the published total (missing where the total is missing or 0, or where no month of
          the year was supplied);
        - ``beyond_tolerance``: ``|difference_pct| > tolerance`` (missing without a total);
        - ``note``: a sentence where the difference is beyond the tolerance, a month is
          missing, or there is no published total; else empty.

        ``attrs["tolerance"]``: the tolerance used.

    Raises
    ------
    ParameterError
        ``records`` is not a DataFrame, a financial year is not a year, ``tolerance`` is not a
        positive number, ``totals`` is of the wrong kind.
    ValidationError
        ``records`` lack the ``force`` column or a month; ``totals`` lack a column or give a
        force and year twice (and see :func:`dispro.read_official_totals`).

    Warns
    -----
    DataQualityWarning
        The records hold fewer rows in a reconciled month than the files they were read from
        (they were filtered after reading, e.g. to person searches): the count is of the
        records passed.

    Examples
    --------
    >>> recs = pd.DataFrame({"force": ["Dorset"] * 3, "month": ["2024-04", "2024-05", "2025-03"]})
    >>> table = reconcile_totals(recs, financial_years=[2025])
    >>> row = table.iloc[0]
    >>> int(row["records"]), int(row["published_total"]), row["months_missing"]
    (3, 2029, '2024-06 to 2025-02')
    """
    if records is None:  # no stop-and-search records: nothing to reconcile
        return _typed(pd.DataFrame(columns=list(RECONCILE_COLUMNS)))
    if not isinstance(records, pd.DataFrame):
        raise ParameterError(
            f"`records` must be a DataFrame of stop-and-search records (dispro.read_police_uk), "
            f"but a {type(records).__name__} was passed"
        )
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float)
        or not (0 < tolerance < 100)
    ):
        raise ParameterError(
            f"`tolerance` must be a percentage above 0 and below 100 (e.g. 5), but {tolerance!r} "
            "was passed"
        )
    require_columns(records, {"force": "the force of each record"}, "the records")
    table = _totals(totals)
    cov = coverage(records)
    month = record_months(records)
    counted = (
        pd.DataFrame({"force": records["force"].to_numpy(), "month": month.to_numpy()})
        .dropna()
        .groupby(["force", "month"])
        .size()
    )
    if financial_years is None:
        listed = cov["month"].dropna()
        years = [] if listed.empty else _within(listed.min(), listed.max())
    else:
        years = sorted({_year_end(y) for y in as_list(financial_years)})
    published = table.set_index(["force", "year_end"])["published_total"]
    supplied = cov[cov["present"].fillna(False).astype(bool)]
    supplied = supplied[pd.to_numeric(supplied["rows"], errors="coerce").fillna(1) > 0]
    file_rows = pd.to_numeric(supplied.set_index(["force", "month"])["rows"], errors="coerce")
    forces = sorted(set(cov["force"].dropna()) | set(counted.index.get_level_values(0)))
    rows, short = [], []
    for force in forces:
        for year in years:
            months = _months(year)
            n = [int(counted.get((force, m), 0)) for m in months]
            have = [m for m, k in zip(months, n, strict=True) if k > 0]
            have += [m for m in months if (force, m) in file_rows.index and m not in have]
            missing = [m for m in months if m not in have]
            for m, k in zip(months, n, strict=True):
                listed = file_rows.get((force, m))
                if listed is not None and pd.notna(listed) and k < listed:
                    short.append(f"{force} {m} ({k:,} of {int(listed):,})")
            total = published.get((force, year))
            records_n = sum(n)
            compared = total is not None and len(have) > 0
            row = {
                "force": force,
                "financial_year": financial_year_label(year),
                "period": f"{months[0]} to {months[-1]}",
                "months_supplied": len(have),
                "months_missing": _runs(missing),
                "records": records_n,
                "published_total": pd.NA if total is None else int(total),
                "difference": records_n - int(total) if compared else pd.NA,
                "difference_pct": (
                    100.0 * (records_n - int(total)) / int(total)
                    if compared and total > 0
                    else np.nan
                ),  # fmt: skip
            }
            row["beyond_tolerance"] = (
                pd.NA if np.isnan(row["difference_pct"]) else abs(row["difference_pct"]) > tolerance
            )
            row["note"] = _sentence(row, tolerance, missing)
            rows.append(row)
    if short:
        warnings.warn(
            f"the records hold fewer rows than the files they were read from in {len(short)} "
            f"month(s) reconciled ({'; '.join(short[:6])}): they were filtered after reading "
            "(e.g. to person searches), so the reconciliation counts fewer searches than the "
            "files hold. Reconcile the records as read (every search type).",
            DataQualityWarning,
            stacklevel=2,
        )
    out = _typed(pd.DataFrame(rows, columns=list(RECONCILE_COLUMNS)))
    out = out.sort_values(["force", "financial_year"]).reset_index(drop=True)
    out.attrs["tolerance"] = float(tolerance)
    return out


def _within(first: str, last: str) -> list[int]:
    return financial_years(first, last)


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    return table.astype(
        {"months_supplied": "int64", "records": "int64", "published_total": "Int64",
         "difference": "Int64", "difference_pct": "float64", "beyond_tolerance": "boolean"}
    )  # fmt: skip
