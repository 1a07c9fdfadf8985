"""Strip-search and section 60 shares of person searches by group, with Wilson intervals.

A strip search here is a search with ``Removal of more than just outer clothing`` = True
(``removal_outer_clothing``). A section 60 search is one under legislation flagged ``section60``
in ``data_dictionary/codelists/legislation.csv``. Both are shares of person searches (vehicle-only
searches excluded), by group. A field that a force did not supply for a month (blank for every
row) is "not supplied" and is reported as such, never as 0%.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._checks import as_list as _as_list
from .._checks import check_alpha as _check_alpha
from .._stats import wilson as _wilson
from ._common import (
    _blank,
    _check_group,
    _check_records,
    _raise_if_never_supplied,
    _record_ledger,
    _require,
    _status,
    _tally,
    _vehicle_only,
    section60,
)

__all__ = ["SHARE_COLUMNS", "strip_search_shares", "section60_shares"]

#: Columns of :func:`strip_search_shares` and :func:`section60_shares`, after the ``by`` columns.
SHARE_COLUMNS = (
    "group",
    "searches",
    "events",
    "share",
    "ci_lower",
    "ci_upper",
    "excluded_vehicle_only",
    "excluded_not_supplied",
    "excluded_not_recorded",
    "status",
)

_SUPPLY_NEEDS = "to tell a field not supplied for a whole force-month from one not recorded"

_RETURNS = """
    Returns
    -------
    DataFrame
        One row per (``by``..., group): every ``by`` combination in the records crossed with every
        group in them. The ``by`` columns, then exactly :data:`SHARE_COLUMNS`:

        - ``group``: the group;
        - ``searches``: person searches with the field recorded (the denominator);
        - ``events``: {events};
        - ``share``: ``events / searches``; missing when there are no searches, and in
          particular when the field was not supplied (never 0%);
        - ``ci_lower``, ``ci_upper``: Wilson score interval of the share;
        - ``excluded_vehicle_only``: vehicle-only searches (no person);
        - ``excluded_not_supplied``: person searches in a force-month where {field} was blank
          for every row (not supplied);
        - ``excluded_not_recorded``: other person searches where {field} is blank;
        - ``status``: ``ok``, ``partly_supplied`` (some of the cell's searches fall in
          force-months that did not supply the field: the share covers the rest),
          ``not_supplied`` (none was supplied: no share) or ``no_searches``.

        Each row is counted under the first exclusion that applies, in the order above.
        ``attrs`` holds ``notes``, ``group``, ``by``, ``measure``, ``field``, ``alpha`` and the
        exclusions ledger (``exclusions``).
"""


def _shares(records, *, group, by, alpha, field, event, func, measure, step, rules, notes):
    _check_alpha(alpha)
    by = _as_list(by)
    _check_records(records, func)
    _require(
        records,
        {group: "group", **{b: "by" for b in by}},
        {
            field: f"for the {measure.replace('_', ' ')} share",
            "vehicle_only": "to exclude vehicle-only searches",
            "force": _SUPPLY_NEEDS,
            "month": _SUPPLY_NEEDS,
        },
        func,
    )
    _check_group(records, group, by, func)
    not_supplied = _raise_if_never_supplied(records, field, "the field measured", func)
    masks = {
        "excluded_vehicle_only": _vehicle_only(records),
        "excluded_not_supplied": not_supplied,
        "excluded_not_recorded": _blank(records[field]),
    }
    table = _tally(records, group=group, by=by, exclusions=masks, event=event)
    k = table["events"].to_numpy(dtype=float)
    n = table["searches"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["share"] = np.where(n > 0, k / n, np.nan)
    table["ci_lower"], table["ci_upper"] = _wilson(k, n, alpha)
    table["status"] = _status(table["searches"], table["excluded_not_supplied"])
    out = table[[*by, *SHARE_COLUMNS]].copy()
    counts = (
        f"Excluded, each row under the first rule that applies: vehicle-only searches "
        f"({int(out['excluded_vehicle_only'].sum())}); rows in a force-month where {field!r} was "
        f"not supplied ({int(out['excluded_not_supplied'].sum())}); rows where {field!r} was not "
        f"recorded ({int(out['excluded_not_recorded'].sum())})."
    )
    not_supplied_cells = int((out["status"] == "not_supplied").sum())
    notes = [
        *notes,
        f"Interval: Wilson score, {100 * (1 - alpha):g}% level.",
        counts,
        f"A force-month where {field!r} is blank for every row did not supply it: its searches "
        f"are excluded and a cell with nothing else has status 'not_supplied' and no share "
        f"(never 0%); {not_supplied_cells} such cell(s) here.",
    ]
    _record_ledger(out, records, step, rules)
    out.attrs.update(notes=notes, group=group, by=by, measure=measure, field=field, alpha=alpha)
    return out


def strip_search_shares(
    records: pd.DataFrame,
    *,
    group: str = "ethnicity",
    by: str | Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Share of person searches that removed more than outer clothing, by group.

    Parameters
    ----------
    records : DataFrame
        ``stop_search`` records, as from :func:`dispro.read_police_uk`: needs
        ``removal_outer_clothing`` (nullable boolean: missing = not recorded), ``vehicle_only``,
        ``force``, ``month`` and the ``group`` and ``by`` columns.
    group : str
        Column of the groups (default ``"ethnicity"``, self-defined 5+1).
    by : str or list of str, optional
        Columns that split the table (e.g. ``["force", "month"]`` to see which force-months
        did not supply the field).
    alpha : float
        1 - confidence level of the Wilson intervals.
    {returns}
    Raises
    ------
    ValidationError
        A column is missing (named, with a did-you-mean) or the group column has missing values.
    DisproError
        No records, or ``removal_outer_clothing`` was not supplied in any force-month.
    ParameterError
        ``alpha`` is not allowed, or ``group`` is also a ``by`` column.

    Notes
    -----
    "More than just outer clothing" is wider than a strip search exposing intimate parts: PACE
    Code A allows only an outer coat, jacket and gloves to be removed in public, and anything
    more (e.g. headgear or footwear, out of public view) is recorded here too. The share is
    therefore an upper bound on strip searches in the narrow sense. Share ``p = k / n`` with the Wilson score interval
    (statsmodels ``proportion_confint(method="wilson")``).

    Examples
    --------
    >>> import pandas as pd
    >>> from dispro.stopsearch.shares import strip_search_shares
    >>> records = pd.DataFrame({
    ...     "force": "Demo", "month": ["2024-01"] * 4 + ["2024-02"] * 2, "vehicle_only": False,
    ...     "ethnicity": ["White", "White", "Black", "Black", "White", "Black"],
    ...     "removal_outer_clothing": pd.array([True, False, False, False, None, None],
    ...                                        dtype="boolean")})
    >>> out = strip_search_shares(records, by="month")
    >>> out[["month", "group", "searches", "events", "share", "status"]]
         month  group  searches  events  share        status
    0  2024-01  Black         2       0    0.0            ok
    1  2024-01  White         2       1    0.5            ok
    2  2024-02  Black         0       0    NaN  not_supplied
    3  2024-02  White         0       0    NaN  not_supplied
    """
    return _shares(
        records, group=group, by=by, alpha=alpha, field="removal_outer_clothing",
        event="removal_outer_clothing",  # the True/False column holds
        func="strip_search_shares", measure="strip_search", step="strip_search_shares",
        rules={
            "excluded_vehicle_only": "vehicle-only searches excluded from strip-search shares",
            "excluded_not_supplied": "removal_outer_clothing not supplied for the force-month: excluded",
            "excluded_not_recorded": "removal_outer_clothing not recorded: excluded",
        },
        notes=["Strip search: removal of more than just outer clothing (`removal_outer_clothing` "
               "True), as a share of person searches with the field recorded."],
    )  # fmt: skip


