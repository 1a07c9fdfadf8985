"""The quarterly stop-and-search scrutiny pack (scrutiny.scrutiny_*): numbers against hand
calculations on the raw records and Census 2021, planted changes against their sentences, and
disclosure control in every table the pack publishes."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from dispro import report
from dispro.dictionary import codelist
from dispro.population import census2021
from dispro.report import inputs
from dispro.report.sections import scrutiny, stop_search
from dispro.report.wording import describe_change

THRESHOLD = 4
PARAMS = {
    "area": "Wessex",
    "scale": 0.15,
    "period_start": "2022-04",
    "period_end": "2024-03",
    "report": "scrutiny",
}
FORCES = ["Dorset", "Hampshire", "Wiltshire"]
S60 = set(codelist("legislation").query("section60 == 'true'")["code"])


def _run_pack(data, params, work: Path):
    """Every section of the pack, into one recorded chapter; returns (results, chapter)."""
    ch = report.chapter(
        "stop_search",
        title="Stop and search",
        work_dir=str(work),
        suppression_threshold=params["suppression_threshold"],
    )
    out = {"quarterly": scrutiny.scrutiny_latest_quarter(ch, data, params)}
    out["change"] = scrutiny.scrutiny_change(ch, out["quarterly"], params)
    out["rates"] = scrutiny.scrutiny_rates_by_quarter(ch, out["quarterly"], params)
    out["outcomes"] = scrutiny.scrutiny_outcomes_by_quarter(ch, data, params)
    out["concordance"] = scrutiny.scrutiny_concordance_by_quarter(ch, data, params)
    out["darkness"] = stop_search.stop_search_darkness(ch, data, params)
    return out, ch


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The synthetic Wessex data as the report loads it, and the pack computed from it."""
    work = tmp_path_factory.mktemp("pack")
    params = report.check_parameters(PARAMS)
    data, _ = inputs.load_data(params, work)
    data = inputs.filter_data(data, params)
    results, ch = _run_pack(data, params, work)
    return {"params": params, "data": data, "results": results, "ch": ch, "work": work}


@pytest.fixture(scope="module")
def city(tmp_path_factory, realdata):
    """The City of London pack from the real data.police.uk files (as its config names them)."""
    import yaml

    root = Path(__file__).resolve().parents[2]
    config = yaml.safe_load((root / "reports" / "config" / "city_of_london.yaml").read_text())
    config["data"] = str(root / "reports" / "config" / config["data"])
    work = tmp_path_factory.mktemp("city")
    params = report.check_parameters(config)
    data, _ = inputs.load_data(params, work)
    data = inputs.filter_data(data, params)
    results, ch = _run_pack(data, params, work)
    return {
        "params": params,
        "results": results,
        "ch": ch,
        "work": work,
        "folder": realdata / "police_uk_stop_search_city_of_london",
    }


def _quarter(months: pd.Series) -> np.ndarray:
    return np.asarray(pd.PeriodIndex(months.astype(str), freq="M").asfreq("Q").strftime("%YQ%q"))


def _bullets(ch) -> list[str]:
    return [item for b in ch.blocks if b["type"] == "bullets" for item in b["items"]]


def _area_bullets(ch, section: str, area: str) -> list[str]:
    """The bullets under an area's heading within the section whose heading starts ``section``."""
    in_section, in_area = False, False
    for block in ch.blocks:
        if block["type"] == "heading" and block["level"] < 4:
            in_section, in_area = block["text"].startswith(section), False
        elif block["type"] == "heading":
            in_area = in_section and block["text"] == area
        elif block["type"] == "bullets" and in_area:
            return block["items"]
    raise AssertionError(f"no bullets for {area} under {section!r}")


def _published(ch, work: Path) -> dict[str, tuple[dict, pd.DataFrame]]:
    return {
        b["name"]: (b, pd.read_pickle(work / "content" / f"stop_search__{b['name']}.pkl"))
        for b in ch.blocks
        if b["type"] == "table"
    }


# --------------------------------------------------------------------------------------------
# the latest quarter: rates and relative rates against a hand calculation
# --------------------------------------------------------------------------------------------


