"""Tests of the data.police.uk stop-and-search reader (dispro.readers.police_uk).

The 36 real City of London files are read in place from ``../shared/realdata`` (the ``realdata``
fixture). Every reference figure is computed here, independently of the package, with the ``csv``
module: the row counts per file, the raw labels, the 5+1 group of each self-defined label (from its
prefix, written out below), the harmonised outcome of each raw outcome label (written out below from
the old/new pairs listed in ``../shared/realdata/README.md``) and the clock conversions (``zoneinfo``).
Synthetic files and mutated copies of real files are written to ``tmp_path`` only.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dispro.errors import (
    DataQualityWarning,
    DisproError,
    DisproWarning,
    ParameterError,
    ValidationError,
)
from dispro.ledger import exclusions
from dispro.readers.police_uk import (
    COVERAGE_COLUMNS,
    coverage,
    person_searches,
    read_police_uk,
)

FOLDER = "police_uk_stop_search_city_of_london"
N_FILES = 36
N_ROWS = 6855  # ../shared/realdata/README.md, section 1
N_VEHICLE_ONLY = 17

HEADER = [
    "Type", "Date", "Part of a policing operation", "Policing operation", "Latitude", "Longitude",
    "Gender", "Age range", "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation",
    "Object of search", "Outcome", "Outcome linked to object of search",
    "Removal of more than just outer clothing",
]  # fmt: skip

# The harmonised outcome of every raw label, from the realdata README's old/new pairs.
OUTCOME_OF = {
    "Suspect arrested": "arrest",
    "Arrest": "arrest",
    "Nothing found - no further action": "no_further_action",
    "A no further action disposal": "no_further_action",
    "Offender given drugs possession warning": "cannabis_khat_warning",
    "Khat or Cannabis warning": "cannabis_khat_warning",
    "Suspect summonsed to court": "summons_charged",
    "Summons / charged by post": "summons_charged",
    "Offender given penalty notice": "penalty_notice",
    "Penalty Notice for Disorder": "penalty_notice",
    "Offender cautioned": "caution",
    "Caution (simple or conditional)": "caution",
    "Community resolution": "community_resolution",
    "Local resolution": "community_resolution",
    "": "not_recorded",  # blank: the force did not record the outcome
}

# officer-defined labels (README); a blank means none recorded
OFFICER_GROUPS = {"White", "Black", "Asian", "Other"}


def group_of(label: str) -> str:
    """5+1 group of a self-defined label, from its prefix (independent of the code list)."""
    if label in ("", "Other ethnic group - Not stated"):
        return "Not stated"
    for prefix, group in (
        ("White - ", "White"),
        ("Black/", "Black"),
        ("Asian/", "Asian"),
        ("Mixed/", "Mixed"),
        ("Other ethnic group - ", "Other"),
    ):
        if label.startswith(prefix):
            return group
    raise AssertionError(f"unexpected self-defined label in the real files: {label!r}")


def real_files(realdata: Path) -> list[Path]:
    files = sorted((realdata / FOLDER).glob("*/*-stop-and-search.csv"))
    assert len(files) == N_FILES
    return files


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def month_of(path: Path) -> str:
    return path.name[:7]


def ledger_adds_up(frame: pd.DataFrame) -> None:
    """Rows read = rows kept + rows of every entry whose action is "excluded"."""
    table = exclusions(frame)
    read = table.loc[table["action"] == "read", "rows"]
    assert len(read) == 1, table
    excluded = int(table.loc[table["action"] == "excluded", "rows"].sum())
    assert int(read.iloc[0]) == len(frame) + excluded, table


def read_quietly(paths, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read_police_uk(paths, **kwargs)


# ---------------------------------------------------------------------------------------------
# synthetic files
# ---------------------------------------------------------------------------------------------


def row(**changes: str) -> dict[str, str]:
    """A valid search; keyword arguments (spaces as underscores, lower case) change fields."""
    base = {
        "Type": "Person search",
        "Date": "2019-07-01T12:00:00+00:00",
        "Part of a policing operation": "",
        "Policing operation": "",
        "Latitude": "51.515",
        "Longitude": "-0.092",
        "Gender": "Male",
        "Age range": "18-24",
        "Self-defined ethnicity": "White - Irish",
        "Officer-defined ethnicity": "White",
        "Legislation": "Misuse of Drugs Act 1971 (section 23)",
        "Object of search": "Controlled drugs",
        "Outcome": "Arrest",
        "Outcome linked to object of search": "True",
        "Removal of more than just outer clothing": "False",
    }
    keys = {k.lower().replace(" ", "_").replace("-", "_"): k for k in base}
    for k, v in changes.items():
        base[keys[k]] = v
    return base


def write(
    folder: Path,
    month: str,
    rows: list[dict[str, str]],
    *,
    slug: str = "city-of-london",
    header: list[str] = HEADER,
    newline: str = "\n",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{month}-{slug}-stop-and-search.csv"
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.get(c, "") for c in header])
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return path


# ---------------------------------------------------------------------------------------------
# the real City of London files
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(realdata):
    """Independent reference from the csv module: every row of the 36 files, in file order."""
    files = real_files(realdata)
    per_file = {month_of(f): csv_rows(f) for f in files}
    rows = [r for f in files for r in per_file[month_of(f)]]
    return {"files": files, "per_file": per_file, "rows": rows}


@pytest.fixture(scope="module")
def city_read(realdata):
    """The 36 files read once (as a folder), with every warning the read gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_police_uk(realdata / FOLDER)
    return frame, [f"{w.category.__name__}: {w.message}" for w in caught]


@pytest.fixture(scope="module")
def city(city_read):
    return city_read[0]


def test_real_header_is_the_documented_one(reference):
    for f in reference["files"]:
        with f.open(newline="", encoding="utf-8") as fh:
            assert next(csv.reader(fh)) == HEADER, f


