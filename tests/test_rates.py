"""Tests of the RRI engine against independent references (hand calculation, statsmodels, SciPy)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.multitest import multipletests

import dispro
from dispro._stats import katz as _katz
from dispro._stats import poisson_exact as _poisson_exact
from dispro.errors import (
    LowCountWarning,
    ParameterError,
    ReferenceGroupError,
    ValidationError,
    ZeroCellWarning,
)
from dispro.rates import RRI_COLUMNS, STATUSES


def two_groups(a, A, b, B, group="Black"):
    return pd.DataFrame({"ethnicity": ["White", group], "events": [b, a], "base": [B, A]})


def row(table, group="Black"):
    return table.loc[table["group"] == group].iloc[0]


# ------------------------------------------------------------------ contract


def test_columns_are_the_contract():
    out = dispro.rri(two_groups(120, 1000, 400, 5000))
    assert tuple(out.columns) == RRI_COLUMNS
    assert RRI_COLUMNS == (
        "group",
        "events",
        "base",
        "rate",
        "reference_events",
        "reference_base",
        "reference_rate",
        "rri",
        "ci_lower",
        "ci_upper",
        "p_value",
        "q_value",
        "significant",
        "status",
    )
    out = dispro.rri(two_groups(120, 1000, 400, 5000).assign(force="Dorset"), by="force")
    assert tuple(out.columns) == ("force", *RRI_COLUMNS)
    assert set(out["status"]) <= set(STATUSES)


def test_reference_row_is_one_without_interval():
    out = dispro.rri(two_groups(120, 1000, 400, 5000))
    ref = row(out, "White")
    assert ref["rri"] == 1.0
    assert np.isnan(ref["ci_lower"]) and np.isnan(ref["ci_upper"]) and np.isnan(ref["p_value"])
    assert out.iloc[0]["group"] == "White"


# ------------------------------------------------------------------ Katz


def test_katz_worked_case_from_methods():
    # METHODS.md: a=120, A=1000, b=400, B=5000 -> RRI 1.5000, SE 0.098150, CI 1.2375 to 1.8182
    r = row(dispro.rri(two_groups(120, 1000, 400, 5000)))
    assert r["rri"] == pytest.approx(1.5, abs=5e-5)
    assert round(r["ci_lower"], 4) == 1.2375
    assert round(r["ci_upper"], 4) == 1.8182
    se = np.log(r["ci_upper"] / r["rri"]) / stats.norm.ppf(0.975)
    assert se == pytest.approx(0.098150, abs=5e-7)
    # p-value from z = ln(1.5) / SE
    assert r["p_value"] == pytest.approx(2 * stats.norm.sf(np.log(1.5) / 0.098150), rel=1e-4)


def test_katz_agrees_with_statsmodels_table2x2_on_random_tables():
    rng = np.random.default_rng(20261122)
    for _ in range(200):
        A, B = rng.integers(20, 5000, size=2)
        a = int(rng.integers(1, A))
        b = int(rng.integers(1, B))
        alpha = float(rng.choice([0.05, 0.1, 0.01]))
        r = row(dispro.rri(two_groups(a, A, b, B), alpha=alpha))
        t = Table2x2(np.array([[a, A - a], [b, B - b]]))
        lo, hi = t.riskratio_confint(alpha=alpha)  # log scale: the Katz interval
        assert r["rri"] == pytest.approx(t.riskratio, rel=1e-10)
        assert r["ci_lower"] == pytest.approx(lo, rel=1e-10)
        assert r["ci_upper"] == pytest.approx(hi, rel=1e-10)
        assert r["p_value"] == pytest.approx(t.riskratio_pvalue(), rel=1e-8, abs=1e-300)


# ------------------------------------------------------------------ Poisson methods


def _scipy_exact(a, P, b, Q, alpha=0.05):
    """Independent reference: SciPy's exact binomial test and Clopper-Pearson interval."""
    n, pi0 = a + b, P / (P + Q)
    res = stats.binomtest(a, n, pi0)
    ci = res.proportion_ci(confidence_level=1 - alpha, method="exact")
    to_ratio = lambda p: p / (1 - p) * Q / P if p < 1 else np.inf  # noqa: E731
    p_two = min(
        1.0,
        2
        * min(
            stats.binomtest(a, n, pi0, alternative="less").pvalue,
            stats.binomtest(a, n, pi0, alternative="greater").pvalue,
        ),
    )
    return to_ratio(ci.low), to_ratio(ci.high), p_two