def _hand_counts(records: pd.DataFrame, quarter: str) -> pd.DataFrame:
    """Person searches in a quarter by force and group, straight from the records."""
    people = records[
        ~records["vehicle_only"].astype(bool) & (_quarter(records["month"]) == quarter)
    ]
    by_force = people.groupby(["force", "ethnicity"]).size().rename("events").reset_index()
    wessex = (
        people.groupby("ethnicity").size().rename("events").reset_index().assign(force="Wessex")
    )
    return pd.concat([by_force, wessex], ignore_index=True).rename(columns={"force": "area"})


def _exact_ratio_interval(a, P, b, Q, alpha=0.05):
    """Conditional exact interval for (a/P)/(b/Q): Clopper-Pearson on a | a + b, by scipy."""
    ci = stats.binomtest(int(a), int(a + b), P / (P + Q)).proportion_ci(1 - alpha, method="exact")
    to_ratio = lambda pi: pi / (1 - pi) * Q / P  # noqa: E731
    return to_ratio(ci.low), to_ratio(ci.high)


def test_latest_quarter_rates_and_ratios_match_a_hand_calculation(demo):
    quarterly = demo["results"]["quarterly"]
    latest = quarterly[quarterly["period"] == "2024Q1"].set_index(["area", "group"])
    hand = _hand_counts(demo["data"]["stop_search"], "2024Q1")
    pops = {
        area: census2021(area, by=()).set_index("ethnicity")["population"]
        for area in [*FORCES, "Wessex"]
    }
    checked = 0
    for area in [*FORCES, "Wessex"]:
        counts = hand[hand["area"] == area].set_index("ethnicity")["events"]
        pop = pops[area] * 3 / 12  # person-years: every force supplied all three months
        white_rate = 1000 * counts["White"] / pop["White"]
        for group in ["White", "Asian", "Black", "Mixed", "Other"]:
            row = latest.loc[(area, group)]
            a = int(counts.get(group, 0))
            assert row["events"] == a and row["base"] == pytest.approx(pop[group], rel=1e-12)
            if row["status"] != "ok":
                assert row["status"] in ("suppressed", "zero_events")
                # a small count, a zero, or withheld so that a small one elsewhere stays hidden
                assert (1 <= a <= THRESHOLD) or a == 0 or row["withheld"]
                continue
            assert row["rate"] == pytest.approx(1000 * a / pop[group], rel=1e-10)
            assert row["rri"] == pytest.approx(1000 * a / pop[group] / white_rate, rel=1e-10)
            if group != "White":
                lo, hi = _exact_ratio_interval(a, pop[group], counts["White"], pop["White"])
                assert row["ci_lower"] == pytest.approx(lo, rel=1e-6)
                assert row["ci_upper"] == pytest.approx(hi, rel=1e-6)
                checked += 1
    assert checked >= 4  # Hampshire Black, Wessex Asian, Black and Mixed in this demo


def test_headline_sentences_follow_the_wording_rules(demo):
    quarterly = demo["results"]["quarterly"]
    latest = quarterly[quarterly["period"] == "2024Q1"]
    text = " ".join(_bullets(demo["ch"]))
    for _, row in latest.iterrows():
        group = row["group"]
        if group == "White":
            continue
        excludes_one = row["ci_lower"] > 1 or row["ci_upper"] < 1
        if row["status"] != "ok":
            assert f"too few cases to tell whether {group} people" in text
        elif row["significant"] and excludes_one:
            per100 = round(100 * row["rri"])
            assert (
                f"for every 100 White people stopped and searched, {per100} {group} people were"
            ) in text
        else:
            assert f"no clear evidence of a difference between {group} and White people" in text
    # the rates said in words are the table's, for every area
    for area, rows in latest.groupby("area"):
        shown = rows[rows["status"].isin(["ok", "zero_events"])]
        sentence = next(
            s
            for s in _area_bullets(demo["ch"], "This quarter", area)
            if s.startswith("Person searches per 1,000 residents a year in January to March 2024: ")
        )
        for _, row in shown.iterrows():
            assert f"{row['group']} {row['rate']:,.2f}" in sentence, (area, row["group"])
    # the Wessex Black ratio is disproportionate in this seeded demo
    wessex_black = latest[(latest["area"] == "Wessex") & (latest["group"] == "Black")].iloc[0]
    assert wessex_black["significant"] and wessex_black["ci_lower"] > 1
    assert "This is a disproportionate difference." in text


