"""The summary chapter: page 1 answers the question (the key messages, the pathway picture, the
things you need to know), then what the report covers and the pathway stage by stage."""

from __future__ import annotations

import pandas as pd

from ...pathway import stage
from ...plots import plot_pathway
from ..disclose import CHANGE, STAGES
from ..wording import confidence_level
from . import messages
from ._common import OUTCOME_WORDS, RRI_SHOW, compact_sentences

__all__ = ["key_messages", "intro", "pathway"]


_ABSENT = {
    "stop_search": "stop-and-search",
    "disposals": "out-of-court disposals",
    "charging": "charging",
    "sentencing": "sentencing",
    "use_of_force": "use-of-force",
}


def key_messages(ch, matrix: pd.DataFrame, params, change: pd.DataFrame | None = None) -> None:
    """Page 1: three to five key messages written from the pathway matrix
    (:func:`dispro.pathway.area_matrix`) by the wording rules, the pathway picture, then the
    things a reader needs to know to read them."""
    ch.heading("Key messages")
    full = ch.shown_in_full(matrix, STAGES)
    moved = None if change is None or change.empty else ch.shown_in_full(change, CHANGE)
    said = messages.key_messages(matrix, params, full, change=change, change_shown=moved)
    ch.bullets(said)
    ch.figure(
        plot_pathway,
        matrix[matrix["group"] != params["reference"]],
        counts=STAGES,
        table="pathway",
        labels=["label", "measure", "group"],  # as the pathway table, shown later, names them
        alt=["A chart of each group's relative rate at each stage of the pathway.", *said[:2]],
        reference=params["reference"],
        caption=f"Where along the pathway differences arise: each group's relative rate against "
        f"{params['reference']} people at each stage, with its "
        f"{confidence_level(params['alpha'])} confidence interval (filled: a clear difference; "
        "1 = the same rate)",
    )
    ch.heading("Things you need to know", level=3)
    ch.bullets(messages.things_to_know(params))


def intro(ch, params) -> None:
    """What the report is and what it covers (a dataset left out is named, with why)."""
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
    ch.heading("About this report", level=3)
    ch.text(
        f"{what} Each group is compared with {params['reference']} people using a "
        "relative rate index (RRI): the group's rate divided by the reference group's rate. An RRI of "
        "1 means the same rate; 2 means twice the rate."
    )
    absent = params.get("absent") or {}
    if absent:
        ch.text(
            "What this report covers: "
            + "; ".join(f"there is no {_ABSENT[k]} chapter: {why}" for k, why in absent.items())
            + "."
            + (
                " The pathway has no figures for those stages."
                if set(absent) - {"use_of_force"}
                else ""
            )
        )


def pathway(ch, matrix: pd.DataFrame, params) -> None:
    """The pathway matrix of the area (:func:`dispro.pathway.area_matrix`): its plain-English
    reading stage by stage, the table and its chart."""
    ch.heading("The pathway stage by stage")
    full = pd.Series(ch.shown_in_full(matrix, STAGES), index=matrix.index)
    ch.bullets(stage_sentences(matrix, params, full))
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


def stage_sentences(matrix: pd.DataFrame, params, full: pd.Series) -> list[str]:
    """One sentence per stage of the matrix (:func:`compact_sentences`)."""
    out = []
    for stage_name, rows in matrix.groupby("stage", sort=False):
        outcome = OUTCOME_WORDS.get(stage_name)
        if outcome is not None:
            out += compact_sentences(
                rows, params, outcome, None, shown=full[rows.index], prefix=rows["label"].iloc[0]
            )
    return out