def test_poisson_exact_agrees_with_scipy_binomtest():
    rng = np.random.default_rng(7)
    pops = pd.DataFrame({"ethnicity": [], "population": []})
    for _ in range(150):
        P, Q = rng.integers(500, 400_000, size=2).astype(float)
        a = int(rng.integers(0, 300))
        b = int(rng.integers(1, 900))
        alpha = float(rng.choice([0.05, 0.1]))
        counts = pd.DataFrame({"ethnicity": ["White", "Black"], "events": [b, a]})
        pops = pd.DataFrame({"ethnicity": ["White", "Black"], "population": [Q, P]})
        r = row(dispro.rri(counts, base=pops, alpha=alpha))
        lo, hi, p = _scipy_exact(a, P, b, Q, alpha)
        assert r["rri"] == pytest.approx((a / P) / (b / Q), rel=1e-12)
        assert r["ci_lower"] == pytest.approx(lo, rel=1e-7, abs=1e-12)
        assert r["ci_upper"] == pytest.approx(hi, rel=1e-7)
        assert r["p_value"] == pytest.approx(p, rel=1e-6, abs=1e-14)
        # the interval and the test agree
        if r["p_value"] < alpha - 1e-9:
            assert not (r["ci_lower"] <= 1 <= r["ci_upper"])
        if r["p_value"] > alpha + 1e-9:
            assert r["ci_lower"] <= 1 <= r["ci_upper"]


def test_poisson_exact_zero_events_gives_finite_upper_bound():
    counts = pd.DataFrame({"ethnicity": ["White", "Black"], "events": [50, 0]})
    pops = pd.DataFrame({"ethnicity": ["White", "Black"], "population": [100_000, 5_000]})
    r = row(dispro.rri(counts, base=pops))
    assert r["status"] == "zero_events"
    assert r["rri"] == 0 and r["ci_lower"] == 0
    lo, hi, p = _scipy_exact(0, 5000, 50, 100_000)
    assert np.isfinite(r["ci_upper"]) and r["ci_upper"] == pytest.approx(hi, rel=1e-7)
    assert r["p_value"] == pytest.approx(p, rel=1e-6)


def test_poisson_wald_hand_calculation():
    counts = pd.DataFrame({"ethnicity": ["White", "Black"], "events": [400, 120]})
    pops = pd.DataFrame({"ethnicity": ["White", "Black"], "population": [500_000.0, 40_000.0]})
    r = row(dispro.rri(counts, base=pops, method="poisson_wald"))
    ratio = (120 / 40_000) / (400 / 500_000)
    se = np.sqrt(1 / 120 + 1 / 400)
    assert r["rri"] == pytest.approx(ratio)
    assert r["ci_lower"] == pytest.approx(ratio * np.exp(-1.959963984540054 * se))
    assert r["ci_upper"] == pytest.approx(ratio * np.exp(1.959963984540054 * se))
    assert r["rate"] == pytest.approx(120 / 40_000 * 1000)  # per 1,000 by default


