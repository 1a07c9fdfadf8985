"""Plots of RRI tables: a forest plot of ratios with intervals, and a trend with its band."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..errors import ValidationError
from ._axes import OKABE_ITO, fit_tick_labels, group_styles, log_ratio_axis, ratio_span

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
    colour = OKABE_ITO[0]
    ax.errorbar(
        data["rri"].to_numpy(dtype=float),
        y,
        xerr=[np.nan_to_num(lo), np.nan_to_num(hi)],
        fmt="o",
        color=colour,
        ecolor=colour,
        capsize=3,
    )
    log_ratio_axis(ax, *ratio_span(data["rri"], data["ci_lower"], data["ci_upper"]), axis="x")
    ax.set_yticks(y, names)
    ax.set_xlabel("Relative rate index (log scale; 1 = same rate as the reference)")
    sns.despine(ax=ax)
    fit_tick_labels(ax, ("x", "y"))
    return ax


def plot_trend(table: pd.DataFrame, *, period: str = "period", group: str = "group", ax=None):
    """The RRI per period for each group, with its interval as a band, on a ratio axis.

    Each group has its own colour (Okabe-Ito, colour-blind safe) and marker, and is named at
    the end of its line (no legend to look up); names that would collide are moved apart.
    Rows without an interval (the reference, too few) are left out.

    Returns
    -------
    matplotlib Axes
    """
    _need(table, ["rri", "ci_lower", "ci_upper", period, group])
    data = table[table["ci_lower"].notna()].sort_values(period)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    periods = list(dict.fromkeys(data[period].astype(str)))
    where = {p: i for i, p in enumerate(periods)}
    styles = group_styles(sorted(data[group].astype(str).unique()))
    ends = []
    for name, d in data.groupby(data[group].astype(str), sort=True):
        colour, marker = styles[name]
        x = d[period].astype(str).map(where).to_numpy(dtype=float)
        ax.plot(x, d["rri"], marker=marker, color=colour, label=name)
        ax.fill_between(x, d["ci_lower"], d["ci_upper"], color=colour, alpha=0.15, linewidth=0)
        drawn = d["rri"].astype(float).to_numpy()
        ok = np.isfinite(drawn) & (drawn > 0)  # a zero is not drawn on a log axis
        if ok.any():
            ends.append((name, x[ok][-1], float(drawn[ok][-1]), colour))
    log_ratio_axis(ax, *ratio_span(data["rri"], data["ci_lower"], data["ci_upper"]), axis="y")
    ax.set_xticks(range(len(periods)), periods)
    if periods:
        ax.set_xlim(-0.3, len(periods) - 0.7)
    ax.set_ylabel("Relative rate index (log scale)")
    ax.set_xlabel("")
    _label_line_ends(ax, ends)
    sns.despine(ax=ax)
    fit_tick_labels(ax, ("x", "y"))
    return ax


def _label_line_ends(ax, ends, *, spacing: float = 11.0) -> None:
    """Name each line just right of its last point, moving names apart (in points, upwards
    from the lowest) so that none overlaps the next."""
    if not ends:
        return
    to_points = ax.transData.transform
    low, high = sorted(ax.get_ylim())
    ends = [(n, x, min(max(y, low), high), c) for n, x, y, c in ends]  # within the axes
    heights = [to_points((x, y))[1] * 72 / ax.figure.dpi for _, x, y, _ in ends]
    order = np.argsort(heights)
    placed: list[float] = []
    for i in order:
        h = max(heights[i], placed[-1] + spacing) if placed else heights[i]
        placed.append(h)
        name, x, y, colour = ends[i]
        ax.annotate(name, (x, y), xytext=(8, h - heights[i]), textcoords="offset points",
                    va="center", ha="left", color=colour, fontsize="small",
                    annotation_clip=False)  # fmt: skip
