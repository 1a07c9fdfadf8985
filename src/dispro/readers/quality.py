"""The quality of the data read: ethnicity not stated in each dataset, the months each force
supplied, and every rule that excluded, relabelled or flagged records (the exclusions ledger).

Each function takes what the readers return (a mapping of dataset name to records, or the
stop-and-search records) and gives a tidy table for the data-quality appendix of a report.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .. import ledger
from ..ethnicity import NOT_STATED
from .months import coverage

__all__ = [
    "NOT_STATED_COLUMNS",
    "COVERAGE_SUMMARY_COLUMNS",
    "not_stated_summary",
    "coverage_summary",
    "field_supply",
    "FIELD_SUPPLY_COLUMNS",
    "FIELD_NEEDS",
    "exclusions_table",
]

#: Columns of :func:`not_stated_summary`.
NOT_STATED_COLUMNS = ("dataset", "records", "ethnicity_not_stated", "share_not_stated")
#: Columns of :func:`coverage_summary`.
COVERAGE_SUMMARY_COLUMNS = (
    "force", "months_present", "months_missing", "searches", "first_month", "last_month",
    "outcome_linked_not_supplied", "strip_search_not_supplied",
)  # fmt: skip


def not_stated_summary(datasets: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Records whose ethnicity was not stated, by dataset.

    Returns
    -------
    DataFrame
        :data:`NOT_STATED_COLUMNS`: one row per dataset with an ``ethnicity`` column and at
        least one record: its records, those with ethnicity ``Not stated`` and their share.
        An aggregated table (an ``events`` column: counts, not records) is left out.
    """
    rows = []
    for name, frame in datasets.items():
        if "ethnicity" not in frame.columns or frame.empty or "events" in frame.columns:
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
    return pd.DataFrame(rows, columns=list(NOT_STATED_COLUMNS))


def coverage_summary(records: pd.DataFrame | None) -> pd.DataFrame:
    """The months each force supplied, from the coverage of stop-and-search records
    (:func:`dispro.coverage`); a missing month is never a month of zero searches.

    Returns
    -------
    DataFrame
        :data:`COVERAGE_SUMMARY_COLUMNS`: per force, the months present and missing, the
        searches, the first and last month, and the months whose files did not supply the
        outcome-linked and strip-search fields. Empty when there are no records (None) or they
        carry no coverage table (they were not read by :func:`dispro.read_police_uk`).
    """
    if records is None or "coverage" not in records.attrs:
        return pd.DataFrame(columns=list(COVERAGE_SUMMARY_COLUMNS))
    cov = coverage(records)

    def missing(s):
        return int((~s).sum())

    summary = cov.groupby("force").agg(
        months_present=("present", "sum"),
        months_missing=("present", missing),
        searches=("rows", "sum"),
        first_month=("month", "min"),
        last_month=("month", "max"),
        outcome_linked_not_supplied=("outcome_linked_supplied", missing),
        strip_search_not_supplied=("removal_outer_clothing_supplied", missing),
    )
    return summary.reset_index()[list(COVERAGE_SUMMARY_COLUMNS)]


#: Columns of :func:`field_supply`.
FIELD_SUPPLY_COLUMNS = ("field", "months_supplied", "months", "not_supplied_by", "needed_for")
#: What each optional data.police.uk field is needed for in dispro's stop-and-search measures.
FIELD_NEEDS = {
    "self_defined_ethnicity": "every figure by self-defined ethnicity (the default)",
    "officer_defined_ethnicity": "figures by officer-defined ethnicity; agreement of the two; "
    "ethnicity not stated by the officer's view",
    "outcome_linked": "hit rates (otherwise any further action is used)",
    "outcome_raw": "hit rates by any further action; the outcome after a search",
    "removal_outer_clothing": "strip-search shares",
    "legislation": "section 60 shares; leaving section 60 out of hit rates",
    "latitude": "the veil-of-darkness test (the sun's position)",
    "longitude": "the veil-of-darkness test (the sun's position)",
    "sex": "breakdowns by sex",
    "age_band": "breakdowns by age; age-standardised rates",
    "object_of_search": "hit rates by object of search",
    "part_of_policing_operation": "nothing in the report (kept in the records)",
    "policing_operation": "nothing in the report (kept in the records)",
}


def field_supply(records: pd.DataFrame | None) -> pd.DataFrame:
    """Which optional data.police.uk fields the stop-and-search records supply, and what each
    is needed for.

    A field is supplied in a force-month when at least one of its rows fills it; a field blank
    for every row of a force-month was not supplied there (a force may never fill
    ``Outcome linked to object of search``, for instance), which is not the same as False or
    none. A measure that needs a field supplied in no month of the report says so in the
    report instead of a figure.

    Returns
    -------
    DataFrame
        :data:`FIELD_SUPPLY_COLUMNS`, one row per optional field present in the records (named
        as data.police.uk names it): the force-months that supplied it, the force-months in the
        records, the forces that supplied it in no month (``"; "``-joined, blank when none) and
        what it is needed for (:data:`FIELD_NEEDS`). Empty when there are no records or they
        lack ``force`` and ``month``.
    """
    if records is None or records.empty or not {"force", "month"} <= set(records.columns):
        return pd.DataFrame(columns=list(FIELD_SUPPLY_COLUMNS))
    from .mapping import load_mapping

    columns = {f: c for c, f in load_mapping("police_uk").columns.items()}
    keys = [records["force"].astype(object).fillna(""), records["month"].astype(object).fillna("")]
    rows = []
    for field, needed in FIELD_NEEDS.items():
        if field not in records.columns:
            continue
        values = records[field]
        filled = values.notna()
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            filled &= values.astype("string").str.strip().ne("").fillna(False)
        by_month = filled.groupby(keys).any()
        by_force = by_month.groupby(level=0).any()
        rows.append(
            {
                "field": columns.get(field, field),
                "months_supplied": int(by_month.sum()),
                "months": len(by_month),
                "not_supplied_by": "; ".join(str(f) for f in by_force.index[~by_force.to_numpy()]),
                "needed_for": needed,
            }
        )
    return pd.DataFrame(rows, columns=list(FIELD_SUPPLY_COLUMNS))


def exclusions_table(datasets: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The exclusions ledger of every dataset, in order (:func:`dispro.ledger.exclusions`), with
    file paths left out of the rules' wording (a report names no local folder).

    Returns
    -------
    DataFrame
        ``dataset``, then the ledger's columns.
    """
    entries = []
    for name, frame in datasets.items():
        table = ledger.exclusions(frame)
        table.insert(0, "dataset", name)
        entries.append(table)
    if not entries:
        return pd.DataFrame(columns=["dataset", *ledger.LEDGER_COLUMNS])
    table = pd.concat(entries, ignore_index=True)
    table["rule"] = table["rule"].str.replace(r"/[^ ]*/", "", regex=True)
    return table