def test_reference_counts_match_the_readme(reference):
    assert len(reference["rows"]) == N_ROWS
    assert {m: len(r) for m, r in reference["per_file"].items()}["2020-07"] == 518
    vehicle = sum(r["Type"] == "Vehicle search" for r in reference["rows"])
    assert vehicle == N_VEHICLE_ONLY


def _check_city_frame(frame: pd.DataFrame, reference) -> None:
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == N_ROWS
    assert (frame["force"] == "City of London").all()
    assert frame["outcome"].notna().all()
    ledger_adds_up(frame)
    cov = coverage(frame)
    assert list(cov.columns) == list(COVERAGE_COLUMNS)
    expected_months = pd.period_range("2017-12", "2020-11", freq="M").strftime("%Y-%m").tolist()
    assert cov["month"].tolist() == expected_months
    assert len(cov) == N_FILES
    assert cov["present"].all()
    assert (cov["force"] == "City of London").all()
    expected_rows = [len(reference["per_file"][m]) for m in expected_months]
    assert cov["rows"].tolist() == expected_rows
    assert int(cov["rows"].sum()) == N_ROWS
    # the rows of each month really come from that month's file
    assert frame.groupby("month").size().reindex(expected_months).tolist() == expected_rows


def test_folder_input(city_read, reference):
    city, caught = city_read
    _check_city_frame(city, reference)
    assert caught == []  # the real files give no warning at all
    assert city.attrs["source"] == "data.police.uk"
    assert city.attrs["clock"] == "utc"
    assert city.attrs["fallback"] is False


def test_list_of_files_input(realdata, city, reference):
    files = real_files(realdata)
    listed = [str(f) if i % 2 else f for i, f in enumerate(files)]  # str and Path mixed
    frame = read_police_uk(listed)
    _check_city_frame(frame, reference)
    pd.testing.assert_frame_equal(frame, city)


def test_zip_input_with_archive_layout(realdata, city, reference, tmp_path):
    archive = tmp_path / "2020-11.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in real_files(realdata):
            zf.write(f, arcname=f"{month_of(f)}/{f.name}")
        zf.writestr("2020-11/2020-11-city-of-london-street.csv", "Crime ID,Month\n")  # ignored
    frame = read_police_uk(archive)
    _check_city_frame(frame, reference)
    pd.testing.assert_frame_equal(frame, city)
    assert all(s.startswith(f"{archive}!") for s in coverage(frame)["source"])
    assert exclusions(frame).equals(exclusions(city))


def test_rows_follow_the_files_in_order(city, reference):
    rows = reference["rows"]
    for column, field in (
        ("self_defined_ethnicity", "Self-defined ethnicity"),
        ("officer_defined_ethnicity", "Officer-defined ethnicity"),
        ("outcome_raw", "Outcome"),
        ("search_type", "Type"),
        ("legislation", "Legislation"),
    ):
        got = city[column].astype(object).where(city[column].notna(), "").tolist()
        assert got == [r[field] for r in rows], column
    expected_dates = [datetime.fromisoformat(r["Date"]).astimezone(UTC) for r in rows]
    assert [d.to_pydatetime() for d in city["date"]] == expected_dates
    for column, field in (("latitude", "Latitude"), ("longitude", "Longitude")):
        expected = [r[field] for r in rows]
        assert city[column].isna().tolist() == [v == "" for v in expected]
        known = [float(v) for v in expected if v]
        assert city[column].dropna().tolist() == pytest.approx(known, abs=1e-9)


def test_self_defined_labels_and_groups(city, reference):
    labels = [r["Self-defined ethnicity"] for r in reference["rows"]]
    raw_counts = Counter(labels)
    got_raw = Counter(city["self_defined_ethnicity"].astype(object).fillna("").tolist())
    assert got_raw == raw_counts
    # both forms of not recorded occur
    assert raw_counts["Other ethnic group - Not stated"] > 0
    assert raw_counts[""] > 0
    expected_groups = Counter(group_of(label) for label in labels)
    assert Counter(city["ethnicity"].tolist()) == expected_groups
    assert set(expected_groups) == {"White", "Black", "Asian", "Mixed", "Other", "Not stated"}
    # not stated is never Other, and the basis says which is which
    basis = Counter(city["ethnicity_basis"].tolist())
    assert basis == {
        "not_recorded": expected_groups["Not stated"],
        "self_defined": N_ROWS - expected_groups["Not stated"],
    }
    # the ledger counts the relabelling of Not stated / blank
    table = exclusions(city)
    entry = table[table["rule"].str.contains("Not stated", regex=False)]
    assert entry["rows"].tolist() == [expected_groups["Not stated"]]
    assert entry["action"].tolist() == ["relabelled"]
    # each label maps to one group, row by row
    for label, group in zip(labels, city["ethnicity"], strict=True):
        assert group == group_of(label)


def test_officer_defined_groups(city, reference):
    labels = [r["Officer-defined ethnicity"] for r in reference["rows"]]
    assert set(labels) <= OFFICER_GROUPS | {""}
    expected = Counter(label if label else "Not stated" for label in labels)
    assert Counter(city["officer_ethnicity"].tolist()) == expected


