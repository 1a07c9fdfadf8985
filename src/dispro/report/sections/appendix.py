"""The appendices: data quality (ethnicity not stated, coverage, the exclusions ledger, the
warnings raised while the report rendered) and the methods, caveats and conventions.

Each function presents one result of the library (:mod:`dispro.readers.quality`) and computes
nothing.
"""

from __future__ import annotations

import pandas as pd

from ...dictionary import dataset, datasets
from ..disclose import COVERAGE, NOT_STATED_RECORDS, ledger_counts

__all__ = ["not_stated", "coverage", "fields_supplied", "exclusions", "warnings_raised", "methods"]


def not_stated(ch, table: pd.DataFrame, params) -> None:
    """Ethnicity not stated in each dataset (:func:`dispro.readers.quality.not_stated_summary`)."""
    ch.heading("Ethnicity not recorded")
    ch.table(
        "not_stated",
        table,
        caption="Records whose ethnicity was not stated, by dataset",
        counts=NOT_STATED_RECORDS,
    )


def coverage(ch, table: pd.DataFrame, params) -> None:
    """The months each force supplied (:func:`dispro.readers.quality.coverage_summary`);
    nothing when the records carry no coverage table."""
    if table.empty:
        return
    ch.heading("Coverage of the stop-and-search data")
    ch.table(
        "coverage",
        table,
        caption="Months supplied per force (a missing month is never counted as zero)",
        counts=COVERAGE,
    )


def fields_supplied(ch, table: pd.DataFrame, params) -> None:
    """Which optional fields the stop-and-search files supply, and what each is needed for
    (:func:`dispro.readers.quality.field_supply`); nothing without stop-and-search records."""
    if table.empty:
        return
    ch.heading("Fields supplied", level=3)
    never = table.loc[table["months_supplied"] == 0, "field"].tolist()
    ch.text(
        "A field that a force leaves blank in every record of a month was not supplied that "
        "month; a measure that needs a field supplied in no month says so where the measure "
        "would be, and is never shown as zero. "
        + (
            f"Not supplied at all in this report's data: {', '.join(repr(f) for f in never)}."
            if never
            else "Every optional field is supplied in at least one month."
        )
    )
    ch.table(
        "fields_supplied",
        table,
        caption="Optional fields of the stop-and-search files: months supplied and what each is "
        "needed for",
        notes="months: force-months in the data; months supplied: those in which at least one "
        "record fills the field.",
    )


def exclusions(ch, table: pd.DataFrame, params) -> None:
    """The exclusions ledger of every dataset (:func:`dispro.readers.quality.exclusions_table`)."""
    ch.heading("Exclusions ledger")
    ch.table(
        "ledger",
        table,
        caption="Every rule that excluded, relabelled or flagged records, with counts, in order",
        counts=ledger_counts(table, params["area"]),
    )


def warnings_raised(ch, params) -> None:
    """Where the warnings raised while the report rendered are listed (every chapter's, and
    those raised while the data were loaded: the renderer fills the table in)."""
    ch.heading("Warnings raised while the report was produced")
    ch.text(
        "Every warning dispro raised while it loaded the data and computed each chapter, once "
        "each, with the chapter it came from and how often it was raised. A warning does not stop "
        "the report; it says where a figure needs care (small counts, data not supplied, "
        "assumptions made)."
    )
    ch.warnings_raised(caption="Warnings raised while the report was produced, by chapter")


def methods(ch, params) -> None:
    """Methods, caveats and conventions, and the data standard."""
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
            "Residents: Census 2021 usual residents by local authority (cells rounded to 5), "
            "summed to force areas; the City of London, which that table merges with "
            "Westminster, from Census 2021 TS021 by police force area (unrounded). The two "
            "sources differ by a few people per cell.",
            "A field a force leaves blank in every record of a month was not supplied that "
            "month: its searches are left out of the measures that need it, and a measure "
            "whose field was supplied in no month is not shown (the report says so where it "
            "would be; it is never shown as 0). A hit rate then uses any further action.",
            "Scrutiny packs: 'this quarter' is the last quarter with every month supplied.",
            "Ethnicity not stated cannot be placed in a group; its share is reported for each dataset.",
            "data.police.uk stamps every time +00:00; whether that is UTC or UK clock time is not "
            "documented, and the report states the assumption it uses.",
        ]
    )
    ch.heading("Conventions")
    ch.bullets(
        [
            "[c] marks a value withheld to protect confidentiality (Government Analysis "
            "Function symbols); [x] means not available, [z] not applicable.",
        ]
    )
    k = params["suppression_threshold"]
    ch.heading("How small numbers are protected", level=3)
    ch.text(
        "Every table, chart, sentence and workbook sheet of the report is published through one "
        "set of rules, solved over the whole report at once (and, when the Wessex report and the "
        "force reports are produced together, over all of them at once), so that a number "
        "withheld in one place is withheld everywhere it appears."
    )
    ch.bullets(
        [
            f"Primary suppression: a count from 1 to {k} is withheld. Zero is shown (unless it "
            "must be withheld to protect another count, which is rare).",
            "Derived values: every rate, share, ratio, interval, p-value, q-value and test "
            "worked out from a withheld count is withheld with it; so is every ratio whose "
            "reference group's count in the same area and period is withheld, and every change "
            "over time that rests on a withheld count.",
            f"Complements: where the people at risk minus the events (for example, the people "
            f"not charged) would be from 1 to {k}, the events or the base are withheld too.",
            f"Secondary suppression: further counts are withheld so that no withheld count can "
            "be worked out from what is published: totals and their parts (forces and Wessex, "
            "quarters and the whole period, groups and all groups), the same count in several "
            "tables, the searches left out of a hit rate or share, the rows read and kept in the "
            f"exclusions ledger, and differences between tables. Each count from 1 to {k} is "
            f"left free over the whole range 1 to {k} as far as a reader can tell, and no "
            "withheld count can be worked out exactly (checked with linear programming).",
            f"Minimum base: a rate or share over fewer than {params.get('min_base', 20)} people "
            f"at risk, or per fewer than {params.get('min_population', 100)} residents, is "
            "withheld.",
            "Figures are drawn only from rows published in full. The suppression log (a sheet "
            "of the workbook and suppression.json) lists every withheld cell and the rule that "
            "withheld it, never its value, and does not say which withheld counts are small.",
            "No published table holds record-level data, and the record-level data never leave "
            "the renderer's private working folder.",
            "The practical-significance band (0.8 to 1.25, judged on the interval) is dispro's convention, "
            "borrowed from the US four-fifths rule, not an official UK rule.",
        ]
    )
    ch.heading("The data standard", level=3)
    printed = bool(params.get("annex", False))
    if not printed:
        ch.text(
            "The data standard (each dataset's fields, their types and codes) is in the "
            "workbook, on the sheets whose names begin with methods_dict; set the parameter "
            "annex to print it here."
        )
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
            printed=printed,
        )
