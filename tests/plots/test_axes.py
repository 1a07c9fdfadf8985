"""Every figure's axes read plainly: ratio axes in plain numbers with a line at 1, and no two
tick labels drawn over each other (checked on the drawn figure's text boxes)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from dispro.plots import (  # noqa: E402
    plot_darkness,
    plot_forest,
    plot_hit_rates,
    plot_pathway,
    plot_trend,
)
from dispro.plots._axes import OKABE_ITO, REFERENCE_GID, ratio_ticks  # noqa: E402
from dispro.plots.pathway import NO_RATIO  # noqa: E402

SCIENTIFIC = ("10^", "×10", "$10", "\\times", "e+", "e-", "mathdefault")


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def visible_labels(ax, axis):
    """The drawn (within the axis limits), visible, non-empty tick labels of one axis, with
    their window extents."""
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    target = ax.xaxis if axis == "x" else ax.yaxis
    lo, hi = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    return [
        (t.get_text(), t.get_window_extent(renderer))
        for t in target.get_ticklabels()
        if t.get_visible()
        and t.get_text().strip()
        and lo <= t.get_position()[0 if axis == "x" else 1] <= hi
    ]


def overlaps(ax, axis):
    boxes = visible_labels(ax, axis)
    return [
        (a, b)
        for i, (a, ba) in enumerate(boxes)
        for b, bb in boxes[i + 1 :]
        if ba.x0 < bb.x1 and bb.x0 < ba.x1 and ba.y0 < bb.y1 and bb.y0 < ba.y1
    ]


def assert_ratio_axis(ax, axis, lo, hi):
    """Plain decimals, 3-7 of them, spanning the data; a dashed line at 1; no overlap."""
    labels = [text for text, _ in visible_labels(ax, axis)]
    assert labels, "no tick labels drawn"
    for text in labels:
        assert not any(s in text for s in SCIENTIFIC), text
        float(text.replace(",", ""))  # a plain number
    minor = (ax.xaxis if axis == "x" else ax.yaxis).get_minorticklabels()
    assert not [t.get_text() for t in minor if t.get_visible() and t.get_text()]
    assert (ax.get_xscale() if axis == "x" else ax.get_yscale()) == "log"
    values = [float(t.replace(",", "")) for t in labels]
    assert 3 <= len(values) <= 7, values
    low, high = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    assert low <= min(lo, 1) and high >= max(hi, 1)  # the data and 1 are on the axis
    refs = [line for line in ax.get_lines() if line.get_gid() == REFERENCE_GID]
    assert len(refs) == 1
    data = refs[0].get_xdata() if axis == "x" else refs[0].get_ydata()
    assert np.allclose(np.asarray(data, dtype=float), 1)
    assert not overlaps(ax, "x") and not overlaps(ax, "y")


def test_the_old_log_axis_wrote_powers_of_ten():
    """The defect this guards against: matplotlib's own log axis labels 0.6 to 2 as 10^0 in
    mathtext (and its minor labels 6×10^-1, 2×10^0): the checks above would catch it."""
    fig, ax = plt.subplots()
    ax.plot([0.6, 2], [0, 1])
    ax.set_xscale("log")
    ax.set_xlim(0.6, 2)
    fig.canvas.draw()
    texts = [t.get_text() for t in [*ax.get_xticklabels(), *ax.xaxis.get_minorticklabels()]]
    assert any(any(s in t for s in SCIENTIFIC) for t in texts), texts


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0.6, 2.2, [1.0, 2.0]),  # too few powers of 2: even steps
        (0.1, 20, [0.1, 0.3, 1, 3, 10]),
        (0.8, 1.3, [0.8, 1.0, 1.2]),
        (0.4, 4.5, [0.5, 1, 2, 4]),
    ],
)
def test_ratio_ticks_cover_the_range_in_plain_numbers(lo, hi, expected):
    ticks = ratio_ticks(lo, hi)
    assert 3 <= len(ticks) <= 7 and all(lo <= t <= hi for t in ticks)
    if len(expected) >= 3:
        assert ticks == pytest.approx(expected)
    else:
        assert set(expected) <= set(ticks)


def rri_table(lo, hi, n=6):
    """An RRI table of ``n`` groups across forces whose ratios run from ``lo`` to ``hi``."""
    rri = np.geomspace(lo * 1.2, hi / 1.2, n)
    return pd.DataFrame(
        {
            "force": [f"Force {i // 3}" for i in range(n)],
            "group": ["Asian", "Black", "Mixed"] * (n // 3),
            "rri": rri,
            "ci_lower": rri / 1.2,
            "ci_upper": rri * 1.2,
            "status": "ok",
        }
    )


@pytest.mark.parametrize(("lo", "hi"), [(0.1, 20), (0.8, 1.3), (0.5, 4)])
def test_forest_axis(lo, hi):
    ax = plot_forest(rri_table(lo, hi), label=["force", "group"])
    assert_ratio_axis(ax, "x", lo, hi)


def test_forest_with_many_rows_in_a_small_figure_keeps_its_labels_apart():
    t = rri_table(0.5, 3, n=60)
    fig, ax = plt.subplots(figsize=(5, 4))  # 60 rows in 4 inches: the labels would collide
    plot_forest(t, label=["force", "group"], ax=ax)
    assert not overlaps(ax, "y")


def matrix(lo=0.5, hi=4.0):
    """A pathway matrix: 6 stages x 4 groups and the reference, one cell too few, one
    suppressed, one with no population, one left out as withheld by the report."""
    stages = ["Stop and search", "Outcome after a search", "Out-of-court disposal",
              "CPS charge decision", "Immediate custody", "Custodial sentence length"]  # fmt: skip
    rows = []
    rng = np.random.default_rng(1)
    for order, label in enumerate(stages, start=1):
        for group in ["White", "Asian", "Black", "Mixed", "Other"]:
            ratio = 1.0 if group == "White" else float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
            rows.append({"stage": f"s{order}", "label": label, "order": order, "group": group,
                         "rri": ratio, "ci_lower": np.nan if group == "White" else ratio / 1.15,
                         "ci_upper": np.nan if group == "White" else ratio * 1.15,
                         "status": "ok"})  # fmt: skip
    m = pd.DataFrame(rows)
    m["significant"] = pd.array((m.ci_lower > 1) | (m.ci_upper < 1), dtype="boolean")
    m.loc[m.group == "White", "significant"] = pd.NA
    for (order, group), status in {(5, "Other"): "too_few", (4, "Mixed"): "suppressed",
                                   (1, "Other"): "no_base"}.items():  # fmt: skip
        at = (m.order == order) & (m.group == group)
        m.loc[at, ["rri", "ci_lower", "ci_upper"]] = np.nan
        m.loc[at, "significant"] = pd.NA
        m.loc[at, "status"] = status
    m = m[~((m.order == 6) & (m.group == "Asian"))].reset_index(drop=True)
    m.attrs["reference"] = "White"
    return m


@pytest.mark.parametrize(("lo", "hi"), [(0.1, 20), (0.8, 1.3), (0.5, 4)])
def test_pathway_picture(lo, hi):
    m = matrix(lo, hi)
    ax = plot_pathway(m)
    shown = m[(m.group != "White") & m.rri.notna()]
    assert_ratio_axis(ax, "x", shown.ci_lower.min(), shown.ci_upper.max())
    # stages top to bottom in pathway order
    by_height = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
    assert [t.get_text() for t in by_height] == list(dict.fromkeys(m.sort_values("order").label))
    # a marker for each ratio and none for a cell without one: no dot at 1
    markers = [line for line in ax.get_lines() if line.get_marker() not in ("None", None, "")]
    xs = sorted(float(line.get_xdata()[0]) for line in markers)
    np.testing.assert_allclose(xs, sorted(shown.rri))
    # filled = a clear difference, open = none
    for line in markers:
        row = shown.iloc[int(np.argmin(np.abs(shown.rri.to_numpy() - line.get_xdata()[0])))]
        filled = line.get_markerfacecolor() != "white"
        assert filled == bool(row.significant), row
    # the cells without a ratio say why, in words
    texts = [t.get_text() for t in ax.texts]
    assert f"Other: {NO_RATIO['too_few']}" in texts
    assert "Mixed: withheld" in texts and "Asian: withheld" in texts  # suppressed; left out
    assert f"Other: {NO_RATIO['no_base']}" in texts
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"Asian", "Black", "Mixed", "Other"} <= set(legend)
    assert any(t.startswith("filled") for t in legend) and any(t.startswith("open") for t in legend)
    # each group its own colour (Okabe-Ito) and marker
    styles = {(line.get_color(), line.get_marker()) for line in ax.get_legend().legend_handles[:4]}
    assert len(styles) == 4 and {c for c, _ in styles} <= set(OKABE_ITO)


def test_pathway_picture_refuses_a_table_without_ratios():
    from dispro.errors import ValidationError

    with pytest.raises(ValidationError, match="area_matrix"):
        plot_pathway(pd.DataFrame({"label": ["x"]}))


def trend(lo, hi, quarters=16):
    periods = [f"{2020 + q // 4}-Q{q % 4 + 1}" for q in range(quarters)]
    rows = []
    for k, group in enumerate(["Asian", "Black", "Mixed", "Other"]):
        path = np.geomspace(lo * 1.2, hi / 1.2, quarters) ** (1 - 0.01 * k)
        for period, ratio in zip(periods, path, strict=True):
            rows.append({"period": period, "group": group, "rri": ratio,
                         "ci_lower": ratio / 1.15, "ci_upper": ratio * 1.15})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("lo", "hi"), [(0.1, 20), (0.8, 1.3)])
def test_trend_axis_direct_labels_and_markers(lo, hi):
    t = trend(lo, hi)
    fig, ax = plt.subplots(figsize=(5, 3.5))  # 16 quarters in 5 inches: labels would collide
    plot_trend(t, ax=ax)
    assert_ratio_axis(ax, "y", lo, hi)
    assert ax.get_legend() is None  # named at the line ends instead
    names = {a.get_text(): a for a in ax.texts}
    assert set(names) == {"Asian", "Black", "Mixed", "Other"}
    lines = [line for line in ax.get_lines() if line.get_label() in names]
    assert len({line.get_marker() for line in lines}) == 4
    assert {line.get_color() for line in lines} <= set(OKABE_ITO)
    for line in lines:  # each name sits at its own line's last point, in its colour
        assert names[line.get_label()].xy[0] == line.get_xdata()[-1]
        assert names[line.get_label()].get_color() == line.get_color()
    # the near-equal line ends are named without one name over another
    fig.canvas.draw()
    boxes = [a.get_window_extent() for a in names.values()]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]), (
        "direct labels overlap"
    )


def test_without_the_fitting_the_trend_labels_would_collide():
    """The overlap check can fail: the same 16 quarters, unturned, overlap in 5 inches."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(range(16), range(16))
    ax.set_xticks(range(16), [f"{2020 + q // 4}-Q{q % 4 + 1}" for q in range(16)])
    assert overlaps(ax, "x")