def test_outcome_labels_and_harmonised_outcomes(city, reference):
    labels = [r["Outcome"] for r in reference["rows"]]
    raw_counts = Counter(labels)
    unexpected = set(raw_counts) - set(OUTCOME_OF)
    assert not unexpected, f"labels missing from the test's harmonisation table: {unexpected}"
    # old and new wordings really occur side by side
    assert raw_counts["Suspect arrested"] > 0 and raw_counts["Arrest"] > 0
    assert raw_counts["Nothing found - no further action"] > 0
    assert raw_counts["A no further action disposal"] > 0
    assert Counter(city["outcome_raw"].astype(object).fillna("").tolist()) == raw_counts
    expected = Counter()
    for label, n in raw_counts.items():
        expected[OUTCOME_OF[label]] += n
    assert Counter(city["outcome"].tolist()) == expected
    assert city["outcome"].notna().all()
    # arrest and any further action follow the harmonised outcome; blank outcome: unknown
    blank = city["outcome_raw"].isna()
    assert blank.sum() == raw_counts[""]
    assert (
        city.loc[blank, "arrest"].isna().all()
        and city.loc[blank, "any_further_action"].isna().all()
    )
    known = city.loc[~blank]
    assert (known["arrest"].astype(bool) == (known["outcome"] == "arrest")).all()
    assert (
        known["any_further_action"].astype(bool) == (known["outcome"] != "no_further_action")
    ).all()
    table = exclusions(city)
    entry = table[table["rule"].str.startswith("blank outcome")]
    assert entry["rows"].tolist() == [raw_counts[""]]


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("outcome_linked", "Outcome linked to object of search"),
        ("removal_outer_clothing", "Removal of more than just outer clothing"),
        ("part_of_policing_operation", "Part of a policing operation"),
    ],
)
def test_booleans_blank_stays_missing(city, reference, column, field):
    values = Counter(r[field] for r in reference["rows"])
    assert set(values) <= {"True", "False", ""}
    assert str(city[column].dtype) == "boolean"
    assert int((city[column] == True).sum()) == values["True"]  # noqa: E712
    assert int((city[column] == False).sum()) == values["False"]  # noqa: E712
    assert int(city[column].isna().sum()) == values[""]
    if column == "outcome_linked":
        assert values[""] > 0  # the blank-is-not-False case really occurs


def test_vehicle_only_searches(city, reference):
    vehicle = [r["Type"] == "Vehicle search" for r in reference["rows"]]
    assert sum(vehicle) == N_VEHICLE_ONLY
    assert city["vehicle_only"].tolist() == vehicle
    assert exclusions(city).iloc[-1][["rows", "action"]].tolist() == [N_VEHICLE_ONLY, "noted"]
    people = person_searches(city)
    assert len(people) == N_ROWS - N_VEHICLE_ONLY
    assert not people["vehicle_only"].any()
    assert (people["search_type"] != "Vehicle search").all()
    last = exclusions(people).iloc[-1]
    assert (last["step"], last["rows"], last["action"]) == (
        "person_searches",
        N_VEHICLE_ONLY,
        "excluded",
    )
    ledger_adds_up(people)
    # the input's ledger is not changed
    assert len(exclusions(city)) == len(exclusions(people)) - 1
    ledger_adds_up(city)


def test_person_searches_needs_reader_output():
    with pytest.raises(DisproError, match="vehicle_only"):
        person_searches(pd.DataFrame({"x": [1]}))


def test_coverage_needs_reader_output():
    with pytest.raises(DisproError, match="coverage"):
        coverage(pd.DataFrame({"x": [1]}))


def test_fallback_on_real_files(realdata, city, reference):
    rows = reference["rows"]
    expected_fallback = sum(
        group_of(r["Self-defined ethnicity"]) == "Not stated"
        and r["Officer-defined ethnicity"] != ""
        for r in rows
    )
    assert expected_fallback > 0
    frame = read_police_uk(realdata / FOLDER, fallback=True)
    assert frame.attrs["fallback"] is True
    assert int((frame["ethnicity_basis"] == "officer_defined").sum()) == expected_fallback
    expected = Counter()
    for r in rows:
        group = group_of(r["Self-defined ethnicity"])
        if group == "Not stated" and r["Officer-defined ethnicity"]:
            group = r["Officer-defined ethnicity"]
        expected[group] += 1
    assert Counter(frame["ethnicity"].tolist()) == expected
    table = exclusions(frame)
    entry = table[table["rule"].str.startswith("fallback")]
    assert entry["rows"].tolist() == [expected_fallback]
    ledger_adds_up(frame)
    # default: self-defined only, no fallback entry
    assert "officer_defined" not in set(city["ethnicity_basis"])
    assert not exclusions(city)["rule"].str.startswith("fallback").any()


def test_fallback_synthetic(tmp_path):
    rows = [
        row(
            self_defined_ethnicity="Other ethnic group - Not stated",
            officer_defined_ethnicity="Black",
        ),
        row(self_defined_ethnicity="", officer_defined_ethnicity="Asian"),
        row(self_defined_ethnicity="Other ethnic group - Not stated", officer_defined_ethnicity=""),
        row(self_defined_ethnicity="White - Irish", officer_defined_ethnicity="Black"),
        row(
            self_defined_ethnicity="Other ethnic group - Any other ethnic group",
            officer_defined_ethnicity="White",
        ),
    ]
    path = write(tmp_path, "2019-07", rows)
    default = read_police_uk(path)
    assert default["ethnicity"].tolist() == [
        "Not stated",
        "Not stated",
        "Not stated",
        "White",
        "Other",
    ]
    assert default["ethnicity_basis"].tolist() == ["not_recorded"] * 3 + ["self_defined"] * 2
    with_fallback = read_police_uk(path, fallback=True)
    assert with_fallback["ethnicity"].tolist() == ["Black", "Asian", "Not stated", "White", "Other"]
    assert with_fallback["ethnicity_basis"].tolist() == [
        "officer_defined", "officer_defined", "not_recorded", "self_defined", "self_defined",
    ]  # fmt: skip
    table = exclusions(with_fallback)
    assert table.loc[table["rule"].str.startswith("fallback"), "rows"].tolist() == [2]


# ---------------------------------------------------------------------------------------------
# the clock assumption
# ---------------------------------------------------------------------------------------------


def test_clock_summer_and_winter(tmp_path):
    july = write(tmp_path / "a", "2019-07", [row(date="2019-07-01T12:00:00+00:00")])
    january = write(tmp_path / "a", "2019-01", [row(date="2019-01-15T12:00:00+00:00")])
    utc = read_police_uk([july, january], clock="utc")
    local = read_police_uk([july, january], clock="uk_local")
    assert utc.attrs["clock"] == "utc" and local.attrs["clock"] == "uk_local"
    by_month_utc = dict(zip(utc["month"], utc["date"], strict=True))
    by_month_local = dict(zip(local["month"], local["date"], strict=True))
    assert by_month_utc["2019-07"] == pd.Timestamp("2019-07-01 12:00", tz="UTC")
    assert by_month_local["2019-07"] == pd.Timestamp("2019-07-01 11:00", tz="UTC")
    assert (
        by_month_utc["2019-01"]
        == by_month_local["2019-01"]
        == pd.Timestamp("2019-01-15 12:00", tz="UTC")
    )
    assert str(utc["date"].dt.tz) == str(local["date"].dt.tz) == "UTC"


