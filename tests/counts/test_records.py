"""Tests of dispro.counts.records: tally (the one group-by of records) and count_events.

References: counts written out by hand for a small table, and a plain pandas group-by for random
records (dense and sparse numbering of the cells, missing keys, weights and sums).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dispro.counts import count_events, tally
from dispro.errors import ValidationError


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "force": ["A", "A", "A", "B", "B", None],
            "group": ["White", "Black", "White", "White", "White", "Black"],
            "vehicle": [False, False, True, True, None, False],
            "s60": [True, False, True, False, False, False],
            "hit": [True, True, False, False, True, True],
            "months": [3.0, np.nan, 1.0, 2.0, 4.0, 5.0],
        }
    )


def test_exclusions_count_each_record_once_in_order(small):
    out = tally(
        small, ["force", "group"], events="hit", exclude={"vehicle": "vehicle", "s60": "s60"}
    )
    # by hand: A/White rows 0 (s60) and 2 (vehicle, also s60: the first rule wins);
    # A/Black row 1 kept, a hit; B/White row 3 vehicle, row 4 (vehicle missing: kept) a hit;
    # the missing force forms its own cell, last
    expected = pd.DataFrame(
        {
            "force": ["A", "A", "B", None],
            "group": ["Black", "White", "White", "Black"],
            "vehicle": [0, 1, 1, 0],
            "s60": [0, 1, 0, 0],
            "base": [1, 0, 1, 1],
            "events": [1, 0, 1, 1],
        }
    )
    pd.testing.assert_frame_equal(
        out.astype({"force": object, "group": object}), expected, check_dtype=False
    )


def test_levels_give_a_row_of_zeros_and_drop_other_values(small):
    out = tally(small, ["force", "group"], levels={"group": ["White", "Asian"]}, dropna=True)
    assert out[["force", "group"]].astype(str).values.tolist() == [
        ["A", "White"], ["A", "Asian"], ["B", "White"], ["B", "Asian"],
    ]  # fmt: skip
    assert out["base"].tolist() == [2, 0, 2, 0]
    grid = tally(small, ["group", "force"], levels={"group": ["Black", "White"], "force": ["B"]})
    assert grid["base"].tolist() == [0, 2]  # every level crossed, even with no records


def test_sums_and_weights(small):
    out = tally(small, "force", sums={"months": "months"}, weights=[1, 2, 3, 4, 5, 6], dropna=True)
    assert out["base"].tolist() == [6, 9]
    # the sum runs over the records kept (not weighted: a value per row)
    np.testing.assert_allclose(out["months"], [4.0, 6.0])


@pytest.mark.parametrize("n_values", [5, 400])  # few cells (dense numbering) and many (sparse)
def test_tally_equals_a_pandas_groupby(rng, n_values):
    n = 3000
    frame = pd.DataFrame(
        {
            "a": rng.choice([f"a{i}" for i in range(n_values)] + [None], n),
            "b": rng.integers(0, n_values, n),
            "c": pd.Categorical(rng.choice(["x", "y", "z"], n), categories=["z", "y", "x"]),
            "flag": rng.random(n) < 0.3,
            "out": rng.random(n) < 0.1,
            "v": rng.normal(size=n),
        }
    )
    out = tally(frame, ["a", "b", "c"], events="flag", exclude={"out": "out"}, sums={"v": "v"})
    kept = frame[~frame["out"]]
    ref = (
        kept.groupby(["a", "b", "c"], dropna=False, observed=True, sort=True)
        .agg(base=("flag", "size"), events=("flag", "sum"), v=("v", "sum"))
        .reset_index()
    )
    got = out[out["base"] > 0].reset_index(drop=True)
    assert got["c"].dtype == frame["c"].dtype  # keys keep their dtype
    pd.testing.assert_frame_equal(
        got[["a", "b", "c", "base", "events", "v"]], ref, check_dtype=False, check_exact=True
    )
    assert out["out"].sum() == frame["out"].sum()


def test_count_events_rows_and_errors(small):
    out = count_events(small, events="hit", at_risk={"s60": False}, group="group", by="force",
                       dropna=True)  # fmt: skip
    assert out.astype(str).values.tolist() == [
        ["A", "Black", "1", "1"], ["B", "White", "1", "2"],
    ]  # fmt: skip
    with pytest.raises(ValidationError, match=r"1 record\(s\) at risk have a missing 'force'"):
        count_events(small, events="hit", group="group", by="force")
