"""Plots of RRI tables: a forest plot of ratios with intervals, and a trend with its band."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..errors import ValidationError

__all__ = ["plot_forest", "plot_trend"]


def _need(table: pd.DataFrame, columns) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValidationError(
            f"the table lacks the column(s) {missing}; pass an RRI table from dispro.rri"
        )


def plot_forest(table: pd.DataFrame, *, label: str | list[str] = "group", ax=None):
    """Forest plot: each RRI with its interval on a log axis, a line at 1 (the reference).

    Rows without a ratio (reference, suppressed, no base) are left out; rows with a ratio but no
    interval are drawn as points.

    Parameters
    ----------
    table : DataFrame
        An RRI table (``rri``, ``ci_lower``, ``ci_upper``, ``status`` and the label columns).
    label : str or list of str
        Column(s) naming each row on the y axis (e.g. ``["force", "group"]``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    labels = [label] if isinstance(label, str) else list(label)
    _need(table, ["rri", "ci_lower", "ci_upper", *labels])
    data = table[table["rri"].notna() & (table["rri"] > 0)]
    if "reference_rate" in data.columns and "rate" in data.columns:
        data = data[~((data["rri"] == 1) & data["ci_lower"].isna())]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.4 * max(len(data), 3) + 1))
    names = data[labels].astype(str).agg(" · ".join, axis=1).to_numpy()
    y = np.arange(len(data))[::-1]
    lo = (data["rri"] - data["ci_lower"]).to_numpy(dtype=float)
    hi = (data["ci_upper"] - data["rri"]).to_numpy(dtype=float)
    colour = sns.color_palette("colorblind")[0]
    ax.errorbar(
        data["rri"].to_numpy(dtype=float),
        y,
        xerr=[np.nan_to_num(lo), np.nan_to_num(hi)],
        fmt="o",
        color=colour,
        ecolor=colour,
        capsize=3,
    )
    ax.axvline(1, color="0.4", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(y, names)
    ax.set_xlabel("Relative rate index (log scale; 1 = same rate as the reference)")
    sns.despine(ax=ax)
    return ax


def plot_trend(table: pd.DataFrame, *, period: str = "period", group: str = "group", ax=None):
    """The RRI per period for each group, with its interval as a band, on a log axis.

    Returns
    -------
    matplotlib Axes
    """
    _need(table, ["rri", "ci_lower", "ci_upper", period, group])
    data = table[table["ci_lower"].notna()].sort_values(period)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    palette = sns.color_palette("colorblind", n_colors=max(data[group].nunique(), 1))
    for colour, (name, d) in zip(palette, data.groupby(group, sort=True), strict=False):
        x = d[period].astype(str).to_numpy()
        ax.plot(x, d["rri"], marker="o", color=colour, label=str(name))
        ax.fill_between(x, d["ci_lower"], d["ci_upper"], color=colour, alpha=0.2, linewidth=0)
    ax.axhline(1, color="0.4", linestyle="--", linewidth=1)
    ax.set_yscale("log")
    ax.set_ylabel("Relative rate index (log scale)")
    ax.set_xlabel("")
    ax.tick_params(axis="x", rotation=45)
    if len(data):
        ax.legend(title=None, frameon=False)
    sns.despine(ax=ax)
    return ax