def test_clock_repeated_hour_is_the_summer_occurrence(tmp_path):
    path = write(tmp_path, "2019-10", [row(date="2019-10-27T01:30:00+00:00")])
    local = read_police_uk(path, clock="uk_local")
    assert local["date"].iloc[0] == pd.Timestamp("2019-10-27 00:30", tz="UTC")  # 01:30 BST


def test_clock_skipped_hour_keeps_times_distinct(tmp_path):
    # 01:00-02:00 on 2019-03-31 does not exist in UK local time (the real 2019-03 file has two
    # such stamps); such a time is moved on by an hour, as zoneinfo's fold=0 does
    stamps = ["2019-03-31T01:12:03+00:00", "2019-03-31T01:43:20+00:00"]
    path = write(tmp_path, "2019-03", [row(date=d) for d in stamps])
    local = read_police_uk(path, clock="uk_local")
    assert local["date"].tolist() == [
        pd.Timestamp("2019-03-31 01:12:03", tz="UTC"),
        pd.Timestamp("2019-03-31 01:43:20", tz="UTC"),
    ]


def test_clock_on_real_files_against_zoneinfo(realdata, city, reference):
    with pytest.warns(
        DataQualityWarning, match="2018-09-city-of-london-stop-and-search.csv lines 2$"
    ):
        # 2018-08-31T23:13:35 in the September file is in September only if the stamp is UTC
        local = read_police_uk(realdata / FOLDER, clock="uk_local")
    london = ZoneInfo("Europe/London")
    expected = [
        # fold=0: the first (summer) occurrence of a repeated time; a skipped time moves on an hour
        datetime.fromisoformat(r["Date"])
        .replace(tzinfo=None)
        .replace(tzinfo=london)
        .astimezone(UTC)
        for r in reference["rows"]
    ]
    assert [d.to_pydatetime() for d in local["date"]] == expected
    shift = (city["date"] - local["date"]).value_counts()
    assert set(shift.index) == {pd.Timedelta(0), pd.Timedelta(hours=1)}
    summer = [
        datetime.fromisoformat(r["Date"]).replace(tzinfo=None).replace(tzinfo=london).dst()
        != timedelta(0)
        for r in reference["rows"]
    ]
    assert shift[pd.Timedelta(hours=1)] == sum(summer)
    assert local.attrs["clock"] == "uk_local"


def test_unknown_clock_is_refused(tmp_path):
    path = write(tmp_path, "2019-07", [row()])
    with pytest.raises(DisproError, match=r"`clock` must be one of \('utc', 'uk_local'\)"):
        read_police_uk(path, clock="bst")


# ---------------------------------------------------------------------------------------------
# coverage: a missing month is missing, never zero
# ---------------------------------------------------------------------------------------------


def test_missing_month_between_present_months(realdata, reference):
    files = [f for f in real_files(realdata) if month_of(f) in ("2019-01", "2019-03")]
    frame = read_police_uk(files)
    cov = coverage(frame)
    assert cov["month"].tolist() == ["2019-01", "2019-02", "2019-03"]
    assert cov["present"].tolist() == [True, False, True]
    assert str(cov["rows"].dtype) == "Int64"
    assert cov["rows"].iloc[1] is pd.NA
    assert cov["rows"].iloc[[0, 2]].tolist() == [
        len(reference["per_file"]["2019-01"]),
        len(reference["per_file"]["2019-03"]),
    ]
    assert pd.isna(cov["source"].iloc[1])
    assert len(frame) == cov["rows"].sum()


def test_several_forces_each_with_its_coverage(tmp_path):
    write(tmp_path, "2019-07", [row()] * 2)
    write(tmp_path, "2019-09", [row(date="2019-09-02T10:00:00+00:00")])
    write(tmp_path, "2019-08", [row(date="2019-08-02T10:00:00+00:00")] * 3, slug="metropolitan")
    frame = read_police_uk(tmp_path)
    assert Counter(frame["force"]) == {"City of London": 3, "Metropolitan Police": 3}
    cov = coverage(frame)
    assert cov[["force", "month", "present"]].values.tolist() == [
        ["City of London", "2019-07", True],
        ["City of London", "2019-08", False],
        ["City of London", "2019-09", True],
        ["Metropolitan Police", "2019-08", True],
    ]
    assert cov["rows"].tolist() == [2, pd.NA, 1, 3]


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------


def test_path_that_does_not_exist(tmp_path):
    missing = tmp_path / "nowhere" / "2019-07-city-of-london-stop-and-search.csv"
    with pytest.raises(DisproError, match="no such file or folder") as info:
        read_police_uk(missing)
    assert str(missing) in str(info.value)


