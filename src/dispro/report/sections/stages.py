"""The decision-stage chapters (out-of-court disposals, charging, sentencing): relative rates by
force and the adjusted comparison.

Each function presents one result of :mod:`dispro.pathway` and computes nothing.
"""

from __future__ import annotations

import pandas as pd

from ...pathway import stage
from ...plots import plot_adjusted, plot_forest
from ..disclose import SENTENCE_LENGTH, STAGES, adjusted_counts
from ._common import OUTCOME_WORDS, RRI_SHOW, compact_sentences

__all__ = ["rates", "adjusted", "ADJUSTED_SHOW"]

#: The columns shown of the adjusted comparison.
ADJUSTED_SHOW = [
    "group", "events", "base", "rri", "rri_ci_lower", "rri_ci_upper", "adjusted_rr",
    "ci_lower", "ci_upper", "share_explained", "e_value",
]  # fmt: skip


def rates(ch, table: pd.DataFrame, params, stage_name: str) -> None:
    """One stage by force (:func:`dispro.pathway.stage_matrix`): sentences, table, chart."""
    spec = stage(stage_name)
    if "missing" in table.attrs:
        ch.text(f"No {table.attrs['missing']} records were supplied for this report.")
        return
    ch.text(spec.get("description", "").strip())
    counts = SENTENCE_LENGTH if stage_name == "sentence_length" else STAGES
    outcome = OUTCOME_WORDS.get(stage_name)
    said = []
    if outcome:
        full = ch.shown_in_full(table, counts)
        said = compact_sentences(table, params, outcome, "force", shown=full)
        ch.bullets(said)
    ch.table(
        stage_name,
        table,
        columns=["force", *RRI_SHOW],
        caption=f"{spec['label']}: relative rate index by force and group",
        counts=counts,
    )
    shown = table[(table["group"] != params["reference"]) & table["ci_lower"].notna()]
    ch.figure(
        plot_forest,
        shown,
        counts=counts,
        table=stage_name,
        label=["force", "group"],
        alt=[f"A chart of the relative rate by force and group. {spec['label']}:", *said],
        caption=f"{spec['label']}: relative rate by force and group (log scale)",
    )


def adjusted(ch, table: pd.DataFrame, params, stage_name: str) -> None:
    """Unadjusted and adjusted ratios side by side (:func:`dispro.pathway.stage_model`)."""
    spec = stage(stage_name)
    if "missing" in table.attrs:
        return
    if "error" in table.attrs:
        ch.text(f"The adjusted model could not be fitted: {table.attrs['error']}")
        return
    controls = table.attrs["controls"]
    ch.heading("Taking case mix into account", level=3)
    ch.text(
        "The adjusted comparison asks how different the outcomes are for people alike in "
        + ", ".join(c.replace("_", " ") for c in controls)
        + ". It uses a logistic regression; the adjusted risk ratio (marginal standardisation) is on the "
        "same scale as the unadjusted relative rate index, so the two can be compared directly."
    )
    ch.table(
        f"{stage_name}_adjusted",
        table,
        columns=ADJUSTED_SHOW,
        caption=f"{spec['label']}: unadjusted relative rate and adjusted risk ratio against {params['reference']} people",
        notes="Adjusted risk ratio by marginal standardisation from a logistic regression fitted on "
        "collapsed cells (delta-method intervals). share_explained = 1 - ln(adjusted RR) / ln(RRI), "
        "shown when both lie on the same side of 1. E-value: how strong unmeasured confounding would "
        "have to be to explain away the adjusted ratio (VanderWeele and Ding 2017).",
        counts=adjusted_counts(stage_name),
    )
    ch.figure(
        plot_adjusted,
        table,
        counts=adjusted_counts(stage_name),
        table=f"{stage_name}_adjusted",
        caption=f"{spec['label']}: unadjusted and adjusted ratios (log scale)",
    )
