"""The appendices: data quality (ethnicity not stated, coverage, the exclusions ledger) and the
methods, caveats and conventions."""

from __future__ import annotations

import pandas as pd

from ... import ledger
from ...ethnicity import NOT_STATED

__all__ = ["data_quality", "methods"]


def data_quality(ch, data, params) -> None:
    """Ethnicity not stated at each stage, coverage, the exclusions ledger."""
    rows = []
    for name, frame in data.items():
        if "ethnicity" not in frame.columns or frame.empty:
            continue
        not_stated = int((frame["ethnicity"] == NOT_STATED).sum())
        rows.append(
            {
                "dataset": name,
                "records": len(frame),
                "ethnicity_not_stated": not_stated,
                "share_not_stated": not_stated / len(frame),
            }
        )
    ch.heading("Ethnicity not recorded")
    ch.table(
        "not_stated",
        pd.DataFrame(rows),
        caption="Records whose ethnicity was not stated, by dataset",
        counts=("records", "ethnicity_not_stated"),
    )
    if "stop_search" in data and "coverage" in data["stop_search"].attrs:
        from ...readers import coverage

        cov = coverage(data["stop_search"])
        summary = (
            cov.groupby("force")
            .agg(
                months_present=("present", "sum"),
                months_missing=("present", lambda s: int((~s).sum())),
                searches=("rows", "sum"),
                first_month=("month", "min"),
                last_month=("month", "max"),
                outcome_linked_not_supplied=("outcome_linked_supplied", lambda s: int((~s).sum())),
                strip_search_not_supplied=(
                    "removal_outer_clothing_supplied",
                    lambda s: int((~s).sum()),
                ),
            )
            .reset_index()
        )
        ch.heading("Coverage of the stop-and-search data")
        ch.table(
            "coverage",
            summary,
            caption="Months supplied per force (a missing month is never counted as zero)",
            counts=("searches",),
        )
    ch.heading("Exclusions ledger")
    entries = []
    for name, frame in data.items():
        led = ledger.exclusions(frame)
        led.insert(0, "dataset", name)
        entries.append(led)
    table = pd.concat(entries, ignore_index=True) if entries else pd.DataFrame()
    table["rule"] = table["rule"].str.replace(r"/[^ ]*/", "", regex=True)
    ch.table(
        "ledger",
        table,
        caption="Every rule that excluded, relabelled or flagged records, with counts, in order",
        counts=("rows",),
    )


def methods(ch, params) -> None:
    """Methods, caveats and conventions, and the data standard."""
    from ...dictionary import dataset, datasets

    ch.heading("How the figures are calculated")
    ch.bullets(
        [
            "Rate: events divided by the people at risk (the previous stage, or the resident population). "
            "Relative rate index (RRI): a group's rate divided by the reference group's, from unrounded counts.",
            "Intervals: Katz log method for proportions; exact conditional Poisson for rates per resident. "
            "Zero counts are never corrected silently.",
            "Multiple testing: Benjamini-Hochberg q-values over each table; 'significant' means q below "
            f"{params['alpha']} (dispro's convention; official UK tables flag on single tests).",
            "Missing ethnicity: bounds allocate all not-stated records to the reference or to the group; "
            "they are assumption ranges, not confidence intervals.",
            "Adjusted comparisons (where shown): logistic regression with the group and the case-mix "
            "controls, fitted on collapsed cells; adjusted risk ratios by marginal standardisation.",
        ]
    )
    ch.heading("Caveats")
    ch.bullets(
        [
            "The resident population is not the population available to be stopped: visitors, commuters "
            "and the night-time economy are not in it.",
            "The population has changed since the Census of March 2021.",
            "Ethnicity not stated cannot be placed in a group; its share is reported for each dataset.",
            "data.police.uk stamps every time +00:00; whether that is UTC or UK clock time is not "
            "documented, and the report states the assumption it uses.",
        ]
    )
    ch.heading("Conventions")
    ch.bullets(
        [
            f"Counts from 1 to {params['suppression_threshold']} are suppressed and shown as [c] "
            "(Government Analysis Function symbols); [x] means not available, [z] not applicable.",
            "In the quarterly scrutiny pack, where forces and Wessex appear in one table, further "
            "counts are also shown as [c] (secondary suppression, with their rates and ratios) so "
            "that no suppressed count can be worked out by subtraction from a total. Tables across "
            "different sections are suppressed one at a time.",
            "No published table holds record-level data.",
            "The practical-significance band (0.8 to 1.25, judged on the interval) is dispro's convention, "
            "borrowed from the US four-fifths rule, not an official UK rule.",
        ]
    )
    ch.heading("The data standard", level=3)
    for name in datasets():
        spec = dataset(name)
        fields = pd.DataFrame(
            [
                {
                    "field": f["name"],
                    "type": f["type"],
                    "required": "yes" if f.get("required") else "no",
                    "codes": f.get("codes") or "",
                }
                for f in spec["fields"]
            ]
        )
        ch.table(
            f"dict_{name}",
            fields,
            caption=f"Dataset {name}: {spec.get('one_row_is', '')}",
            counts=(),
        )