def test_empty_folder(tmp_path):
    with pytest.raises(DisproError, match="holds no files named") as info:
        read_police_uk(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_empty_list():
    with pytest.raises(DisproError, match="no stop-and-search files"):
        read_police_uk([])


def test_empty_file(tmp_path):
    write(tmp_path, "2019-07", [row()])
    empty = tmp_path / "2019-08-city-of-london-stop-and-search.csv"
    empty.write_bytes(b"")
    for strict in (True, False):
        with pytest.raises(DisproError, match="the file is empty") as info:
            read_police_uk(tmp_path, strict=strict)
        assert str(empty) in str(info.value)
        assert "re-download" in str(info.value)


def test_header_only_file(tmp_path):
    write(tmp_path, "2019-07", [row(), row()])
    header_only = write(tmp_path, "2019-08", [])
    with pytest.warns(DataQualityWarning, match="hold a header and no searches") as caught:
        frame = read_police_uk(tmp_path)
    assert any(str(header_only) in str(w.message) for w in caught)
    assert len(frame) == 2
    cov = coverage(frame)
    assert cov["month"].tolist() == ["2019-07", "2019-08"]
    assert cov["present"].tolist() == [True, True]
    assert cov["rows"].tolist() == [2, 0]  # zero searches, not missing
    ledger_adds_up(frame)
    # a header-only file alone: an empty frame with the full schema
    with pytest.warns(DataQualityWarning):
        alone = read_police_uk(header_only)
    assert len(alone) == 0
    assert list(alone.columns) == list(frame.columns)
    assert coverage(alone)["rows"].tolist() == [0]
    ledger_adds_up(alone)


def test_misspelt_column_with_did_you_mean(tmp_path):
    header = [("Self defined ethnicity" if c == "Self-defined ethnicity" else c) for c in HEADER]
    rows = [
        {
            ("Self defined ethnicity" if k == "Self-defined ethnicity" else k): v
            for k, v in row().items()
        }
    ]
    path = write(tmp_path, "2019-07", rows, header=header)
    for strict in (True, False):
        with pytest.raises(ValidationError) as info:
            read_police_uk(path, strict=strict)
        message = str(info.value)
        assert str(path) in message
        assert (
            "'Self-defined ethnicity' is missing; did you mean 'Self defined ethnicity'?" in message
        )


def test_missing_column(tmp_path):
    header = [c for c in HEADER if c != "Legislation"]
    path = write(tmp_path, "2019-07", [row()], header=header)
    with pytest.raises(ValidationError, match="required column 'Legislation' is missing") as info:
        read_police_uk(path)
    assert str(path) in str(info.value)


def test_optional_columns_may_be_absent(tmp_path):
    header = [c for c in HEADER if c not in ("Part of a policing operation", "Policing operation")]
    frame = read_police_uk(write(tmp_path, "2019-07", [row()], header=header))
    assert frame["part_of_policing_operation"].isna().all()
    assert not coverage(frame)["part_of_policing_operation_supplied"].iloc[0]


def test_extra_column_strict_and_permissive(tmp_path):
    header = [*HEADER, "Notes"]
    path = write(tmp_path, "2019-07", [{**row(), "Notes": "x"}], header=header)
    with pytest.raises(ValidationError, match="column 'Notes' is not in the mapping"):
        read_police_uk(path)
    with pytest.warns(DataQualityWarning, match=r"\['Notes'\] are not in the mapping"):
        assert len(read_police_uk(path, strict=False)) == 1


def test_wrong_file_altogether(tmp_path):
    path = tmp_path / "2019-07-city-of-london-stop-and-search.csv"
    path.write_text(
        "Crime ID,Month,Reported by\nabc,2019-07,City of London Police\n", encoding="utf-8"
    )
    with pytest.raises(ValidationError, match="does not match 'police_uk'") as info:
        read_police_uk(path)
    assert "required column 'Type' is missing" in str(info.value)


def test_duplicated_header_names(tmp_path):
    header = [*HEADER, "Type"]
    path = write(tmp_path, "2019-07", [{**row()}], header=header)
    for strict in (True, False):
        with pytest.raises(DisproError, match="Type") as info:
            read_police_uk(path, strict=strict)
        assert str(path) in str(info.value)


UNKNOWN_SELF = "White - Other White"  # not a data.police.uk label


def test_unknown_ethnicity_label_strict(tmp_path):
    rows = [
        row(),
        row(self_defined_ethnicity=UNKNOWN_SELF),
        row(),
        row(self_defined_ethnicity=UNKNOWN_SELF),
    ]
    path = write(tmp_path, "2019-07", rows)
    with pytest.raises(ValidationError) as info:
        read_police_uk(path)
    message = str(info.value)
    assert "column 'self_defined_ethnicity'" in message
    assert f"{UNKNOWN_SELF!r} ×2" in message
    assert f"{path} lines 3, 5" in message  # header is line 1
    assert "did you mean 'White - Any other White background'?" in message
    assert "strict=False" in message


def test_unknown_ethnicity_label_permissive(tmp_path):
    rows = [
        row(),
        row(self_defined_ethnicity=UNKNOWN_SELF),
        row(self_defined_ethnicity="Other ethnic group - Not stated"),
        row(self_defined_ethnicity=UNKNOWN_SELF),
        row(self_defined_ethnicity=""),
    ]
    path = write(tmp_path, "2019-07", rows)
    with pytest.warns(DataQualityWarning, match=re.escape(f"{UNKNOWN_SELF!r} ×2")):
        frame = read_police_uk(path, strict=False)
    assert len(frame) == 5
    assert frame["ethnicity"].tolist() == ["White"] + ["Not stated"] * 4
    assert frame["ethnicity_basis"].tolist() == ["self_defined"] + ["not_recorded"] * 4
    assert frame["self_defined_ethnicity"].iloc[1] == UNKNOWN_SELF  # the raw label is kept
    table = exclusions(frame)
    unknown = table[table["rule"].str.startswith("unknown self-defined")]
    assert unknown[["rows", "action"]].values.tolist() == [[2, "relabelled"]]
    not_stated = table[
        table["rule"].str.startswith("self-defined ethnicity 'Other ethnic group - Not stated'")
    ]
    assert not_stated["rows"].tolist() == [2]  # the genuine Not stated and blank, not the unknowns
    ledger_adds_up(frame)


def test_unknown_officer_label(tmp_path):
    path = write(tmp_path, "2019-07", [row(officer_defined_ethnicity="Purple")])
    with pytest.raises(ValidationError, match=r"'Purple' ×1"):
        read_police_uk(path)
    with pytest.warns(DataQualityWarning, match="officer-defined"):
        frame = read_police_uk(path, strict=False)
    assert frame["officer_ethnicity"].tolist() == ["Not stated"]


def test_unknown_outcome_label(tmp_path):
    rows = [
        row(outcome="Nothing happened"),
        row(),
        row(outcome="Nothing happened"),
        row(outcome="Nothing happened"),
    ]
    path = write(tmp_path, "2019-07", rows)
    with pytest.raises(ValidationError) as info:
        read_police_uk(path)
    message = str(info.value)
    assert "column 'outcome_raw'" in message and "'Nothing happened' ×3" in message
    assert f"{path} lines 2, 4, 5" in message
    assert "stop_search_outcome_map.csv" in message
    with pytest.warns(DataQualityWarning, match="'Nothing happened' ×3"):
        frame = read_police_uk(path, strict=False)
    assert frame["outcome"].tolist() == ["not_recorded", "arrest", "not_recorded", "not_recorded"]
    assert frame["outcome_raw"].iloc[0] == "Nothing happened"
    assert frame["arrest"].isna().tolist() == [True, False, True, True]
    table = exclusions(frame)
    entry = table[table["rule"].str.startswith("unknown outcome")]
    assert entry[["rows", "action"]].values.tolist() == [[3, "relabelled"]]
    ledger_adds_up(frame)


def test_near_miss_outcome_gets_did_you_mean(tmp_path):
    path = write(tmp_path, "2019-07", [row(outcome="Arest")])
    with pytest.raises(ValidationError, match="did you mean 'Arrest'"):
        read_police_uk(path)


def test_every_problem_is_listed_at_once(tmp_path):
    rows = [
        row(outcome="Nothing happened"),
        row(self_defined_ethnicity=UNKNOWN_SELF),
        row(date="yesterday"),
    ]
    path = write(tmp_path, "2019-07", rows)
    with pytest.raises(ValidationError, match=r"^3 problem\(s\)") as info:
        read_police_uk(path)
    message = str(info.value)
    assert (
        "'outcome_raw'" in message and "'self_defined_ethnicity'" in message and "'date'" in message
    )


@pytest.mark.parametrize(
    "bad",
    # pandas alone would read 'now' and 'today' as the current time, '2019' as 1 January 2019
    [
        "02/07/2019 06:14",
        "2019-13-45T00:00:00+00:00",
        "yesterday",
        "now",
        "today",
        "2019",
        "2019-07",
        "",
    ],  # fmt: skip
)
def test_malformed_date(tmp_path, bad):
    rows = [row(), row(date=bad), row(), row(), row(date=bad)]
    path = write(tmp_path, "2019-07", rows)
    with pytest.raises(ValidationError) as info:
        read_police_uk(path)
    message = str(info.value)
    assert "column 'date'" in message and f"{path} lines 3, 6" in message
    assert "ISO 8601" in message
    assert repr(bad) in message if bad else "<blank>" in message
    with pytest.warns(DataQualityWarning, match="malformed date"):
        frame = read_police_uk(path, strict=False)
    assert len(frame) == 3
    table = exclusions(frame)
    dropped = table[table["action"] == "excluded"]
    assert dropped["rows"].tolist() == [2]
    ledger_adds_up(frame)
    assert coverage(frame)["rows"].tolist() == [3]


def test_malformed_date_on_real_file_permissive(realdata, reference, tmp_path):
    source = realdata / FOLDER / "2019-07" / "2019-07-city-of-london-stop-and-search.csv"
    lines = source.read_bytes().split(b"\n")
    for i in (1, 10, 100):  # 2019-07-02T03:55:21+00:00 -> 02/07/2019 03:55:21 (day first)
        cells = lines[i].split(b",")
        stamp = datetime.fromisoformat(cells[1].decode())
        cells[1] = stamp.strftime("%d/%m/%Y %H:%M:%S").encode()
        lines[i] = b",".join(cells)
    path = tmp_path / source.name
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ValidationError, match=re.escape(f"{path} lines 2, 11, 101")):
        read_police_uk(path)
    frame = read_quietly(path, strict=False)
    assert len(frame) == len(reference["per_file"]["2019-07"]) - 3
    ledger_adds_up(frame)


