"""The scrutiny pack's analysis (dispro.stopsearch.scrutiny and .change): numbers against hand
calculations on the raw records, Census 2021 and statsmodels, and the withheld-cell rules."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from dispro.dictionary import codelist
from dispro.population import census2021
from dispro.report import check_parameters
from dispro.report.inputs import filter_data, load_data
from dispro.stopsearch.change import CHANGE_SINCE_COLUMNS, change_since, monthly_counts
from dispro.stopsearch.scrutiny import (
    CHANGE_COLUMNS,
    concordance_by_quarter,
    outcomes_by_quarter,
    pack_quarters,
    quarter_changes,
    quarterly_rates,
)

THRESHOLD = 4
FORCES = ["Dorset", "Hampshire", "Wiltshire"]
PERIOD = {"period_start": "2022-04", "period_end": "2024-03"}
S60 = set(codelist("legislation").query("section60 == 'true'")["code"])


@pytest.fixture(scope="module")
def demo():
    """The small synthetic Wessex data as the report loads it, and the pack's tables."""
    params = check_parameters({"area": "Wessex", "scale": 0.15, **PERIOD, "report": "scrutiny"})
    with tempfile.TemporaryDirectory() as work:
        data, _ = load_data(params, Path(work))
    records = filter_data(data, params)["stop_search"]
    options = {**PERIOD, "area": "Wessex", "threshold": THRESHOLD}
    quarterly = quarterly_rates(records, **options)
    return {
        "records": records,
        "quarterly": quarterly,
        "change": quarter_changes(records, quarterly),
        "outcomes": outcomes_by_quarter(records, quarterly, threshold=THRESHOLD),
        "concordance": concordance_by_quarter(records, quarterly, threshold=THRESHOLD),
    }


def _quarter(months: pd.Series) -> np.ndarray:
    return np.asarray(pd.PeriodIndex(months.astype(str), freq="M").asfreq("Q").strftime("%YQ%q"))


def _people(records: pd.DataFrame, area: str) -> pd.DataFrame:
    people = records[~records["vehicle_only"].astype(bool)]
    return people if area == "Wessex" else people[people["force"] == area]


def _hand_counts(records: pd.DataFrame, area: str, months) -> pd.Series:
    """Person searches of an area by group in the given months, straight from the records."""
    people = _people(records, area)
    return people[people["month"].astype(str).isin(months)].groupby("ethnicity").size()


def _exact_ratio_interval(a, P, b, Q, alpha=0.05):
    """Conditional exact interval for (a/P)/(b/Q): Clopper-Pearson on a | a + b, by scipy."""
    ci = stats.binomtest(int(a), int(a + b), P / (P + Q)).proportion_ci(1 - alpha, method="exact")
    to_ratio = lambda pi: pi / (1 - pi) * Q / P  # noqa: E731
    return to_ratio(ci.low), to_ratio(ci.high)


def _months_of(quarter: str) -> list[str]:
    q = pd.Period(quarter, "Q")
    return [str(m) for m in pd.period_range(q.asfreq("M", "start"), q.asfreq("M", "end"))]


def test_pack_quarters_are_the_last_eight_of_the_period():
    quarters = [str(p) for p in pd.period_range("2022Q2", "2024Q1", freq="Q")]
    assert pack_quarters("2022-04", "2024-03") == quarters
    assert pack_quarters("2021-04", "2024-03") == quarters  # three years: still the last eight
    assert pack_quarters("2023-11", "2024-02") == ["2023Q4", "2024Q1"]


