"""Pathway figures: the matrix as a heat map, where disparity arises, unadjusted vs adjusted."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..errors import ValidationError

__all__ = ["plot_pathway_heatmap", "plot_where_disparity", "plot_adjusted"]


def _need(table, columns):
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValidationError(f"the table lacks the column(s) {missing}")


def plot_pathway_heatmap(matrix: pd.DataFrame, *, ax=None, reference: str | None = None):
    """Heat map of the pathway matrix: stages down, groups across, colour = log RRI.

    Cells without a ratio (suppressed, no base) are left blank; each cell is annotated with the
    RRI and marked ``*`` when significant. Returns the Axes.
    """
    _need(matrix, ["label", "order", "group", "rri", "significant"])
    data = matrix if reference is None else matrix[matrix["group"] != reference]
    pivot = data.pivot_table(
        index=["order", "label"], columns="group", values="rri", aggfunc="first"
    )
    sig = data.pivot_table(
        index=["order", "label"],
        columns="group",
        values="significant",
        aggfunc=lambda s: bool(s.fillna(False).iloc[0]),
    )
    pivot = pivot.sort_index()
    sig = sig.reindex_like(pivot)
    labels = np.where(
        pivot.isna(),
        "",
        pivot.map(lambda v: f"{v:.2f}" if pd.notna(v) else "")
        + np.where(sig.fillna(False).astype(bool), "*", ""),
    )
    if ax is None:
        _, ax = plt.subplots(
            figsize=(1.3 * max(pivot.shape[1], 3) + 2, 0.55 * pivot.shape[0] + 1.5)
        )
    with np.errstate(divide="ignore"):
        logged = np.log2(pivot.astype(float).where(pivot > 0))
    limit = np.nanmax(np.abs(logged.to_numpy())) if np.isfinite(logged.to_numpy()).any() else 1
    sns.heatmap(
        logged,
        annot=labels,
        fmt="",
        cmap="RdBu_r",
        center=0,
        vmin=-limit,
        vmax=limit,
        cbar_kws={"label": "log2 RRI (0 = same rate as the reference)"},
        ax=ax,
        linewidths=0.5,
    )
    ax.set_yticklabels([label for _, label in pivot.index], rotation=0)
    ax.set_ylabel("")
    ax.set_xlabel("")
    ax.set_title("Relative rate index by stage (* significant)")
    return ax


def plot_where_disparity(matrix: pd.DataFrame, *, group: str, ax=None):
    """One group's RRI at each stage, in pathway order, with intervals: where disparity arises."""
    _need(matrix, ["label", "order", "group", "rri", "ci_lower", "ci_upper"])
    data = matrix[(matrix["group"] == group)].sort_values("order")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    x = np.arange(len(data))
    rri = data["rri"].to_numpy(dtype=float)
    lo = np.nan_to_num(rri - data["ci_lower"].to_numpy(dtype=float))
    hi = np.nan_to_num(data["ci_upper"].to_numpy(dtype=float) - rri)
    colour = sns.color_palette("colorblind")[3]
    ax.errorbar(x, rri, yerr=[lo, hi], fmt="o-", color=colour, capsize=3)
    ax.axhline(1, color="0.4", linestyle="--", linewidth=1)
    ax.set_yscale("log")
    ax.set_xticks(x, data["label"], rotation=30, ha="right")
    ax.set_ylabel(f"RRI, {group} vs reference (log scale)")
    sns.despine(ax=ax)
    return ax


def plot_adjusted(adjusted: pd.DataFrame, *, ax=None):
    """Unadjusted RRI and adjusted risk ratio side by side for each group, with intervals.

    Takes the ``adjusted`` table of :func:`dispro.models.logistic` (columns ``group``, ``rri``,
    ``rri_ci_lower``, ``rri_ci_upper``, ``adjusted_rr``, ``ci_lower``, ``ci_upper``).
    """
    _need(
        adjusted,
        ["group", "rri", "rri_ci_lower", "rri_ci_upper", "adjusted_rr", "ci_lower", "ci_upper"],
    )
    data = adjusted[adjusted["ci_lower"].notna()]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.6 * max(len(data), 2) + 1.2))
    y = np.arange(len(data))[::-1]
    palette = sns.color_palette("colorblind")
    for offset, (est, lo, hi, label, colour) in zip(
        (0.15, -0.15),
        (
            ("rri", "rri_ci_lower", "rri_ci_upper", "unadjusted RRI", palette[0]),
            ("adjusted_rr", "ci_lower", "ci_upper", "adjusted risk ratio", palette[1]),
        ),
        strict=True,
    ):
        v = data[est].to_numpy(dtype=float)
        ax.errorbar(
            v,
            y + offset,
            xerr=[
                np.nan_to_num(v - data[lo].to_numpy(dtype=float)),
                np.nan_to_num(data[hi].to_numpy(dtype=float) - v),
            ],
            fmt="o",
            color=colour,
            capsize=3,
            label=label,
        )
    ax.axvline(1, color="0.4", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(y, data["group"])
    ax.set_xlabel("Ratio to the reference group (log scale)")
    ax.legend(frameon=False, loc="best")
    sns.despine(ax=ax)
    return ax
