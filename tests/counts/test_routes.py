"""Every table that counts records gives the counts of dispro.counts.aggregate on the same records.

Search counts, the pathway's stage counts and the hit-rate, share and concordance tallies each
say which records are events and which are at risk; written as ``events`` and ``at_risk`` of
:func:`dispro.counts.aggregate` (the stages from ``data_dictionary/stages.yaml`` itself), the
same records written to a parquet file and counted by DuckDB must give the same numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dispro
from dispro import stopsearch
from dispro.counts import aggregate
from dispro.dictionary import codelist
from dispro.pathway import stage, stage_counts

FORCES = ["Dorset", "Wiltshire"]
GROUPS = ["White", "Black", "Asian", "Mixed", "Other", "Not stated"]
PERSON = ["Person search", "Person and Vehicle search"]


def _laws() -> tuple[list[str], list[str]]:
    table = codelist("legislation")
    s60 = table["section60"].str.strip().str.lower() == "true"
    return table.loc[~s60, "code"].tolist()[:3], table.loc[s60, "code"].tolist()


def _counts(out: pd.DataFrame, keys: list[str], events: str, base: str) -> pd.DataFrame:
    """The non-empty cells of a table, as text keys and two int64 counts, sorted."""
    out = out[out[base] > 0]
    frame = pd.DataFrame({k: out[k].astype(str).to_numpy() for k in keys})
    frame["events"] = out[events].to_numpy(dtype="int64")
    frame["base"] = out[base].to_numpy(dtype="int64")
    return frame.sort_values(keys).reset_index(drop=True)


@pytest.fixture(scope="module")
def searches() -> pd.DataFrame:
    """Stop-search records as read_police_uk makes them, every field supplied in every month."""
    rng = np.random.default_rng(7)
    n = 4000
    months = ["2024-01", "2024-02", "2024-03", "2024-04"]
    month = rng.choice(months, n)
    day = rng.integers(1, 28, n)
    other, s60 = _laws()
    vehicle = rng.random(n) < 0.1
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(
                [f"{m}-{d:02d}T12:00:00+00:00" for m, d in zip(month, day, strict=True)]
            ),
            "month": month,
            "force": rng.choice(FORCES, n),
            "search_type": np.where(vehicle, "Vehicle search", rng.choice(PERSON, n)),
            "vehicle_only": pd.array(vehicle, dtype="boolean"),
            "ethnicity": rng.choice(GROUPS, n, p=[0.6, 0.12, 0.12, 0.06, 0.04, 0.06]),
            "officer_ethnicity": rng.choice(["White", "Black", "Asian", "Other"], n),
            "legislation": rng.choice([*other, *s60], n, p=[0.5, 0.3, 0.1, 0.1]),
            "outcome_linked": pd.array(rng.random(n) < 0.25, dtype="boolean"),
            "removal_outer_clothing": pd.array(rng.random(n) < 0.05, dtype="boolean"),
        }
    )
    frame.attrs["coverage"] = [
        {"force": f, "month": m, "present": True, "rows": int(((frame.force == f) & (frame.month == m)).sum()),
         "source": "test"}
        for f in FORCES for m in months
    ]  # fmt: skip
    return frame


@pytest.fixture(scope="module")
def search_file(searches, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("routes") / "searches.parquet"
    searches.drop(columns="month").to_parquet(path, index=False)
    return str(path)


def test_search_counts_equal_aggregate(searches, search_file):
    got = stopsearch.search_counts(searches, period="quarter", by="legislation")
    got = got.rename(columns={"period": "quarter"}).assign(base=got["events"])
    ref = aggregate(
        search_file, dataset="stop_search", by=["force", "quarter", "legislation", "ethnicity"],
        at_risk={"vehicle_only": False}, engine="duckdb",
    )  # fmt: skip
    keys = ["force", "quarter", "legislation", "ethnicity"]
    assert ref["base"].sum() == int((~searches["vehicle_only"]).sum())
    pd.testing.assert_frame_equal(
        _counts(got, keys, "events", "base"), _counts(ref, keys, "events", "base")
    )


def test_hit_rate_and_share_tallies_equal_aggregate(searches, search_file):
    other, s60 = _laws()
    person = {"vehicle_only": False}
    cases = [
        (stopsearch.hit_rates(searches, by="force"), "hits",
         dict(events="outcome_linked", at_risk={**person, "legislation": other})),
        (stopsearch.strip_search_shares(searches, by="force"), "events",
         dict(events="removal_outer_clothing", at_risk=person)),
        (stopsearch.section60_shares(searches, by="force"), "events",
         dict(events={"legislation": s60}, at_risk=person)),
    ]  # fmt: skip
    for table, events, conditions in cases:
        got = table.rename(columns={"group": "ethnicity"})
        ref = aggregate(search_file, dataset="stop_search", by=["force", "ethnicity"],
                        engine="duckdb", **conditions)  # fmt: skip
        keys = ["force", "ethnicity"]
        pd.testing.assert_frame_equal(
            _counts(got, keys, events, "searches"), _counts(ref, keys, "events", "base")
        )


def test_concordance_equals_aggregate(searches, search_file):
    got = stopsearch.concordance(searches)
    got = got.rename(columns={"self_group": "ethnicity", "officer_group": "officer_ethnicity"})
    ref = aggregate(search_file, dataset="stop_search", by=["ethnicity", "officer_ethnicity"],
                    at_risk={"vehicle_only": False}, engine="duckdb")  # fmt: skip
    keys = ["ethnicity", "officer_ethnicity"]
    pd.testing.assert_frame_equal(
        _counts(got, keys, "searches", "searches"), _counts(ref, keys, "base", "base")
    )


def _where(spec: dict, part: str):
    """A stage's declared ``where`` list as an aggregate condition (a mapping)."""
    return {c["column"]: list(c["in"]) for c in spec[part].get("where", [])} or None


@pytest.mark.parametrize("name", ["out_of_court", "charge", "custody", "stop_search"])
def test_stage_counts_equal_aggregate(name, tmp_path):
    spec = stage(name)
    records = dispro.synth.wessex(scale=0.1, seed=3, datasets=spec["dataset"])[spec["dataset"]]
    column = next(c["column"] for c in spec["events"]["where"])
    records.loc[np.random.default_rng(1).random(len(records)) < 0.03, column] = None
    path = tmp_path / "records.parquet"
    records.to_parquet(path, index=False)
    got = stage_counts(records, name, by="force")
    ref = aggregate(
        path, dataset=spec["dataset"], by=["force", "ethnicity"], events=_where(spec, "events"),
        at_risk=_where(spec, "base"), dropna=True, engine="duckdb",
    )  # fmt: skip
    keys = ["force", "ethnicity"]
    if spec["base"].get("source") == "population":  # the base is residents: compare the events
        got = got.assign(base=got["events"])
        ref = ref.loc[ref["events"] > 0].assign(base=lambda f: f["events"])
    pd.testing.assert_frame_equal(
        _counts(got, keys, "events", "base"), _counts(ref, keys, "events", "base")
    )
    blank = int(records[column].isna().sum())
    ledger = dispro.ledger.exclusions(got).set_index("rule")["rows"]
    if spec["base"].get("where"):
        assert ledger["rows with a blank field that defines the base"] == blank
