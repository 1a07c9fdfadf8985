"""Tests of dispro.models.sensitivity: E-values (published worked example), odds to
probabilities, and IPW balance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dispro import models
from dispro.errors import DataQualityWarning, ParameterError


def test_e_value_published_example():
    """VanderWeele & Ding (2017), Ann Intern Med 167:268: RR 3.9 (95% CI 1.8 to 8.7) gives
    E-values 7.2 for the estimate and 3.0 for the lower limit. By hand:
    3.9 + sqrt(3.9 × 2.9) = 7.263 (the paper truncates to 7.2); 1.8 + sqrt(1.8 × 0.8) = 3.0."""
    out = models.e_value(3.9, 1.8)
    assert tuple(out.columns) == models.E_VALUE_COLUMNS
    assert out["e_value"].iloc[0] == pytest.approx(3.9 + math.sqrt(3.9 * 2.9), rel=1e-12)
    assert math.floor(out["e_value"].iloc[0] * 10) / 10 == 7.2
    assert out["e_value_ci"].iloc[0] == pytest.approx(3.0, abs=1e-12)


def test_e_value_protective_crossing_and_conversions():
    out = models.e_value([0.5, 1.3, 1.0], [0.8, 0.9, 1.0])
    e2 = 2 + math.sqrt(2)  # RR 0.5 -> 1/0.5 = 2
    assert out["e_value"].iloc[0] == pytest.approx(e2)
    assert out["e_value_ci"].iloc[0] == pytest.approx(1.25 + math.sqrt(1.25 * 0.25))
    assert out["e_value_ci"].iloc[1] == 1.0  # interval includes 1
    assert out["e_value"].iloc[2] == 1.0
    common = models.e_value(4.0, 2.25, scale="or_common")  # sqrt: RR 2, limit 1.5
    assert common["rr"].iloc[0] == 2.0
    assert common["e_value"].iloc[0] == pytest.approx(e2)
    assert common["e_value_ci"].iloc[0] == pytest.approx(1.5 + math.sqrt(0.75))
    assert models.e_value(2.0, scale="or_rare")["e_value"].iloc[0] == pytest.approx(e2)
    assert np.isnan(models.e_value(2.0)["e_value_ci"].iloc[0])
    with pytest.raises(ParameterError):
        models.e_value(-1.0)
    with pytest.raises(ParameterError, match="scale"):
        models.e_value(2.0, scale="hr")


def test_e_values_in_adjusted_table(fit_big):
    row = fit_big.adjusted.set_index("group").loc["Black"]
    ref = models.e_value(row["adjusted_rr"], row["ci_lower"])
    assert row["e_value"] == pytest.approx(ref["e_value"].iloc[0])
    assert row["e_value_ci"] == pytest.approx(ref["e_value_ci"].iloc[0])


def test_odds_to_probability_methods_example():
    # METHODS.md section 5: p0 = 0.37 and OR 1.5 give 0.468
    p1 = models.odds_to_probability(1.5, 0.37)
    assert p1 == pytest.approx(1.5 * 0.37 / 0.63 / (1 + 1.5 * 0.37 / 0.63), rel=1e-15)
    assert round(p1, 3) == 0.468
    np.testing.assert_allclose(models.odds_to_probability([1.0, 2.0], 0.5), [0.5, 2 / 3])
    with pytest.raises(ParameterError, match="p0"):
        models.odds_to_probability(1.5, 1.0)
    with pytest.raises(ParameterError, match="or_"):
        models.odds_to_probability(-1, 0.3)


def test_ipw_balances_and_agrees_with_g_computation(big, fit_big):
    controls = ["offence_group", "previous_convictions"]
    ipw = models.ipw_check(big, outcome="custody", controls=controls)
    assert tuple(ipw.table.columns) == models.IPW_COLUMNS
    assert tuple(ipw.balance.columns) == models.BALANCE_COLUMNS
    black = ipw.table.set_index("group").loc["Black"]
    assert black["max_abs_smd_before"] > 0.1  # planted imbalance
    assert black["max_abs_smd_after"] < 0.01
    assert black["weighted_rr"] < black["rri"]
    # the outcome-model analogue: g-computation standardised to the Black group's case mix
    fit = models.logistic(big, outcome="custody", controls=controls)
    g = models.adjusted_rates(fit, standard="Black").set_index("group").loc["Black", "adjusted_rr"]
    assert black["weighted_rr"] == pytest.approx(g, rel=0.01)
    assert black["ci_lower"] < g < black["ci_upper"]
    assert set(ipw.model) == {"Black", "Asian", "Mixed", "Other", "Not stated"}
    ate = models.ipw_check(big, outcome="custody", controls=controls, estimand="ate")
    assert ate.table.set_index("group").loc["Black", "max_abs_smd_after"] < 0.02


def test_ipw_warns_without_overlap(big):
    frame = big.iloc[:10_000].copy()
    frame.loc[frame["ethnicity"] == "White", "plea"] = "guilty"
    frame.loc[frame.index[frame["ethnicity"] == "Black"][:20], "plea"] = "no_plea"
    with pytest.warns(DataQualityWarning, match="no overlap.*plea=no_plea"):
        models.ipw_check(frame, outcome="custody", controls=["plea", "offence_group"])
