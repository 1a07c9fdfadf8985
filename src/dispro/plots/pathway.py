"""Pathway figures: the pathway picture, the matrix as a heat map, where disparity arises,
unadjusted vs adjusted."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D

from ..errors import ValidationError
from ._axes import fit_tick_labels, group_styles, log_ratio_axis, ratio_span

__all__ = ["plot_pathway", "plot_pathway_heatmap", "plot_where_disparity", "plot_adjusted"]

#: What a cell without a ratio says instead, by its status (never a dot at 1).
NO_RATIO = {
    "suppressed": "withheld",
    "withheld": "withheld",
    "too_few": "too few to tell",
    "reference_zero": "too few to tell",
    "zero_events": "none recorded",
    "no_base": "no population figure",
}


def _need(table, columns):
    if not isinstance(table, pd.DataFrame):
        raise ValidationError(
            f"`matrix` must be a pathway matrix DataFrame (dispro.pathway.area_matrix), but "
            f"{type(table).__name__} was passed"
        )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValidationError(
            f"the table lacks the column(s) {missing}; pass a pathway matrix from "
            f"dispro.pathway.area_matrix (columns present: {list(table.columns)})"
        )


def _clear(data: pd.DataFrame) -> np.ndarray:
    """Whether each row shows a clear difference: the ``significant`` verdict (after the
    correction for many comparisons) where there is one, else an interval that excludes 1."""
    if "significant" in data.columns:
        return data["significant"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    lower = data["ci_lower"].to_numpy(dtype=float)
    upper = data["ci_upper"].to_numpy(dtype=float)
    return (lower > 1) | (upper < 1)


def plot_pathway(matrix: pd.DataFrame, *, reference: str | None = None, ax=None):
    """The pathway picture: each group's RRI with its interval at every stage, in pathway order.

    Stages run down the page (stop and search first, sentence length last), one row of points
    per group within each stage, on a ratio axis labelled in plain numbers (0.5, 1, 2, 4) with a
    dashed line at 1 (the reference group's rate). A filled marker is a clear difference (the
    ``significant`` verdict, after the correction for many comparisons; without that column, an
    interval that excludes 1); an open marker is no clear evidence of a difference. A cell
    without a ratio says why in words at its row (``withheld``, ``too few to tell``, ``no
    population figure``, ``none recorded``; see :data:`NO_RATIO`), never a point at 1; a group
    with no row at a stage where other groups have one is labelled ``withheld`` (the report's
    figures drop the rows that hold a withheld value).

    Parameters
    ----------
    matrix : DataFrame
        Pathway matrix rows (:func:`dispro.pathway.area_matrix`): ``label``, ``order``,
        ``group``, ``rri``, ``ci_lower``, ``ci_upper``, and ``significant`` and ``status`` where
        present.
    reference : str, optional
        The reference group, left out (default ``matrix.attrs["reference"]``; without either,
        rows with an RRI of exactly 1 and no interval are taken as the reference).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure sized to the stages and groups).

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ValidationError
        ``matrix`` is not a DataFrame or lacks one of the columns named above.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from dispro.plots import plot_pathway
    >>> m = pd.DataFrame({"label": ["Stop and search"] * 2 + ["Immediate custody"] * 2,
    ...     "order": [1, 1, 5, 5], "group": ["Black", "Asian"] * 2,
    ...     "rri": [3.6, 1.2, 1.6, None], "ci_lower": [3.4, 1.1, 1.4, None],
    ...     "ci_upper": [3.8, 1.3, 1.8, None], "status": ["ok", "ok", "ok", "too_few"]})
    >>> ax = plot_pathway(m)
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    _need(matrix, ["label", "order", "group", "rri", "ci_lower", "ci_upper"])
    reference = reference if reference is not None else matrix.attrs.get("reference")
    if reference is not None:
        data = matrix[matrix["group"].astype(str) != str(reference)]
    else:
        data = matrix[~((matrix["rri"] == 1) & matrix["ci_lower"].isna())]
    stages = data[["order", "label"]].drop_duplicates().sort_values("order", kind="stable")
    styles = group_styles(data["group"].astype(str))
    n_stages, n_groups = len(stages), max(len(styles), 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, max(3.0, 0.22 * n_stages * n_groups + 1.3)))
    step = 0.8 / n_groups
    centre = {(o, lab): n_stages - 1 - i for i, (o, lab) in enumerate(stages.itertuples(False))}
    offset = {g: ((n_groups - 1) / 2 - j) * step for j, g in enumerate(styles)}
    rri = data["rri"].to_numpy(dtype=float)
    lower = data["ci_lower"].to_numpy(dtype=float)
    upper = data["ci_upper"].to_numpy(dtype=float)
    status = data["status"].astype(str).to_numpy() if "status" in data else np.full(len(data), "")
    clear = _clear(data)
    drawn = np.isfinite(rri) & (rri > 0)
    seen = set()
    for i, row in enumerate(data[["order", "label", "group"]].itertuples(index=False)):
        group = str(row.group)
        y = centre[(row.order, row.label)] + offset[group]
        seen.add((row.order, row.label, group))
        colour, marker = styles[group]
        if not drawn[i]:
            word = NO_RATIO.get(status[i], "no ratio")
            ax.text(0.01, y, f"{group}: {word}", transform=ax.get_yaxis_transform(),
                    va="center", ha="left", fontsize="x-small", style="italic", color="0.25")  # fmt: skip
            continue
        if np.isfinite(lower[i]) and np.isfinite(upper[i]):
            ax.plot([max(lower[i], 1e-12), upper[i]], [y, y], color=colour, linewidth=1.6)
        ax.plot([rri[i]], [y], linestyle="none", marker=marker, markersize=6.5, color=colour,
                markerfacecolor=colour if clear[i] else "white", markeredgewidth=1.4)  # fmt: skip
    for o, lab in stages.itertuples(index=False):
        for group in styles:
            if (o, lab, group) not in seen:
                ax.text(0.01, centre[(o, lab)] + offset[group], f"{group}: withheld",
                        transform=ax.get_yaxis_transform(), va="center", ha="left",
                        fontsize="x-small", style="italic", color="0.25")  # fmt: skip
    log_ratio_axis(ax, *ratio_span(lower[drawn], upper[drawn], rri[drawn]), axis="x")
    for k in range(n_stages - 1):
        ax.axhline(k + 0.5, color="0.88", linewidth=0.8, zorder=0)
    ax.set_ylim(-0.5, n_stages - 0.5)
    ax.set_yticks([centre[s] for s in stages.itertuples(index=False)], list(stages["label"]))
    ax.tick_params(axis="y", length=0)
    against = f"{reference}" if reference is not None else "the reference group"
    ax.set_xlabel(f"Relative rate index (log scale; 1 = the same rate as {against})")
    handles = [
        Line2D([], [], color=c, marker=m, linestyle="-", markersize=6.5, label=g)
        for g, (c, m) in styles.items()
    ]
    handles += [
        Line2D([], [], color="0.2", marker="o", linestyle="none", markersize=6.5,
               label="filled: a clear difference\n(after the correction for many comparisons)"),
        Line2D([], [], color="0.2", marker="o", markerfacecolor="white", linestyle="none",
               markersize=6.5, label="open: no clear evidence\nof a difference"),
        Line2D([], [], color="0.35", linestyle="--", linewidth=1, label=f"1: same rate as {against}"),
    ]  # fmt: skip
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False,
              fontsize="small")  # fmt: skip
    sns.despine(ax=ax, left=True)
    fit_tick_labels(ax, ("x", "y"))
    return ax


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
    fit_tick_labels(ax, ("x", "y"))
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
    log_ratio_axis(ax, *ratio_span(rri, data["ci_lower"], data["ci_upper"]), axis="y")
    ax.set_xticks(x, data["label"])
    ax.set_ylabel(f"RRI, {group} vs reference (log scale)")
    sns.despine(ax=ax)
    fit_tick_labels(ax, ("x",))
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
    columns = ("rri", "rri_ci_lower", "rri_ci_upper", "adjusted_rr", "ci_lower", "ci_upper")
    log_ratio_axis(ax, *ratio_span(*(data[c] for c in columns)), axis="x")
    ax.set_yticks(y, data["group"])
    ax.set_xlabel("Ratio to the reference group (log scale)")
    ax.legend(frameon=False, loc="best")
    sns.despine(ax=ax)
    fit_tick_labels(ax, ("x", "y"))
    return ax
