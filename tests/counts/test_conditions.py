"""Tests of dispro.counts.conditions: one condition language, one parser, three evaluators.

The reference for each condition is a plain Python evaluation, row by row, with SQL's
three-valued logic written out in the test (a comparison with a missing value is missing; AND
and OR as Kleene defined them). The pandas, DuckDB SQL and Ibis evaluators must all equal it,
and counting the same records through every engine must give the counts of an independent
pandas group-by.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from recordfiles import PERSON, make_records, write

import dispro
from dispro.counts import aggregate, all_of, conditions, count_events
from dispro.counts import ibis as engines
from dispro.errors import ParameterError, ValidationError


def _kleene_and(values):
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def reference(frame: pd.DataFrame, spec) -> list:
    """Row by row: a True/False column's value, or every ``column in values`` (missing: None)."""
    out = []
    for _, row in frame.iterrows():
        if isinstance(spec, str):
            value = row[spec]
            out.append(None if pd.isna(value) else bool(value))
        else:
            parts = [
                None if pd.isna(row[c]) else row[c] in set(v if isinstance(v, list) else [v])
                for c, v in spec.items()
            ]
            out.append(_kleene_and(parts))
    return out


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arrest": pd.array([True, False, None, True, False, None], dtype="boolean"),
            "outcome": ["arrest", None, "caution", "arrest", "no_further_action", None],
            "force": ["Dorset", "Dorset", "Wiltshire", None, "Wiltshire", "Dorset"],
        }
    )


SPECS = [
    "arrest",
    {"outcome": "arrest"},
    {"outcome": ["arrest", "caution"]},
    {"outcome": ["arrest", "caution"], "force": "Dorset"},
    {"force": ["Wiltshire"], "outcome": ["no_further_action", "caution"]},
]


def _sql_values(frame: pd.DataFrame, expr) -> list:
    params: list = []
    text = conditions.sql(expr, params)
    con = duckdb.connect()
    con.register("records", frame.assign(__row=np.arange(len(frame))))
    rows = con.execute(f"SELECT {text} FROM records ORDER BY __row", params).fetchall()
    return [r[0] for r in rows]


def _ibis_values(frame: pd.DataFrame, spec) -> list:
    con = engines.connect("duckdb://")
    t = con.create_table("records", frame.assign(__row=np.arange(len(frame))))
    expr = t.select(t["__row"], value=conditions.to_ibis(t, spec)).order_by("__row")
    return [None if pd.isna(v) else bool(v) for v in expr.to_pyarrow().to_pandas()["value"]]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_pandas_sql_and_ibis_evaluate_each_form_alike(frame, spec):
    expected = reference(frame, spec)
    parsed = conditions.parse(spec)
    pandas = [None if pd.isna(v) else bool(v) for v in conditions.evaluate(frame, spec)]
    assert pandas == expected
    assert _sql_values(frame, parsed.expr) == expected
    assert _ibis_values(frame, spec) == expected
    # two-valued: missing is not True
    assert conditions.holds(frame, spec).tolist() == [v is True for v in expected]


def test_all_of_and_a_function_evaluate_alike(frame):
    both = all_of({"outcome": ["arrest", "caution"]}, "arrest")
    expected = [
        _kleene_and([a, b])
        for a, b in zip(
            reference(frame, {"outcome": ["arrest", "caution"]}),
            reference(frame, "arrest"),
            strict=True,
        )
    ]
    assert [None if pd.isna(v) else bool(v) for v in conditions.evaluate(frame, both)] == expected
    assert _sql_values(frame, both.expr) == expected
    assert _ibis_values(frame, both) == expected
    # a function of the records: the same lambda reads a data frame and an Ibis table
    function = lambda r: r.outcome.isin(["arrest"]) & r.force.isin(["Dorset"])  # noqa: E731
    on_frame = conditions.holds(frame, function)
    on_table = [v is True for v in _ibis_values(frame, function)]
    assert on_frame.tolist() == on_table == [True, False, False, False, False, False]
    with pytest.raises(ParameterError, match="cannot run in SQL"):
        conditions.sql(conditions.parse(function).expr, [])


def test_bad_conditions_are_refused_with_their_parameter(frame):
    with pytest.raises(ParameterError, match="`events` is an empty mapping"):
        conditions.parse({})
    with pytest.raises(ParameterError, match="missing value"):
        conditions.parse({"outcome": [None]}, "at_risk")
    with pytest.raises(ValidationError, match=r"'outcom' \(given as `events`\).*did you mean"):
        conditions.evaluate(frame, {"outcom": "arrest"})
    with pytest.raises(ParameterError, match="names column 'outcome', which is not boolean"):
        conditions.evaluate(frame, "outcome")
    with pytest.raises(ParameterError, match="has 2 values but the records have 6 rows"):
        conditions.evaluate(frame, [True, False])
    con = engines.connect("duckdb://")
    t = con.create_table("records", frame)
    with pytest.raises(ParameterError, match="a string column"):
        conditions.to_ibis(t, "outcome")
    with pytest.raises(ParameterError, match="pandas-only|not supported"):
        conditions.to_ibis(t, np.ones(6, dtype=bool))


