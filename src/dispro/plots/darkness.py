"""Plot of the veil of darkness: the minority share of searches by clock time, light and dark."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, MultipleLocator, PercentFormatter

from ..errors import ValidationError
from ._axes import fit_tick_labels

__all__ = ["plot_darkness"]

_NEEDED = ("bin_start", "bin_end", "darkness", "n", "minority_share", "ci_lower", "ci_upper")
_ORDER = ("light", "dark")
_COLOURS = {"light": "#E69F00", "dark": "#0072B2"}  # Okabe-Ito orange and blue: colour-blind safe
_MARKERS = {"light": "o", "dark": "s"}


def plot_darkness(table: pd.DataFrame, *, ax=None):
    """The minority share of searches in each clock-time bin, in daylight and in darkness.

    Within the same clock time, a lower share in darkness (blue squares) than in daylight
    (orange circles) is what the veil of darkness hypothesis predicts when ethnicity informs who
    is searched. Points are placed at the middle of their bin, slightly apart so that the
    interval bars do not overlap; marker area grows with the number of stops.

    Parameters
    ----------
    table : DataFrame
        A table from :func:`dispro.stopsearch.darkness.darkness_shares` (``bin_start``,
        ``bin_end``, ``darkness``, ``n``, ``minority_share``, ``ci_lower``, ``ci_upper``; the
        groups and clock assumption in ``attrs`` label the axes).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made if not given.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ValidationError
        Not a DataFrame, or the columns named above are missing.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from dispro.plots.darkness import plot_darkness
    >>> table = pd.DataFrame({
    ...     "bin_start": [1080, 1080, 1110], "bin_end": [1110, 1110, 1140],
    ...     "darkness": ["light", "dark", "dark"], "n": [200, 150, 180],
    ...     "minority_share": [0.30, 0.22, 0.24], "ci_lower": [0.24, 0.16, 0.18],
    ...     "ci_upper": [0.37, 0.29, 0.31]})
    >>> ax = plot_darkness(table)
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    if not isinstance(table, pd.DataFrame):
        raise ValidationError(
            f"`table` must be a DataFrame from darkness_shares, but {type(table).__name__} was passed"
        )
    missing = [c for c in _NEEDED if c not in table.columns]
    if missing:
        raise ValidationError(
            f"the table lacks the column(s) {missing}; pass a table from "
            f"dispro.stopsearch.darkness.darkness_shares (columns present: {list(table.columns)})"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    width = float((table["bin_end"] - table["bin_start"]).median()) if len(table) else 30.0
    data = table.assign(
        middle=(table["bin_start"] + table["bin_end"]) / 2
        + table["darkness"].map({"light": -0.12, "dark": 0.12}).fillna(0) * width
    )
    present = [d for d in _ORDER if d in set(data["darkness"])]
    for darkness in present:
        part = data[data["darkness"] == darkness]
        share = part["minority_share"].to_numpy(dtype=float)
        ax.errorbar(
            part["middle"], share,
            yerr=np.vstack([share - part["ci_lower"].to_numpy(dtype=float),
                            part["ci_upper"].to_numpy(dtype=float) - share]),
            fmt="none", ecolor=_COLOURS[darkness], elinewidth=1, alpha=0.7, zorder=1,
        )  # fmt: skip
    if len(data):
        sns.scatterplot(
            data=data, x="middle", y="minority_share", hue="darkness", style="darkness",
            size="n", sizes=(20, 160), hue_order=present, style_order=present,
            palette={d: _COLOURS[d] for d in present}, markers={d: _MARKERS[d] for d in present},
            ax=ax, zorder=2,
        )  # fmt: skip
    minority = table.attrs.get("minority", "minority")
    reference = table.attrs.get("reference", "reference")
    clock = table.attrs.get("clock_assumption")
    ax.set_xlabel("Clock time (UK local" + (f"; stamps read as {clock}" if clock else "") + ")")
    ax.set_ylabel(f"{minority} share of {minority} and {reference} searches")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(
        0, min(1.0, max(0.05, float(np.nanmax(table["ci_upper"])) * 1.1)) if len(table) else 1.0
    )
    ax.xaxis.set_major_locator(MultipleLocator(60))
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda x, _: f"{int(x // 60) % 24:02d}:{int(x % 60):02d}")
    )
    ax.set_title(f"Veil of darkness: {minority} share of searches, daylight and dark")
    if ax.get_legend() is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fit_tick_labels(ax, ("x", "y"), rotate=False)  # clock times: every second hour, not turned
    return ax
