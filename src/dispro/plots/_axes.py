"""What every figure shares: the ratio (log) axis in plain numbers, tick labels that never run
into each other, and a colour-blind-safe palette with a marker for each group."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from matplotlib.ticker import FixedFormatter, FixedLocator, NullFormatter, NullLocator

__all__ = [
    "OKABE_ITO",
    "MARKERS",
    "REFERENCE_GID",
    "fit_tick_labels",
    "group_styles",
    "log_ratio_axis",
    "overlapping_labels",
    "ratio_span",
    "ratio_ticks",
]

#: The Okabe-Ito palette (Okabe and Ito 2008), safe for the common colour-vision deficiencies;
#: yellow, faint on white, comes last.
OKABE_ITO = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#F0E442",
)  # fmt: skip
#: A distinct marker for each group, so that no group is told apart by colour alone.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: The ``gid`` of the reference line at 1 drawn by :func:`log_ratio_axis`.
REFERENCE_GID = "reference-line"

_MIN_TICKS, _MAX_TICKS = 3, 7
_PAD = 1.12  # the axis runs this factor beyond the data on each side (on the log scale)


def group_styles(groups: Iterable) -> dict:
    """``{group: (colour, marker)}`` in the order given: Okabe-Ito colours, distinct markers."""
    names = list(dict.fromkeys(groups))
    return {
        g: (OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)]) for i, g in enumerate(names)
    }


def _candidates(lo: float, hi: float) -> list[list[float]]:
    """Tick sets from the most natural for ratios (powers of 2) to the widest and the finest."""
    k = np.arange(-12, 13)
    sets = [
        [float(v) for v in 2.0**k],  # 0.25, 0.5, 1, 2, 4, 8
        sorted(round(float(v), 12) for v in [*10.0**k, *(3 * 10.0**k)]),  # 0.1, 0.3, 1, 3, 10
        [float(v) for v in 10.0**k],  # 0.01, 0.1, 1, 10, 100
        [float(v) for v in 100.0**k],
    ]
    for step in (0.5, 0.25, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005):  # narrow ranges round 1
        first = math.ceil(lo / step)
        sets.append([round(i * step, 6) for i in range(max(first, 1), math.floor(hi / step) + 1)])
    return sets


def ratio_ticks(lo: float, hi: float) -> list[float]:
    """Plain-number ticks covering ``[lo, hi]`` (both > 0): 3 to 7 of them where possible.

    Powers of 2 (0.25, 0.5, 1, 2, 4) are preferred; a wide range takes 0.1, 0.3, 1, 3, 10 (or
    powers of 10); a narrow one round 1 takes even steps (0.8, 0.9, 1, 1.1, 1.2).
    """
    if not (lo > 0 and hi >= lo and math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"ratio_ticks needs 0 < lo <= hi, finite; got lo={lo}, hi={hi}")
    tol = 1e-9
    fallback: list[float] = []
    for candidates in _candidates(lo, hi):
        ticks = [t for t in candidates if lo * (1 - tol) <= t <= hi * (1 + tol)]
        if _MIN_TICKS <= len(ticks) <= _MAX_TICKS:
            return ticks
        if len(ticks) > len(fallback) and len(ticks) <= _MAX_TICKS:
            fallback = ticks
    return fallback or [1.0]


def ratio_span(*values) -> tuple[float, float]:
    """The smallest and largest finite positive value among ``values`` (arrays of ratios or
    interval bounds); ``(1, 1)`` when there is none."""
    flat = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values] or [[]])
    flat = flat[np.isfinite(flat) & (flat > 0)]
    return (float(flat.min()), float(flat.max())) if flat.size else (1.0, 1.0)


def _label(value: float) -> str:
    if value < 0.001:
        return f"{value:g}"
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if "." in text or len(text) < 5 else f"{int(round(value)):,}"


def log_ratio_axis(ax, lo: float, hi: float, *, axis: str = "x", reference: bool = True):
    """Make ``axis`` of ``ax`` a ratio axis: log scale, labelled in plain numbers.

    The axis covers ``[lo, hi]`` and 1, a little beyond; its ticks are :func:`ratio_ticks`,
    labelled ``0.5``, ``1``, ``2`` (never ``10⁰`` or ``2×10⁰``), with no minor tick labels; a
    dashed reference line at 1 (``gid`` :data:`REFERENCE_GID`) is drawn unless ``reference`` is
    False. Non-finite or non-positive bounds (a zero lower limit) are ignored. Returns the ticks.
    """
    values = np.asarray([lo, hi], dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    low = min(float(values.min()) if values.size else 1.0, 1.0) / _PAD
    high = max(float(values.max()) if values.size else 1.0, 1.0) * _PAD
    ticks = ratio_ticks(low, high)
    wider = ratio_ticks(low / 1.3, high * 1.3)  # a tick just beyond the data: take it in
    if set(ticks) < set(wider):
        below, above = [t for t in wider if t < ticks[0]], [t for t in wider if t > ticks[-1]]
        extended = [*below[-1:], *ticks, *above[:1]]
        if len(extended) <= _MAX_TICKS:
            ticks = extended
            low, high = min(low, ticks[0] / 1.04), max(high, ticks[-1] * 1.04)
    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    (ax.set_xlim if axis == "x" else ax.set_ylim)(low, high)
    target.set_major_locator(FixedLocator(ticks))
    target.set_major_formatter(FixedFormatter([_label(t) for t in ticks]))
    target.set_minor_locator(NullLocator())
    target.set_minor_formatter(NullFormatter())
    if reference:
        line = ax.axvline if axis == "x" else ax.axhline
        line(1, color="0.35", linestyle="--", linewidth=1, zorder=0, gid=REFERENCE_GID)
    return ticks


def _in_view(ax, axis: str) -> list:
    """The tick labels of ``axis`` with text whose tick lies within the axis limits."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    lo, hi = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    slack = 1e-9 * abs(hi - lo)
    return [
        label
        for label in target.get_ticklabels()
        if label.get_text().strip()
        and lo - slack <= label.get_position()[0 if axis == "x" else 1] <= hi + slack
    ]


