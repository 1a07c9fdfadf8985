"""What the report's sections share: the words for each stage's outcome, the columns shown of an
RRI table, the sentences written from one, and quarters in words."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...disclosure import CONFIDENTIAL, Counts
from ...ethnicity import NOT_STATED
from ..wording import describe_table

__all__ = [
    "OUTCOME_WORDS", "RRI_SHOW", "first_sentences", "quarter_words", "shown_in_full",
    "RATES", "BOUNDS", "HITS", "STRIP", "S60", "CONCORDANCE", "NOT_STATED_BY_OFFICER",
    "STAGES", "SENTENCE_LENGTH", "adjusted_counts", "Q_HITS", "Q_STRIP", "Q_S60",
    "NOT_STATED_RECORDS", "COVERAGE", "ledger_counts",
]  # fmt: skip

# What each table's counts count (the measures of dispro.report.disclose): a count withheld in
# one table is withheld in every table, figure and sentence that shows it.
#: Search rates per resident (whole period or quarter): person searches by group.
RATES = Counts({"events": "searches"}, population="base")
#: The missing-ethnicity bounds: the group's searches and those not stated.
BOUNDS = Counts(
    {"events": "searches", "unknown_events": "searches"},
    fixed={"unknown_events": {"group": NOT_STATED}},
    population="base",
)
_HIT_MEASURES = {"searches": "hit_searches", "hits": "hits"}
#: Hit rates, with the searches left out of them by rule.
HITS = Counts(
    {**_HIT_MEASURES, "excluded_vehicle_only": "vehicle_only", "excluded_s60": "s60",
     "excluded_not_supplied": "hit_excl_not_supplied",
     "excluded_not_recorded": "hit_excl_not_recorded"},
    complements={"hits": "searches"},
)  # fmt: skip
STRIP = Counts(
    {"searches": "strip_basis", "events": "strip", "excluded_vehicle_only": "vehicle_only",
     "excluded_not_supplied": "strip_excl_not_supplied",
     "excluded_not_recorded": "strip_excl_not_recorded"},
    complements={"events": "searches"},
)  # fmt: skip
S60 = Counts(
    {"searches": "s60_basis", "events": "s60", "excluded_vehicle_only": "vehicle_only",
     "excluded_not_supplied": "s60_excl_not_supplied",
     "excluded_not_recorded": "s60_excl_not_recorded"},
    complements={"events": "searches"},
)  # fmt: skip
#: The pack's quarterly hit-rate, strip-search and section 60 tables.
#: (the searches left out of each are not shown; where none were, a reader may guess it)
Q_HITS = Counts(HITS.measures, complements={"hits": "searches"})
Q_STRIP = Counts(
    {**STRIP.measures, "strip_searches": "strip"}, complements={"strip_searches": "searches"}
)
Q_S60 = Counts({**S60.measures, "s60_searches": "s60"}, complements={"s60_searches": "searches"})
CONCORDANCE = Counts({"searches": "concordance_pairs"})
NOT_STATED_BY_OFFICER = Counts(
    {"searches": "searches", "not_stated": "searches"},
    fixed={"not_stated": {"group": NOT_STATED}},
    complements={"not_stated": "searches"},
)
#: A stage of the pathway: events and, where it is a count of people, the base.
STAGES = Counts(
    {"events": "{stage}", "base": "{stage}:base"},
    only={"base": ("basis", ("chained",))},
    complements={"events": "base"},
    population="base",
)
#: Custodial sentence length: the base is the number of custodial sentences.
SENTENCE_LENGTH = Counts({"events": "{stage}", "base": "{stage}"})


def adjusted_counts(stage_name: str) -> Counts:
    """The adjusted comparison of a stage (whole area and period, by group): the people the
    model was fitted on, part of the stage's people (the rest lack a control)."""
    model, base = f"{stage_name}:model", f"{stage_name}:model_base"
    return Counts(
        {"events": model, "base": base},
        complements={"events": "base"},
        partitions={
            stage_name: [(model, f"{model}~left_out")],
            f"{stage_name}:base": [(base, f"{base}~left_out")],
        },
    )


#: Records and records with ethnicity not stated, by dataset (the data-quality appendix).
NOT_STATED_RECORDS = Counts(
    {"records": "{dataset}:records", "ethnicity_not_stated": "{dataset}:records"},
    fixed={"ethnicity_not_stated": {"group": NOT_STATED}},
    complements={"ethnicity_not_stated": "records"},
)
#: Search records of each force (the coverage table).
COVERAGE = Counts({"searches": "stop_search:records"})


def ledger_counts(table: pd.DataFrame, area: str) -> Counts:
    """The exclusions ledger of the report for ``area``: each rule its own measure (of this
    report: the rows its files held are not the area's), and the rows a dataset's files held
    the sum of the rows kept (the dataset's records in the report) and of each exclusion."""
    template = f"ledger@{area}:{{dataset}}:{{step}}:{{rule}}"
    partitions = {}
    for dataset, rows in table.groupby("dataset", sort=False):
        read = rows[rows["action"] == "read"]
        if len(read) != 1:
            continue
        parts = [f"{dataset}:records"] + [
            template.format(**r) for r in rows[rows["action"] == "excluded"].to_dict("records")
        ]
        partitions[template.format(**read.iloc[0].to_dict())] = [parts]
    return Counts({"rows": template}, partitions=partitions)


def shown_in_full(ch, table: pd.DataFrame, counts) -> np.ndarray:
    """The rows of ``table`` that the report publishes without a withheld value: the only
    rows a sentence may quote."""
    published = ch.published(table, counts=counts)
    return ~published.isin([CONFIDENTIAL]).any(axis=1).to_numpy()


#: What each stage's rate counts, as a past participle phrase.
OUTCOME_WORDS = {
    "stop_search": "stopped and searched",
    "search_outcome": "subject to further action after a search",
    "out_of_court": "given an out-of-court disposal",
    "charge": "charged by the CPS",
    "custody": "sent to immediate custody",
}
#: The columns of an RRI table shown in the report.
RRI_SHOW = ["group", "events", "base", "rate", "rri", "ci_lower", "ci_upper", "q_value", "status"]


def first_sentences(table, params, outcome, by, *, shown=None) -> list[str]:
    """A sentence for each row of an RRI table (the reference and Not stated aside), prefixed
    with the row's ``by`` value when ``by`` is given. A row not ``shown`` in full (a withheld
    count, or one its ratio depends on) gets a sentence saying its figures are withheld."""
    sentences = []
    text = describe_table(
        table, reference=params["reference"], outcome=outcome, alpha=params["alpha"]
    )
    shown = np.ones(len(table), dtype=bool) if shown is None else np.asarray(shown, dtype=bool)
    for i, (_, row) in enumerate(text.iterrows()):
        if row["kind"] in ("reference",) or row["group"] == NOT_STATED:
            continue
        prefix = f"{row[by]}: " if by else ""
        if not shown[i]:
            sentences.append(
                f"{prefix}the figures for {row['group']} people are withheld, so that no small "
                "number of people can be identified."
            )
            continue
        sentences.append(prefix + row["sentence"])
    return sentences


def quarter_words(label: str) -> str:
    """``"2024Q1"`` -> ``"January to March 2024"``."""
    quarter = pd.Period(label, freq="Q")
    first = quarter.asfreq("M", "start").strftime("%B")
    return f"{first} to {quarter.asfreq('M', 'end').strftime('%B %Y')}"