def test_hit_rates_by_force_keep_labels_apart():
    groups = ["Asian", "Black", "Mixed", "Other", "White"]
    t = pd.DataFrame(
        {
            "force": np.repeat([f"Force {i}" for i in range(8)], 5),
            "group": groups * 8,
            "hit_rate": 0.25,
            "ci_lower": 0.2,
            "ci_upper": 0.3,
        }
    )
    t.attrs["by"] = ["force"]
    fig, ax = plt.subplots(figsize=(6, 5))  # 40 rows in 5 inches
    plot_hit_rates(t, ax=ax)
    assert not overlaps(ax, "x") and not overlaps(ax, "y")
    for text, _ in visible_labels(ax, "x"):
        assert not any(s in text for s in SCIENTIFIC)


def test_darkness_over_a_whole_day_keeps_clock_labels_apart():
    starts = np.arange(0, 1440, 30)
    t = pd.DataFrame(
        {
            "bin_start": np.repeat(starts, 2),
            "bin_end": np.repeat(starts + 30, 2),
            "darkness": ["light", "dark"] * len(starts),
            "n": 100,
            "minority_share": 0.2,
            "ci_lower": 0.15,
            "ci_upper": 0.26,
        }
    )
    fig, ax = plt.subplots(figsize=(6, 4))  # 24 clock labels in 6 inches
    plot_darkness(t, ax=ax)
    assert not overlaps(ax, "x") and not overlaps(ax, "y")
    texts = [text for text, _ in visible_labels(ax, "x")]
    assert len(texts) >= 6 and all(":" in t for t in texts)


def test_a_trend_whose_last_ratio_is_zero_or_off_the_axis_keeps_its_size():
    """A group with no events in the last period (relative rate 0, not drawn on a log axis) or
    a ratio beyond the axis: its name is placed at its last drawn point, within the axes, and
    the saved picture stays the size asked for (it was 681 x 319,884 pixels)."""
    import io

    from PIL import Image

    from dispro.plots import plot_trend

    periods = ["2023Q1", "2023Q2", "2023Q3", "2023Q4"]
    rows = []
    for group, rris in (("Black", [2.0, 2.5, 3.0, 0.0]), ("Asian", [1.1, 1.2, 1.0, 1.3]),
                        ("Mixed", [1.5, 1.4, 1.6, 1e-12])):  # fmt: skip
        for p, r in zip(periods, rris, strict=True):
            rows.append({"period": p, "group": group, "rri": r, "ci_lower": r / 2 if r else 0.0,
                         "ci_upper": max(r * 2, 0.5)})  # fmt: skip
    ax = plot_trend(pd.DataFrame(rows))
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(ax.figure)
    width, height = Image.open(io.BytesIO(buf.getvalue())).size
    assert width < 1200 and height < 800, (width, height)
