"""The decision-stage chapters (out-of-court disposals, charging, sentencing): relative rates by
force and the adjusted comparison."""

from __future__ import annotations

import warnings

import pandas as pd

from ...errors import DisproError, DisproWarning
from ...ethnicity import NOT_STATED
from ._common import OUTCOME_WORDS, RRI_SHOW, first_sentences

__all__ = ["stage_chapter", "adjusted"]


def stage_chapter(ch, data, params, stage_name: str) -> pd.DataFrame:
    """One decision stage by force: RRIs, sentences, chart; adjusted model where available."""
    from ...pathway import pathway_matrix, stage
    from ...plots import plot_forest

    spec = stage(stage_name)
    dataset = spec["dataset"]
    if dataset not in data or data[dataset].empty:
        ch.text(f"No {dataset} records were supplied for this report.")
        return pd.DataFrame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisproWarning)
        table = pathway_matrix(
            {dataset: data[dataset]},
            stages_=[stage_name],
            by="force",
            reference=params["reference"],
            alpha=params["alpha"],
        )
    ch.text(spec.get("description", "").strip())
    outcome = OUTCOME_WORDS.get(stage_name)
    if outcome:
        ch.bullets(first_sentences(table, params, outcome, "force"))
    ch.table(
        stage_name,
        table[["force", *RRI_SHOW]],
        caption=f"{spec['label']}: relative rate index by force and group",
    )
    shown = table[(table["group"] != params["reference"]) & table["ci_lower"].notna()]
    if len(shown):
        ch.figure(
            plot_forest(shown, label=["force", "group"]),
            caption=f"{spec['label']}: relative rate by force and group (log scale)",
        )
    return table


def adjusted(ch, data, params, stage_name: str) -> None:
    """Unadjusted and adjusted ratios side by side (logistic model on collapsed cells)."""
    from ...pathway import stage

    spec = stage(stage_name)
    records = data.get(spec["dataset"])
    controls = {
        "out_of_court": ["offence_group", "age_band", "sex", "force"],
        "charge": ["offence_group", "age_band", "sex"],
        "custody": [
            "offence_group",
            "previous_convictions",
            "plea",
            "remand_status",
            "age_band",
            "sex",
            "court_type",
        ],
    }.get(stage_name, [])
    if records is None or records.empty:
        return
    from ... import models
    from ...plots import plot_adjusted

    controls = [c for c in controls if c in records.columns and records[c].nunique() > 1]
    where = spec["events"]["where"][0]
    base_cond = spec["base"]["where"][0]
    subset = records[records[base_cond["column"]].isin(base_cond["in"])]
    subset = subset[subset["ethnicity"] != NOT_STATED]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = models.logistic(
                subset,
                outcome={where["column"]: list(where["in"])},
                reference=params["reference"],
                controls=controls,
                alpha=params["alpha"],
                dropna=True,
            )
        except DisproError as exc:
            ch.text(f"The adjusted model could not be fitted: {exc}")
            return
    ch.heading("Taking case mix into account", level=3)
    ch.text(
        "The adjusted comparison asks how different the outcomes are for people alike in "
        + ", ".join(c.replace("_", " ") for c in controls)
        + ". It uses a logistic regression; the adjusted risk ratio (marginal standardisation) is on the "
        "same scale as the unadjusted relative rate index, so the two can be compared directly."
    )
    shown = fit.adjusted[
        [
            "group",
            "events",
            "base",
            "rri",
            "rri_ci_lower",
            "rri_ci_upper",
            "adjusted_rr",
            "ci_lower",
            "ci_upper",
            "share_explained",
            "e_value",
        ]
    ]
    ch.table(
        f"{stage_name}_adjusted",
        shown,
        caption=f"{spec['label']}: unadjusted relative rate and adjusted risk ratio against {params['reference']} people",
        notes="Adjusted risk ratio by marginal standardisation from a logistic regression fitted on "
        "collapsed cells (delta-method intervals). share_explained = 1 - ln(adjusted RR) / ln(RRI), "
        "shown when both lie on the same side of 1. E-value: how strong unmeasured confounding would "
        "have to be to explain away the adjusted ratio (VanderWeele and Ding 2017).",
    )
    ch.figure(
        plot_adjusted(fit.adjusted),
        caption=f"{spec['label']}: unadjusted and adjusted ratios (log scale)",
    )
