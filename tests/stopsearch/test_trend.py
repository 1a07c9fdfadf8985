"""Change over time in the RRI (:func:`dispro.stopsearch.trend_test`)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from dispro.errors import DataQualityWarning, ValidationError
from dispro.stopsearch import TREND_TEST_COLUMNS, trend_test


def test_two_period_change_matches_the_wald_ratio_of_rris():
    counts = pd.DataFrame(
        {
            "ethnicity": ["White", "Black"] * 2,
            "period": ["2022", "2022", "2023", "2023"],
            "events": [400, 80, 380, 110],
            "base": [100_000, 8_000, 100_000, 8_000],
        }
    )
    # two periods of one row each: no residual df, so no dispersion, and a warning saying so
    with pytest.warns(DataQualityWarning, match="assume Poisson variation"):
        out = trend_test(counts).set_index("test").loc["change"]
    ratio = ((110 / 8_000) / (380 / 100_000)) / ((80 / 8_000) / (400 / 100_000))
    se = np.sqrt(1 / 400 + 1 / 80 + 1 / 380 + 1 / 110)
    assert out["estimate"] == pytest.approx(ratio, rel=1e-6)
    assert out["ci_lower"] == pytest.approx(ratio * np.exp(-1.959963985 * se), rel=1e-6)
    assert out["ci_upper"] == pytest.approx(ratio * np.exp(1.959963985 * se), rel=1e-6)
    assert out["df"] == 1
    assert np.isnan(out["dispersion"]) and out["dispersion_df"] == 0
    # the likelihood-ratio statistic of the interaction, from statsmodels on the four rows
    d = counts.assign(g=(counts["ethnicity"] == "Black").astype(int))
    offset = np.log(d["base"])
    fit = lambda f: smf.glm(f, d, family=sm.families.Poisson(), offset=offset).fit()  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the saturated fit: zero residual df, a perfect fit
        lr = fit("events ~ C(period) + g").deviance - fit("events ~ C(period) * g").deviance
    assert out["statistic"] == pytest.approx(lr, rel=1e-6)
    assert out["p_value"] == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-6)


@pytest.mark.slow
def test_trend_test_size_and_power_by_simulation():
    rng = np.random.default_rng(7)
    periods = [f"2023Q{q}" for q in range(1, 5)]

    def simulate(drift, n):
        """``n`` series (``by``) of three areas' monthly counts over four quarters."""
        rows = []
        for t, p in enumerate(periods):
            for m in range(3):  # monthly counts: the months give the dispersion its df
                white = rng.poisson(100, (n, 3)).sum(axis=1)
                black = rng.poisson(20 * drift**t, (n, 3)).sum(axis=1)
                for g, y, base in (("White", white, 300_000), ("Black", black, 15_000)):
                    rows.append(
                        pd.DataFrame({"series": np.arange(n), "ethnicity": g, "period": p,
                                      "month": f"{p}-{m}", "events": y, "base": base})
                    )  # fmt: skip
        return pd.concat(rows, ignore_index=True)

    def trend(drift, n):
        out = trend_test(simulate(drift, n), time="month", by="series")
        return out[out["test"] == "trend"]

    null = trend(1.0, 2_000)
    assert (null["dispersion_df"] == 10).all()
    assert 0.035 <= np.mean(null["p_value"] < 0.05) <= 0.07
    alt = trend(0.8, 200)
    assert np.mean(alt["p_value"] < 0.05) > 0.9
    assert np.mean(alt["estimate"]) == pytest.approx(0.8, abs=0.05)


def monthly(rng, months=15, per_period=1, sigma=0.02, mean=60_000, step=1.0, groups=None):
    """Monthly counts with a constant RRI and ``sigma`` lognormal variation per group-month."""
    groups = groups or {"White": (mean, 1_000_000.0), "Black": (mean / 5, 50_000.0)}
    common = rng.lognormal(0.0, 0.10, months)
    period = np.arange(months) // per_period
    rows = []
    for g, (mu, base) in groups.items():
        lift = np.where((period == period.max()) & (g != "White"), step, 1.0)
        y = rng.poisson(mu * common * lift * rng.lognormal(0.0, sigma, months))
        rows.append(
            pd.DataFrame(
                {"ethnicity": g, "month": np.arange(months), "period": period, "events": y,
                 "base": base}
            )
        )  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def test_change_test_holds_its_size_with_month_to_month_variation():
    """Issue 11 (5): 15 months, constant RRI, 2% variation in each group's monthly rate, large
    counts. The saturated model's dispersion (always 1) made ``change`` reject in 84% of series
    and ``trend`` in 21% at alpha 0.05 (on this simulation: 100% and 53%); with the dispersion
    from the residual df both hold 5% (10% bounds 250 series' rate at over 3 SE; the 3.5-7%
    window is checked on 5,000 series a setting in test_trend_size.py)."""
    rng = np.random.default_rng(11)
    found = [trend_test(monthly(rng)).set_index("test") for _ in range(250)]
    change = np.mean([f.loc["change", "p_value"] < 0.05 for f in found])
    trend = np.mean([f.loc["trend", "p_value"] < 0.05 for f in found])
    assert change <= 0.10 and trend <= 0.10, (change, trend)
    assert all((f["dispersion_df"] == 13).all() for f in found)
    # 2% of 60,000 and 12,000 a month is far more than Poisson: the dispersion shows it
    assert np.median([f.loc["change", "dispersion"] for f in found]) > 4