def test_the_published_latest_quarter_table_is_the_quarterly_tables_rows(demo):
    tables = _published(demo["ch"], demo["work"])
    _, latest = tables["q_latest"]
    _, quarterly = tables["q_rates"]
    assert set(latest["period"]) == {"2024Q1"}
    pd.testing.assert_frame_equal(
        latest.reset_index(drop=True),
        quarterly[quarterly["period"] == "2024Q1"].reset_index(drop=True),
    )


# --------------------------------------------------------------------------------------------
# change since the previous quarter and a year earlier
# --------------------------------------------------------------------------------------------


def _lr_test(a1, n1, a2, n2, b1, m1, b2, m2):
    """Likelihood-ratio test of a constant ratio over two periods, fitted with scipy: the
    saturated model against log mu = log n + c + g * group + t * period."""
    y = np.array([a1, a2, b1, b2], dtype=float)
    n = np.array([n1, n2, m1, m2], dtype=float)
    g = np.array([1, 1, 0, 0], dtype=float)
    t = np.array([0, 1, 0, 1], dtype=float)

    def nll(theta):
        mu = n * np.exp(theta[0] + theta[1] * g + theta[2] * t)
        return float(np.sum(mu - y * np.log(mu)))

    start = [np.log(y.sum() / n.sum()), 0.0, 0.0]
    reduced = optimize.minimize(nll, start, method="BFGS", options={"gtol": 1e-10}).fun
    saturated = float(np.sum(y - y * np.log(y)))
    stat = 2 * (reduced - saturated)
    return stat, float(stats.chi2.sf(stat, 1))


def test_change_test_matches_a_hand_calculation(demo):
    records = demo["data"]["stop_search"]
    change = demo["results"]["change"]
    assert list(change.columns) == list(scrutiny.CHANGE_COLUMNS)
    pop = census2021("Wessex", by=()).set_index("ethnicity")["population"] * 3 / 12
    tested = change[(change["area"] == "Wessex") & (change["status"] == "ok")]
    assert len(tested) >= 4
    for _, row in tested.iterrows():
        group = row["group"]
        now = (
            _hand_counts(records, row["latest"])
            .query("area == 'Wessex'")
            .set_index("ethnicity")["events"]
        )
        then = (
            _hand_counts(records, row["earlier"])
            .query("area == 'Wessex'")
            .set_index("ethnicity")["events"]
        )
        a1, a2, b1, b2 = then[group], now[group], then["White"], now["White"]
        # the ratio of the two relative rates, and its Wald interval on the log scale
        ratio = (a2 / b2) / (a1 / b1)  # person-years cancel: the same in both quarters
        se = np.sqrt(1 / a1 + 1 / a2 + 1 / b1 + 1 / b2)
        assert row["estimate"] == pytest.approx(ratio, rel=1e-5)
        assert row["ci_lower"] == pytest.approx(
            ratio * np.exp(-1.959963985 * se), rel=1e-5
        )  # IRLS tolerance
        assert row["ci_upper"] == pytest.approx(ratio * np.exp(1.959963985 * se), rel=1e-5)
        assert row["earlier_rri"] == pytest.approx(
            (a1 / pop[group]) / (b1 / pop["White"]), rel=1e-9
        )
        stat, p = _lr_test(a1, pop[group], a2, pop[group], b1, pop["White"], b2, pop["White"])
        assert row["statistic"] == pytest.approx(stat, rel=1e-4, abs=1e-7)
        assert row["p_value"] == pytest.approx(p, rel=1e-4, abs=1e-9)
    # Benjamini-Hochberg over the tested rows of the table
    p = change["p_value"].dropna().to_numpy()
    order = np.argsort(p)
    q = np.minimum.accumulate((p[order] * len(p) / np.arange(1, len(p) + 1))[::-1])[::-1]
    expected = np.empty_like(q)
    expected[order] = np.minimum(q, 1)
    np.testing.assert_allclose(change["q_value"].dropna().to_numpy(), expected, rtol=1e-12)
    # rows with a suppressed or zero count are not tested, and say so
    untested = change[change["status"] != "ok"]
    assert len(untested) and untested["p_value"].isna().all()
    assert set(untested["status"]) <= {"suppressed", "too_few"}


