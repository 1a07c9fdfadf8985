"""Periods from dates: the month of a date and the labels of the periods made of months; and
the quarters of a scrutiny pack (:func:`pack_quarters`: "this quarter" is the last quarter with
every month supplied, :func:`supplied_months`).

A date becomes one integer, ``year * 12 + month - 1`` of its instant in UTC (the *month key*);
every period is a bucket of month keys and every label a formula of its first month. The same
formulas are written for numpy (the pandas engine and the cells of every engine), for SQL
(DuckDB) and, through :func:`bucket`, for Ibis expressions, so the engines cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "EXAMPLES",
    "ISO_DATE",
    "PERIODS",
    "bucket",
    "coarsest",
    "label_ok",
    "labels",
    "pack_quarters",
    "parse_dates",
    "quarter_note",
    "sql_bucket",
    "sql_label",
    "sql_parse_date",
    "supplied_months",
]

#: Period columns derived from ``date`` that ``by`` (and conditions) may name.
PERIODS = ("month", "quarter", "financial_year", "year")

#: How each period's label is written.
EXAMPLES = {
    "month": "2024-03",
    "quarter": "2024Q1",
    "financial_year": "2023-24",
    "year": "2024",
}

_WS = " \t\r\n"
# ISO 8601 date or datetime (years 1000 to 9999), as every engine accepts it; [0-9] (not \d) so
# that Python's re and DuckDB's RE2 agree on non-ASCII digits. Matching text is then parsed (and,
# e.g., 30 February rejected) by DuckDB's TIMESTAMPTZ cast or pandas.to_datetime(format="ISO8601").
ISO_DATE = (
    r"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?"
)
_LABEL_RE = {
    "month": re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])"),
    "quarter": re.compile(r"[0-9]{4}Q[1-4]"),
    "financial_year": re.compile(r"[0-9]{4}-[0-9]{2}"),
    "year": re.compile(r"[0-9]{4}"),
}


def label_ok(period: str, label: str) -> bool:
    """Whether ``label`` is written as a label of ``period`` (``"2023-24"`` for a financial year).

    >>> label_ok("financial_year", "2023-24"), label_ok("financial_year", "2023-25")
    (True, False)
    """
    if not _LABEL_RE[period].fullmatch(label):
        return False
    if period == "financial_year":
        return (int(label[:4]) + 1) % 100 == int(label[5:])
    return True


def coarsest(periods) -> str:
    """The coarsest bucket that every period asked for is made of (fewer cells to group).

    >>> coarsest(["financial_year", "year"]), coarsest(["year"])
    ('quarter', 'year')
    """
    periods = set(periods)
    if "month" in periods:
        return "month"
    if "quarter" in periods or {"financial_year", "year"} <= periods:
        return "quarter"
    return "financial_year" if "financial_year" in periods else "year"


def bucket(ym, period: str):
    """The first month key of the ``period`` holding month key ``ym``.

    Works on numbers, numpy arrays and Ibis integer expressions alike (the same formula as SQL).

    >>> int(bucket(2024 * 12 + 4, "financial_year")) == 2024 * 12 + 3
    True
    """
    if period == "quarter":
        return ym - ym % 3
    if period == "financial_year":
        return (ym - 3) // 12 * 12 + 3
    if period == "year":
        return ym // 12 * 12
    return ym


def labels(ym: pd.Series, period: str) -> pd.Series:
    """Labels of ``period`` from month keys (missing stays missing)."""
    out = pd.Series(pd.NA, index=ym.index, dtype=object)
    ok = ym.notna().to_numpy()
    codes, uniques = pd.factorize(ym[ok].astype("int64").to_numpy())  # a few dozen periods
    v = np.asarray(uniques, dtype="int64")
    y, m = v // 12, v % 12 + 1
    if period == "month":
        text = [f"{a:04d}-{b:02d}" for a, b in zip(y, m, strict=True)]
    elif period == "quarter":
        text = [f"{a:04d}Q{(b - 1) // 3 + 1}" for a, b in zip(y, m, strict=True)]
    elif period == "financial_year":
        fy = (v - 3) // 12  # April starts the year
        text = [f"{a:04d}-{(a + 1) % 100:02d}" for a in fy]
    else:
        text = [f"{a:04d}" for a in y]
    out[ok] = np.asarray(text, dtype=object)[codes] if len(v) else []
    return out


def parse_dates(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Month keys of ISO 8601 text (UTC; NaN when missing or unparseable) and the unparseable text."""
    ym = np.full(len(text), np.nan)
    bad = np.full(len(text), None, dtype=object)
    present = text.notna().to_numpy().copy()
    present[present] = text[present].astype(str).str.strip(_WS).ne("").to_numpy(dtype=bool)
    if not present.any():
        return ym, bad
    values = text[present]
    ok = values.str.fullmatch(ISO_DATE).fillna(False).to_numpy(dtype=bool)
    parsed = pd.to_datetime(values[ok], format="ISO8601", utc=True, errors="coerce")
    good = parsed.notna().to_numpy()
    where = np.flatnonzero(present)
    matched = where[ok]
    ym[matched[good]] = (parsed[good].dt.year * 12 + parsed[good].dt.month - 1).to_numpy()
    unparsed = np.concatenate([where[~ok], matched[~good]])
    bad[unparsed] = text.to_numpy(dtype=object)[unparsed]
    return ym, bad


