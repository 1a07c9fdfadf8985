"""Tests of dispro.counts.ibis: records counted where they live, through Ibis, on DuckDB and Spark.

The references are the file engines of :func:`dispro.counts.aggregate` (pandas reading the same
files) and the pandas record-level functions on the same records in memory: the engine path must
give identical counts, ledgers, RRI tables and model estimates.
"""

from __future__ import annotations

import warnings

import ibis
import numpy as np
import pandas as pd
import pytest
from recordfiles import PERSON, make_records, near_misses, write

import dispro
from dispro import models, synth
from dispro.counts import aggregate
from dispro.counts import ibis as engines
from dispro.errors import DataQualityWarning, DisproError, ParameterError, ValidationError
from dispro.ledger import exclusions


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["exclusions"] == b.attrs["exclusions"]
    assert a.attrs["rows_in"] == b.attrs["rows_in"]


def duck(frame: pd.DataFrame, name: str = "records"):
    con = engines.connect("duckdb://")
    return con.create_table(name, frame)


# ------------------------------------------------------------------ DuckDB through Ibis


def test_ibis_engine_on_files_matches_pandas_on_data_with_problems(rng, tmp_path):
    records = make_records(rng, 3000)
    records.loc[rng.random(3000) < 0.05, "ethnicity"] = "  "
    records.loc[rng.random(3000) < 0.05, "date"] = "not a date"
    records.loc[rng.random(3000) < 0.03, "date"] = None
    source = write(records, tmp_path, "csv", parts=2)
    kwargs = dict(
        dataset="stop_search",
        by=["financial_year", "ethnicity", "legislation"],
        events={"outcome": ["arrest", "caution"], "sex": "Male"},
        at_risk={"search_type": PERSON},
        dropna=True,
    )
    expected = aggregate(source, engine="pandas", **kwargs)
    got = aggregate(source, engine="ibis", **kwargs)
    same(expected, got)
    assert got.attrs["engine"] == "ibis-duckdb"
    rules = exclusions(got).set_index("rule")["rows"]
    assert rules["records at risk with an unparseable date"] > 0
    assert rules["records at risk with a missing 'ethnicity'"] > 0


def test_ibis_table_in_memory_matches_the_independent_groupby(rng):
    records = make_records(rng, 4000)
    table = duck(records)
    out = aggregate(
        table, dataset="stop_search", by=["force", "ethnicity"], events="arrest", dropna=True
    )
    person = records
    expected = (
        person.groupby(["force", "ethnicity"])["arrest"]
        .agg(events="sum", base="size")
        .reset_index()
        .astype({"events": "int64", "base": "int64"})
    )
    pd.testing.assert_frame_equal(out, expected)
    assert out.attrs["rows_in"] == len(records)


def test_dates_parsed_on_the_engine_agree_with_pandas(tmp_path):
    texts = near_misses() + ["2024-04-01T00:30:00+01:00", "2024-02-29", "2023-02-29", ""]
    frame = pd.DataFrame({"date": texts, "ethnicity": "White"})
    frame.to_csv(tmp_path / "d.csv", index=False)
    for period in ("month", "quarter", "financial_year", "year"):
        outs = [
            aggregate(tmp_path / "d.csv", dataset="stop_search", by=period, engine=e, dropna=True)
            for e in ("pandas", "ibis")
        ]
        same(*outs)
    table = duck(frame)
    same(outs[0], aggregate(table, dataset="stop_search", by="year", dropna=True))


@pytest.mark.parametrize("kind", ["timestamptz", "timestamp", "date"])
def test_typed_dates_on_the_engine(kind, tmp_path):
    stamps = pd.to_datetime(
        ["2024-03-31T23:59:59", "2024-04-01T00:00:00", "2023-12-31T12:00:00", None]
    )
    if kind == "timestamptz":
        stamps = stamps.tz_localize("UTC")
    frame = pd.DataFrame({"date": stamps, "ethnicity": "White"})
    if kind == "date":
        frame["date"] = frame["date"].dt.date
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    a = aggregate(tmp_path / "d.parquet", dataset="stop_search", by="quarter", engine="pandas",
                  dropna=True)  # fmt: skip
    b = aggregate(tmp_path / "d.parquet", dataset="stop_search", by="quarter", engine="ibis",
                  dropna=True)  # fmt: skip
    same(a, b)
    assert b["quarter"].tolist() == ["2023Q4", "2024Q1", "2024Q2"]


def test_padded_codes_and_true_false_spellings(rng, tmp_path):
    odd = make_records(rng, 300).astype({"arrest": object})
    odd.loc[odd.index[:5], "force"] = "Dorset "
    odd.loc[odd.index[8:12], "arrest"] = " TRUE"
    odd.loc[odd.index[12:14], "arrest"] = "no"
    odd["arrest"] = odd["arrest"].astype(str)
    source = write(odd, tmp_path, "parquet", parts=1)
    with pytest.warns(DataQualityWarning):
        outs = [
            aggregate(source, dataset="stop_search", by="force", events="arrest", engine=e,
                      strict=False)
            for e in ("pandas", "ibis")
        ]  # fmt: skip
    same(*outs)
    assert outs[1].set_index("force").loc["Dorset ", "base"] == 5