def test_population_join_on_by_columns_and_sums_other_dimensions():
    counts = pd.DataFrame(
        {
            "area": ["Dorset"] * 2 + ["Wiltshire"] * 2,
            "ethnicity": ["White", "Black"] * 2,
            "events": [300, 40, 500, 60],
        }
    )
    pops = pd.DataFrame(
        {
            "area": ["Dorset"] * 4 + ["Wiltshire"] * 4,
            "ethnicity": ["White", "White", "Black", "Black"] * 2,
            "sex": ["Female", "Male"] * 4,
            "population": [350_000, 340_000, 3_000, 3_500, 300_000, 310_000, 6_000, 6_500],
        }
    )
    out = dispro.rri(counts, base=pops, by="area")
    d = out[(out.area == "Dorset") & (out.group == "Black")].iloc[0]
    assert d["base"] == 6_500 and d["reference_base"] == 690_000
    assert d["rri"] == pytest.approx((40 / 6_500) / (300 / 690_000))
    # a group with no population row has no base
    counts2 = pd.concat(
        [counts, pd.DataFrame({"area": ["Dorset"], "ethnicity": ["Mixed"], "events": [7]})]
    )
    out2 = dispro.rri(counts2, base=pops, by="area")
    assert row(out2, "Mixed")["status"] == "no_base" and np.isnan(row(out2, "Mixed")["rri"])


# ------------------------------------------------------------------ properties


counts_strategy = st.tuples(
    st.integers(1, 5_000), st.integers(1, 5_000), st.integers(1, 5_000), st.integers(1, 5_000)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts_strategy, st.sampled_from(["katz", "poisson_exact", "poisson_wald"]))
def test_swapping_group_and_reference_inverts(t, method):
    a, extra_a, b, extra_b = t
    A, B = a + extra_a, b + extra_b
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LowCountWarning)
        fwd = row(dispro.rri(two_groups(a, A, b, B), method=method))
        back = dispro.rri(two_groups(a, A, b, B), method=method, reference="Black")
    rev = row(back, "White")
    assert rev["rri"] == pytest.approx(1 / fwd["rri"], rel=1e-9)
    assert rev["ci_lower"] == pytest.approx(1 / fwd["ci_upper"], rel=1e-6)
    assert rev["ci_upper"] == pytest.approx(1 / fwd["ci_lower"], rel=1e-6)
    assert rev["p_value"] == pytest.approx(fwd["p_value"], rel=1e-6, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(counts_strategy, st.sampled_from([1, 100, 1000, 100_000]))
def test_rri_does_not_depend_on_per(t, per):
    a, extra_a, b, extra_b = t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LowCountWarning)
        one = row(dispro.rri(two_groups(a, a + extra_a, b, b + extra_b)))
        scaled = row(dispro.rri(two_groups(a, a + extra_a, b, b + extra_b), per=per))
    for col in ("rri", "ci_lower", "ci_upper", "p_value"):
        assert scaled[col] == pytest.approx(one[col], rel=1e-12)
    assert scaled["rate"] == pytest.approx(one["rate"] * per, rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    counts_strategy, st.integers(2, 50), st.sampled_from(["katz", "poisson_exact", "poisson_wald"])
)
def test_scaling_counts_narrows_the_interval(t, k, method):
    a, extra_a, b, extra_b = t
    A, B = a + extra_a, b + extra_b
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LowCountWarning)
        small = row(dispro.rri(two_groups(a, A, b, B), method=method))
        big = row(dispro.rri(two_groups(k * a, k * A, k * b, k * B), method=method))
    assert big["rri"] == pytest.approx(small["rri"], rel=1e-12)
    width_small = np.log(small["ci_upper"]) - np.log(small["ci_lower"])
    width_big = np.log(big["ci_upper"]) - np.log(big["ci_lower"])
    assert width_big < width_small


# ------------------------------------------------------------------ coverage by simulation


@pytest.mark.slow
def test_katz_coverage_is_95_percent():
    rng = np.random.default_rng(12345)
    n_sim = 20_000
    A, B, p1, p0 = 800, 1500, 0.09, 0.06  # true RR 1.5; ~72 and ~90 events
    a = rng.binomial(A, p1, n_sim)
    b = rng.binomial(B, p0, n_sim)
    assert a.min() > 0 and b.min() > 0
    _, lo, hi, _ = _katz(a, A, b, B, stats.norm.ppf(0.975))
    coverage = np.mean((lo <= 1.5) & (1.5 <= hi))
    assert 0.94 <= coverage <= 0.96, coverage
    # the public function gives the same intervals (spot check on the first 2,000 tables)
    table = pd.DataFrame(
        {
            "sim": np.repeat(np.arange(2000), 2),
            "ethnicity": np.tile(["White", "Black"], 2000),
            "events": np.column_stack([b[:2000], a[:2000]]).ravel(),
            "base": np.tile([B, A], 2000),
        }
    )
    out = dispro.rri(table, by="sim")
    black = out[out.group == "Black"].sort_values("sim")
    np.testing.assert_allclose(black["ci_lower"], lo[:2000], rtol=1e-12)
    cov_2000 = np.mean((black["ci_lower"] <= 1.5) & (1.5 <= black["ci_upper"]))
    assert 0.94 <= cov_2000 <= 0.96, cov_2000