# --------------------------------------------------------------------------------------------
# the same in SQL (DuckDB)
# --------------------------------------------------------------------------------------------


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def sql_parse_date(d: str) -> str:
    """SQL for the UTC timestamp of ISO 8601 text ``d`` (NULL when not one), as pandas reads it.

    The general path checks the text against :data:`ISO_DATE` and casts it to TIMESTAMPTZ (an
    instant; ``make_timestamp(epoch_us(.))`` then reads it in UTC without ICU). The two usual
    layouts, police.uk's ``YYYY-MM-DDTHH:MM:SS+00:00`` and ``YYYY-MM-DD``, take a path about
    twice as fast: a LIKE on the layout, then ``strptime`` (which checks the digits and ranges),
    plus checks of the first and last characters where ``strptime`` is laxer than ISO 8601
    (a leading blank or a year below 1000; a one-digit day with a trailing blank).
    The tests check that both paths and pandas agree on thousands of near-miss strings.
    """
    first = f"substr({d}, 1, 1) BETWEEN '1' AND '9'"
    return (
        f"CASE WHEN {d} LIKE '____-__-__T__:__:__+00:00' AND {first} "
        f"THEN try_strptime({d}, '%Y-%m-%dT%H:%M:%S+00:00') "
        f"WHEN {d} LIKE '____-__-__' AND {first} AND substr({d}, 10, 1) BETWEEN '0' AND '9' "
        f"THEN try_strptime({d}, '%Y-%m-%d') "
        f"WHEN regexp_full_match({d}, {_literal(ISO_DATE)}) "
        f"THEN make_timestamp(epoch_us(try_cast({d} AS TIMESTAMPTZ))) END"
    )


def sql_bucket(ym: str, period: str) -> str:
    """SQL of :func:`bucket` on the SQL expression ``ym``."""
    if period == "quarter":
        return f"({ym} - {ym} % 3)"
    if period == "financial_year":
        return f"(({ym} - 3) // 12 * 12 + 3)"
    if period == "year":
        return f"({ym} // 12 * 12)"
    return ym