# ------------------------------------------------------------------ counts: every engine, every form

FORMS = {
    "column": {"events": "arrest"},
    "mapping": {"events": {"outcome": ["arrest", "caution"]}, "at_risk": {"search_type": PERSON}},
    "function": {"events": lambda r: r.arrest & r.search_type.isin(PERSON)},
}


def _expected(records: pd.DataFrame, form: str) -> pd.DataFrame:
    """An independent pandas group-by: records at risk, and the events among them."""
    if form == "column":
        risk = pd.Series(True, index=records.index)
        event = records["arrest"].astype(bool)
    elif form == "mapping":
        risk = records["search_type"].isin(PERSON)
        event = records["outcome"].isin(["arrest", "caution"])
        risk = risk & records["outcome"].notna()  # a missing event status is excluded (dropna)
    else:
        risk = pd.Series(True, index=records.index)
        event = records["arrest"].astype(bool) & records["search_type"].isin(PERSON)
    frame = records.loc[risk, ["force", "ethnicity"]].assign(events=event[risk].astype("int64"))
    out = frame.groupby(["force", "ethnicity"]).agg(
        events=("events", "sum"), base=("events", "size")
    )
    return out.reset_index().astype({"force": str, "ethnicity": str})


def _tidy(out: pd.DataFrame) -> pd.DataFrame:
    out = out[["force", "ethnicity", "events", "base"]].astype({"force": str, "ethnicity": str})
    out = out.astype({"events": "int64", "base": "int64"})
    return out.sort_values(["force", "ethnicity"]).reset_index(drop=True)


@pytest.mark.parametrize("form", list(FORMS))
def test_each_form_counts_the_same_in_pandas_duckdb_sql_and_ibis(form, rng, tmp_path):
    records = make_records(rng, 3000)
    kwargs = FORMS[form]
    expected = _tidy(_expected(records, form))
    source = write(records, tmp_path, "parquet")
    table = engines.connect("duckdb://").create_table("searches", records)
    outs = {
        "count_events on a data frame": count_events(
            records, group="ethnicity", by="force", dropna=True, **kwargs
        ),
        "count_events on an Ibis table": count_events(
            table, group="ethnicity", by="force", dropna=True, **kwargs
        ),
        "aggregate through Ibis": aggregate(
            source, dataset="stop_search", by=["force", "ethnicity"], engine="ibis", dropna=True,
            **kwargs,
        ),
        "aggregate of an Ibis table": aggregate(
            table, dataset="stop_search", by=["force", "ethnicity"], dropna=True, **kwargs
        ),
    }  # fmt: skip
    if form != "function":  # a function runs where Ibis runs; the SQL evaluator refuses it
        for engine in ("pandas", "duckdb"):
            outs[f"aggregate in {engine}"] = aggregate(
                source, dataset="stop_search", by=["force", "ethnicity"], engine=engine,
                dropna=True, **kwargs,
            )  # fmt: skip
    assert expected["base"].sum() > 1000
    for name, out in outs.items():
        pd.testing.assert_frame_equal(_tidy(out), expected, obj=name)


def test_a_function_in_aggregate_uses_ibis_and_is_refused_by_the_file_engines(rng, tmp_path):
    records = make_records(rng, 500)
    source = write(records, tmp_path, "parquet", parts=1)
    out = aggregate(source, dataset="stop_search", events=lambda t: t.arrest)
    assert out.attrs["engine"] == "ibis-duckdb"
    assert out["events"].iloc[0] == int(records["arrest"].sum())
    with pytest.raises(ParameterError, match="engine='ibis'"):
        aggregate(source, dataset="stop_search", events=lambda t: t.arrest, engine="duckdb")


def test_a_missing_result_of_a_function_is_in_the_ledger(rng):
    records = make_records(rng, 400)
    table = engines.connect("duckdb://").create_table("searches", records)
    out = aggregate(
        table, dataset="stop_search", events=lambda t: t.outcome == "arrest", dropna=True
    )
    missing = int(records["outcome"].isna().sum())
    ledger = dispro.ledger.exclusions(out).set_index("rule")["rows"]
    assert ledger["records at risk with a missing event status (blank result of the function "
                  "<lambda>)"] == missing  # fmt: skip
    assert out["base"].iloc[0] == len(records) - missing
