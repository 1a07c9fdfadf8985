"""Tests of dispro.models._prepare: collapsing records to cells."""

from __future__ import annotations

import pandas as pd
from sentencing import CONTROLS

from dispro.models._prepare import _collapse, _prepare


def test_collapse_counts_a_boolean_outcome_as_the_float_sums(big):
    frame = big.iloc[:5000]
    prep = _prepare(
        frame, func="t", group="ethnicity", reference="White", controls=CONTROLS, dropna=False
    )
    keys = ["ethnicity", *CONTROLS]
    y = frame["custody"].to_numpy()
    a = _collapse(prep, keys, {"_events": y})
    b = _collapse(prep, keys, {"_events": y.astype(float)})
    pd.testing.assert_frame_equal(a, b)
    assert a["_events"].sum() == y.sum() and a["_n"].sum() == len(frame)