def _planted(counts: dict[str, dict[str, int]], force: str = "Dorset") -> pd.DataFrame:
    """Person searches in a force: ``counts[quarter][group]`` spread over the quarter's months,
    with the coverage table read_police_uk would attach."""
    rows, months = [], []
    for quarter, groups in counts.items():
        q_months = pd.period_range(
            pd.Period(quarter, "Q").asfreq("M", "start"),
            pd.Period(quarter, "Q").asfreq("M", "end"),
            freq="M",
        )
        months += [str(m) for m in q_months]
        for group, n in groups.items():
            for i in range(n):
                rows.append({"month": str(q_months[i % 3]), "ethnicity": group})
    records = pd.DataFrame(rows).assign(force=force, vehicle_only=False)
    records.attrs["coverage"] = [
        {
            "force": force,
            "month": m,
            "present": True,
            "rows": int((records["month"] == m).sum()),
            "source": "planted",
        }
        for m in months
    ]
    return records


def _planted_params(start: str, end: str) -> dict:
    return report.check_parameters(
        {
            "area": "Dorset",
            "report": "scrutiny",
            "period_start": start,
            "period_end": end,
            "data": "demo",
        }
    )


def test_planted_changes_give_the_right_sentences(tmp_path):
    pop = census2021("Dorset", by=()).set_index("ethnicity")["population"]
    white = 5000  # searches a quarter

    def events(rri, group):
        return int(round(rri * white * pop[group] / pop["White"]))

    steady = {
        "White": white,
        "Asian": events(1.5, "Asian"),
        "Black": events(2, "Black"),
        "Mixed": events(1.2, "Mixed"),
        "Other": events(1, "Other"),
    }
    latest = {**steady, "Black": events(4, "Black"), "Mixed": 3}
    quarters = ["2023Q1", "2023Q2", "2023Q3", "2023Q4", "2024Q1"]
    records = _planted({q: (latest if q == "2024Q1" else steady) for q in quarters})
    params = _planted_params("2023-01", "2024-03")
    ch = report.chapter("stop_search", title="t", work_dir=str(tmp_path), suppression_threshold=4)
    quarterly = scrutiny.scrutiny_latest_quarter(ch, {"stop_search": records}, params)
    change = scrutiny.scrutiny_change(ch, quarterly, params).set_index(["group", "compared_with"])
    text = _bullets(ch)
    # the planted doubling of the Black relative rate: clear against both comparisons
    for label, words in (
        ("the previous quarter", "October to December 2023"),
        ("the same quarter a year earlier", "January to March 2023"),
    ):
        row = change.loc[("Black", label)]
        assert row["estimate"] == pytest.approx(2, rel=0.02) and row["significant"]
        assert any(
            t.startswith(
                f"The difference between Black and White people has grown since "
                f"{label}, {words} (the relative rate went from 2.0 to 4.0; q = "
            )
            for t in text
        )
        # no change planted for Asian and Other people
        for group in ("Asian", "Other"):
            assert not change.loc[(group, label), "significant"]
            assert any(
                t.startswith(
                    f"There is no clear evidence that the difference between {group} "
                    f"and White people has changed since {label}"
                )
                for t in text
            )
        # three Mixed searches in the latest quarter: suppressed, too few to tell
        assert change.loc[("Mixed", label), "status"] == "suppressed"
        assert (
            f"There are too few cases to tell whether the difference between Mixed and White "
            f"people has changed since {label}, {words}."
        ) in text
    # and the headline of the latest quarter says the Black ratio is disproportionate
    assert any(
        "Black people were 4.0 times as likely as White people to be stopped and searched" in t
        and "for every 100 White people stopped and searched, 400 Black people were" in t
        for t in text
    )
    assert (
        "There are too few cases to tell whether Mixed people were more or less likely"
        in " ".join(text)
    )


def test_a_short_period_says_the_year_earlier_comparison_is_out_of_reach(tmp_path):
    rows = {"White": 400, "Black": 40, "Asian": 30, "Mixed": 20, "Other": 10}
    records = _planted({"2023Q4": rows, "2024Q1": rows})
    params = _planted_params("2023-10", "2024-03")
    ch = report.chapter("stop_search", title="t", work_dir=str(tmp_path), suppression_threshold=4)
    quarterly = scrutiny.scrutiny_latest_quarter(ch, {"stop_search": records}, params)
    change = scrutiny.scrutiny_change(ch, quarterly, params)
    assert set(change["compared_with"]) == {"the previous quarter"}
    assert np.allclose(change["estimate"], 1.0) and not change["significant"].any()
    assert (
        "Dorset: the change since the same quarter a year earlier cannot be tested: January "
        "to March 2023 falls outside the report's period."
    ) in _bullets(ch)
    assert sorted(quarterly["period"].unique()) == ["2023Q4", "2024Q1"]