def section60_shares(
    records: pd.DataFrame,
    *,
    group: str = "ethnicity",
    by: str | Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Share of person searches made under section 60 (no reasonable suspicion), by group.

    Parameters
    ----------
    records : DataFrame
        ``stop_search`` records, as from :func:`dispro.read_police_uk`: needs ``legislation``,
        ``vehicle_only``, ``force``, ``month`` and the ``group`` and ``by`` columns.
    group : str
        Column of the groups (default ``"ethnicity"``, self-defined 5+1).
    by : str or list of str, optional
        Columns that split the table.
    alpha : float
        1 - confidence level of the Wilson intervals.
    {returns}
    Raises
    ------
    ValidationError
        A column is missing (named, with a did-you-mean) or the group column has missing values.
    DisproError
        No records, or ``legislation`` is blank in every force-month.
    ParameterError
        ``alpha`` is not allowed, or ``group`` is also a ``by`` column.

    Notes
    -----
    Section 60 searches are those whose legislation is flagged ``section60`` in
    ``data_dictionary/codelists/legislation.csv`` (read there, never restated in code). Searches
    with blank legislation are not recorded and are excluded from the denominator. Share with the
    Wilson score interval.

    Examples
    --------
    >>> import pandas as pd
    >>> from dispro.dictionary import codelist
    >>> from dispro.stopsearch.shares import section60_shares
    >>> laws = codelist("legislation")
    >>> s60 = laws.loc[laws["section60"] == "true", "code"].iloc[0]
    >>> pace = laws.loc[laws["section60"] == "false", "code"].iloc[0]
    >>> records = pd.DataFrame({
    ...     "force": "Demo", "month": "2024-01", "vehicle_only": False,
    ...     "ethnicity": ["White"] * 4 + ["Black"] * 4,
    ...     "legislation": [s60, pace, pace, pace, s60, s60, pace, None]})
    >>> section60_shares(records)[["group", "searches", "events", "share"]]
       group  searches  events     share
    0  Black         3       2  0.666667
    1  White         4       1  0.250000
    """
    return _shares(
        records, group=group, by=by, alpha=alpha, field="legislation", event=section60(),
        func="section60_shares", measure="section60", step="section60_shares",
        rules={
            "excluded_vehicle_only": "vehicle-only searches excluded from section 60 shares",
            "excluded_not_supplied": "legislation not supplied for the force-month: excluded",
            "excluded_not_recorded": "legislation not recorded: excluded from section 60 shares",
        },
        notes=["Section 60 share: searches under legislation flagged section60 in the legislation "
               "code list, as a share of person searches with legislation recorded."],
    )  # fmt: skip


for _func, _events, _field in (
    (strip_search_shares, "searches with ``removal_outer_clothing`` True (strip searches)",
     "``removal_outer_clothing``"),
    (section60_shares, "searches under section 60 legislation", "``legislation``"),
):  # fmt: skip
    if _func.__doc__:  # None under python -OO
        _func.__doc__ = _func.__doc__.replace(
            "{returns}", _RETURNS.format(events=_events, field=_field)
        )
