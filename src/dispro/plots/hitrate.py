"""Plot of hit rates (or strip-search / section 60 shares) by group, with their intervals."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import PercentFormatter

from ..errors import ValidationError
from ._axes import OKABE_ITO, fit_tick_labels

__all__ = ["plot_hit_rates"]

_LABELS = {
    "hit_rate": "Hit rate (share of searches with a hit)",
    "share": "Share of person searches",
}


def plot_hit_rates(table: pd.DataFrame, *, ax=None):
    """Hit rate of each group as a point with its interval bar, one row per group.

    Parameters
    ----------
    table : DataFrame
        A table from :func:`dispro.stopsearch.hitrate.hit_rates` (``group``, ``hit_rate``,
        ``ci_lower``, ``ci_upper``), or from :func:`~dispro.stopsearch.shares.strip_search_shares`
        or :func:`~dispro.stopsearch.shares.section60_shares` (``share`` instead of
        ``hit_rate``). ``by`` columns (``attrs["by"]``, or the columns before ``group``) are
        joined to the group in the row labels.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made if not given.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ValidationError
        The table lacks the columns named above.

    Notes
    -----
    Rows with no rate (status ``no_searches`` or ``not_supplied``) keep their label and show
    the status as text, so a field that was not supplied never looks like 0%. For a hit-rate
    table with a single slice, a dashed line marks the reference group's hit rate.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from dispro.plots.hitrate import plot_hit_rates
    >>> table = pd.DataFrame({"group": ["Black", "White"], "hit_rate": [0.2, 0.4],
    ...                       "ci_lower": [0.06, 0.17], "ci_upper": [0.51, 0.69]})
    >>> ax = plot_hit_rates(table)
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    if not isinstance(table, pd.DataFrame):
        raise ValidationError(
            f"`table` must be a results DataFrame from hit_rates or a shares function, but "
            f"{type(table).__name__} was passed"
        )
    value = "hit_rate" if "hit_rate" in table.columns else "share"
    missing = [c for c in ("group", value, "ci_lower", "ci_upper") if c not in table.columns]
    if missing:
        raise ValidationError(
            f"the table lacks the column(s) {missing}; pass a table from dispro.stopsearch's "
            "hit_rates, strip_search_shares or section60_shares (columns present: "
            f"{list(table.columns)})"
        )
    by = table.attrs.get("by")
    if by is None:
        by = list(table.columns[: list(table.columns).index("group")])
    by = [b for b in by if b in table.columns]
    labels = table[[*by, "group"]].astype(str).agg(" · ".join, axis=1).to_numpy()
    rate = table[value].to_numpy(dtype=float)
    lower = table["ci_lower"].to_numpy(dtype=float)
    upper = table["ci_upper"].to_numpy(dtype=float)
    status = (
        table["status"].astype(str).to_numpy()
        if "status" in table.columns
        else np.where(np.isnan(rate), "no rate", "ok")
    )

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.4 * max(len(table), 3) + 1))
    y = np.arange(len(table))[::-1]
    shown = ~np.isnan(rate)
    colour = OKABE_ITO[0]
    err = np.vstack([np.nan_to_num(rate - lower)[shown], np.nan_to_num(upper - rate)[shown]]).clip(
        min=0
    )
    ax.errorbar(rate[shown], y[shown], xerr=err, fmt="o", color=colour, ecolor=colour, capsize=3)
    for yy, s in zip(y[~shown], status[~shown], strict=True):
        ax.text(0.01, yy, s.replace("_", " "), transform=ax.get_yaxis_transform(),
                va="center", ha="left", color="0.35", fontsize="small", style="italic")  # fmt: skip
    reference = table.attrs.get("reference")
    if value == "hit_rate" and reference is not None and not by and "reference_hit_rate" in table:
        ref_rate = table["reference_hit_rate"].dropna()
        if len(ref_rate):
            ax.axvline(float(ref_rate.iloc[0]), color="0.4", linestyle="--", linewidth=1,
                       label=f"{reference} (reference)")  # fmt: skip
            ax.legend(frameon=False, loc="best")
    ax.set_yticks(y, labels)
    ax.set_xlim(left=0)
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1))
    level = table.attrs.get("alpha")
    interval = f"{100 * (1 - level):g}% Wilson interval" if level else "Wilson interval"
    ax.set_xlabel(f"{_LABELS[value]}; bars: {interval}")
    sns.despine(ax=ax)
    fit_tick_labels(ax, ("x", "y"))
    return ax