def test_change_wording_rules():
    base = {"p_value": 0.001, "q_value": 0.004, "estimate": 2.0, "ci_lower": 1.4, "ci_upper": 2.9}
    grown = describe_change(
        {**base, "earlier_rri": 2.0, "latest_rri": 4.0},
        group="Black",
        reference="White",
        since="2023",
    )
    assert "has grown since 2023 (the relative rate went from 2.0 to 4.0; q = 0.004)" in grown
    # towards 1 from below is a narrowing even though the ratio of ratios is above 1
    narrowed = describe_change(
        {**base, "earlier_rri": 0.4, "latest_rri": 0.8},
        group="Asian",
        reference="White",
        since="2023",
    )
    assert "has narrowed since 2023" in narrowed
    assert "has reversed" in describe_change(
        {**base, "earlier_rri": 0.7, "latest_rri": 1.4},
        group="Asian",
        reference="White",
        since="2023",
    )
    # the q-value decides, not the raw p-value
    assert describe_change(
        {**base, "q_value": 0.2}, group="Black", reference="White", since="2023"
    ).startswith("There is no clear evidence")
    # an interval that includes 1 is never a clear change
    assert describe_change(
        {**base, "ci_lower": 0.98}, group="Black", reference="White", since="2023"
    ).startswith("There is no clear evidence")
    assert describe_change(
        {"status": "suppressed", "p_value": np.nan}, group="Black", reference="White", since="2023"
    ).startswith("There are too few cases")


# --------------------------------------------------------------------------------------------
# quarter by quarter
# --------------------------------------------------------------------------------------------


def test_quarter_tables_hold_the_last_eight_quarters_for_each_force_and_wessex(demo):
    quarters = [str(p) for p in pd.period_range("2022Q2", "2024Q1", freq="Q")]
    tables = _published(demo["ch"], demo["work"])
    for name in ("q_rates", "q_hit_rates", "q_strip", "q_s60", "q_concordance"):
        _, table = tables[name]
        assert sorted(table["period"].unique()) == quarters, name
        assert list(dict.fromkeys(table["area"])) == [*FORCES, "Wessex"], name
    # a three-year period still shows only the last eight quarters
    params = {**demo["params"], "period_start": "2021-04"}
    assert scrutiny.pack_quarters(params) == quarters


def test_hit_rates_strip_and_s60_by_quarter_match_hand_counts(demo):
    records = demo["data"]["stop_search"].copy()
    records["period"] = _quarter(records["month"])
    people = records[~records["vehicle_only"].astype(bool)]
    outcomes = demo["results"]["outcomes"]
    for area in [*FORCES, "Wessex"]:
        mine = people if area == "Wessex" else people[people["force"] == area]
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
            searches=("removal_outer_clothing", "size"),
            strip=("removal_outer_clothing", lambda s: int(s.astype(bool).sum())),
        )
        hand = hand.rename_axis(["period", "group"])
        got = outcomes["strip"].query("area == @area").set_index(["period", "group"])
        joined = got.join(hand.rename(columns={"searches": "n"}), how="left").fillna(
            {"n": 0, "strip": 0}
        )
        np.testing.assert_array_equal(joined["searches"], joined["n"])
        np.testing.assert_array_equal(joined["strip_searches"], joined["strip"])
        # section 60 searches, of those with legislation recorded
        recorded = mine[mine["legislation"].notna()]
        hand = (
            recorded.assign(s60=recorded["legislation"].isin(S60))
            .groupby(["period", "ethnicity"])
            .agg(n=("s60", "size"), s60=("s60", "sum"))
        )
        hand = hand.rename_axis(["period", "group"])
        got = outcomes["s60"].query("area == @area").set_index(["period", "group"])
        joined = got.join(hand, how="left").fillna({"n": 0, "s60": 0})
        np.testing.assert_array_equal(joined["searches"], joined["n"])
        np.testing.assert_array_equal(joined["s60_searches"], joined["s60"])
    assert (
        outcomes["s60"]["s60_searches"].sum() > 0 and outcomes["strip"]["strip_searches"].sum() > 0
    )


