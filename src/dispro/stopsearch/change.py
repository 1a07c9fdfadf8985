"""Has the relative rate of being searched changed since a comparison period?

:func:`change_since` compares the latest 12 months of a report's period with a comparison period
(by default its first year), for each force, on the monthly searches and person-years of
:func:`~dispro.stopsearch.search_rates`, so that :func:`~dispro.stopsearch.trend_test` can
estimate the month-to-month overdispersion within the two windows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .rates import search_rates
from .trend import TREND_TEST_COLUMNS, trend_test

__all__ = ["CHANGE_SINCE_COLUMNS", "change_since", "monthly_counts"]

#: Columns of :func:`change_since`: the area, those of :func:`~dispro.stopsearch.trend_test`,
#: then ``significant``.
CHANGE_SINCE_COLUMNS = (
    "force", *TREND_TEST_COLUMNS, "significant", "comparison_window", "latest_window",
)  # fmt: skip


def monthly_counts(
    records: pd.DataFrame,
    *,
    ethnicity: str = "self_defined",
    reference: str = "White",
    combine: str | None = None,
) -> pd.DataFrame:
    """Person searches and person-years by force, month and group (the months supplied, groups
    with a population): the counts behind every change test, from
    :func:`~dispro.stopsearch.search_rates` with ``period="month"``.

    Returns
    -------
    DataFrame
        ``force, month, quarter, group, events, base``: ``base`` is the person-years of the
        month (residents / 12); months not supplied and groups without a population (``Not
        stated``) have no row. ``combine`` adds the forces' total under that name.
    """
    rates = search_rates(
        records, period="month", ethnicity=ethnicity, reference=reference, combine=combine
    )
    rates = rates[rates["base"].notna() & (rates["base"] > 0)]
    quarter = pd.PeriodIndex(rates["period"].astype(str), freq="M").asfreq("Q")
    out = rates[["force", "period", "group", "events", "base"]].rename(columns={"period": "month"})
    out.insert(2, "quarter", np.asarray(quarter.strftime("%YQ%q"), dtype=object))
    return out.reset_index(drop=True)


def change_since(
    records: pd.DataFrame,
    *,
    comparison_start: str,
    comparison_end: str,
    period_end: str,
    ethnicity: str = "self_defined",
    reference: str = "White",
    alpha: float = 0.05,
    latest_months: int = 12,
) -> pd.DataFrame:
    """The change in each group's relative rate between a comparison period and the latest months.

    The calendar quarters that overlap ``comparison_start`` to ``comparison_end`` form the
    comparison window, those starting in the last ``latest_months`` months up to ``period_end``
    the latest window. For each force whose searches fall in both windows,
    :func:`~dispro.stopsearch.trend_test` compares the latest window with the comparison window
    (``estimate`` = latest RRI / comparison RRI) on the monthly counts
    (:func:`monthly_counts`), with the dispersion estimated from the months within the windows.

    Parameters
    ----------
    records : DataFrame
        Stop-and-search records (as :func:`dispro.read_police_uk` gives them).
    comparison_start, comparison_end, period_end : str
        Months, ``YYYY-MM``.
    ethnicity, reference, alpha
        As in :func:`~dispro.stopsearch.search_rates`; ``alpha`` sets the intervals.
    latest_months : int
        Length of the latest window.

    Returns
    -------
    DataFrame
        :data:`CHANGE_SINCE_COLUMNS`: the ``change`` rows of
        :func:`~dispro.stopsearch.trend_test`, one per force and group compared, and
        ``significant``: the p-value is below ``alpha`` and the interval (where there is one)
        excludes 1; ``comparison_window`` and ``latest_window``: the months each window
        really spans (``2021-04 to 2022-03``: whole quarters). Empty when no force covers both
        windows.
    """
    monthly = monthly_counts(records, ethnicity=ethnicity, reference=reference)
    start, end = pd.Period(comparison_start, "M"), pd.Period(comparison_end, "M")
    quarters = pd.PeriodIndex(monthly["quarter"], freq="Q")
    first, last = quarters.asfreq("M", "start"), quarters.asfreq("M", "end")
    in_comp = np.asarray((last >= start) & (first <= end))
    in_latest = np.asarray(first >= pd.Period(period_end, freq="M") - (latest_months - 1))
    windows = monthly[in_comp | in_latest].assign(
        window=np.where(in_comp[in_comp | in_latest], "comparison", "latest")
    )
    both = windows.groupby("force")["window"].transform("nunique") == 2
    windows = windows[both.to_numpy()]
    if windows.empty:
        return pd.DataFrame(columns=list(CHANGE_SINCE_COLUMNS))
    test = trend_test(
        windows,
        group="group",
        reference=reference,
        period="window",
        time="month",
        by="force",
        alpha=alpha,
    )
    change = test[test["test"] == "change"].reset_index(drop=True)
    includes_one = (change["ci_lower"] <= 1) & (change["ci_upper"] >= 1)
    clear = (change["p_value"] < alpha) & ~includes_one
    change["significant"] = pd.array(clear, dtype="boolean")
    change.loc[change["p_value"].isna(), "significant"] = pd.NA
    months = pd.PeriodIndex(windows["month"].astype(str), freq="M")
    spans = (
        pd.DataFrame({"force": windows["force"].to_numpy(), "window": windows["window"].to_numpy(),
                      "month": months})
        .groupby(["force", "window"])["month"].agg(["min", "max"])
    )  # fmt: skip
    for window in ("comparison", "latest"):
        label = {f: f"{r['min']} to {r['max']}" for (f, w), r in spans.iterrows() if w == window}
        change[f"{window}_window"] = change["force"].map(label)
    return change[list(CHANGE_SINCE_COLUMNS)]
