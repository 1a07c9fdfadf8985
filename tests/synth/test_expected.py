"""Tests of dispro.synth.expected: expected sizes, stop rates and the true marginal ratios."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from dispro import synth
from dispro.errors import ParameterError

GROUPS = ("Asian", "Black", "Mixed", "White", "Other")


def test_bad_parameters_raise():
    with pytest.raises(ParameterError, match="stage"):
        synth.true_marginal_rr(pd.DataFrame({"ethnicity": ["White"]}))


def test_sizes_follow_the_scale():
    expected = synth.expected_sizes()
    # the brief's demo volumes at scale 1 over three years
    assert 20_000 <= expected["stop_search"] <= 60_000
    assert 15_000 <= expected["disposals"] <= 25_000
    assert 10_000 <= expected["charging"] <= 20_000
    assert 10_000 <= expected["sentencing"] <= 20_000
    small = synth.wessex(scale=0.1, seed=1)
    large = synth.wessex(scale=0.4, seed=1)
    for name in synth.DATASETS:
        mean = synth.expected_sizes(scale=0.1)[name]
        assert abs(len(small[name]) - mean) < 5 * math.sqrt(mean), name  # Poisson total
        assert len(large[name]) / len(small[name]) == pytest.approx(4, rel=0.1), name
    short = synth.expected_sizes(start="2022-01", end="2022-12", scale=2)
    assert short["sentencing"] == pytest.approx(2 * synth.TRUTH["sentencing"]["per_year"], rel=0.05)


def test_age_standardised_truth_is_below_the_crude_ratio():
    """Minority groups are younger and the young are searched more: the age-specific RRI of a
    young group is below its crude RRI."""
    table = synth.expected_stop_rates()
    age = table.attrs["age_specific_rri"]
    assert age["Hampshire"]["White"] == pytest.approx(1)
    assert age["Hampshire"]["Black"] < 3.5 and age["Hampshire"]["Mixed"] < 1.8


def test_true_marginal_rr_matches_attrs_and_truth(data):
    for frame in data.values():
        expected = frame.attrs["truth"]["expected"]
        stages = [s for s in expected if s != "stop_rates"]
        assert stages
        for stage in stages:
            table = synth.true_marginal_rr(frame, stage)
            assert tuple(table.columns) == synth.TRUE_RR_COLUMNS
            assert list(table["group"]) == list(GROUPS)
            pd.testing.assert_frame_equal(
                table.drop(columns="stage"), pd.DataFrame(expected[stage]), check_dtype=False
            )
            white = table.set_index("group").loc["White"]
            assert white["crude_rri"] == pytest.approx(1) and white["adjusted_rr"] == pytest.approx(
                1
            )
    strip = synth.true_marginal_rr(data["stop_search"], "strip_search").set_index("group")
    assert strip.loc["Black", "adjusted_rr"] == pytest.approx(2.0)  # log-linear: exactly the ratio
    length = synth.true_marginal_rr(data["sentencing"], "sentence_length").set_index("group")
    assert length.loc["Black", "adjusted_rr"] == pytest.approx(1.1)
    att = synth.true_marginal_rr(data["sentencing"], standard="Black").set_index("group")
    assert att.loc["Black", "adjusted_rate"] == pytest.approx(att.loc["Black", "crude_rate"])