def test_unknown_codes_raise_with_counts(rng):
    records = make_records(rng, 500)
    records.loc[records.index[:7], "ethnicity"] = "Blak"
    with pytest.raises(ValidationError) as err:
        aggregate(duck(records), dataset="stop_search", by="ethnicity")
    assert "'Blak' ×7" in str(err.value)
    assert "did you mean" in str(err.value).lower()


def test_missing_column_names_the_table(rng):
    records = make_records(rng, 50).drop(columns="sex")
    with pytest.raises(ValidationError, match="'sex'.*duckdb table 'records'"):
        aggregate(duck(records), dataset="stop_search", by="sex")


def test_a_table_refuses_the_file_engines(rng):
    with pytest.raises(ParameterError, match="engine='ibis'"):
        aggregate(duck(make_records(rng, 20)), dataset="stop_search", engine="duckdb")


def test_count_events_and_rri_on_a_table_equal_the_frame(rng):
    n = 5000
    rec = pd.DataFrame(
        {
            "ethnicity": rng.choice(["White", "Black", "Asian", None], n, p=[0.7, 0.15, 0.1, 0.05]),
            "force": rng.choice(["Dorset", "Wiltshire"], n),
            "arrest": pd.array(rng.random(n) < 0.2, dtype="boolean"),
            "stype": rng.choice(["person", "vehicle"], n),
        }
    )
    rec.loc[rng.random(n) < 0.02, "arrest"] = pd.NA
    table = duck(rec)
    for kwargs in (
        {"events": "arrest", "by": "force"},
        {"events": {"stype": "person"}},
        {"events": "arrest", "at_risk": {"stype": ["person"]}},
    ):
        a = dispro.count_events(rec, dropna=True, **kwargs)
        b = dispro.count_events(table, dropna=True, **kwargs)
        pd.testing.assert_frame_equal(a.astype({"ethnicity": str}), b, check_dtype=False)
        assert a.attrs["exclusions"] == b.attrs["exclusions"]
        r1 = dispro.rri_from_records(rec, dropna=True, **kwargs)
        r2 = dispro.rri_from_records(table, dropna=True, **kwargs)
        pd.testing.assert_frame_equal(r1, r2, check_dtype=False)
    # a function of the table is an Ibis expression
    c = dispro.count_events(table, events=lambda t: t.arrest & (t.stype == "person"), dropna=True)
    d = dispro.count_events(rec, events=lambda r: r.arrest & (r.stype == "person"), dropna=True)
    pd.testing.assert_frame_equal(d.astype({"ethnicity": str}), c, check_dtype=False)
    with pytest.raises(
        ValidationError, match=r"\d+ record\(s\) at risk have a missing 'ethnicity'"
    ):
        dispro.count_events(table, events="arrest")
    with pytest.raises(ParameterError, match="True/False column"):
        dispro.count_events(table, events="stype")