def test_concordance_by_quarter_matches_a_hand_kappa(demo):
    records = demo["data"]["stop_search"]
    table = demo["results"]["concordance"].set_index(["area", "period"])
    shared = ["Asian", "Black", "White", "Other"]
    for area, quarter in (("Hampshire", "2024Q1"), ("Wessex", "2023Q3")):
        mine = records if area == "Wessex" else records[records["force"] == area]
        mine = mine[~mine["vehicle_only"].astype(bool) & (_quarter(mine["month"]) == quarter)]
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


# --------------------------------------------------------------------------------------------
# disclosure control
# --------------------------------------------------------------------------------------------

_DERIVED = {  # table -> (count columns, columns worked out from them)
    "q_latest": (("events",), ("rate", "rri", "ci_lower", "ci_upper")),
    "q_rates": (("events",), ("rate", "rri", "ci_lower", "ci_upper")),
    "q_hit_rates": (("searches", "hits"), ("hit_rate", "ci_lower", "ci_upper", "ratio")),
    "q_strip": (("searches", "strip_searches"), ("share", "ci_lower", "ci_upper")),
    "q_s60": (("searches", "s60_searches"), ("share", "ci_lower", "ci_upper")),
    "q_concordance": (("searches",), ("agreement", "kappa")),
}
_COUNT_NAMES = {
    "events",
    "base",
    "searches",
    "hits",
    "strip_searches",
    "s60_searches",
    "n",
    "n_minority",
    "n_reference",
    "n_dark",
    "n_light",
    "reference_events",
}


def _numbers(results) -> dict[str, pd.DataFrame]:
    """The unpublished tables behind the quarter-by-quarter tables."""
    return {
        "q_rates": results["quarterly"],
        "q_hit_rates": results["outcomes"]["hit_rates"],
        "q_strip": results["outcomes"]["strip"],
        "q_s60": results["outcomes"]["s60"],
        "q_concordance": results["concordance"],
    }


def _recovered(published: pd.Series, numbers: pd.Series, total_shown: bool) -> bool:
    """Is a withheld cell of a line worked out exactly from the line's published total? (Each
    withheld cell is a whole number of at least 1, as zeros are shown.)"""
    hidden = (published == "[c]").to_numpy()
    k = int(hidden.sum())
    if k == 0 or not total_shown:
        return False
    return k == 1 or int(numbers.to_numpy()[hidden].sum()) == k


def _check_disclosure(ch, work, numbers, *, small_cells: bool):
    tables = _published(ch, work)
    assert set(_DERIVED) <= set(tables)
    for name, (block, table) in tables.items():
        for column in table.columns:
            if column in _COUNT_NAMES or column in block["count_columns"]:
                values = pd.to_numeric(
                    table[column].astype(str).str.replace(",", ""), errors="coerce"
                )
                assert not values.between(1, THRESHOLD).any(), (name, column)
        if name not in _DERIVED:
            continue
        count_columns, derived = _DERIVED[name]
        hidden = np.logical_or.reduce([table[c] == "[c]" for c in count_columns])
        if small_cells and name != "q_concordance":  # concordance has only large cells here
            assert hidden.any(), name  # the demo has small cells in every quarterly table
        for c in derived:  # [c], or [x] where there is no rate at all (no population)
            assert table.loc[hidden, c].isin(["[c]", "[x]"]).all(), (name, c)
        if name not in numbers:
            continue
        # no withheld count can be worked out from a total: the forces add up to Wessex in each
        # quarter, and the quarters to each area's whole period (published in the chapter)
        num = numbers[name].reset_index(drop=True)
        assert len(num) == len(table)
        keys = ["group"] if "group" in table.columns else []
        for c in count_columns:
            for _, line in table.groupby(["period", *keys]):
                if "Wessex" in set(line["area"]):
                    forces = line[line["area"] != "Wessex"]
                    total = line.loc[line["area"] == "Wessex", c].iloc[0]
                    assert not _recovered(
                        forces[c], num.loc[forces.index, c], total not in ("[c]", "[x]")
                    ), (name, c, line)
            for _, line in table.groupby(["area", *keys]):
                whole = int(num.loc[line.index, c].sum())
                assert not _recovered(
                    line[c], num.loc[line.index, c], not 1 <= whole <= THRESHOLD
                ), (name, c, line)
    # no count below the threshold in the text: the darkness reason's per-area-year list is cut
    text = " ".join(b.get("text", "") + " ".join(b.get("items", [])) for b in ch.blocks)
    assert not re.search(r"\b\d{4}: \d+ Black, \d+ White", text)


