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
    """
    rows = []
    for name, frame in datasets.items():
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