def sql_label(ym: str, period: str) -> str:
    """SQL of :func:`labels` on the SQL expression ``ym`` (NULL stays NULL)."""
    if period == "month":
        body = f"printf('%04d-%02d', {ym} // 12, {ym} % 12 + 1)"
    elif period == "quarter":
        body = f"printf('%04dQ%d', {ym} // 12, ({ym} % 12) // 3 + 1)"
    elif period == "financial_year":
        body = f"printf('%04d-%02d', ({ym} - 3) // 12, (({ym} - 3) // 12 + 1) % 100)"
    else:
        body = f"printf('%04d', {ym} // 12)"
    return f"CASE WHEN {ym} IS NULL THEN NULL ELSE {body} END"


def pack_quarters(
    period_start: str,
    period_end: str,
    *,
    quarters: int = 8,
    supplied: Sequence[str] | None = None,
) -> list[str]:
    """The calendar quarters of the period (``2024Q1`` labels, as
    :func:`~dispro.stopsearch.add_period` writes them), the last ``quarters`` of them.

    Without ``supplied`` the last is the period end's quarter. With ``supplied`` (the months,
    ```YYYY-MM``, that every force of the pack supplied: :func:`supplied_months`) the last is
    the last quarter whose three months all lie in the period and were all supplied, so that
    "this quarter" is never a quarter with a month missing; when no quarter is complete, the
    last quarter of the period holding a supplied month (an empty list when none does).
    """
    months = pd.period_range(period_start, period_end, freq="M")
    every = sorted(set(months.asfreq("Q").strftime("%YQ%q")))
    if supplied is not None:
        have = set(pd.PeriodIndex(list(supplied), freq="M")) & set(months)
        whole = [
            q
            for q in every
            if all(m in have for m in pd.period_range(*_quarter_months(q), freq="M"))
        ]
        partial = [q for q in every if any(m.asfreq("Q").strftime("%YQ%q") == q for m in have)]
        last = whole[-1] if whole else (partial[-1] if partial else None)
        every = [q for q in every if last is not None and q <= last]
    return every[-quarters:]


def _quarter_months(quarter: str) -> tuple[pd.Period, pd.Period]:
    q = pd.Period(quarter, freq="Q")
    return q.asfreq("M", "start"), q.asfreq("M", "end")


def supplied_months(records: pd.DataFrame) -> list[str]:
    """The months (``YYYY-MM``) that every force of ``records`` supplied: from the reader's
    coverage table (a month with a file, even one of no searches) when the records carry one,
    else the months holding records."""
    from ..readers.months import record_months

    coverage = records.attrs.get("coverage")
    if coverage:
        cov = pd.DataFrame(coverage)
        cov = cov[cov["present"].astype(bool)] if "present" in cov else cov
        per_force = cov.groupby("force")["month"].agg(lambda m: set(m.astype(str)))
    else:
        months = pd.Series(record_months(records), index=records.index)
        force = records["force"] if "force" in records.columns else pd.Series("", records.index)
        per_force = months.groupby(force.fillna("").to_numpy()).agg(
            lambda m: set(m.dropna().astype(str))
        )
    if per_force.empty:
        return []
    return sorted(set.intersection(*per_force.tolist()))


def quarter_note(period_start: str, period_end: str, pack: list[str], supplied) -> str:
    """Why a pack's latest quarter (``pack[-1]``) is not the period end's quarter, in words
    naming the months of that quarter supplied (blank when it is)."""
    end_quarter = pd.Period(period_end, freq="M").asfreq("Q").strftime("%YQ%q")
    if not pack or pack[-1] == end_quarter:
        return ""
    first, last = _quarter_months(end_quarter)
    within = pd.period_range(
        max(first, pd.Period(period_start, freq="M")),
        min(last, pd.Period(period_end, freq="M")),
        freq="M",
    )
    have = [m for m in within if str(m) in set(supplied)]
    return (
        f"the period ends in {period_end}, but {end_quarter} has {len(have)} of its 3 months "
        f"supplied and in the period ({', '.join(str(m) for m in have) or 'none'}), so the "
        f"latest quarter shown is {pack[-1]}, the last with every month supplied"
    )