@pytest.mark.slow
def test_exact_coverage_is_at_least_95_percent():
    rng = np.random.default_rng(54321)
    n_sim = 20_000
    P, Q, r1, r0 = 20_000.0, 300_000.0, 0.004, 0.002  # true rate ratio 2; ~80 and ~600 events
    a = rng.poisson(P * r1, n_sim)
    b = rng.poisson(Q * r0, n_sim)
    _, lo, hi, _ = _poisson_exact(a, P, b, Q, 0.05)
    coverage = np.mean((lo <= 2.0) & (2.0 <= hi))
    assert coverage >= 0.95, coverage
    assert coverage <= 0.975, coverage  # exact, but not absurdly conservative
    # small counts: still at least nominal
    a = rng.poisson(3.0, n_sim)
    b = rng.poisson(6.0, n_sim)
    _, lo, hi, _ = _poisson_exact(a, 1000.0, b, 1000.0, 0.05)
    assert np.mean((lo <= 0.5) & (0.5 <= hi)) >= 0.95


# ------------------------------------------------------------------ multiple testing


def test_q_values_are_benjamini_hochberg():
    rng = np.random.default_rng(3)
    groups = ["White", "Black", "Asian", "Mixed", "Other"]
    forces = ["Hampshire", "Dorset", "Wiltshire", "Kent"]
    counts = pd.DataFrame(
        [
            (f, g, int(rng.integers(5, 200)), int(rng.integers(1000, 3000)))
            for f in forces
            for g in groups
        ],
        columns=["force", "ethnicity", "events", "base"],
    )
    out = dispro.rri(counts, by="force")
    tested = out["p_value"].notna()
    expected = multipletests(out.loc[tested, "p_value"], method="fdr_bh")[1]
    np.testing.assert_allclose(out.loc[tested, "q_value"], expected, rtol=1e-12)
    assert (out.loc[tested, "significant"] == (out.loc[tested, "q_value"] < 0.05)).all()
    assert out.loc[~tested, "significant"].isna().all()
    # families: one per force
    fam = dispro.rri(counts, by="force", family="force")
    for f in forces:
        sel = (fam.force == f) & fam["p_value"].notna()
        np.testing.assert_allclose(
            fam.loc[sel, "q_value"], multipletests(fam.loc[sel, "p_value"], method="fdr_bh")[1]
        )
    unadjusted = dispro.rri(counts, by="force", adjust=None)
    assert (
        unadjusted.loc[tested, "significant"] == (unadjusted.loc[tested, "p_value"] < 0.05)
    ).all()


# ------------------------------------------------------------------ degenerate inputs


def test_zero_events_in_group():
    r = row(dispro.rri(two_groups(0, 500, 100, 5000)))
    assert r["status"] == "zero_events" and r["rri"] == 0
    assert np.isnan(r["ci_lower"]) and np.isnan(r["p_value"])  # Katz has no interval at a = 0


def test_zero_events_in_reference():
    out = dispro.rri(two_groups(10, 500, 0, 5000))
    r = row(out)
    assert r["status"] == "reference_zero" and np.isnan(r["rri"]) and np.isnan(r["ci_upper"])
    assert row(out, "White")["status"] == "reference_zero"


def test_explicit_continuity_correction_is_recorded():
    with pytest.warns(ZeroCellWarning):
        out = dispro.rri(two_groups(0, 500, 100, 5000), correction=0.5)
    r = row(out)
    assert r["status"] == "zero_events"
    assert r["rri"] == pytest.approx((0.5 / 501) / (100.5 / 5001))
    assert out.attrs["correction"] == 0.5


