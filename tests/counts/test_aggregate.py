"""Tests of dispro.counts.aggregate: records in files to counts, in pandas and DuckDB.

The reference counts are computed in each test with a plain pandas groupby on the in-memory
records, independently of the module's code.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from recordfiles import (
    ENGINES,
    FORCES,
    GROUPS,
    PERSON,
    make_records,
    near_misses,
    quarter_of,
    write,
)

from dispro.counts import COUNT_COLUMNS, DEFAULT_THRESHOLD_BYTES, THRESHOLD_ENV, aggregate
from dispro.errors import DataQualityWarning, DisproError, ParameterError, ValidationError
from dispro.ledger import exclusions


@pytest.fixture
def records(rng) -> pd.DataFrame:
    return make_records(rng)


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["exclusions"] == b.attrs["exclusions"]
    assert a.attrs["rows_in"] == b.attrs["rows_in"]


# ------------------------------------------------------------------ both engines, both formats


def test_engines_and_formats_give_identical_counts(records, tmp_path):
    sources = {fmt: write(records, tmp_path / fmt, fmt) for fmt in ("csv", "parquet")}
    results = {}
    for fmt, source in sources.items():
        for engine in ENGINES:
            out = aggregate(
                source,
                dataset="stop_search",
                by=["force", "quarter", "ethnicity"],
                events={"outcome": "arrest"},
                at_risk={"search_type": PERSON},
                engine=engine,
                dropna=True,
            )
            assert out.attrs["engine"] == engine
            assert len(out.attrs["files"]) == 3
            results[fmt, engine] = out
    first = results["csv", "pandas"]
    assert list(first.columns) == ["force", "quarter", "ethnicity", *COUNT_COLUMNS]
    assert first["base"].sum() > 0
    for out in results.values():
        same(first, out)


def test_counts_equal_an_independent_pandas_groupby(records, tmp_path):
    source = write(records, tmp_path, "parquet")
    by = ["force", "quarter", "ethnicity", "legislation"]
    expected_frame = records.assign(quarter=quarter_of(records["date"]))
    at_risk = expected_frame[expected_frame["search_type"].isin(PERSON)]
    at_risk = at_risk.dropna(subset=["legislation", "outcome"])
    expected = (
        at_risk.assign(events=at_risk["outcome"].eq("arrest").astype("int64"), base=1)
        .groupby(by)[["events", "base"]]
        .sum()
        .reset_index()
        .sort_values(by)
        .reset_index(drop=True)
    )
    for engine in ENGINES:
        out = aggregate(
            source,
            dataset="stop_search",
            by=by,
            events={"outcome": ["arrest"]},
            at_risk={"search_type": PERSON},
            engine=engine,
            dropna=True,
        )
        pd.testing.assert_frame_equal(out, expected, check_dtype=False)
        assert (out.dtypes[["events", "base"]] == "int64").all()


def test_boolean_column_as_events_and_no_by(records, tmp_path):
    for fmt in ("csv", "parquet"):
        source = write(records, tmp_path / fmt, fmt)
        for engine in ENGINES:
            out = aggregate(source, dataset="stop_search", events="arrest", engine=engine)
            assert list(out.columns) == list(COUNT_COLUMNS)
            assert out.iloc[0].tolist() == [int(records["arrest"].sum()), len(records)]
            assert exclusions(out)["rule"].str.contains("event status").tolist() == [True]


def test_events_none_counts_every_record_at_risk(records, tmp_path):
    source = write(records, tmp_path, "csv", parts=1)
    for engine in ENGINES:
        out = aggregate(source, dataset="stop_search", by="sex", engine=engine)
        expected = records.groupby("sex").size()
        assert out.set_index("sex")["base"].to_dict() == expected.to_dict()
        assert (out["events"] == out["base"]).all()


def test_mixed_formats_in_one_source(records, tmp_path):
    half = len(records) // 2
    write(records.iloc[:half], tmp_path, "csv", parts=1, stem="a")
    write(records.iloc[half:], tmp_path, "parquet", parts=1, stem="b")
    source = [str(tmp_path / "a0.csv"), str(tmp_path / "b0.parquet")]
    outs = [
        aggregate(source, dataset="stop_search", by=["year", "force"], engine=e) for e in ENGINES
    ]
    same(*outs)
    expected = records.groupby(records["date"].str[:4])["force"].size()
    assert outs[0].groupby("year")["base"].sum().to_dict() == expected.to_dict()


def test_gzipped_csv_and_a_list_with_a_glob(records, tmp_path):
    records.iloc[:100].to_csv(tmp_path / "a.csv.gz", index=False)
    write(records.iloc[100:300], tmp_path, "parquet", parts=2, stem="b")
    source = [tmp_path / "a.csv.gz", str(tmp_path / "b*.parquet")]
    outs = [aggregate(source, dataset="stop_search", by="force", engine=e) for e in ENGINES]
    same(*outs)
    assert len(outs[0].attrs["files"]) == 3
    assert outs[0]["base"].sum() == 300


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_engines_agree_on_random_data_with_problems(seed, tmp_path):
    rng = np.random.default_rng(seed)
    records = make_records(rng, 600)
    records.loc[rng.random(600) < 0.05, "ethnicity"] = "  "
    records.loc[rng.random(600) < 0.05, "date"] = "not a date"
    records.loc[rng.random(600) < 0.03, "date"] = None
    source = write(records, tmp_path, "csv", parts=2)
    outs = [
        aggregate(
            source,
            dataset="stop_search",
            by=["financial_year", "ethnicity", "legislation"],
            events={"outcome": ["arrest", "caution"], "sex": "Male"},
            at_risk={"search_type": PERSON},
            engine=engine,
            dropna=True,
        )
        for engine in ENGINES
    ]
    same(*outs)


def test_engines_agree_on_padded_codes_and_spellings(records, tmp_path):
    odd = records.astype({"arrest": object}).iloc[:300].copy()
    odd.loc[odd.index[:5], "force"] = "Dorset "
    odd.loc[odd.index[5:8], "force"] = "dorset"
    odd.loc[odd.index[8:12], "arrest"] = " TRUE"
    odd.loc[odd.index[12:14], "arrest"] = "no"
    odd["arrest"] = odd["arrest"].astype(str)  # text in parquet too
    for fmt in ("csv", "parquet"):
        source = write(odd, tmp_path / fmt, fmt, parts=1)
        with pytest.warns(DataQualityWarning):
            outs = [
                aggregate(
                    source, dataset="stop_search", by="force", events="arrest", engine=e,
                    strict=False,
                )
                for e in ENGINES
            ]  # fmt: skip
        same(*outs)
        assert outs[0].set_index("force").loc["Dorset ", "base"] == 5
        assert outs[0]["events"].sum() == odd["arrest"].isin(["True", " TRUE"]).sum()


# ------------------------------------------------------------------ derived periods


BOUNDARY = pd.DataFrame(
    {
        "date": [
            "2024-03-31T23:59:59+00:00",
            "2024-04-01T00:00:00+00:00",
            "2023-12-31T23:59:59+00:00",
            "2024-01-01T00:00:00+00:00",
            "2024-04-01T00:30:00+01:00",  # 2024-03-31 23:30 UTC
            "2024-03-31",
            "2024-04-01",
            "2000-03-31T12:00:00Z",
            "1999-04-01 08:00",
        ],
        "force": "Dorset",
        "ethnicity": "White",
    }
)
EXPECTED = {
    "month": ["2024-03", "2024-04", "2023-12", "2024-01", "2024-03", "2024-03", "2024-04",
              "2000-03", "1999-04"],
    "quarter": ["2024Q1", "2024Q2", "2023Q4", "2024Q1", "2024Q1", "2024Q1", "2024Q2",
                "2000Q1", "1999Q2"],
    "financial_year": ["2023-24", "2024-25", "2023-24", "2023-24", "2023-24", "2023-24",
                       "2024-25", "1999-00", "1999-00"],
    "year": ["2024", "2024", "2023", "2024", "2024", "2024", "2024", "2000", "1999"],
}  # fmt: skip


@pytest.mark.parametrize("period", list(EXPECTED))
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("engine", ENGINES)
def test_periods_at_boundaries(period, fmt, engine, tmp_path):
    source = write(BOUNDARY, tmp_path, fmt, parts=1)
    out = aggregate(source, dataset="stop_search", by=period, engine=engine)
    expected = pd.Series(EXPECTED[period]).value_counts().sort_index()
    assert out.set_index(period)["base"].to_dict() == expected.to_dict()


@pytest.mark.parametrize(
    "combo",
    [
        ["financial_year", "year"],
        ["quarter", "financial_year"],
        ["month", "year"],
        ["year", "financial_year", "quarter"],
    ],
)
@pytest.mark.parametrize("engine", ENGINES)
def test_periods_together(combo, engine, tmp_path):
    source = write(BOUNDARY, tmp_path, "csv", parts=1)
    out = aggregate(source, dataset="stop_search", by=combo, engine=engine)
    expected = pd.DataFrame({p: EXPECTED[p] for p in combo}).value_counts().sort_index()
    assert out.set_index(combo)["base"].to_dict() == expected.to_dict()  # fmt: skip


@pytest.mark.parametrize("kind", ["utc", "london", "naive", "date"])
@pytest.mark.parametrize("engine", ENGINES)
def test_periods_from_parquet_timestamps(kind, engine, tmp_path):
    instants = pd.to_datetime(
        ["2024-03-31T23:30:00Z", "2024-04-01T00:00:00Z", "2023-12-31T23:59:59Z"], utc=True
    )
    if kind == "london":  # stored with a zone: the period is taken in UTC
        dates = instants.tz_convert("Europe/London")
    elif kind == "naive":
        dates = instants.tz_localize(None)
    elif kind == "date":
        dates = pd.Series(instants.tz_localize(None).date)
    else:
        dates = instants
    frame = pd.DataFrame({"date": dates, "force": "Dorset", "ethnicity": "White"})
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    out = aggregate(
        tmp_path / "t.parquet", dataset="stop_search", by=["quarter", "financial_year"],
        engine=engine,
    )  # fmt: skip
    got = dict(
        zip(zip(out["quarter"], out["financial_year"], strict=True), out["base"], strict=True)
    )
    assert got == {("2024Q1", "2023-24"): 1, ("2024Q2", "2024-25"): 1, ("2023Q4", "2023-24"): 1}


def test_period_in_a_condition(records, tmp_path):
    source = write(records, tmp_path, "parquet", parts=2)
    outs = [
        aggregate(
            source,
            dataset="stop_search",
            by=["force"],
            at_risk={"financial_year": ["2023-24"]},
            engine=engine,
        )
        for engine in ENGINES
    ]
    same(*outs)
    d = pd.to_datetime(records["date"], utc=True)
    in_fy = (d >= "2023-04-01") & (d < "2024-04-01")
    assert outs[0]["base"].sum() == int(in_fy.sum())
    ledger = exclusions(outs[0]).set_index("rule")["rows"]
    assert ledger["records not at risk (at_risk: financial_year is '2023-24')"] == int(
        (~in_fy).sum()
    )
    with pytest.raises(ParameterError, match="write it like '2023-24'"):
        aggregate(source, dataset="stop_search", at_risk={"financial_year": "2023/24"})


def test_date_parsing_agrees_between_engines(tmp_path):
    texts = [
        "2024-03-31T10:00:00+00:00", "2024-03-31T10:00:00.123456Z", "2024-03-31 10:00",
        "2024-03-31T10:00:00+0100", "2024-03-31T10:00:00-05", "2024-03-31", "2024-02-29",
        "2023-02-29", "2024-02-30", "2024-13-01", "2024-03-31T24:00:00", "2024-03-31T23:60:00",
        "31/03/2024", "2024-3-31", "2024-03-31T10:00:00.1234567", "2024-03-31T10:00:00 UTC",
        " 2024-03-31", "２０２４-03-31", "0000-03-31", "", "   ",
    ]  # fmt: skip
    frame = pd.DataFrame({"date": texts, "ethnicity": "White"})
    frame.to_csv(tmp_path / "d.csv", index=False)
    outs = [
        aggregate(tmp_path / "d.csv", dataset="stop_search", by="month", engine=e, dropna=True)
        for e in ENGINES
    ]
    same(*outs)
    ledger = exclusions(outs[0]).set_index("rule")["rows"]
    assert ledger["records at risk with a missing date"] == 2
    assert ledger["records at risk with an unparseable date"] == 12
    assert outs[0]["base"].sum() == 7


def test_fast_and_general_date_paths_agree_with_pandas(tmp_path):
    texts = near_misses()
    frame = pd.DataFrame({"date": texts, "ethnicity": "White"})
    frame.to_csv(tmp_path / "d.csv", index=False)
    outs = [
        aggregate(tmp_path / "d.csv", dataset="stop_search", by="month", engine=e, dropna=True)
        for e in ENGINES
    ]
    same(*outs)
    assert 50 < outs[0]["base"].sum() < len(texts)


# ------------------------------------------------------------------ validation on distinct values


@pytest.mark.parametrize("engine", ENGINES)
def test_unknown_codes_are_listed_with_counts_and_files(records, engine, tmp_path):
    bad = records.copy()
    bad.loc[[0, 1, 2], "ethnicity"] = "Blak"
    bad.loc[len(bad) - 1, "ethnicity"] = "Whte"
    bad.loc[5, "force"] = "Dorsett"
    source = write(bad, tmp_path, "csv", parts=2)
    with pytest.raises(ValidationError) as info:
        aggregate(source, dataset="stop_search", by=["force", "ethnicity"], engine=engine)
    message = str(info.value)
    assert source in message
    assert (
        "column 'ethnicity': 4 record(s) with values not in the code list 'ethnicity_groups'"
        in (message)
    )
    assert "'Blak' ×3, 'Whte' ×1" in message
    assert "'Blak' (did you mean 'Black'?)" in message
    assert "part0.csv ×3" in message and "part1.csv ×1" in message
    assert "'Dorsett' ×1" in message and "'Dorset'" in message
    problems = info.value.problems
    assert set(problems["column"]) == {"force", "ethnicity"}
    assert problems.set_index("column")["count"].to_dict() == {"force": 1, "ethnicity": 4}


@pytest.mark.parametrize("engine", ENGINES)
def test_unknown_codes_kept_with_strict_false(records, engine, tmp_path):
    bad = records.copy()
    bad.loc[[0, 1, 2], "ethnicity"] = "Blak"
    source = write(bad, tmp_path, "parquet", parts=1)
    with pytest.warns(DataQualityWarning, match="'Blak' ×3"):
        out = aggregate(source, dataset="stop_search", by="ethnicity", engine=engine, strict=False)
    assert out.set_index("ethnicity").loc["Blak", "base"] == 3
    ledger = exclusions(out)
    kept = ledger[ledger["action"] == "kept"]
    assert kept["rows"].tolist() == [3]
    assert "ethnicity_groups" in kept["rule"].iloc[0]
    assert out["base"].sum() == len(records)


def test_strict_false_without_unknown_codes_records_zero(records, tmp_path):
    source = write(records, tmp_path, "csv", parts=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = aggregate(source, dataset="stop_search", by="ethnicity", strict=False)
    ledger = exclusions(out)
    assert ledger.loc[ledger["action"] == "kept", "rows"].tolist() == [0]


@pytest.mark.parametrize("engine", ENGINES)
def test_true_false_column_with_other_values(records, engine, tmp_path):
    bad = records.astype({"arrest": object})
    bad.loc[[3, 4], "arrest"] = "maybe"
    bad.loc[[5], "arrest"] = "YES"  # a True spelling, accepted
    source = write(bad, tmp_path, "csv", parts=1)
    with pytest.raises(ValidationError, match=r"not True/False: 'maybe' ×2"):
        aggregate(source, dataset="stop_search", events="arrest", engine=engine)


def test_condition_values_are_checked_against_the_code_list(records, tmp_path):
    source = write(records, tmp_path, "csv", parts=1)
    with pytest.raises(ParameterError, match="did you mean 'arrest'"):
        aggregate(source, dataset="stop_search", events={"outcome": "arest"})
    # a code that is valid but absent from the data is fine: zero events
    out = aggregate(
        source, dataset="stop_search", by="force", events={"outcome": "penalty_notice"}, dropna=True
    )
    assert (out["events"] == 0).all()


# ------------------------------------------------------------------ missing values and the ledger


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_by_values_raise_unless_dropna(records, engine, tmp_path):
    source = write(records, tmp_path, "parquet", parts=2)
    n_missing = int(records["legislation"].isna().sum())
    with pytest.raises(ValidationError) as info:
        aggregate(source, dataset="stop_search", by=["force", "legislation"], engine=engine)
    assert f"{n_missing} record(s) at risk with a missing 'legislation'" in str(info.value)
    assert "dropna=True" in str(info.value)
    assert "part0.parquet" in str(info.value)
    out = aggregate(
        source, dataset="stop_search", by=["force", "legislation"], engine=engine, dropna=True
    )
    ledger = exclusions(out).set_index("rule")["rows"]
    assert ledger["records at risk with a missing 'legislation'"] == n_missing
    assert ledger["records at risk with a missing 'force'"] == 0  # recorded even when 0
    assert out["base"].sum() == len(records) - n_missing


@pytest.mark.parametrize("engine", ENGINES)
def test_ledger_arithmetic(engine, tmp_path, rng):
    records = make_records(rng, 2000)
    records.loc[rng.random(2000) < 0.05, "ethnicity"] = ""
    records.loc[rng.random(2000) < 0.05, "date"] = "yesterday"
    records.loc[rng.random(2000) < 0.05, "search_type"] = None
    source = write(records, tmp_path, "csv", parts=3)
    out = aggregate(
        source,
        dataset="stop_search",
        by=["quarter", "ethnicity", "legislation"],
        events={"outcome": "arrest"},
        at_risk={"search_type": PERSON},
        engine=engine,
        dropna=True,
    )
    ledger = exclusions(out)
    assert ledger["rule"].tolist() == [
        "records with a missing at-risk status (blank search_type)",
        "records not at risk (at_risk: search_type in ['Person search', 'Person and Vehicle "
        "search'])",
        "records at risk with a missing date",
        "records at risk with an unparseable date",
        "records at risk with a missing 'ethnicity'",
        "records at risk with a missing 'legislation'",
        "records at risk with a missing event status (blank outcome)",
    ]
    excluded = ledger.loc[ledger["action"] == "excluded", "rows"].sum()
    assert out.attrs["rows_in"] == len(records)
    assert out["base"].sum() + excluded == len(records)
    # each rule counts what the earlier ones left, as an independent calculation shows
    risk_known = records["search_type"].notna()
    at_risk = risk_known & records["search_type"].isin(PERSON)
    bad_date = at_risk & records["date"].eq("yesterday")
    no_eth = at_risk & ~bad_date & records["ethnicity"].eq("")
    assert ledger["rows"].tolist()[:5] == [
        int((~risk_known).sum()),
        int((risk_known & ~at_risk).sum()),
        0,
        int(bad_date.sum()),
        int(no_eth.sum()),
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_unparseable_dates_are_listed(records, engine, tmp_path):
    bad = records.copy()
    bad.loc[[0, 1], "date"] = "31/03/2024"
    bad.loc[[2], "date"] = "2024-02-30"
    source = write(bad, tmp_path, "csv", parts=1)
    with pytest.raises(ValidationError) as info:
        aggregate(source, dataset="stop_search", by="month", engine=engine)
    message = str(info.value)
    assert "3 record(s) at risk with a 'date' that is not an ISO 8601 date" in message
    assert "'31/03/2024' ×2, '2024-02-30' ×1" in message
    # without a period, dates are not needed and not read
    out = aggregate(source, dataset="stop_search", by="force", engine=engine)
    assert out["base"].sum() == len(records)


def test_every_problem_is_reported_at_once(records, tmp_path):
    bad = records.copy()
    bad.loc[0, "ethnicity"] = "Blak"
    bad.loc[1, "date"] = "soon"
    source = write(bad, tmp_path, "csv", parts=1)
    with pytest.raises(ValidationError) as info:
        aggregate(source, dataset="stop_search", by=["quarter", "ethnicity", "legislation"])
    assert "3 problem(s)" in str(info.value)
    assert list(info.value.problems["column"]) == ["ethnicity", "date", "legislation"]


# ------------------------------------------------------------------ bad paths and bad files


def test_bad_paths(tmp_path):
    with pytest.raises(DisproError, match="no files match"):
        aggregate(str(tmp_path / "*.parquet"), dataset="stop_search")
    with pytest.raises(DisproError, match="no such file"):
        aggregate(tmp_path / "missing.csv", dataset="stop_search")
    with pytest.raises(DisproError, match="is a folder"):
        aggregate(tmp_path, dataset="stop_search")
    with pytest.raises(DisproError, match="empty list"):
        aggregate([], dataset="stop_search")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DisproError, match=r"cannot tell the format of .*notes\.txt"):
        aggregate(tmp_path / "notes.txt", dataset="stop_search")
    with pytest.raises(ParameterError, match="`source`"):
        aggregate(42, dataset="stop_search")


@pytest.mark.parametrize("engine", ENGINES)
def test_empty_and_unreadable_files(engine, tmp_path):
    (tmp_path / "zero.csv").write_bytes(b"")
    with pytest.raises(DisproError, match=r"zero\.csv is empty"):
        aggregate(tmp_path / "zero.csv", dataset="stop_search", engine=engine)
    (tmp_path / "header.csv").write_text("date,force,ethnicity\n")
    with pytest.raises(DisproError, match=r"no records in .*header\.csv"):
        aggregate(tmp_path / "header.csv", dataset="stop_search", by="force", engine=engine)
    pd.DataFrame({"force": pd.Series([], dtype=str)}).to_parquet(tmp_path / "empty.parquet")
    with pytest.raises(DisproError, match=r"no records in .*empty\.parquet"):
        aggregate(tmp_path / "empty.parquet", dataset="stop_search", by="force", engine=engine)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DisproError, match=r"cannot read .*broken\.parquet"):
        aggregate(tmp_path / "broken.parquet", dataset="stop_search", engine=engine)
    (tmp_path / "latin1.csv").write_bytes("force,ethnicity\nDorset,Whit\xe9\n".encode("latin-1"))
    with pytest.raises(DisproError, match=r"latin1\.csv"):
        aggregate(tmp_path / "latin1.csv", dataset="stop_search", by="ethnicity", engine=engine)


def test_missing_columns_are_named_with_the_file(records, tmp_path):
    write(records.rename(columns={"ethnicity": "ethnicty"}).iloc[:10], tmp_path, "csv", 1, "a")
    write(records.iloc[10:20], tmp_path, "csv", 1, "b")
    with pytest.raises(ValidationError) as info:
        aggregate(str(tmp_path / "*.csv"), dataset="stop_search", by=["ethnicity", "quarter"])
    message = str(info.value)
    assert "column 'ethnicity' (given as `by`) is not in" in message
    assert "a0.csv; did you mean 'ethnicty'?" in message
    assert "b0.csv" not in message
    with pytest.raises(ParameterError, match="did you mean 'ethnicity'"):
        aggregate(str(tmp_path / "b0.csv"), dataset="stop_search", by="ethnicit")
    write(records.drop(columns="date").iloc[:10], tmp_path / "nodate", "parquet", 1)
    with pytest.raises(ValidationError, match="column 'date' .*for the period 'quarter'"):
        aggregate(str(tmp_path / "nodate" / "*.parquet"), dataset="stop_search", by="quarter")


# ------------------------------------------------------------------ SQL safety


INJECTIONS = [
    "x' OR '1'='1",
    "Robert'); DROP TABLE cells; --",
    '"; SELECT 1; --',
    "a\\' OR 1=1 --",
]


@pytest.mark.parametrize("engine", ENGINES)
def test_injection_looking_values_and_names_are_data(engine, tmp_path, rng):
    n = 200
    frame = pd.DataFrame(
        {
            "force": rng.choice(FORCES, n),
            "ethnicity": rng.choice(GROUPS, n),
            "policing_operation": rng.choice([*INJECTIONS, "Op Safe"], n),
            'odd "column"; DROP': rng.choice(["p", "q"], n),
        }
    )
    path = tmp_path / "it's; DROP TABLE x.csv"
    frame.to_csv(path, index=False)
    for value in INJECTIONS:
        out = aggregate(
            path,
            dataset="stop_search",
            by=["force", 'odd "column"; DROP'],
            events={"policing_operation": value},
            engine=engine,
        )
        assert out["events"].sum() == (frame["policing_operation"] == value).sum()
        assert out["base"].sum() == n
    # a value that matches nothing selects nothing, rather than everything
    out = aggregate(
        path,
        dataset="stop_search",
        by="force",
        at_risk={"policing_operation": "' OR TRUE OR '"},
        engine=engine,
    )
    assert out.empty
    assert exclusions(out).set_index("action").loc["excluded", "rows"].max() == n


# ------------------------------------------------------------------ engine choice and parameters


def test_auto_engine_respects_the_threshold(records, tmp_path, monkeypatch):
    source = write(records, tmp_path, "parquet", parts=2)
    monkeypatch.delenv(THRESHOLD_ENV, raising=False)
    assert DEFAULT_THRESHOLD_BYTES == 256 * 2**20
    small = aggregate(source, dataset="stop_search", by="force")
    assert small.attrs["engine"] == "pandas"
    big = aggregate(source, dataset="stop_search", by="force", threshold_bytes=0)
    assert big.attrs["engine"] == "duckdb"
    size = small.attrs["input_bytes"]
    assert aggregate(source, dataset="stop_search", threshold_bytes=size).attrs["engine"] == (
        "duckdb"
    )
    assert aggregate(source, dataset="stop_search", threshold_bytes=size + 1).attrs["engine"] == (
        "pandas"
    )
    monkeypatch.setenv(THRESHOLD_ENV, "1")
    assert aggregate(source, dataset="stop_search").attrs["engine"] == "duckdb"
    assert aggregate(source, dataset="stop_search", threshold_bytes=10**12).attrs["engine"] == (
        "pandas"
    )
    assert aggregate(source, dataset="stop_search", engine="pandas").attrs["engine"] == "pandas"
    monkeypatch.setenv(THRESHOLD_ENV, "lots")
    with pytest.raises(ParameterError, match=THRESHOLD_ENV):
        aggregate(source, dataset="stop_search")
    same(small, big)


def test_parameters_are_checked(records, tmp_path):
    source = write(records, tmp_path, "csv", parts=1)
    with pytest.raises(ParameterError, match="`engine` must be one of"):
        aggregate(source, dataset="stop_search", engine="duck")
    with pytest.raises(ParameterError, match="did you mean 'stop_search'"):
        aggregate(source, dataset="stop_serch")
    with pytest.raises(ParameterError, match="use a period derived from it"):
        aggregate(source, dataset="stop_search", by="date")
    with pytest.raises(ParameterError, match="twice"):
        aggregate(source, dataset="stop_search", by=["force", "force"])
    with pytest.raises(ParameterError, match="count columns"):
        aggregate(source, dataset="stop_search", by="base")
    with pytest.raises(ParameterError, match="not True/False; pass a mapping"):
        aggregate(source, dataset="stop_search", events="outcome")
    with pytest.raises(ParameterError, match="arrays are not possible"):
        aggregate(source, dataset="stop_search", events=[True] * len(records))
    with pytest.raises(ParameterError, match="engine='ibis'"):
        aggregate(source, dataset="stop_search", events=lambda t: t.arrest, engine="pandas")
    with pytest.raises(ParameterError, match="must return an Ibis True/False"):
        aggregate(source, dataset="stop_search", events=lambda t: t.arrest)  # text in a CSV
    with pytest.raises(ParameterError, match="missing value"):
        aggregate(source, dataset="stop_search", events={"outcome": [None]})
    with pytest.raises(ParameterError, match="use True or False"):
        aggregate(source, dataset="stop_search", events={"arrest": "perhaps"})
    with pytest.raises(ParameterError, match="`threshold_bytes`"):
        aggregate(source, dataset="stop_search", threshold_bytes=-1)
    with pytest.raises(ParameterError, match="`dropna`"):
        aggregate(source, dataset="stop_search", dropna="yes")
    with pytest.raises(ParameterError, match="number column"):
        aggregate(source, dataset="stop_search", by="latitude")


def test_boolean_mapping_values(records, tmp_path):
    source = write(records, tmp_path, "parquet", parts=1)
    for engine in ENGINES:
        t = aggregate(source, dataset="stop_search", events={"arrest": True}, engine=engine)
        f = aggregate(source, dataset="stop_search", events={"arrest": "false"}, engine=engine)
        assert t["events"].item() == records["arrest"].sum()
        assert f["events"].item() == (~records["arrest"]).sum()
        by = aggregate(source, dataset="stop_search", by="arrest", engine=engine)
        assert by["arrest"].tolist() == ["false", "true"]


def test_duckdb_settings_from_the_environment(records, tmp_path, monkeypatch):
    source = write(records, tmp_path, "parquet", parts=1)
    monkeypatch.setenv("DISPRO_DUCKDB_THREADS", "1")
    monkeypatch.setenv("DISPRO_DUCKDB_MEMORY_LIMIT", "512MB")
    out = aggregate(source, dataset="stop_search", by="force", engine="duckdb")
    assert out["base"].sum() == len(records)
    monkeypatch.setenv("DISPRO_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(ParameterError, match="DISPRO_DUCKDB_MEMORY_LIMIT"):
        aggregate(source, dataset="stop_search", by="force", engine="duckdb")
    monkeypatch.setenv("DISPRO_DUCKDB_THREADS", "two")
    with pytest.raises(ParameterError, match="DISPRO_DUCKDB_THREADS"):
        aggregate(source, dataset="stop_search", by="force", engine="duckdb")