def test_no_small_count_in_any_table_of_the_pack(demo):
    _check_disclosure(demo["ch"], demo["work"], _numbers(demo["results"]), small_cells=True)


def test_a_withheld_reference_count_hides_the_ratios_of_its_quarter(tmp_path):
    """Three White searches in Dorset: withheld, and (quarters by forces, with totals) the other
    White counts of that rectangle too; every ratio against a withheld White count goes."""
    dorset = _planted({"2023Q4": {"White": 50, "Black": 20}, "2024Q1": {"White": 3, "Black": 20}})
    wilts = _planted(
        {"2023Q4": {"White": 70, "Black": 20}, "2024Q1": {"White": 60, "Black": 20}},
        force="Wiltshire",
    )
    records = pd.concat([dorset, wilts], ignore_index=True)
    records.attrs["coverage"] = dorset.attrs["coverage"] + wilts.attrs["coverage"]
    params = {**_planted_params("2023-10", "2024-03"), "area": "Wessex"}
    ch = report.chapter("stop_search", title="t", work_dir=str(tmp_path), suppression_threshold=4)
    quarterly = scrutiny.scrutiny_latest_quarter(ch, {"stop_search": records}, params)
    scrutiny.scrutiny_rates_by_quarter(ch, quarterly, params)
    rows = quarterly.set_index(["area", "period", "group"])
    for area in ("Dorset", "Wiltshire"):
        for period in ("2023Q4", "2024Q1"):
            assert rows.loc[(area, period, "White"), "withheld"]
            black = rows.loc[(area, period, "Black")]
            assert (
                not black["withheld"] and black["status"] == "suppressed" and pd.isna(black["rri"])
            )
    wessex = rows.loc[("Wessex", "2024Q1", "Black")]
    assert wessex["status"] == "ok" and wessex["rri"] > 0
    published = _published(ch, tmp_path)["q_rates"][1].set_index(["area", "period", "group"])
    assert published.loc[("Wiltshire", "2024Q1", "White"), "events"] == "[c]"
    assert published.loc[("Wiltshire", "2024Q1", "Black"), "events"] == "20"
    assert published.loc[("Wiltshire", "2024Q1", "Black"), "rri"] == "[c]"
    assert published.loc[("Wessex", "2024Q1", "White"), "events"] == "63"
    assert any(
        "too few cases to tell whether Black people" in t
        for t in _area_bullets(ch, "This quarter", "Wiltshire")
    )


def test_darkness_reason_drops_its_small_counts():
    reason = (
        "fewer than 100 stops of each group in 2 of 2 area-years (stops in the window after "
        "exclusions; min_per_group=100): Dorset 2023: 3 Black, 60 White; Dorset 2024: 1 "
        "Black, 22 White. Note: 3 person searches of Black or White people were excluded "
        "because they fall in 1 area-month(s) ...: Dorset 2023-01"
    )
    out = stop_search.darkness_reason(reason, 4)
    assert out.startswith(
        "fewer than 100 stops of each group in 2 of 2 area-years (stops in the "
        "window after exclusions; min_per_group=100). Note: [c] person searches"
    )
    assert "Dorset 2023: 3" not in out and out.endswith("Dorset 2023-01")


def test_darkness_is_reported_only_where_eligible(demo, tmp_path):
    # the small demo: no force has 100 Black searches a year in the window: a sentence each, no table
    darkness = demo["results"]["darkness"]
    assert list(darkness["area"]) == [*FORCES, "Wessex (forces pooled)"]
    assert (darkness["status"] == "ineligible").all()
    assert "darkness" not in _published(demo["ch"], demo["work"])
    for area in [*FORCES, "Wessex (forces pooled)"]:
        assert any(
            t.startswith(
                f"{area}: the test was not run, because the data are not eligible: "
                "fewer than 100 stops of each group"
            )
            for t in _bullets(demo["ch"])
        )
    # evening searches at Southampton with the Black share the same in light and dark: eligible
    rng = np.random.default_rng(1)
    n = 3000
    wall = (
        pd.Timestamp("2023-01-01 16:00")
        + pd.to_timedelta(rng.integers(0, 365, n), "D")
        + pd.to_timedelta(rng.uniform(0, 390, n), "min")
    )
    records = pd.DataFrame(
        {
            "date": wall.tz_localize(
                "Europe/London", ambiguous=True, nonexistent="shift_forward"
            ).tz_convert("UTC"),
            "force": "Hampshire",
            "latitude": 50.90,
            "longitude": -1.40,
            "ethnicity": rng.choice(["Black", "White"], n, p=[0.3, 0.7]),
            "vehicle_only": False,
        }
    )
    records.attrs["clock"] = "utc"
    ch = report.chapter("stop_search", title="t", work_dir=str(tmp_path), suppression_threshold=4)
    table = stop_search.stop_search_darkness(
        ch, {"stop_search": records}, {**_planted_params("2023-01", "2023-12"), "area": "Hampshire"}
    )
    assert list(table["status"]) == ["ok"]
    published = _published(ch, tmp_path)["darkness"][1]
    assert (
        published.loc[0, "area"] == "Hampshire"
        and published.loc[0, "n"] == f"{table.loc[0, 'n']:,}"
    )
    assert any(
        t.startswith("Hampshire: there is no clear evidence that the share of Black people")
        and f"odds ratio {table.loc[0, 'odds_ratio']:.2f}" in t
        for t in _bullets(ch)
    )


