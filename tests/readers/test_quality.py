"""The data-quality tables (dispro.readers.quality) against counts made by hand."""

from __future__ import annotations

import pandas as pd

from dispro import ledger
from dispro.readers.quality import (
    COVERAGE_SUMMARY_COLUMNS,
    NOT_STATED_COLUMNS,
    coverage_summary,
    exclusions_table,
    not_stated_summary,
)


def test_not_stated_by_dataset():
    data = {
        "stop_search": pd.DataFrame({"ethnicity": ["White", "Not stated", "Black", "Not stated"]}),
        "charging": pd.DataFrame({"ethnicity": ["White", "Asian"]}),
        "no_groups": pd.DataFrame({"x": [1]}),
        "empty": pd.DataFrame({"ethnicity": pd.Series([], dtype=object)}),
    }
    table = not_stated_summary(data)
    assert list(table.columns) == list(NOT_STATED_COLUMNS)
    assert table.to_dict("records") == [
        {
            "dataset": "stop_search",
            "records": 4,
            "ethnicity_not_stated": 2,
            "share_not_stated": 0.5,
        },
        {"dataset": "charging", "records": 2, "ethnicity_not_stated": 0, "share_not_stated": 0.0},
    ]


def test_coverage_by_force():
    records = pd.DataFrame({"force": ["Dorset"] * 3, "month": ["2024-01", "2024-01", "2024-03"]})
    records.attrs["coverage"] = [
        {"force": "Dorset", "month": m, "present": p, "rows": r, "source": "f",
         "outcome_linked_supplied": o, "removal_outer_clothing_supplied": True}
        for m, p, r, o in (("2024-01", True, 2, True), ("2024-02", False, 0, False),
                           ("2024-03", True, 1, False))
    ]  # fmt: skip
    table = coverage_summary(records)
    assert list(table.columns) == list(COVERAGE_SUMMARY_COLUMNS)
    row = table.iloc[0]
    assert (row["months_present"], row["months_missing"], row["searches"]) == (2, 1, 3)
    assert (row["first_month"], row["last_month"]) == ("2024-01", "2024-03")
    assert (row["outcome_linked_not_supplied"], row["strip_search_not_supplied"]) == (2, 0)
    # no coverage table (records not read from police.uk files), or no records: nothing
    plain = pd.DataFrame(records)
    plain.attrs = {}
    assert coverage_summary(plain).empty and coverage_summary(None).empty


def test_exclusions_of_every_dataset_without_file_paths():
    a = pd.DataFrame({"x": [1]})
    ledger.record(a, "read", "rows read from /home/me/data/file.csv", 10, action="read")
    ledger.record(a, "filter", "vehicle-only searches", 2)
    b = pd.DataFrame({"x": [1]})
    table = exclusions_table({"stop_search": a, "charging": b})
    assert table["dataset"].tolist() == ["stop_search", "stop_search"]
    assert table["rule"].tolist() == ["rows read from file.csv", "vehicle-only searches"]
    assert table["rows"].tolist() == [10, 2]
    assert exclusions_table({}).empty