def test_not_utf8(tmp_path):
    path = write(tmp_path, "2019-07", [row(), row(), row(policing_operation="Op Café")])
    data = path.read_bytes().replace("é".encode(), "é".encode("cp1252"))
    path.write_bytes(data)
    offset = data.index(b"\xe9")
    with pytest.raises(DisproError) as info:
        read_police_uk(path)
    message = str(info.value)
    assert str(path) in message
    assert f"at byte {offset} (line 4)" in message
    assert "UTF-8" in message


def test_bom_is_read(tmp_path, realdata):
    source = realdata / FOLDER / "2019-07" / "2019-07-city-of-london-stop-and-search.csv"
    path = tmp_path / "bom" / source.name
    path.parent.mkdir()
    path.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
    pd.testing.assert_frame_equal(read_police_uk(path), read_police_uk(source))


def test_crlf_gives_the_identical_frame(tmp_path, realdata):
    for source in real_files(realdata)[:3] + real_files(realdata)[-3:]:
        path = tmp_path / "crlf" / source.name
        path.parent.mkdir(exist_ok=True)
        data = source.read_bytes()
        assert b"\r" not in data
        path.write_bytes(data.replace(b"\n", b"\r\n"))
        lf, crlf = read_police_uk(source), read_police_uk(path)
        pd.testing.assert_frame_equal(crlf, lf)
        assert exclusions(crlf).equals(exclusions(lf))
        assert coverage(crlf)["rows"].tolist() == coverage(lf)["rows"].tolist()


def test_same_force_month_twice(tmp_path):
    first = write(tmp_path / "a", "2019-07", [row()])
    second = write(tmp_path / "b", "2019-07", [row()])
    with pytest.raises(DisproError, match="the same force and month was given twice") as info:
        read_police_uk([first, second])
    assert str(first) in str(info.value) and str(second) in str(info.value)
    # a folder and a zip holding the same file
    archive = tmp_path / "2019-07.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(first, arcname=f"2019-07/{first.name}")
    with pytest.raises(DisproError, match="given twice") as info:
        read_police_uk([tmp_path / "a", archive])
    assert str(first) in str(info.value) and f"{archive}!2019-07/{first.name}" in str(info.value)


