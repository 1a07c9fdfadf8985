"""Tests of dispro.models.poisson: Poisson rate models against the RRI engine, families and
dispersion, and change over time against record-level fits."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from sentencing import CONTROLS, make_sentencing, rhs

import dispro
from dispro import models
from dispro.errors import DataQualityWarning, ParameterError, ValidationError


def test_poisson_irr_equals_rri(stop_counts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # area effect left out: overdispersed
        fit = models.poisson_rates(stop_counts, events="events", exposure="population")
    summed = stop_counts.groupby("ethnicity", as_index=False)[["events", "population"]].sum()
    ref = dispro.rri(summed, base="population", method="poisson_wald").set_index("group")
    table = fit.table.set_index("level")
    for g in ["Black", "Asian", "Mixed", "Other"]:
        assert table.loc[g, "estimate"] == pytest.approx(ref.loc[g, "rri"], rel=1e-9)
        assert table.loc[g, "ci_lower"] == pytest.approx(ref.loc[g, "ci_lower"], rel=1e-8)
        assert table.loc[g, "ci_upper"] == pytest.approx(ref.loc[g, "ci_upper"], rel=1e-8)
        assert table.loc[g, "p_value"] == pytest.approx(ref.loc[g, "p_value"], rel=1e-6, abs=1e-300)
    adj = fit.adjusted.set_index("group")
    np.testing.assert_allclose(adj.loc[ref.index, "adjusted_rr"], ref["rri"], rtol=1e-9)
    np.testing.assert_allclose(adj.loc[ref.index, "rri"], ref["rri"], rtol=1e-12)
    assert adj.loc["White", "rate"] == pytest.approx(ref.loc["White", "rate"] * 1000, rel=1e-12)


def test_poisson_families_and_dispersion(stop_counts):
    with pytest.warns(DataQualityWarning, match="Pearson dispersion"):
        plain = models.poisson_rates(stop_counts, covariates=[])
    quasi = models.poisson_rates(stop_counts, family="quasi")
    phi = plain.info["dispersion"]
    assert phi > 1.5 and quasi.info["dispersion"] == pytest.approx(phi)
    np.testing.assert_allclose(quasi.table["estimate"], plain.table["estimate"], rtol=1e-10)
    np.testing.assert_allclose(
        quasi.table["std_error"], plain.table["std_error"] * math.sqrt(phi), rtol=1e-8
    )
    adjusted = models.poisson_rates(stop_counts, covariates=["force", "quarter"])
    assert adjusted.info["dispersion"] < 1.5  # the area effect was the overdispersion
    black = adjusted.table.set_index("level").loc["Black"]
    assert black["ci_lower"] < 0.030 / 0.006 < black["ci_upper"]
    nb = models.poisson_rates(stop_counts, family="negative_binomial")
    assert nb.info["nb_alpha"] > 0
    assert "alpha" not in set(nb.table["term"])
    assert tuple(nb.adjusted.columns) == models.ADJUSTED_COLUMNS
    # log link, no interaction: standardised ratio = IRR
    np.testing.assert_allclose(
        adjusted.adjusted.set_index("group").loc[["Black", "Asian"], "adjusted_rr"],
        adjusted.table.set_index("level").loc[["Black", "Asian"], "estimate"],
        rtol=1e-9,
    )


def test_poisson_bad_input(stop_counts):
    bad = stop_counts.copy()
    bad.loc[0, "population"] = 0
    bad.loc[0, "events"] = 3
    with pytest.raises(ValidationError, match="zero `exposure`"):
        models.poisson_rates(bad)
    zero = stop_counts.copy()
    zero.loc[0, ["population", "events"]] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        fit = models.poisson_rates(zero)
    assert fit.exclusions["rows"].iloc[0] == 1
    with pytest.raises(ParameterError, match="family"):
        models.poisson_rates(stop_counts, family="poison")


def test_change_over_time_detects_planted_trend():
    frame = make_sentencing(30_000, seed=21, trend={"Black": {"2024": math.log(1.6)}})
    out = models.change_over_time(frame, outcome="custody", period="year", controls=CONTROLS)
    assert tuple(out.table.columns) == models.PERIOD_COLUMNS
    assert tuple(out.tests.columns) == models.TEST_COLUMNS
    tests = out.tests.set_index("group")
    assert tests.loc["all groups", "method"] == "likelihood ratio"
    assert tests.loc["all groups", "df"] == 5 * 2
    assert tests.loc["Black", "p_value"] < 0.001
    per = out.table.set_index(["group", "period"])
    assert per.loc[("Black", "2022"), "ci_lower"] < 1.25 < per.loc[("Black", "2022"), "ci_upper"]
    assert (
        per.loc[("Black", "2024"), "ci_lower"] < 1.25 * 1.6 < per.loc[("Black", "2024"), "ci_upper"]
    )
    # the LR statistic equals the record-level one
    data = frame.assign(_y=frame["custody"].astype(int))
    full = smf.glm("_y ~" + rhs(out), data=data, family=sm.families.Binomial()).fit(tol=1e-12)
    restricted_rhs = out.info["restricted_formula"].split("~", 1)[1]
    restricted = smf.glm("_y ~" + restricted_rhs, data=data, family=sm.families.Binomial()).fit(
        tol=1e-12
    )
    lr = 2 * (full.llf - restricted.llf)
    # scaled by the dispersion of the covariate patterns (the cells): F = LR / df / phi
    cells = data.assign(_p=full.fittedvalues).groupby(
        ["ethnicity", "year", *CONTROLS], observed=True
    )
    e, n, p = cells["_y"].sum(), cells["_y"].size(), cells["_p"].first()
    x2 = float(((e - n * p) ** 2 / (n * p * (1 - p))).sum())
    df_resid = len(e) - len(full.params)
    assert tests.loc["all groups", "dispersion_df"] == df_resid
    assert tests.loc["all groups", "dispersion"] == pytest.approx(x2 / df_resid, rel=1e-6)
    f_stat = lr / 10 / (x2 / df_resid)
    assert tests.loc["all groups", "statistic"] == pytest.approx(f_stat, rel=1e-6)
    assert tests.loc["all groups", "p_value"] == pytest.approx(
        stats.f.sf(f_stat, 10, df_resid), rel=1e-5
    )


def test_change_over_time_without_residual_df_says_so():
    frame = make_sentencing(5_000, seed=23)
    with pytest.warns(DataQualityWarning, match="assume binomial variation"):
        out = models.change_over_time(frame, outcome="custody", period="year")
    tests = out.tests.set_index("group")
    assert tests["dispersion"].isna().all() and (tests["dispersion_df"] == 0).all()
    # group x period cells only: the likelihood ratio itself, referred to chi-squared
    data = frame.assign(_y=frame["custody"].astype(int))
    full = smf.glm("_y ~ C(ethnicity) * C(year)", data, family=sm.families.Binomial()).fit()
    restricted = smf.glm("_y ~ C(ethnicity) + C(year)", data, family=sm.families.Binomial()).fit()
    lr = 2 * (full.llf - restricted.llf)
    assert tests.loc["all groups", "statistic"] == pytest.approx(lr, rel=1e-6)
    assert tests.loc["all groups", "p_value"] == pytest.approx(stats.chi2.sf(lr, 10), rel=1e-5)


def test_change_over_time_no_trend_and_cluster():
    frame = make_sentencing(30_000, seed=22)
    out = models.change_over_time(
        frame, outcome="custody", period="year", controls=["offence_group"], cluster="force"
    )
    assert out.tests["method"].iloc[0] == "Wald (cluster-robust)"
    assert out.tests["p_value"].iloc[0] > 0.001
    with pytest.raises(ParameterError, match="period_reference"):
        models.change_over_time(frame, outcome="custody", period="year", period_reference="2021")
