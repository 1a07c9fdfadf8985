"""Tests of dispro.models.marginal: adjusted rates by marginal standardisation against direct
g-computation on a record-level fit, a numerical gradient and the bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special
from sentencing import GROUPS, record_glm

from dispro import models
from dispro.errors import ParameterError


def test_adjusted_rates_equal_direct_g_computation(mid, fit_mid):
    rec = record_glm(mid, fit_mid)
    rates = {}
    for g in GROUPS:
        counterfactual = mid.assign(ethnicity=g, _y=0)
        rates[g] = float(rec.predict(counterfactual).mean())
    adj = fit_mid.adjusted.set_index("group")
    for g in GROUPS:
        assert adj.loc[g, "adjusted_rate"] == pytest.approx(rates[g], rel=1e-9)
        assert adj.loc[g, "adjusted_rr"] == pytest.approx(rates[g] / rates["White"], rel=1e-9)


def test_delta_method_matches_numerical_gradient(fit_big):
    spec = fit_big._spec
    X, w, beta, V = spec["X"], spec["weights"], spec["beta"], spec["cov"]
    col = spec["group_col"]["Black"]

    def log_rr(b):
        base = X.copy()
        base[:, [c for c in spec["group_col"].values() if c is not None]] = 0
        eta = base @ b
        return np.log((w @ special.expit(eta + b[col])) / (w @ special.expit(eta)))

    eps = 1e-6
    grad = np.array(
        [(log_rr(beta + eps * e) - log_rr(beta - eps * e)) / (2 * eps) for e in np.eye(len(beta))]
    )
    se = math.sqrt(grad @ V @ grad)
    row = fit_big.adjusted.set_index("group").loc["Black"]
    z = 1.959963984540054
    assert row["ci_lower"] == pytest.approx(row["adjusted_rr"] * math.exp(-z * se), rel=1e-6)
    assert row["ci_upper"] == pytest.approx(row["adjusted_rr"] * math.exp(z * se), rel=1e-6)


def test_bootstrap_agrees_with_delta(big):
    sub = big.iloc[:20_000]
    fit = models.logistic(
        sub, outcome="custody", controls=["offence_group", "previous_convictions"]
    )
    boot = models.adjusted_rates(fit, method="bootstrap", n_boot=300, seed=5)
    assert tuple(boot.columns) == models.ADJUSTED_COLUMNS
    delta = fit.adjusted.set_index("group")
    b = boot.set_index("group")
    for g in ["Black", "Asian"]:
        np.testing.assert_allclose(b.loc[g, "adjusted_rr"], delta.loc[g, "adjusted_rr"])
        width_d = math.log(delta.loc[g, "ci_upper"] / delta.loc[g, "ci_lower"])
        width_b = math.log(b.loc[g, "ci_upper"] / b.loc[g, "ci_lower"])
        assert 0.75 < width_b / width_d < 1.33
    assert boot.attrs["method"] == "bootstrap" and boot.attrs["bootstrap_failed"] == 0


def test_standard_population_option(fit_mid, mid):
    rec = record_glm(mid, fit_mid)
    black = mid[mid["ethnicity"] == "Black"]
    p_b = rec.predict(black.assign(_y=0)).mean()
    p_w = rec.predict(black.assign(ethnicity="White", _y=0)).mean()
    out = models.adjusted_rates(fit_mid, standard="Black").set_index("group")
    assert out.loc["Black", "adjusted_rr"] == pytest.approx(p_b / p_w, rel=1e-9)
    with pytest.raises(ParameterError, match="did you mean 'Black'"):
        models.adjusted_rates(fit_mid, standard="Blak")