# --------------------------------------------------------------------------------------------
# the full report is unchanged; the City of London pack from real data
# --------------------------------------------------------------------------------------------


def test_the_full_report_gets_none_of_the_pack(demo, tmp_path):
    params = {**demo["params"], "report": "wessex"}
    ch = report.chapter("stop_search", title="t", work_dir=str(tmp_path), suppression_threshold=4)
    quarterly = scrutiny.scrutiny_latest_quarter(ch, demo["data"], params)
    assert quarterly.empty
    assert scrutiny.scrutiny_change(ch, quarterly, params).empty
    assert scrutiny.scrutiny_rates_by_quarter(ch, quarterly, params).empty
    assert scrutiny.scrutiny_outcomes_by_quarter(ch, demo["data"], params) == {}
    assert scrutiny.scrutiny_concordance_by_quarter(ch, demo["data"], params).empty
    assert ch.blocks == []


def _self_defined(value: str) -> str:
    if not value or value.startswith("Other ethnic group - Not stated"):
        return "Not stated"
    for prefix, group in (
        ("White", "White"),
        ("Asian", "Asian"),
        ("Black", "Black"),
        ("Mixed", "Mixed"),
        ("Other", "Other"),
    ):
        if value.startswith(prefix):
            return group
    raise AssertionError(value)


def test_city_of_london_pack_from_real_data(city):
    """The latest quarter of the real files (October and November 2020), counted with csv."""
    searches, hits, strip = {}, {}, {}
    for month in ("2020-10", "2020-11"):
        path = city["folder"] / month / f"{month}-city-of-london-stop-and-search.csv"
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row["Type"] == "Vehicle search":
                    continue
                group = _self_defined(row["Self-defined ethnicity"])
                linked = row["Outcome linked to object of search"]
                if row["Legislation"] not in S60 and linked in ("True", "False"):
                    searches[group] = searches.get(group, 0) + 1
                    hits[group] = hits.get(group, 0) + (linked == "True")
                if row["Removal of more than just outer clothing"] == "True":
                    strip[group] = strip.get(group, 0) + 1
    got = city["results"]["outcomes"]["hit_rates"].query("period == '2020Q4'").set_index("group")
    for group in ("White", "Asian", "Black", "Mixed", "Other"):
        assert got.loc[group, "searches"] == searches[group]
        assert got.loc[group, "hits"] == hits[group]
    got = city["results"]["outcomes"]["strip"].query("period == '2020Q4'").set_index("group")
    for group in ("White", "Black"):
        assert got.loc[group, "strip_searches"] == strip.get(group, 0)
    # no resident population for the City: the headline says so, and gives the searches instead
    text = _bullets(city["ch"])
    assert any(
        t.startswith(
            "Rates per 1,000 residents, and so relative rates, cannot be calculated "
            "for City of London"
        )
        for t in text
    )
    assert any(t.startswith("Only 2 of the quarter's 3 months are covered") for t in text)
    quarterly = city["results"]["quarterly"]
    assert (
        sorted(quarterly["period"].unique())[-1] == "2020Q4" and quarterly["period"].nunique() == 8
    )
    assert city["results"]["change"].empty
    assert not city["results"]["concordance"].empty
    _check_disclosure(city["ch"], city["work"], _numbers(city["results"]), small_cells=False)
