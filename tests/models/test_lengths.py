"""Tests of dispro.models.lengths (sentence_length) against record-level statsmodels fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from sentencing import rhs

from dispro import models
from dispro.errors import ParameterError, ValidationError


def test_sentence_length_gamma_equals_record_level(big):
    fit = models.sentence_length(big, controls=["offence_group", "previous_convictions"])
    custody = big[big["outcome"] == "immediate_custody"]
    rec = smf.glm(
        "custody_months ~" + rhs(fit), data=custody,
        family=sm.families.Gamma(sm.families.links.Log()),
    ).fit(tol=1e-12)  # fmt: skip
    np.testing.assert_allclose(fit.model.params, rec.params, atol=1e-8)
    np.testing.assert_allclose(fit.model.bse, rec.bse, atol=1e-8)
    black = fit.table.set_index("level").loc["Black"]
    assert black["ci_lower"] < 1.15 < black["ci_upper"]
    assert fit.info["data_level"] == "cells"
    led = fit.exclusions
    assert led["rows"].iloc[0] == (big["outcome"] != "immediate_custody").sum()


def test_sentence_length_log_ols_equals_ols(big):
    fit = models.sentence_length(
        big, controls=["offence_group", "previous_convictions"], method="log_ols"
    )
    custody = big[big["outcome"] == "immediate_custody"].assign(
        _log=lambda f: np.log(f["custody_months"])
    )
    ols = smf.ols("_log ~" + rhs(fit), data=custody).fit()
    np.testing.assert_allclose(fit.model.params, ols.params, atol=1e-8)
    np.testing.assert_allclose(fit.model.bse, ols.bse, atol=1e-8)
    ci = np.exp(ols.conf_int(0.05))
    table = fit.table.set_index("term")
    np.testing.assert_allclose(table.loc[ci.index, "ci_lower"], ci[0], rtol=1e-8)
    np.testing.assert_allclose(table.loc[ci.index, "ci_upper"], ci[1], rtol=1e-8)
    np.testing.assert_allclose(table.loc[ci.index, "p_value"], ols.pvalues, rtol=1e-6, atol=1e-300)


def test_sentence_length_cluster_and_bad_values(big):
    frame = big.iloc[:30_000]
    fit = models.sentence_length(frame, controls=["offence_group"], cluster="force")
    rec = models.sentence_length(
        frame, controls=["offence_group"], cluster="force", data_level="records"
    )
    np.testing.assert_allclose(fit.model.bse, rec.model.bse, atol=1e-8)
    custody = frame[frame["outcome"] == "immediate_custody"]
    sm_rec = smf.glm(
        "custody_months ~" + rhs(fit), data=custody,
        family=sm.families.Gamma(sm.families.links.Log()),
    ).fit(tol=1e-12, cov_type="cluster", cov_kwds={"groups": pd.factorize(custody["force"])[0]})  # fmt: skip
    np.testing.assert_allclose(fit.model.bse, sm_rec.bse, atol=1e-8)
    bad = frame.copy()
    first = bad.index[bad["outcome"] == "immediate_custody"][0]
    bad.loc[first, "custody_months"] = 0.0
    with pytest.raises(ValidationError, match="0 or less"):
        models.sentence_length(bad)
    life = frame.copy()
    life.loc[first, "custody_months"] = np.nan
    out = models.sentence_length(life)
    assert out.exclusions["rows"].iloc[1] == 1
    with pytest.raises(ParameterError, match="method"):
        models.sentence_length(frame, method="ols")
