"""The summary chapter: what the report is, and the pathway matrix for the area."""

from __future__ import annotations

import pandas as pd

from ...pathway import stage
from ...plots import plot_forest
from ..disclose import STAGES
from ..wording import confidence_level
from ._common import OUTCOME_WORDS, RRI_SHOW, first_sentences

__all__ = ["intro", "pathway"]


_ABSENT = {
    "stop_search": "stop-and-search",
    "disposals": "out-of-court disposals",
    "charging": "charging",
    "sentencing": "sentencing",
}


def intro(ch, params) -> None:
    """What the report is, what it covers and how to read it."""
    what = (
        "This out-of-court disposals scrutiny pack measures whether detected offenders of "
        "different ethnic groups are dealt with out of court (a caution, community resolution, "
        "penalty notice or warning rather than a charge or summons) at different rates, quarter "
        f"by quarter, in {params['area']}, from {params['period_start']} to {params['period_end']}."
        if params["report"] == "oocd"  # oocd pack (issue 13 item 8)
        else "This report measures whether people of different ethnic groups are treated "
        f"differently at each stage of the criminal justice system in {params['area']}, from "
        f"{params['period_start']} to {params['period_end']}."
    )
    ch.text(
        f"{what} Each group is compared with {params['reference']} people using a "
        "relative rate index (RRI): the group's rate divided by the reference group's rate. An RRI of "
        "1 means the same rate; 2 means twice the rate."
    )
    ch.text(
        f"A difference is called disproportionate only when its {confidence_level(params['alpha'])} "
        "confidence interval excludes 1 after the Benjamini-Hochberg correction for the many "
        "comparisons in the report (dispro's convention; official tables flag on single tests). "
        "'No clear evidence of a difference' and 'too few cases to tell' are different findings."
    )
    absent = params.get("absent") or {}
    if absent:
        ch.text(
            "What this report covers: "
            + "; ".join(f"there is no {_ABSENT[k]} chapter: {why}" for k, why in absent.items())
            + ". The pathway below has no figures for those stages."
        )
    if params["data"] == "demo":
        ch.text(
            "THIS REPORT USES SYNTHETIC DEMONSTRATION DATA. The records are generated with known, "
            "planted disparities to show how the report works; they describe no real person and no "
            "real force. Only the Census 2021 population figures are real."
        )


def pathway(ch, matrix: pd.DataFrame, params) -> None:
    """The pathway matrix of the area (:func:`dispro.pathway.area_matrix`): its plain-English
    reading stage by stage, the table and its chart."""
    ch.heading("Where along the pathway do differences arise?")
    full = pd.Series(ch.shown_in_full(matrix, STAGES), index=matrix.index)
    for stage_name, rows in matrix.groupby("stage", sort=False):
        outcome = OUTCOME_WORDS.get(stage_name)
        if outcome is None:
            continue
        sentences = first_sentences(rows, params, outcome, None, shown=full[rows.index])
        if sentences:
            ch.heading(rows["label"].iloc[0], level=3)
            ch.bullets(sentences)
    for name in matrix.attrs.get("empty", []):
        spec = stage(name)
        label = spec.get("label", name)
        needs = sorted(
            {c["column"] for part in ("events", "base") for c in spec[part].get("where", [])}
        )
        ch.heading(label, level=3)
        ch.text(
            f"{label}: no figure. No record meets this stage's definition: the fields it needs "
            f"({', '.join(needs)}) were not supplied (blank in every record) or hold none of "
            "its values."
        )
    ch.table(
        "pathway",
        matrix,
        columns=["label", "measure", *RRI_SHOW],
        caption="The pathway matrix: relative rate index of each group at each stage, against the stage's own base",
        notes="Stop and search is per 1,000 residents (Census 2021); later stages are percentages of the "
        "people at the previous decision point; custodial length is a ratio of mean months. "
        "q: Benjamini-Hochberg over the whole matrix.",
        counts=STAGES,
    )
    shown = matrix[(matrix["group"] != params["reference"]) & matrix["ci_lower"].notna()]
    ch.figure(
        plot_forest,
        shown,
        counts=STAGES,
        table="pathway",
        label=["label", "group"],
        caption="Relative rate index with its confidence interval, by stage and group (log scale)",
    )