def test_logistic_on_a_table_equals_the_record_level_fit(rng):
    n = 20_000
    rec = pd.DataFrame(
        {
            "ethnicity": rng.choice(
                ["White", "Black", "Asian", "Mixed"], n, p=[0.7, 0.1, 0.15, 0.05]
            ),
            "sex": rng.choice(["Male", "Female"], n, p=[0.8, 0.2]),
            "offence": rng.choice(["theft", "drugs", "violence"], n),
            "force": rng.choice([f"F{i}" for i in range(12)], n),
        }
    )
    eta = -1 + 0.3 * (rec.ethnicity == "Black") + 0.5 * (rec.offence == "violence")
    rec["custody"] = pd.array(rng.random(n) < 1 / (1 + np.exp(-eta)), dtype="boolean")
    rec.loc[rng.random(n) < 0.01, "custody"] = pd.NA
    rec.loc[rng.random(n) < 0.01, "offence"] = None
    table = duck(rec)
    args = dict(outcome="custody", controls=["sex", "offence"], cluster="force", dropna=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        on_rows = models.logistic(rec, **args)
        on_table = models.logistic(table, **args)
    np.testing.assert_allclose(on_table.model.params, on_rows.model.params, rtol=0, atol=1e-10)
    np.testing.assert_allclose(on_table.model.bse, on_rows.model.bse, rtol=0, atol=1e-10)
    assert (
        on_table.info["records"]
        == on_rows.info["records"]
        == int((rec.custody.notna() & rec.offence.notna()).sum())
    )
    assert on_table.info["records_input"] == on_rows.info["records_input"] == n
    pd.testing.assert_frame_equal(exclusions(on_table.table), exclusions(on_rows.table))
    assert exclusions(on_table.table)["rows"].sum() == n - on_rows.info["records"]
    with pytest.raises(ParameterError, match="fitted on the cells"):
        models.logistic(table, outcome="custody", data_level="records", dropna=True)
    with pytest.raises(ValidationError, match=r"'offence': \d+ record\(s\)"):
        models.logistic(table, outcome="custody", controls=["offence"])


def test_a_connection_and_table_name_work_like_the_table(rng):
    records = make_records(rng, 2000)
    con = engines.connect("duckdb://")
    con.create_table("searches", records)
    pair = (con, "searches")
    args = dict(dataset="stop_search", by=["force", "ethnicity"], events="arrest", dropna=True)
    same(aggregate(con.table("searches"), **args), aggregate(pair, **args))
    pd.testing.assert_frame_equal(
        dispro.count_events(pair, events="arrest", by="force"),
        dispro.count_events(records, events="arrest", by="force").astype({"ethnicity": str}),
        check_dtype=False,
    )
    fit = models.logistic(pair, outcome="arrest", controls=["sex"])
    assert fit.info["records"] == len(records) and fit.info["data_level"] == "cells"
    with pytest.raises(DisproError, match="cannot open the table 'nope' on duckdb"):
        aggregate((con, "nope"), **args)


def test_connect_refuses_a_password_in_the_url(monkeypatch):
    with pytest.raises(ParameterError, match="password"):
        engines.connect("postgres://analyst:secret@warehouse.example.org/cjs")
    monkeypatch.setenv(engines.URL_ENV, "duckdb://")
    con = engines.connect()
    assert engines.backend_name(con) == "duckdb"


# ------------------------------------------------------------------ Spark (local mode)


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .appName("dispro-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def wessex_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wessex")
    data = synth.wessex(datasets=["stop_search", "sentencing"])
    paths = {}
    for name, frame in data.items():
        paths[name] = str(folder / f"{name}.parquet")
        # microsecond timestamps: Spark does not read parquet's nanosecond ones
        frame.to_parquet(paths[name], index=False, coerce_timestamps="us")
    return data, paths


@pytest.mark.slow
def test_spark_and_duckdb_give_identical_counts_rris_and_models(spark, wessex_files):
    data, paths = wessex_files
    con = engines.connect("duckdb://")
    scon = ibis.pyspark.connect(spark)
    tables = {}
    for name, path in paths.items():
        spark.read.parquet(path).createOrReplaceTempView(name)
        tables["duckdb", name] = con.read_parquet(path, table_name=name)
        tables["spark", name] = scon.table(name)

    # records to counts, with the checks and the ledger
    kwargs = dict(
        dataset="stop_search",
        by=["force", "quarter", "ethnicity"],
        events="arrest",
        at_risk={"search_type": PERSON},
        dropna=True,
    )
    files = aggregate(paths["stop_search"], engine="pandas", **kwargs)
    on_duckdb = aggregate(tables["duckdb", "stop_search"], **kwargs)
    on_spark = aggregate(tables["spark", "stop_search"], **kwargs)
    same(files, on_duckdb)
    same(files, on_spark)
    assert on_spark.attrs["engine"] == "ibis-pyspark"
    assert on_spark["base"].sum() > 30_000

    # RRI tables
    person = data["stop_search"]["search_type"].isin(PERSON)
    rri_args = dict(events="arrest", at_risk={"search_type": PERSON}, by="force", dropna=True)
    frame_rri = dispro.rri_from_records(data["stop_search"], **rri_args)
    for engine in ("duckdb", "spark"):
        got = dispro.rri_from_records(tables[engine, "stop_search"], **rri_args)
        pd.testing.assert_frame_equal(frame_rri, got, check_dtype=False)
    assert frame_rri["base"].sum() == int((person & data["stop_search"]["arrest"].notna()).sum())

    # adjusted models on the collapsed cells the engines return
    model_args = dict(
        outcome={"outcome": "immediate_custody"},
        controls=["sex", "age_band", "offence_group", "plea"],
        dropna=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        reference = models.logistic(data["sentencing"], **model_args)
        fits = {
            e: models.logistic(tables[e, "sentencing"], **model_args) for e in ("duckdb", "spark")
        }
    for fit in fits.values():
        assert fit.info["data_level"] == "cells"
        np.testing.assert_allclose(
            fit.model.params.to_numpy(), reference.model.params.to_numpy(), rtol=0, atol=1e-10
        )
        np.testing.assert_allclose(
            fit.model.bse.to_numpy(), reference.model.bse.to_numpy(), rtol=0, atol=1e-10
        )
        pd.testing.assert_frame_equal(fit.table, reference.table, check_exact=False, atol=1e-9)
        pd.testing.assert_frame_equal(fit.adjusted, reference.adjusted, check_exact=False,
                                      atol=1e-9)  # fmt: skip
        assert fit.info["records"] == reference.info["records"]
        pd.testing.assert_frame_equal(exclusions(fit.table), exclusions(reference.table))