def test_latest_quarter_rates_and_ratios_match_a_hand_calculation(demo):
    latest = demo["quarterly"].query("period == '2024Q1'").set_index(["area", "group"])
    checked = 0
    for area in [*FORCES, "Wessex"]:
        counts = _hand_counts(demo["records"], area, _months_of("2024Q1"))
        pop = census2021(area, by=()).set_index("ethnicity")["population"] * 3 / 12
        white_rate = 1000 * counts["White"] / pop["White"]
        for group in ["White", "Asian", "Black", "Mixed", "Other"]:
            row = latest.loc[(area, group)]
            a = int(counts.get(group, 0))
            assert row["events"] == a and row["base"] == pytest.approx(pop[group], rel=1e-12)
            if row["status"] != "ok":
                assert row["status"] in ("suppressed", "zero_events")
                # a small count, a zero, or withheld so that a small one elsewhere stays hidden
                assert (1 <= a <= THRESHOLD) or a == 0 or row["withheld"]
                assert pd.isna(row["rri"]) or a == 0
                continue
            assert row["rate"] == pytest.approx(1000 * a / pop[group], rel=1e-10)
            assert row["rri"] == pytest.approx(1000 * a / pop[group] / white_rate, rel=1e-10)
            if group != "White":
                lo, hi = _exact_ratio_interval(a, pop[group], counts["White"], pop["White"])
                assert row["ci_lower"] == pytest.approx(lo, rel=1e-6)
                assert row["ci_upper"] == pytest.approx(hi, rel=1e-6)
                checked += 1
    assert checked >= 4  # Hampshire Black, Wessex Asian, Black and Mixed in this demo