def test_agrees_with_statsmodels_quasi_poisson_with_month_fixed_effects():
    rng = np.random.default_rng(3)
    groups = {"White": (600, 1e6), "Black": (120, 5e4), "Asian": (200, 1e5)}
    counts = monthly(rng, months=15, per_period=3, sigma=0.1, groups=groups)
    counts["quarter"] = "Q" + counts["period"].astype(str)
    out = trend_test(counts, period="quarter", time="month", alpha=0.1)
    assert list(out.columns) == list(TREND_TEST_COLUMNS)
    assert list(out["group"]) == ["Asian", "Asian", "Black", "Black"]
    assert list(out["test"]) == ["change", "trend"] * 2
    assert (out["periods"] == "Q0 to Q4 (5)").all()
    for g in ("Asian", "Black"):
        d = counts[counts["ethnicity"].isin([g, "White"])].copy()
        d["g"] = (d["ethnicity"] == g).astype(int)
        d["latest"] = (d["period"] == 4).astype(int)
        d["t"] = d["period"].astype(float)
        offset = np.log(d["base"])
        family = sm.families.Poisson()
        null = smf.glm("events ~ C(month) + g", d, family=family, offset=offset).fit()
        for test, x in (("change", "latest"), ("trend", "t")):
            fit = smf.glm(f"events ~ C(month) + g + g:{x}", d, family=family, offset=offset)
            fit = fit.fit(scale="X2")  # Pearson chi2 / residual df
            row = out[(out["group"] == g) & (out["test"] == test)].iloc[0]
            b, se = fit.params[f"g:{x}"], fit.bse[f"g:{x}"]
            q = stats.t.ppf(0.95, fit.df_resid)
            assert row["dispersion"] == pytest.approx(fit.scale, rel=1e-6)
            assert row["dispersion_df"] == fit.df_resid == 13
            assert row["estimate"] == pytest.approx(np.exp(b), rel=1e-7)
            assert row["ci_lower"] == pytest.approx(np.exp(b - q * se), rel=1e-6)
            assert row["ci_upper"] == pytest.approx(np.exp(b + q * se), rel=1e-6)
            f_stat = (null.deviance - fit.deviance) / fit.scale
            if test == "change":
                assert row["statistic"] == pytest.approx(f_stat, rel=1e-6)
            else:  # the signed root of the same F
                assert row["statistic"] == pytest.approx(np.sign(b) * np.sqrt(f_stat), rel=1e-6)
            assert row["p_value"] == pytest.approx(stats.f.sf(f_stat, 1, 13), rel=1e-6)


def test_two_quarters_from_months_take_the_dispersion_from_the_months():
    rng = np.random.default_rng(5)
    counts = monthly(rng, months=6, per_period=3, sigma=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)  # the months give residual df
        out = trend_test(counts, time="month").set_index("test")
    assert (out["dispersion_df"] == 4).all()
    # with two periods, the change is the trend
    for c in ("estimate", "ci_lower", "ci_upper", "dispersion", "p_value"):
        assert out.loc["change", c] == pytest.approx(out.loc["trend", c], rel=1e-9)
    assert out.loc["change", "statistic"] == pytest.approx(out.loc["trend", "statistic"] ** 2)
    # the quarters summed (no months) have no residual df: the same estimate, no dispersion
    quarters = counts.groupby(["ethnicity", "period"], as_index=False)[["events", "base"]].sum()
    with pytest.warns(DataQualityWarning):
        summed = trend_test(quarters).set_index("test")
    assert summed.loc["change", "dispersion_df"] == 0
    assert summed.loc["change", "estimate"] == pytest.approx(
        out.loc["change", "estimate"], rel=0.01
    )