def test_base_of_zero_is_no_base():
    r = row(dispro.rri(two_groups(0, 0, 100, 5000)))
    assert r["status"] == "no_base" and np.isnan(r["rri"]) and np.isnan(r["rate"])


def test_one_group_only():
    only_ref = pd.DataFrame({"ethnicity": ["White"], "events": [10], "base": [100]})
    out = dispro.rri(only_ref)
    assert len(out) == 1 and out.iloc[0]["rri"] == 1
    only_other = pd.DataFrame({"ethnicity": ["Black"], "events": [10], "base": [100]})
    with pytest.raises(ReferenceGroupError, match="groups present: \\['Black'\\]"):
        dispro.rri(only_other)


def test_absent_reference_lists_groups_and_suggests():
    counts = two_groups(10, 100, 20, 300)
    with pytest.raises(ReferenceGroupError, match="did you mean 'White'.*groups present"):
        dispro.rri(counts, reference="white ")


def test_reference_absent_from_a_slice():
    counts = pd.DataFrame(
        {
            "force": ["A", "A", "B"],
            "ethnicity": ["White", "Black", "Black"],
            "events": [5, 5, 5],
            "base": [50, 50, 50],
        }
    )
    with pytest.raises(ReferenceGroupError, match="absent from 1 slice"):
        dispro.rri(counts, by="force")


@pytest.mark.parametrize(
    "events, base, match",
    [
        ([10, -1], [100, 100], "must not be negative"),
        ([10, 2.5], [100, 100], "whole counts"),
        ([10, np.nan], [100, 100], "missing values"),
        ([10, "ten"], [100, 100], "must hold numbers"),
        ([10, 5], [100, np.nan], "missing values"),
        ([10, 500], [100, 100], "events exceed the base"),
    ],
)
def test_bad_counts_raise_clear_errors(events, base, match):
    counts = pd.DataFrame({"ethnicity": ["White", "Black"], "events": events, "base": base})
    with pytest.raises(ValidationError, match=match):
        dispro.rri(counts)


def test_dropna_counts_exclusions():
    counts = pd.DataFrame(
        {"ethnicity": ["White", "Black", "Asian"], "events": [10, 5, np.nan], "base": [100, 50, 40]}
    )
    out = dispro.rri(counts, dropna=True)
    assert "Asian" not in set(out.group)
    led = dispro.ledger.exclusions(out)
    assert led["rows"].tolist() == [1]


def test_misspelt_column_and_parameters():
    counts = two_groups(10, 100, 20, 300)
    with pytest.raises(ValidationError, match="did you mean 'ethnicity'"):
        dispro.rri(counts, group="ethnicty")
    with pytest.raises(ParameterError, match="did you mean 'katz'"):
        dispro.rri(counts, method="kats")
    with pytest.raises(ParameterError, match="alpha"):
        dispro.rri(counts, alpha=5)


def test_suppression_too_few_and_min_share_statuses():
    counts = pd.DataFrame(
        {
            "ethnicity": ["White", "Black", "Asian", "Mixed", "Other"],
            "events": [500, 3, 8, 40, 0],
            "base": [90_000, 500, 900, 2_000, 500],
        }
    )
    out = dispro.rri(counts, suppress=4, min_events=10, method="poisson_exact")
    st_ = dict(zip(out.group, out.status, strict=True))
    assert st_ == {
        "White": "ok",
        "Black": "suppressed",
        "Asian": "too_few",
        "Mixed": "ok",
        "Other": "zero_events",
    }
    assert np.isnan(row(out, "Black")["rri"]) and np.isnan(row(out, "Black")["rate"])
    assert np.isnan(row(out, "Asian")["rri"])
    share = dispro.rri(counts, min_share=0.01, method="poisson_exact")
    # Black 500 / 93,900 = 0.53% and Other 0.53% are below 1%; Asian 0.96% too; Mixed 2.1% is not
    assert dict(zip(share.group, share.status, strict=True))["Mixed"] == "ok"
    assert dict(zip(share.group, share.status, strict=True))["Asian"] == "too_few"