def _quasi_change(a, b, n_a, n_b, latest, alpha=0.05):
    """The change test by hand: the binomial GLM of a_u | a_u + b_u over months u (statsmodels),
    offset log(n_a / n_b), a term for the latest period; dispersion X² / (U - 2), F test of the
    deviance difference, Wald interval with the t quantile."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    x = np.asarray(latest, float)
    offset = np.log(np.asarray(n_a, float) / np.asarray(n_b, float))
    endog = np.column_stack([a, b])
    full = sm.GLM(endog, np.column_stack([np.ones_like(x), x]), sm.families.Binomial(), offset=offset).fit()  # fmt: skip
    null = sm.GLM(endog, np.ones((len(x), 1)), sm.families.Binomial(), offset=offset).fit()
    df = int((a + b > 0).sum()) - 2
    phi = full.pearson_chi2 / df
    f = (null.deviance - full.deviance) / phi
    gamma, se = full.params[1], full.bse[1] * np.sqrt(phi)
    t = stats.t.ppf(1 - alpha / 2, df)
    return {
        "estimate": np.exp(gamma),
        "ci_lower": np.exp(gamma - t * se),
        "ci_upper": np.exp(gamma + t * se),
        "statistic": f,
        "p_value": stats.f.sf(f, 1, df),
        "dispersion": phi,
        "dispersion_df": df,
    }


def test_quarter_changes_match_a_quasi_poisson_fit_on_the_months(demo):
    records, change = demo["records"], demo["change"]
    assert list(change.columns) == list(CHANGE_COLUMNS)
    pop = census2021("Wessex", by=()).set_index("ethnicity")["population"] / 12  # a month
    tested = change[(change["area"] == "Wessex") & (change["status"] == "ok")]
    assert len(tested) >= 4
    for _, row in tested.iterrows():
        group, months = row["group"], [*_months_of(row["earlier"]), *_months_of(row["latest"])]
        by_month = [_hand_counts(records, "Wessex", [m]) for m in months]
        a = [int(c.get(group, 0)) for c in by_month]
        b = [int(c.get("White", 0)) for c in by_month]
        hand = _quasi_change(a, b, [pop[group]] * 6, [pop["White"]] * 6, [0, 0, 0, 1, 1, 1])
        for key, value in hand.items():
            assert row[key] == pytest.approx(value, rel=1e-5), (group, key)  # IRLS tolerance
        # the estimate is the ratio of the two quarters' relative rates
        ratio = (sum(a[3:]) / sum(b[3:])) / (sum(a[:3]) / sum(b[:3]))
        assert row["estimate"] == pytest.approx(ratio, rel=1e-9)
        assert row["earlier_rri"] == pytest.approx(
            (sum(a[:3]) / pop[group]) / (sum(b[:3]) / pop["White"]), rel=1e-9
        )
    # Benjamini-Hochberg over the tested rows of the table
    p = change["p_value"].dropna().to_numpy()
    order = np.argsort(p)
    q = np.minimum.accumulate((p[order] * len(p) / np.arange(1, len(p) + 1))[::-1])[::-1]
    expected = np.empty_like(q)
    expected[order] = np.minimum(q, 1)
    np.testing.assert_allclose(change["q_value"].dropna().to_numpy(), expected, rtol=1e-12)
    clear = (change["q_value"] < 0.05) & ((change["ci_lower"] > 1) | (change["ci_upper"] < 1))
    assert (change["significant"].fillna(False) == clear).all()
    # rows with a suppressed or zero count are not tested
    untested = change[change["status"] != "ok"]
    assert len(untested) and untested["p_value"].isna().all()
    assert set(untested["status"]) <= {"suppressed", "too_few"}
    assert untested["significant"].isna().all()


def test_change_since_matches_a_quasi_poisson_fit_on_the_months(demo):
    records = demo["records"]
    change = change_since(
        records, comparison_start="2022-04", comparison_end="2023-03", period_end="2024-03"
    )
    assert list(change.columns) == list(CHANGE_SINCE_COLUMNS)
    assert sorted(change["force"].unique()) == FORCES
    row = change.set_index(["force", "group"]).loc[("Hampshire", "Black")]
    months = [str(m) for m in pd.period_range("2022-04", "2024-03", freq="M")]
    by_month = [_hand_counts(records, "Hampshire", [m]) for m in months]
    pop = census2021("Hampshire", by=()).set_index("ethnicity")["population"] / 12
    a = [int(c.get("Black", 0)) for c in by_month]
    b = [int(c.get("White", 0)) for c in by_month]
    hand = _quasi_change(a, b, [pop["Black"]] * 24, [pop["White"]] * 24, [0] * 12 + [1] * 12)
    for key, value in hand.items():
        assert row[key] == pytest.approx(value, rel=1e-5), key
    # significant: p below alpha and an interval that excludes 1
    clear = (change["p_value"] < 0.05) & ((change["ci_lower"] > 1) | (change["ci_upper"] < 1))
    assert change["significant"].astype(bool).tolist() == clear.tolist()
    # the monthly counts behind it are the records' and the person-years Census / 12
    counts = monthly_counts(records).query("force == 'Hampshire' and group == 'Black'")
    assert counts["events"].tolist() == a
    np.testing.assert_allclose(counts["base"], pop["Black"], rtol=1e-12)


def test_hit_rates_strip_and_s60_by_quarter_match_hand_counts(demo):
    records = demo["records"].copy()
    records["period"] = _quarter(records["month"])
    outcomes = demo["outcomes"]
    for area in [*FORCES, "Wessex"]:
        mine = _people(records, area)
        # hit rates: section 60 and unrecorded outcomes left out
        kept = mine[~mine["legislation"].isin(S60) & mine["outcome_linked"].notna()]
        hand = kept.groupby(["period", "ethnicity"]).agg(
            searches_hand=("outcome_linked", "size"), hits_hand=("outcome_linked", "sum")
        )
        hand = hand.rename_axis(["period", "group"])
        got = outcomes["hit_rates"].query("area == @area").set_index(["period", "group"])
        joined = got.join(hand, how="left").fillna({"searches_hand": 0, "hits_hand": 0})
        np.testing.assert_array_equal(joined["searches"], joined["searches_hand"])
        np.testing.assert_array_equal(joined["hits"], joined["hits_hand"])
        ok = joined["status"] == "ok"
        np.testing.assert_allclose(
            joined.loc[ok, "hit_rate"],
            joined.loc[ok, "hits_hand"] / joined.loc[ok, "searches_hand"],
        )
        # strip searches: removal of more than outer clothing, of those with the field recorded
        recorded = mine[mine["removal_outer_clothing"].notna()]
        hand = recorded.groupby(["period", "ethnicity"]).agg(
            n=("removal_outer_clothing", "size"),
            strip=("removal_outer_clothing", lambda s: int(s.astype(bool).sum())),
        )
        got = outcomes["strip"].query("area == @area").set_index(["period", "group"])
        joined = got.join(hand.rename_axis(["period", "group"]), how="left").fillna(0)
        np.testing.assert_array_equal(joined["searches"], joined["n"])
        np.testing.assert_array_equal(joined["strip_searches"], joined["strip"])
        # section 60 searches, of those with legislation recorded
        recorded = mine[mine["legislation"].notna()]
        hand = (
            recorded.assign(s60=recorded["legislation"].isin(S60))
            .groupby(["period", "ethnicity"])
            .agg(n=("s60", "size"), s60=("s60", "sum"))
        )
        got = outcomes["s60"].query("area == @area").set_index(["period", "group"])
        joined = got.join(hand.rename_axis(["period", "group"]), how="left").fillna(0)
        np.testing.assert_array_equal(joined["searches"], joined["n"])
        np.testing.assert_array_equal(joined["s60_searches"], joined["s60"])
    assert outcomes["s60"]["s60_searches"].sum() > 0
    assert outcomes["strip"]["strip_searches"].sum() > 0
    # a row with a count from 1 to the threshold is suppressed
    for key, name in (("hit_rates", "hits"), ("strip", "strip_searches")):
        table = outcomes[key]
        small = table["searches"].between(1, THRESHOLD) | table[name].between(1, THRESHOLD)
        assert small.any() and (table.loc[small, "status"] == "suppressed").all(), key


def test_concordance_by_quarter_matches_a_hand_kappa(demo):
    records = demo["records"]
    table = demo["concordance"].set_index(["area", "period"])
    shared = ["Asian", "Black", "White", "Other"]
    for area, quarter in (("Hampshire", "2024Q1"), ("Wessex", "2023Q3")):
        mine = _people(records, area)
        mine = mine[_quarter(mine["month"]) == quarter]
        both = mine[mine["ethnicity"].isin(shared) & mine["officer_ethnicity"].isin(shared)]
        cross = (
            pd.crosstab(both["ethnicity"], both["officer_ethnicity"])
            .reindex(index=shared, columns=shared, fill_value=0)
            .to_numpy(dtype=float)
        )
        n = cross.sum()
        p_o = np.trace(cross) / n
        p_e = float((cross.sum(axis=1) / n) @ (cross.sum(axis=0) / n))
        row = table.loc[(area, quarter)]
        assert row["searches"] == n
        assert row["agreement"] == pytest.approx(p_o, rel=1e-12)
        assert row["kappa"] == pytest.approx((p_o - p_e) / (1 - p_e), rel=1e-12)
    without = demo["records"].drop(columns="officer_ethnicity")
    empty = concordance_by_quarter(without, demo["quarterly"])
    assert empty.empty and "not supplied" in empty.attrs["error"]


def test_a_withheld_reference_count_hides_the_ratios_of_its_quarter(planted_searches):
    """Three White searches in Dorset: withheld, and (quarters by forces, with totals) the other
    White counts of that rectangle too; every ratio against a withheld White count goes."""
    dorset = planted_searches(
        {"2023Q4": {"White": 50, "Black": 20}, "2024Q1": {"White": 3, "Black": 20}}
    )
    wilts = planted_searches(
        {"2023Q4": {"White": 70, "Black": 20}, "2024Q1": {"White": 60, "Black": 20}},
        force="Wiltshire",
    )
    records = pd.concat([dorset, wilts], ignore_index=True)
    records.attrs["coverage"] = dorset.attrs["coverage"] + wilts.attrs["coverage"]
    quarterly = quarterly_rates(
        records, period_start="2023-10", period_end="2024-03", area="Wessex", threshold=4
    )
    rows = quarterly.set_index(["area", "period", "group"])
    for area in ("Dorset", "Wiltshire"):
        for period in ("2023Q4", "2024Q1"):
            assert rows.loc[(area, period, "White"), "withheld"]
            black = rows.loc[(area, period, "Black")]
            assert not black["withheld"] and black["status"] == "suppressed"
            assert pd.isna(black["rri"]) and pd.isna(black["rate"])
    wessex = rows.loc[("Wessex", "2024Q1", "Black")]
    assert wessex["status"] == "ok" and wessex["rri"] > 0
    assert not rows.loc[("Wessex", "2024Q1", "White"), "withheld"]
    margins = quarterly.attrs["margins"]
    assert margins.total == "Wessex" and margins.counts == ("events",)
    # no change is tested where a count of the two quarters is suppressed
    change = quarter_changes(records, quarterly)
    assert (change.query("area != 'Wessex'")["status"] == "suppressed").all()