def test_zip_without_stop_and_search_files(tmp_path):
    archive = tmp_path / "2019-07.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("2019-07/2019-07-city-of-london-street.csv", "Crime ID,Month\n")
        zf.writestr("2019-07/2019-07-city-of-london-outcomes.csv", "Crime ID,Month\n")
    with pytest.raises(DisproError, match="holds no stop-and-search files") as info:
        read_police_uk(archive)
    message = str(info.value)
    assert str(archive) in message and "2019-07-city-of-london-street.csv" in message
    assert "stop-and-search data ticked" in message


def test_not_a_zip(tmp_path):
    archive = tmp_path / "2019-07.zip"
    archive.write_bytes(b"this is not a zip archive")
    with pytest.raises(DisproError, match="not a readable zip archive") as info:
        read_police_uk(archive)
    assert str(archive) in str(info.value)


def test_damaged_zip_member(realdata, tmp_path):
    source = realdata / FOLDER / "2019-07" / "2019-07-city-of-london-stop-and-search.csv"
    archive = tmp_path / "2019-07.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(source, arcname=f"2019-07/{source.name}")
    good = archive.read_bytes()
    member = f"{archive}!2019-07/{source.name}"
    for position in (100, 2000):  # inside the compressed data: a bad stream, then a bad CRC
        damaged = bytearray(good)
        damaged[position] ^= 0xFF
        archive.write_bytes(bytes(damaged))
        with pytest.raises(DisproError, match="the zip member cannot be read") as info:
            read_police_uk(archive)
        assert member in str(info.value) and "download it again" in str(info.value)
    archive.write_bytes(good[: len(good) // 2])
    with pytest.raises(DisproError, match="not a readable zip archive"):
        read_police_uk(archive)


def test_folder_entries_that_are_not_files(tmp_path):
    (tmp_path / "2019-07-city-of-london-stop-and-search.csv").mkdir()
    with pytest.raises(DisproError, match="holds no files named"):
        read_police_uk(tmp_path)
    write(tmp_path / "sub", "2019-08", [row(date="2019-08-01T10:00:00+00:00")])
    assert len(read_police_uk(tmp_path)) == 1


@pytest.mark.parametrize("paths", [None, 5, b"/tmp", [None], [3.5]])
def test_paths_of_the_wrong_type(paths):
    with pytest.raises(ParameterError, match="`paths` must"):
        read_police_uk(paths)


def test_force_not_in_the_force_list(tmp_path):
    path = write(tmp_path, "2020-01", [row(date="2020-01-05T10:00:00+00:00")], slug="atlantis")
    with pytest.raises(DisproError, match="not in the force list") as info:
        read_police_uk(path)
    message = str(info.value)
    assert str(path) in message and "'atlantis'" in message
    assert "police_force_area.csv" in message


@pytest.mark.parametrize(
    "name",
    ["stops.csv", "2019-07-city-of-london-street.csv", "July-city-of-london-stop-and-search.csv"],
)
def test_file_name_not_the_police_uk_pattern(tmp_path, name):
    path = tmp_path / name
    write(tmp_path, "2019-07", [row()]).rename(path)
    with pytest.raises(
        DisproError, match="is not a data.police.uk stop-and-search file name"
    ) as info:
        read_police_uk(path)
    assert repr(name) in str(info.value)
    assert "YYYY-MM-<force>-stop-and-search.csv" in str(info.value)


@pytest.mark.parametrize("month", ["2019-13", "2019-00", "0000-07"])
def test_file_name_with_an_impossible_month(tmp_path, month):
    path = write(tmp_path, month, [row()])
    with pytest.raises(DisproError, match=f"has '{month}' where a month YYYY-MM") as info:
        read_police_uk(path)
    assert str(path) in str(info.value)


def test_bad_name_inside_a_folder(tmp_path):
    write(tmp_path, "2019-07", [row()])
    (tmp_path / "july-stop-and-search.csv").write_text(",".join(HEADER) + "\n", encoding="utf-8")
    with pytest.raises(DisproError, match="'july-stop-and-search.csv' is not a data.police.uk"):
        read_police_uk(tmp_path)


def test_extra_field_on_a_row(tmp_path):
    # a data row with one field more than the header (e.g. an unquoted comma in a cell) must not
    # shift every column of the file
    for line in (2, 4):
        folder = tmp_path / f"extra{line}"
        path = write(folder, "2019-07", [row(), row(), row()])
        lines = path.read_bytes().split(b"\n")
        lines[line - 1] += b",surplus"
        path.write_bytes(b"\n".join(lines))
        for strict in (True, False):
            with pytest.raises(DisproError, match=f"line {line}") as info:
                read_police_uk(path, strict=strict)
            assert str(path) in str(info.value)


def test_line_numbers_count_blank_lines_and_quoted_newlines(tmp_path):
    path = write(
        tmp_path,
        "2019-07",
        [row(), row(policing_operation="Op\nTwo lines"), row(), row(date="bad")],
    )
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    lines.insert(2, "")  # a blank line after the first search
    path.write_text("\n".join(lines), encoding="utf-8")
    # the bad date is now on physical line 7: header 1, row 2, blank 3, rows 4-5 (two lines), 6, 7
    assert path.read_text(encoding="utf-8").split("\n")[6].startswith("Person search,bad")
    with pytest.raises(ValidationError, match=re.escape(f"{path} lines 7.")):
        read_police_uk(path)


def test_rows_dated_outside_their_month_are_kept_and_noted(tmp_path):
    path = write(tmp_path, "2019-07", [row(), row(date="2019-08-03T10:00:00+00:00")])
    with pytest.warns(DataQualityWarning, match="dated outside their file's month"):
        frame = read_police_uk(path)
    assert len(frame) == 2 and frame["month"].tolist() == ["2019-07", "2019-07"]
    table = exclusions(frame)
    assert table.loc[table["rule"].str.contains("outside"), "rows"].tolist() == [1]
    ledger_adds_up(frame)


def test_non_boolean_and_non_numeric_values(tmp_path):
    rows = [row(outcome_linked_to_object_of_search="Yes"), row(latitude="north")]
    path = write(tmp_path, "2019-07", rows)
    with pytest.raises(ValidationError) as info:
        read_police_uk(path)
    assert "'Yes' ×1" in str(info.value) and "'north' ×1" in str(info.value)
    with pytest.warns(DataQualityWarning):
        frame = read_police_uk(path, strict=False)
    assert frame["outcome_linked"].isna().tolist() == [True, False]
    assert frame["latitude"].isna().tolist() == [False, True]
    ledger_adds_up(frame)


# ---------------------------------------------------------------------------------------------
# fuzz: mutated real files give a frame or a DisproError, never another exception
# ---------------------------------------------------------------------------------------------

FUZZ_MONTHS = ("2017-12", "2018-02", "2018-06", "2019-07")  # old and new vocabularies, small files


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _mutate(data: bytes, draw) -> bytes:
    op = draw(
        st.sampled_from(
            [
                "truncate", "delete_line", "duplicate_line", "swap_lines", "replace_bytes",
                "change_cell", "inject", "blank_column", "remove_header", "duplicate_header",
                "crlf", "bom", "change_header_cell", "append_garbage",
            ]
        )
    )  # fmt: skip
    lines = _lines(data)
    n = len(lines)
    if op == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if op == "delete_line" and n:
        del lines[draw(st.integers(0, n - 1))]
    elif op == "duplicate_line" and n:
        i = draw(st.integers(0, n - 1))
        lines.insert(draw(st.integers(0, n)), lines[i])
    elif op == "swap_lines" and n > 1:
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "replace_bytes" and data:
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            buf[draw(st.integers(0, len(buf) - 1))] = draw(st.integers(0, 255))
        return bytes(buf)
    elif op == "change_cell" and n:
        i = draw(st.integers(0, n - 1))
        cells = lines[i].split(b",")
        j = draw(st.integers(0, len(cells) - 1))
        cells[j] = draw(st.text(max_size=30)).encode("utf-8", "surrogatepass")
        lines[i] = b",".join(cells)
    elif op == "inject":
        pos = draw(st.integers(0, len(data)))
        what = draw(st.sampled_from([b'"', b",", b'""', b'","', b"\n", b"\r", b"\x00", b",,,"]))
        return data[:pos] + what + data[pos:]
    elif op == "blank_column":
        j = draw(st.integers(0, len(HEADER) - 1))
        out = [lines[0]] if lines else []
        for line in lines[1:]:
            cells = line.split(b",")
            if j < len(cells):
                cells[j] = b""
            out.append(b",".join(cells))
        lines = out
    elif op == "remove_header" and n:
        lines = lines[1:]
    elif op == "duplicate_header" and n:
        lines.insert(draw(st.integers(1, n)), lines[0])
    elif op == "crlf":
        return data.replace(b"\n", b"\r\n")
    elif op == "bom":
        return b"\xef\xbb\xbf" + data
    elif op == "change_header_cell" and n:
        cells = lines[0].split(b",")
        j = draw(st.integers(0, len(cells) - 1))
        cells[j] = draw(
            st.sampled_from([b"", b"Type", b"Date", b"date", b"Self defined ethnicity", b"x"])
        )
        lines[0] = b",".join(cells)
    elif op == "append_garbage":
        return data + draw(st.binary(max_size=40))
    return b"\n".join(lines)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(
    year=st.integers(0, 9999),
    month=st.integers(0, 99),
    slug=st.one_of(
        st.sampled_from(["city-of-london", "metropolitan", "hampshire", "dorset", "wiltshire"]),
        st.from_regex(r"[a-z0-9-]{0,20}", fullmatch=True),
    ),
)
def test_fuzz_file_names(tmp_path_factory, year, month, slug):
    folder = tmp_path_factory.mktemp("names")
    path = write(folder, f"{year:04d}-{month:02d}", [row()], slug=slug)
    try:
        frame = read_quietly(path)
    except DisproError:
        return
    assert len(frame) == 1 and frame["month"].iloc[0] == f"{year:04d}-{month:02d}"


@pytest.fixture(scope="module")
def fuzz_sources(realdata):
    return {
        m: (realdata / FOLDER / m / f"{m}-city-of-london-stop-and-search.csv").read_bytes()
        for m in FUZZ_MONTHS
    }


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_fuzz_mutated_real_files(fuzz_sources, tmp_path_factory, data):
    month = data.draw(st.sampled_from(FUZZ_MONTHS), label="month")
    content = fuzz_sources[month]
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        content = _mutate(content, data.draw)
    folder = tmp_path_factory.mktemp("fuzz")
    name = f"{month}-city-of-london-stop-and-search.csv"
    container = data.draw(st.sampled_from(["file", "folder", "zip"]), label="container")
    if container == "zip":
        path = folder / f"{month}.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(f"{month}/{name}", content)
    else:
        (folder / name).write_bytes(content)
        path = folder if container == "folder" else folder / name
    clock = data.draw(st.sampled_from(["utc", "uk_local"]), label="clock")
    for strict in (True, False):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                frame = read_police_uk(path, strict=strict, clock=clock)
            except DisproError as exc:
                event(f"strict={strict}: {type(exc).__name__}")
                continue
        event(f"strict={strict}: frame")
        assert isinstance(frame, pd.DataFrame)
        others = [w for w in caught if not issubclass(w.category, DisproWarning)]
        assert not others, [f"{w.category.__name__}: {w.message}" for w in others]
        # what is returned still keeps its promises
        ledger_adds_up(frame)
        assert frame["outcome"].notna().all()
        assert int(coverage(frame)["rows"].sum()) == len(frame)
        assert frame["date"].notna().all()
