"""Plots draw what the table says and return the Axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import dispro  # noqa: E402
from dispro.errors import ValidationError  # noqa: E402
from dispro.plots import plot_forest, plot_trend  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def table():
    counts = pd.DataFrame(
        {"force": ["Dorset"] * 3 + ["Wiltshire"] * 3, "ethnicity": ["White", "Black", "Asian"] * 2,
         "events": [400, 120, 30, 500, 80, 0], "base": [5000, 1000, 400, 6000, 700, 500]}
    )
    return dispro.rri(counts, by="force", method="poisson_exact")


def test_forest_plot_draws_each_ratio_with_its_interval():
    t = table()
    ax = plot_forest(t, label=["force", "group"])
    shown = t[(t.rri > 0) & t.ci_lower.notna()]
    by_height = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
    assert [t.get_text() for t in by_height] == list(shown.force + " · " + shown.group)
    line = ax.lines[0]
    # top to bottom, the points are the table's ratios in order
    order = np.argsort(-line.get_ydata())
    np.testing.assert_allclose(np.asarray(line.get_xdata(), dtype=float)[order], shown["rri"].to_numpy(dtype=float))
    assert ax.get_xscale() == "log"


def test_trend_plot_and_bad_table():
    t = table().rename(columns={"force": "period"})
    ax = plot_trend(t)
    assert ax.get_yscale() == "log" and len(ax.lines) >= 1
    fig, ax2 = plt.subplots()
    assert plot_forest(table(), ax=ax2) is ax2
    with pytest.raises(ValidationError):
        plot_forest(pd.DataFrame({"x": [1]}))