def test_by_gives_the_separate_comparisons():
    rng = np.random.default_rng(8)
    counts = pd.concat(
        [monthly(rng, months=8, per_period=4).assign(force=f) for f in ("Dorset", "Kent")],
        ignore_index=True,
    )
    both = trend_test(counts, by="force", time="month")
    assert list(both.columns) == ["force", *TREND_TEST_COLUMNS]
    for force, rows in both.groupby("force"):
        alone = trend_test(counts[counts["force"] == force], time="month")
        pd.testing.assert_frame_equal(
            rows.drop(columns="force").reset_index(drop=True), alone, rtol=1e-9
        )


def test_a_step_in_the_latest_period_is_estimated():
    rng = np.random.default_rng(9)
    est = [
        trend_test(monthly(rng, sigma=0.0, step=1.15)).set_index("test").loc["change"]
        for _ in range(20)
    ]
    assert np.exp(np.mean([np.log(e["estimate"]) for e in est])) == pytest.approx(1.15, abs=0.01)
    assert all(e["p_value"] < 0.05 for e in est)


def test_no_events_in_the_latest_period_still_tests_the_change():
    counts = monthly(np.random.default_rng(2), months=12, mean=100)
    counts.loc[(counts["ethnicity"] == "Black") & (counts["month"] == 11), "events"] = 0
    out = trend_test(counts).set_index("test")
    # the change model fits the latest month exactly (the RRI ratio runs to 0): its deviance and
    # Pearson X2 are those of the null model on the other eleven months, with 10 residual df
    d = counts.assign(g=(counts["ethnicity"] == "Black").astype(int))

    def fit(rows):
        rows = rows.assign(o=np.log(rows["base"]))
        model = smf.glm("events ~ C(month) + g", rows, family=sm.families.Poisson(), offset=rows.o)
        return model.fit()

    full, rest = fit(d), fit(d[d["month"] < 11])
    phi = rest.pearson_chi2 / 10
    f_stat = (full.deviance - rest.deviance) / phi
    row = out.loc["change"]
    assert row["dispersion_df"] == 10 and row["dispersion"] == pytest.approx(phi, rel=1e-6)
    assert row["statistic"] == pytest.approx(f_stat, rel=1e-5)
    assert row["p_value"] == pytest.approx(stats.f.sf(f_stat, 1, 10), rel=1e-5)
    assert np.isnan(row["estimate"]) and np.isnan(row["ci_lower"])
    assert np.isfinite(out.loc["trend", ["estimate", "p_value"]].astype(float)).all()


def test_a_group_without_events_has_no_rows():
    counts = monthly(np.random.default_rng(4), months=6, per_period=3, mean=100)
    counts = pd.concat(
        [counts, counts[counts["ethnicity"] == "Black"].assign(ethnicity="Asian", events=0)]
    )
    out = trend_test(counts, time="month")
    assert set(out["group"]) == {"Black"}


def test_categorical_periods_keep_their_order():
    counts = pd.DataFrame(
        {
            "group": ["White", "Black"] * 2,
            "window": pd.Categorical(["latest"] * 2 + ["comparison"] * 2, ["latest", "comparison"]),
            "events": [400, 80, 380, 110],
            "base": [1e5, 8e3, 1e5, 8e3],
        }
    )
    with pytest.warns(DataQualityWarning):
        out = trend_test(counts, group="group", period="window").set_index("test")
    assert out.loc["change", "periods"] == "latest to comparison (2)"
    assert out.loc["change", "estimate"] == pytest.approx((110 / 380) / (80 / 400))


def test_bad_input_names_the_problem():
    counts = monthly(np.random.default_rng(1), months=6, per_period=3)
    with pytest.raises(ValidationError, match="'month' .given as `time`"):
        trend_test(counts.drop(columns="month"), time="month")
    with pytest.raises(ValidationError, match="must fall in one period"):
        trend_test(counts.assign(month=counts["month"] % 2), time="month")
    with pytest.raises(ValidationError, match=r"\['events'\] of the counts have missing values"):
        trend_test(counts.assign(events=counts["events"].where(counts["month"] != 2)))
    with pytest.raises(ValidationError, match="'base' .given as `exposure`. must not be negative"):
        trend_test(counts.assign(base=-counts["base"]))
    with pytest.raises(ValidationError, match="at least two periods"):
        trend_test(counts[counts["period"] == 0])
    with pytest.raises(ValidationError, match="reference group 'Asian'"):
        trend_test(counts, reference="Asian")