def _visible_labels(ax, axis: str, renderer) -> list:
    return [
        (label, label.get_window_extent(renderer))
        for label in _in_view(ax, axis)
        if label.get_visible()
    ]


def overlapping_labels(ax, axis: str = "x", *, gap: float = 1.0) -> list[tuple[str, str]]:
    """The pairs of visible tick labels on ``axis`` whose drawn boxes overlap (or come within
    ``gap`` pixels of each other). Draws the figure first."""
    fig = ax.figure
    fig.canvas.draw()
    boxes = _visible_labels(ax, axis, fig.canvas.get_renderer())
    pairs = []
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1 :]:
            if (
                box_a.x0 < box_b.x1 + gap
                and box_b.x0 < box_a.x1 + gap
                and box_a.y0 < box_b.y1 + gap
                and box_b.y0 < box_a.y1 + gap
            ):
                pairs.append((a.get_text(), b.get_text()))
    return pairs


def fit_tick_labels(ax, axes: Sequence[str] = ("x",), *, rotate: bool = True) -> None:
    """Keep the tick labels of ``axes`` apart once drawn: an x axis first turns its labels
    (30 then 90 degrees, when ``rotate``), a y axis first makes them smaller (down to 6 pt);
    labels still overlapping are thinned (every second, third ... label kept, always from the
    first). Call after everything else is drawn."""
    for axis in axes:
        if not overlapping_labels(ax, axis):
            continue
        target = ax.xaxis if axis == "x" else ax.yaxis
        if axis == "x" and rotate:
            for angle in (30, 90):
                for label in target.get_ticklabels():
                    label.set_rotation(angle)
                    label.set_horizontalalignment("right" if angle < 90 else "center")
                    label.set_rotation_mode("anchor" if angle < 90 else "default")
                if not overlapping_labels(ax, axis):
                    break
        if axis == "y":
            size = target.get_ticklabels()[0].get_fontsize() if target.get_ticklabels() else 10
            while overlapping_labels(ax, axis) and size > 6:
                size -= 1
                for label in target.get_ticklabels():
                    label.set_fontsize(size)
        step = 2
        labels = _in_view(ax, axis)
        while overlapping_labels(ax, axis) and step <= len(labels):
            for i, label in enumerate(labels):
                label.set_visible(i % step == 0)
            step += 1