def test_low_count_warning_for_katz():
    with pytest.warns(LowCountWarning, match="1 row.*Black"):
        dispro.rri(two_groups(3, 100, 200, 3000))


# ------------------------------------------------------------------ records to counts


def test_records_to_rri_in_one_call():
    rng = np.random.default_rng(11)
    n = 5_000
    recs = pd.DataFrame(
        {
            "ethnicity": rng.choice(["White", "Black", "Asian"], n, p=[0.7, 0.2, 0.1]),
            "force": rng.choice(["Dorset", "Hampshire"], n),
            "outcome": rng.choice(["arrest", "no_further_action", "caution"], n, p=[0.2, 0.7, 0.1]),
        }
    )
    recs["arrest"] = recs["outcome"] == "arrest"
    out = dispro.rri_from_records(recs, events="arrest", by="force")
    same = dispro.rri_from_records(recs, events="outcome == 'arrest'", by="force")
    also = dispro.rri_from_records(recs, events={"outcome": "arrest"}, by="force")
    pd.testing.assert_frame_equal(out, same)
    pd.testing.assert_frame_equal(out, also)
    d = recs[recs.force == "Dorset"]
    a = (d[d.ethnicity == "Black"].outcome == "arrest").sum()
    A = (d.ethnicity == "Black").sum()
    b = (d[d.ethnicity == "White"].outcome == "arrest").sum()
    B = (d.ethnicity == "White").sum()
    r = out[(out.force == "Dorset") & (out.group == "Black")].iloc[0]
    assert (r["events"], r["base"]) == (a, A)
    assert r["rri"] == pytest.approx((a / A) / (b / B))
    # at_risk restricts the base
    sub = dispro.count_events(recs, events="arrest", at_risk={"outcome": ["arrest", "caution"]})
    assert sub["base"].sum() == recs.outcome.isin(["arrest", "caution"]).sum()


def test_count_events_missing_group_raises_or_is_counted():
    recs = pd.DataFrame({"ethnicity": ["White", None, "Black"], "arrest": [True, False, True]})
    with pytest.raises(ValidationError, match="missing 'ethnicity'"):
        dispro.count_events(recs, events="arrest")
    counts = dispro.count_events(recs, events="arrest", dropna=True)
    assert counts["base"].sum() == 2
    assert dispro.ledger.exclusions(counts)["rows"].tolist() == [1]


def test_vectorised_on_many_slices():
    rng = np.random.default_rng(0)
    n_slices = 2_000
    counts = pd.DataFrame(
        {
            "slice": np.repeat(np.arange(n_slices), 2),
            "ethnicity": np.tile(["White", "Black"], n_slices),
            "events": rng.integers(20, 100, 2 * n_slices),
            "base": rng.integers(1_000, 2_000, 2 * n_slices),
        }
    )
    out = dispro.rri(counts, by="slice")
    assert len(out) == 2 * n_slices
    black = out[out.group == "Black"].set_index("slice")
    c = counts.pivot(index="slice", columns="ethnicity")
    expected = (c["events"]["Black"] / c["base"]["Black"]) / (
        c["events"]["White"] / c["base"]["White"]
    )
    np.testing.assert_allclose(black["rri"], expected.loc[black.index], rtol=1e-12)


# ------------------------------------------------------------------ practical band


def test_practical_band_judges_the_interval():
    table = pd.DataFrame(
        {
            "ci_lower": [1.3, 0.5, 0.9, 1.1, np.nan],
            "ci_upper": [2.0, 0.7, 1.2, 1.6, np.nan],
            "rri": [1.6, 0.6, 1.0, 1.4, 1.0],
        }
    )
    band = dispro.practical_band(table)
    assert band.tolist()[:4] == ["notably_higher", "notably_lower", "not_notable", "unclear"]
    assert pd.isna(band.iloc[4])
    # the point estimate 1.4 is above 1.25 but the interval is not: not notable
    with pytest.raises(ParameterError):
        dispro.practical_band(table, band=(1.2, 0.8))
