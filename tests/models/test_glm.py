"""Tests of dispro.models._glm: the model is the formula model, and the fast IRLS equals
statsmodels' own fit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from sentencing import CONTROLS

from dispro import models
from dispro.errors import DataQualityWarning
from dispro.models._glm import _IRLS, _clearly_full_rank, _model, _null_space, _quiet_fit


def test_model_is_the_formula_model(mid, fit_mid):
    """The fitted model is what smf.glm would give: names, formula, predict on data frames."""
    cells = fit_mid.data
    formula_fit = smf.glm(
        fit_mid.info["formula"], data=cells, family=sm.families.Binomial()
    ).fit(atol=1e-10, rtol=1e-13)  # fmt: skip
    assert fit_mid.model.model.formula == fit_mid.info["formula"]
    assert list(fit_mid.model.params.index) == list(formula_fit.params.index)
    assert fit_mid.model.model.endog_names == formula_fit.model.endog_names
    assert fit_mid.model.df_model == formula_fit.df_model
    assert fit_mid.model.df_resid == formula_fit.df_resid
    np.testing.assert_allclose(fit_mid.model.params, formula_fit.params, rtol=0, atol=1e-10)
    assert fit_mid.model.llf == pytest.approx(formula_fit.llf, rel=1e-12)
    # predict takes records, through patsy's design information made from the formula
    records = mid.iloc[:200]
    np.testing.assert_allclose(
        fit_mid.model.predict(records), formula_fit.predict(records), rtol=1e-10
    )
    np.testing.assert_allclose(fit_mid.model.predict(cells), fit_mid.model.fittedvalues, rtol=1e-12)
    assert "GLM" in str(fit_mid.model.summary())


@pytest.mark.parametrize("case", ["binomial", "cluster", "gamma", "quasi_poisson", "offset"])
def test_fast_irls_equals_statsmodels_irls(big, stop_counts, case):
    """dispro's IRLS (normal equations) gives statsmodels' fit (SVD steps) to rounding."""
    if case in ("binomial", "cluster"):
        fit = models.logistic(big.iloc[:20_000], outcome="custody", controls=CONTROLS)
        kwargs = {**_IRLS, "maxiter": 100}
        family = sm.families.Binomial()
        if case == "cluster":
            groups = np.arange(len(fit.data)) % 25
            kwargs.update(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False})
    elif case == "gamma":
        fit = models.sentence_length(big.iloc[:20_000], controls=["offence_group"])
        kwargs = {**_IRLS, "maxiter": 200, "scale": 0.7, "start_params": None}
        family = sm.families.Gamma(sm.families.links.Log())
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)
            fit = models.poisson_rates(stop_counts, covariates=["force"])
        kwargs = {
            **_IRLS,
            "maxiter": 100,
            "scale": "X2" if case == "quasi_poisson" else None,
        }
        family = sm.families.Poisson()
    extra = {}
    if fit.info["function"] == "sentence_length":
        extra["var_weights"] = fit.data["_n"].to_numpy(dtype=float)
    if fit.info["function"] == "poisson_rates":
        extra["offset"] = np.log(fit.data["_exposure"].to_numpy())
    model = _model(smf.glm, fit.info["formula"], fit.data, family=family, **extra)
    ours, conv_a, _ = _quiet_fit(model, **kwargs)
    theirs, conv_b, _ = _quiet_fit(model, fast=False, **kwargs)
    assert conv_a and conv_b
    assert ours.mle_settings["optimizer"] == "IRLS" and ours.cov_type == theirs.cov_type
    np.testing.assert_allclose(ours.params, theirs.params, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.bse, theirs.bse, rtol=1e-9)
    np.testing.assert_allclose(ours.cov_params(), theirs.cov_params(), rtol=1e-8, atol=1e-15)
    for attr in ("scale", "llf", "deviance", "pearson_chi2", "df_model", "df_resid"):
        assert getattr(ours, attr) == pytest.approx(getattr(theirs, attr), rel=1e-9), attr


def test_full_rank_shortcut_agrees_with_the_svd(rng):
    X = (rng.random((500, 8)) < 0.4).astype(float)
    X[:, 0] = 1.0
    assert _clearly_full_rank(X, 1e-10)
    assert np.linalg.matrix_rank(X) == 8
    collinear = np.column_stack([X, X[:, 1] + X[:, 2]])
    assert not _clearly_full_rank(collinear, 1e-10)
    assert _null_space(collinear).shape == (9, 1)
    assert _null_space(X).shape == (8, 0)
    assert not _clearly_full_rank(X[:5], 1e-10)  # wide: not decided here
