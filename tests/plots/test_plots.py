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
        {
            "force": ["Dorset"] * 3 + ["Wiltshire"] * 3,
            "ethnicity": ["White", "Black", "Asian"] * 2,
            "events": [400, 120, 30, 500, 80, 0],
            "base": [5000, 1000, 400, 6000, 700, 500],
        }
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
    np.testing.assert_allclose(
        np.asarray(line.get_xdata(), dtype=float)[order], shown["rri"].to_numpy(dtype=float)
    )
    assert ax.get_xscale() == "log"


def test_trend_plot_and_bad_table():
    t = table().rename(columns={"force": "period"})
    ax = plot_trend(t)
    assert ax.get_yscale() == "log" and len(ax.lines) >= 1
    fig, ax2 = plt.subplots()
    assert plot_forest(table(), ax=ax2) is ax2
    with pytest.raises(ValidationError):
        plot_forest(pd.DataFrame({"x": [1]}))


def pathway():
    from dispro.pathway import pathway_matrix
    from dispro.synth import wessex

    data = wessex(scale=0.2, datasets=["disposals", "sentencing"])
    return pathway_matrix(data, by=None)


def test_pathway_heatmap_and_where_disparity():
    from dispro.plots import plot_pathway_heatmap, plot_where_disparity

    matrix = pathway()
    ax = plot_pathway_heatmap(matrix[matrix.measure == "rate"], reference="White")
    texts = [t.get_text() for t in ax.texts]
    black = matrix[(matrix.group == "Black") & (matrix.stage == "custody")].iloc[0]
    assert f"{black['rri']:.2f}" + ("*" if black["significant"] else "") in texts
    ax = plot_where_disparity(matrix, group="Black")
    assert [t.get_text() for t in ax.get_xticklabels()] == list(
        matrix[matrix.group == "Black"].sort_values("order")["label"]
    )


def test_adjusted_side_by_side():
    from dispro import models
    from dispro.plots import plot_adjusted
    from dispro.synth import wessex

    d = wessex(scale=0.2, datasets=["sentencing"])["sentencing"]
    d = d[d.ethnicity != "Not stated"]
    fit = models.logistic(
        d, outcome={"outcome": ["immediate_custody"]}, controls=["offence_group"], dropna=True
    )
    ax = plot_adjusted(fit.adjusted)
    shown = fit.adjusted[fit.adjusted.ci_lower.notna()]
    xs = sorted(
        np.concatenate([np.asarray(c.lines[0].get_xdata(), dtype=float) for c in ax.containers])
    )
    np.testing.assert_allclose(xs, sorted([*shown.rri, *shown.adjusted_rr]))


def plain_ratio_labels(ax, axis):
    """The drawn tick labels of a ratio axis: plain numbers, a line at 1."""
    from dispro.plots._axes import REFERENCE_GID

    ax.figure.canvas.draw()
    target = ax.xaxis if axis == "x" else ax.yaxis
    lo, hi = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    texts = [
        t.get_text()
        for t in target.get_ticklabels()
        if t.get_visible() and t.get_text() and lo <= t.get_position()[axis == "y"] <= hi
    ]
    assert texts and all(float(t) > 0 for t in texts), texts  # '0.5', '1', '2': no '10^{0}'
    assert not [t.get_text() for t in target.get_minorticklabels() if t.get_text()]
    assert [line for line in ax.get_lines() if line.get_gid() == REFERENCE_GID]
    return texts


def test_pathway_picture_of_the_demo_area():
    """The area matrix of synthetic Wessex: every group's ratio drawn once at its stage, the
    reference left out, the group without a population (Not stated) named in words."""
    from dispro.pathway import area_matrix
    from dispro.plots import plot_pathway
    from dispro.synth import wessex

    matrix = area_matrix(wessex(scale=0.2), area="Wessex")
    ax = plot_pathway(matrix)
    plain_ratio_labels(ax, "x")
    drawn = matrix[(matrix.group != "White") & (matrix.rri > 0)]
    points = [line for line in ax.get_lines() if line.get_marker() not in ("None", "")]
    np.testing.assert_allclose(
        sorted(float(line.get_xdata()[0]) for line in points), sorted(drawn.rri)
    )
    without = matrix[(matrix.group != "White") & matrix.rri.isna()]
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == len(without) and all(": " in t for t in texts)
    labels = [
        t.get_text() for t in sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
    ]
    assert labels == list(dict.fromkeys(matrix.sort_values("order").label))


def test_where_disparity_and_adjusted_use_the_plain_ratio_axis():
    from dispro.plots import plot_adjusted, plot_where_disparity

    matrix = pathway()
    plain_ratio_labels(plot_where_disparity(matrix, group="Black"), "y")
    adjusted = pd.DataFrame(
        {
            "group": ["Asian", "Black"],
            "rri": [0.7, 3.0],
            "rri_ci_lower": [0.5, 2.5],
            "rri_ci_upper": [0.9, 3.6],
            "adjusted_rr": [0.8, 2.0],
            "ci_lower": [0.6, 1.6],
            "ci_upper": [1.1, 2.5],
        }
    )
    assert plain_ratio_labels(plot_adjusted(adjusted), "x") == ["0.5", "1", "2", "4"]
