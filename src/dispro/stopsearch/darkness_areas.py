"""The veil-of-darkness test for each force of a report's area, and for the forces pooled.

:func:`darkness_by_area` runs :func:`~dispro.stopsearch.veil_of_darkness` on each force's records
(and, for Wessex, on the forces pooled, with force as a control: a fixed effect in the model),
and says what each test found. Each force is eligible on its own counts (every force-year); the
pooled test on the counts of the forces together (every year of Wessex), so that a pool of small
forces can be tested when no single force can.
"""

from __future__ import annotations

import re

import pandas as pd

from ..disclosure import CONFIDENTIAL
from ..errors import DisproError
from .darkness import DARKNESS_COLUMNS, veil_of_darkness

__all__ = ["DARKNESS_AREA_COLUMNS", "FINDINGS", "POOLED", "darkness_by_area"]

#: Columns of :func:`darkness_by_area`.
DARKNESS_AREA_COLUMNS = ("area", *DARKNESS_COLUMNS, "finding")
#: What a test found (``finding``): a smaller minority share after dark (the pattern expected if
#: ethnicity influences who is searched), a larger one, no clear difference, data not eligible,
#: or a test that could not be run (``reason`` says why).
FINDINGS = (
    "lower_after_dark",
    "higher_after_dark",
    "no_clear_difference",
    "not_eligible",
    "not_run",
)
#: The label of the forces pooled.
POOLED = "Wessex (forces pooled)"


def darkness_by_area(
    records: pd.DataFrame,
    *,
    area: str,
    minority: str = "Black",
    reference: str = "White",
    alpha: float = 0.05,
    threshold: int = 4,
) -> pd.DataFrame:
    """The veil-of-darkness test of each force in ``records`` and, when ``area`` is Wessex and
    the records hold several forces, of the forces pooled (:data:`POOLED`).

    The library decides eligibility (:func:`~dispro.stopsearch.veil_of_darkness`: at least 100
    stops of each group in every area-year; for the forces pooled, ``pooled=True``: in every
    year of the forces together, with force a fixed effect). A test found a difference only when its p-value is
    below ``alpha`` and its interval excludes 1.

    Parameters
    ----------
    records : DataFrame
        Stop-and-search records (with the reader's attrs: coverage, clock).
    area : str
        The report's area.
    minority, reference : str
        The two groups compared.
    alpha : float
        Significance level (intervals at ``1 - alpha``).
    threshold : int
        A count from 1 to ``threshold`` in ``reason`` is written ``[c]``, and the reason's list
        of stops per area-year is left out (small counts are not published).

    Returns
    -------
    DataFrame
        :data:`DARKNESS_AREA_COLUMNS`: one row per area tested, with the columns of
        :func:`~dispro.stopsearch.veil_of_darkness` and ``finding`` (one of :data:`FINDINGS`); a
        test that raised has status ``not_run`` and the error as its ``reason``.
    """
    runs = [
        (force, records[records["force"] == force], False)
        for force in sorted(records["force"].unique())
    ]
    if area.lower() == "wessex" and len(runs) > 1:
        runs.append((POOLED, records, True))
    rows = []
    for label, subset, pooled in runs:
        subset = subset.copy()
        subset.attrs = {
            k: (list(v) if isinstance(v, list) else v) for k, v in records.attrs.items()
        }
        try:
            result = veil_of_darkness(
                subset, minority=minority, reference=reference, alpha=alpha, pooled=pooled
            )
        except DisproError as exc:
            rows.append(
                {"area": label, "status": "not_run", "reason": str(exc), "finding": "not_run"}
            )
            continue
        row = result.iloc[0].to_dict()
        row["reason"] = (
            _short_reason(row["reason"], threshold) if row["status"] != "ok" else row["reason"]
        )
        rows.append({"area": label, **row, "finding": _finding(row, alpha)})
    return pd.DataFrame(rows, columns=list(DARKNESS_AREA_COLUMNS))


def _finding(row: dict, alpha: float) -> str:
    if row["status"] != "ok":
        return "not_eligible"
    clear = row["p_value"] < alpha and not (row["ci_lower"] <= 1 <= row["ci_upper"])
    if not clear:
        return "no_clear_difference"
    return "lower_after_dark" if row["odds_ratio"] < 1 else "higher_after_dark"


def _short_reason(reason: str, threshold: int) -> str:
    """The reason a test is ineligible, without its list of stops per area-year (small counts
    are not published), with a small count in its note replaced by [c]."""
    main, _, note = str(reason).partition(". Note: ")
    if "): " in main:
        main = main.split("): ", 1)[0] + ")"
    if note:
        count = re.match(r"([\d,]+) ", note)
        if count and 1 <= int(count.group(1).replace(",", "")) <= threshold:
            note = CONFIDENTIAL + note[count.end(1) :]
        main += f". Note: {note}"
    return main
