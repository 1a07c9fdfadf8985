"""Tests of dispro.models.poisson: Poisson rate models against the RRI engine, families and
dispersion, and change over time against record-level fits."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
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


def _pure_poisson_counts(seed: int, periods: int = 12, scale: float = 0.05):
    """Pure Poisson counts (no overdispersion) with a population offset: five groups over
    ``periods`` months, populations of 1,000 to 45,000, monthly rates of 0.3 to 1.7 per 1,000."""
    rng = np.random.default_rng(seed)
    rate = {"White": 0.004, "Black": 0.02, "Asian": 0.008, "Mixed": 0.01, "Other": 0.006}
    pops = {"White": 900_000, "Black": 40_000, "Asian": 80_000, "Mixed": 30_000, "Other": 20_000}
    rows = [
        {"month": f"M{m:02d}", "ethnicity": g, "population": pops[g] * scale,
         "events": int(rng.poisson(pops[g] * scale * r / 12))}
        for m in range(periods) for g, r in rate.items()
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_negative_binomial_without_overdispersion_falls_back_to_poisson():
    """Issue 11: statsmodels' NB2 fit drives log(alpha) to minus infinity when the counts show no
    overdispersion, and its singular Hessian raised "need covariance of parameters". The
    maximum-likelihood alpha is 0 there: dispro reports the Poisson fit with alpha = 0."""
    counts = _pure_poisson_counts(seed=0)
    y = counts["events"].to_numpy(dtype=float)
    offset = np.log(counts["population"].to_numpy(dtype=float))
    ref = smf.glm('events ~ C(ethnicity, Treatment(reference="White"))', data=counts,
                  family=sm.families.Poisson(), offset=offset).fit(tol=1e-12)  # fmt: skip
    # the score of the NB2 log-likelihood in alpha at alpha = 0 (Cameron & Trivedi 1990) is
    # negative at the Poisson fit: the likelihood falls as alpha leaves 0
    assert np.sum((y - ref.mu) ** 2 - y) < 0
    fit = models.poisson_rates(counts, family="negative_binomial")
    assert fit.info["nb_alpha"] == 0.0 and fit.info["nb_boundary"] is True
    assert any("boundary" in note and "alpha = 0" in note for note in fit.info["notes"])
    np.testing.assert_allclose(fit.model.params, ref.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(fit.model.bse, ref.bse, rtol=1e-7)
    table = fit.table.set_index("level")
    black = math.exp(ref.params['C(ethnicity, Treatment(reference="White"))[T.Black]'])
    assert table.loc["Black", "estimate"] == pytest.approx(black, rel=1e-8)
    # the dispersion and its df by hand: Pearson X² over n - k - 1 (alpha counted)
    k = len(ref.params)
    x2 = float(np.sum((y - ref.mu) ** 2 / ref.mu))
    assert fit.info["dispersion_df"] == fit.info["df_resid"] == len(counts) - k - 1
    assert fit.info["pearson_chi2"] == pytest.approx(x2, rel=1e-7)
    assert fit.info["dispersion"] == pytest.approx(x2 / (len(counts) - k - 1), rel=1e-7)
    assert fit.table.attrs["dispersion_df"] == len(counts) - k - 1
    # other pure-Poisson tables that raised it fit cleanly too: a result, never a statsmodels error
    for seed, periods in ((1, 12), (5, 12), (0, 4), (6, 6)):
        out = models.poisson_rates(_pure_poisson_counts(seed, periods), family="negative_binomial")
        assert out.info["nb_boundary"] == (out.info["nb_alpha"] == 0.0)
        assert np.isfinite(out.table["std_error"]).all()


def test_negative_binomial_recovers_planted_overdispersion():
    """NB2 counts with alpha = 0.15 (a gamma-distributed multiplier of the Poisson mean, variance
    mu + 0.15 mu²), five groups x 60 months: alpha is recovered (its standard error is about
    sqrt(2/300) = 8% of it here) and so are the planted rate ratios (the standard error of each
    log ratio is about sqrt(2 x 0.15 / 60) = 0.07), with intervals wider than the Poisson ones."""
    rng = np.random.default_rng(2024)
    truth = 0.15
    rate = {"White": 0.004, "Black": 0.02, "Asian": 0.008, "Mixed": 0.01, "Other": 0.006}
    rows = []
    for m in range(60):
        for g, r in rate.items():
            pop = float(rng.integers(20_000, 400_000))
            mu = pop * r / 12 * rng.gamma(1 / truth, truth)
            rows.append({"month": m, "ethnicity": g, "population": pop, "events": rng.poisson(mu)})
    counts = pd.DataFrame(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        plain = models.poisson_rates(counts)
    fit = models.poisson_rates(counts, family="negative_binomial")
    assert plain.info["dispersion"] > 5  # the overdispersion a Poisson model cannot absorb
    assert fit.info["nb_boundary"] is False
    assert fit.info["nb_alpha"] == pytest.approx(truth, rel=0.3)
    assert 0.5 < fit.info["dispersion"] < 1.5  # NB2 absorbs it
    assert fit.info["dispersion_df"] == len(counts) - 5 - 1
    table = fit.table.set_index("level")
    poisson_table = plain.table.set_index("level")
    for g in ["Black", "Asian", "Mixed", "Other"]:
        assert table.loc[g, "estimate"] == pytest.approx(rate[g] / rate["White"], rel=0.25)
        assert table.loc[g, "std_error"] > 2 * poisson_table.loc[g, "std_error"]


def test_poisson_reports_dispersion_and_its_df(stop_counts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        fit = models.poisson_rates(stop_counts, covariates=["force"])
    ref = smf.glm(
        'events ~ C(ethnicity, Treatment(reference="White")) + force', data=stop_counts,
        family=sm.families.Poisson(), offset=np.log(stop_counts["population"]),
    ).fit(tol=1e-12)  # fmt: skip
    assert fit.info["dispersion_df"] == ref.df_resid == len(stop_counts) - 7
    assert fit.info["dispersion"] == pytest.approx(ref.pearson_chi2 / ref.df_resid, rel=1e-8)
    assert f"on {int(ref.df_resid)} df" in fit.info["notes"][-1]
