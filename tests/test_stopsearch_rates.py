"""Stop-and-search rates per 1,000, exposure, missing-ethnicity bounds and trend tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dispro
from dispro.stopsearch import missing_ethnicity_bounds, search_counts, search_rates, trend_test

HEADER = [
    "Type", "Date", "Part of a policing operation", "Policing operation", "Latitude", "Longitude",
    "Gender", "Age range", "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation",
    "Object of search", "Outcome", "Outcome linked to object of search",
    "Removal of more than just outer clothing",
]  # fmt: skip
LABELS = {
    "White": ("White - English/Welsh/Scottish/Northern Irish/British", "White"),
    "Black": ("Black/African/Caribbean/Black British - African", "Black"),
    "Asian": ("Asian/Asian British - Pakistani", "Asian"),
    "Not stated": ("Other ethnic group - Not stated", "Black"),
}
# Census 2021 usual residents by force area (sums of EthnicGroup.csv, checked independently in
# tests/test_population.py)
POP = {
    ("Dorset", "White"): 733_925, ("Dorset", "Black"): 5_315, ("Dorset", "Asian"): 17_855,
    ("Hampshire", "White"): 1_811_055, ("Hampshire", "Black"): 29_405, ("Hampshire", "Asian"): 94_975,
    ("Wiltshire", "White"): 671_555, ("Wiltshire", "Black"): 11_900, ("Wiltshire", "Asian"): 38_045,
}  # fmt: skip
SLUG = {"Dorset": "dorset", "Hampshire": "hampshire", "Wiltshire": "wiltshire"}


def write_month(folder, force, month, counts, vehicle=0):
    """A police.uk file with ``counts[group]`` person searches (and ``vehicle`` vehicle-only)."""
    rows = []
    for group, n in counts.items():
        self_label, officer = LABELS[group]
        for i in range(n):
            rows.append(
                [
                    "Person search",
                    f"{month}-{1 + i % 28:02d}T10:00:00+00:00",
                    "",
                    "",
                    "50.9",
                    "-1.4",
                    "Male",
                    "18-24",
                    self_label,
                    officer,
                    "Misuse of Drugs Act 1971 (section 23)",
                    "Controlled drugs",
                    "A no further action disposal",
                    "False",
                    "False",
                ]
            )
    for _ in range(vehicle):
        rows.append(
            ["Vehicle search", f"{month}-02T10:00:00+00:00"]
            + [""] * 8
            + [
                "Police and Criminal Evidence Act 1984 (section 1)",
                "Stolen goods",
                "Arrest",
                "True",
                "",
            ]
        )
    path = folder / month / f"{month}-{SLUG[force]}-stop-and-search.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=HEADER).to_csv(path, index=False)


@pytest.fixture(scope="module")
def wessex_records(tmp_path_factory):
    """Financial year 2023-24 for the three Wessex forces; Wiltshire lacks 2023-09."""
    folder = tmp_path_factory.mktemp("wessex")
    months = pd.period_range("2023-04", "2024-03", freq="M").strftime("%Y-%m")
    per_month = {
        "Dorset": {"White": 60, "Black": 9, "Asian": 4, "Not stated": 12},
        "Hampshire": {"White": 150, "Black": 30, "Asian": 12, "Not stated": 20},
        "Wiltshire": {"White": 50, "Black": 10, "Asian": 3, "Not stated": 7},
    }
    for force, counts in per_month.items():
        for m in months:
            if force == "Wiltshire" and m == "2023-09":
                continue
            write_month(folder, force, m, counts, vehicle=2)
    return dispro.read_police_uk(folder), per_month


def test_rates_per_1000_match_hand_computation(wessex_records):
    records, per_month = wessex_records
    table = search_rates(records, period="financial_year")
    for force in ("Dorset", "Hampshire", "Wiltshire"):
        months = 11 if force == "Wiltshire" else 12
        for group in ("White", "Black", "Asian"):
            row = table[(table.force == force) & (table.group == group)].iloc[0]
            events = per_month[force][group] * months
            person_years = POP[(force, group)] * months / 12
            assert row["events"] == events
            assert row["base"] == pytest.approx(person_years)
            assert row["rate"] == pytest.approx(events / person_years * 1000)
            assert row["months_covered"] == months and row["months_in_period"] == 12
        black = table[(table.force == force) & (table.group == "Black")].iloc[0]
        expected = (per_month[force]["Black"] / POP[(force, "Black")]) / (
            per_month[force]["White"] / POP[(force, "White")]
        )
        assert black["rri"] == pytest.approx(expected)
        assert black["ci_lower"] < black["rri"] < black["ci_upper"]
    wilts = table[table.force == "Wiltshire"]
    assert (
        wilts.loc[wilts.group != "Not stated", "note"]
        .str.contains("11 of 12 months supplied")
        .all()
    )
    assert (
        table.loc[table.force != "Wiltshire", "note"].isin(
            ["", "no resident population for Not stated (the Census imputes missing answers)"]
        )
    ).all()
    ns = table[table.group == "Not stated"]
    assert (ns["status"] == "no_base").all()
    assert ns["note"].str.contains("no resident population for Not stated").all()


def test_quarters_annualise_with_exposure(wessex_records):
    records, per_month = wessex_records
    table = search_rates(records, period="quarter")
    # Wiltshire 2023Q3 has 2 of 3 months: person-years = population x 2 / 12
    row = table[
        (table.force == "Wiltshire") & (table.period == "2023Q3") & (table.group == "Black")
    ].iloc[0]
    assert row["months_covered"] == 2
    assert row["base"] == pytest.approx(11_900 * 2 / 12)
    assert row["rate"] == pytest.approx(10 * 2 / (11_900 * 2 / 12) * 1000)
    assert "2 of 3 months" in row["note"]


def test_vehicle_only_searches_are_excluded_and_counted(wessex_records):
    records, _ = wessex_records
    counts = search_counts(records, period="financial_year")
    assert counts["events"].sum() == len(records) - records["vehicle_only"].sum()
    led = dispro.ledger.exclusions(counts)
    row = led[led.rule.str.contains("vehicle-only searches excluded")].iloc[0]
    assert row["rows"] == (12 + 12 + 11) * 2


def test_officer_defined_and_fallback_are_labelled(wessex_records):
    records, per_month = wessex_records
    officer = search_counts(records, period="financial_year", ethnicity="officer_defined")
    d = officer[(officer.force == "Dorset")].set_index("ethnicity")["events"]
    # the not-stated searches were perceived as Black by the officer
    assert d["Black"] == (9 + 12) * 12
    fallback = search_rates(records, period="financial_year", ethnicity="fallback")
    assert fallback.attrs["ethnicity_basis"] == "fallback"
    assert "Not stated" not in set(fallback.group)


def test_city_of_london_has_no_base_with_the_reason(realdata):
    records = dispro.read_police_uk(realdata / "police_uk_stop_search_city_of_london")
    table = search_rates(records, period="financial_year")
    assert (table["status"] == "no_base").all()
    assert table["rate"].isna().all() and table["rri"].isna().all()
    assert table["note"].str.contains("Westminster").all()
    # the counts are still there, checked against the raw rows
    counts = table.groupby("group")["events"].sum()
    people = records[~records["vehicle_only"]]
    assert counts.to_dict() == people["ethnicity"].value_counts().to_dict()


# ------------------------------------------------------------------ missing-ethnicity bounds


def test_bounds_formulae_by_hand():
    counts = pd.DataFrame(
        {
            "ethnicity": ["White", "Black", "Not stated"],
            "events": [400, 120, 100],
            "base": [100_000, 10_000, np.nan],
        }
    )
    out = missing_ethnicity_bounds(counts).iloc[0]
    assert out["rri"] == pytest.approx((120 / 10_000) / (400 / 100_000))
    assert out["lower_bound"] == pytest.approx((120 / 10_000) / (500 / 100_000))
    assert out["upper_bound"] == pytest.approx((220 / 10_000) / (400 / 100_000))
    assert out["unknown_share"] == pytest.approx(100 / 620)
    # parity: White would need 120 x 100000/10000 = 1200 events: 800 more than the 100 unknowns
    assert out["parity_share"] == pytest.approx((120 * 100_000 / 10_000 - 400) / 100)


def test_bounds_contain_the_true_ratio_in_simulation():
    rng = np.random.default_rng(42)
    groups = ["White", "Black", "Asian", "Mixed"]
    pops = np.array([500_000, 20_000, 40_000, 15_000])
    for _ in range(500):
        rates = rng.uniform(0.002, 0.02, 4)
        true = rng.poisson(pops * rates)
        # unknowns drawn from a known mix, different for each group (not at random)
        hide = rng.binomial(true, rng.uniform(0.0, 0.4, 4))
        counts = pd.DataFrame(
            {
                "ethnicity": [*groups, "Not stated"],
                "events": [*(true - hide), hide.sum()],
                "base": [*pops, np.nan],
            }
        )
        out = missing_ethnicity_bounds(counts).set_index("group")
        for i, g in enumerate(groups[1:], start=1):
            true_rri = (true[i] / pops[i]) / (true[0] / pops[0])
            assert out.loc[g, "lower_bound"] <= true_rri * (1 + 1e-12)
            assert true_rri <= out.loc[g, "upper_bound"] * (1 + 1e-12)


# ------------------------------------------------------------------ trends


def test_two_period_change_matches_the_wald_ratio_of_rris():
    counts = pd.DataFrame(
        {
            "ethnicity": ["White", "Black"] * 2,
            "period": ["2022", "2022", "2023", "2023"],
            "events": [400, 80, 380, 110],
            "base": [100_000, 8_000, 100_000, 8_000],
        }
    )
    out = trend_test(counts).set_index("test").loc["change"]
    ratio = ((110 / 8_000) / (380 / 100_000)) / ((80 / 8_000) / (400 / 100_000))
    se = np.sqrt(1 / 400 + 1 / 80 + 1 / 380 + 1 / 110)
    assert out["estimate"] == pytest.approx(ratio, rel=1e-6)
    assert out["ci_lower"] == pytest.approx(ratio * np.exp(-1.959963985 * se), rel=1e-6)
    assert out["ci_upper"] == pytest.approx(ratio * np.exp(1.959963985 * se), rel=1e-6)
    assert out["df"] == 1


@pytest.mark.slow
def test_trend_test_size_and_power_by_simulation():
    rng = np.random.default_rng(7)
    periods = [f"2023Q{q}" for q in range(1, 5)]

    def simulate(drift):
        rows = []
        for area in ("A", "B", "C"):
            for t, p in enumerate(periods):
                rows.append(("White", area, p, rng.poisson(300), 100_000))
                rows.append(("Black", area, p, rng.poisson(60 * drift**t), 5_000))
        return pd.DataFrame(rows, columns=["ethnicity", "area", "period", "events", "base"])

    null_p = [
        trend_test(simulate(1.0)).query("test == 'trend'")["p_value"].iloc[0] for _ in range(200)
    ]
    assert 0.02 <= np.mean(np.array(null_p) < 0.05) <= 0.09
    alt = [trend_test(simulate(0.8)).query("test == 'trend'").iloc[0] for _ in range(50)]
    assert np.mean([a["p_value"] < 0.05 for a in alt]) > 0.9
    assert np.mean([a["estimate"] for a in alt]) == pytest.approx(0.8, abs=0.05)


def test_wessex_combined_sums_events_and_person_years(wessex_records):
    records, per_month = wessex_records
    table = search_rates(records, period="financial_year", combine="Wessex")
    row = table[(table.force == "Wessex") & (table.group == "Black")].iloc[0]
    events = sum(per_month[f]["Black"] * (11 if f == "Wiltshire" else 12) for f in per_month)
    person_years = sum(POP[(f, "Black")] * (11 if f == "Wiltshire" else 12) / 12 for f in per_month)
    ref_events = sum(per_month[f]["White"] * (11 if f == "Wiltshire" else 12) for f in per_month)
    ref_py = sum(POP[(f, "White")] * (11 if f == "Wiltshire" else 12) / 12 for f in per_month)
    assert row["events"] == events and row["base"] == pytest.approx(person_years)
    assert row["rri"] == pytest.approx((events / person_years) / (ref_events / ref_py))
    assert set(table.force) == {"Dorset", "Hampshire", "Wiltshire", "Wessex"}
