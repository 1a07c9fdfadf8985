"""Stop-and-search rates per 1,000 a year, exposure and missing-ethnicity bounds (stopsearch.rates)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dispro
from dispro.stopsearch import missing_ethnicity_bounds, search_counts, search_rates

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


def test_city_of_london_rates_rest_on_ts021_and_keep_every_count(realdata):
    # its rates against the raw files: tests/stopsearch/test_rates_city.py
    records = dispro.read_police_uk(realdata / "police_uk_stop_search_city_of_london")
    table = search_rates(records, period="financial_year")
    assert (table.loc[table["group"] != "Not stated", "status"] == "ok").all()
    assert table.attrs["population_source"] == {
        "City of London": "Census 2021 TS021 by police force area (unrounded)"
    }
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


# ------------------------------------------------------------------ exposure of the records passed

# A City of London population invented for these tests (round numbers; the bundled Census merges
# the City with Westminster, so it has none): what matters is that every route uses the same one.
CITY_POP = pd.DataFrame(
    {
        "force": "City of London",
        "ethnicity": ["White", "Black", "Asian", "Mixed", "Other"],
        "population": [5_000, 200, 1_300, 400, 300],
    }
)


def test_records_filtered_after_reading_use_the_months_they_hold(realdata):
    """Issue 11, defect 3: after ``recs[recs["month"] >= "2018-05"]`` the reader's coverage table
    (kept in attrs by pandas) still listed 2017-12 to 2018-04, so 2018Q2 was annualised over 3
    months when the records hold 2 (a rate a third too low, status ok), and period="all" gave
    no_base everywhere with no note."""
    records = dispro.read_police_uk(realdata / "police_uk_stop_search_city_of_london")
    sub = records[records["month"] >= "2018-05"]
    people = sub[~sub["vehicle_only"]]
    with pytest.warns(dispro.DataQualityWarning, match="filtered after reading"):
        quarterly = search_rates(sub, period="quarter", population=CITY_POP)
    row = quarterly[(quarterly.period == "2018Q2") & (quarterly.group == "Black")].iloc[0]
    events = int(((people["month"] <= "2018-06") & (people["ethnicity"] == "Black")).sum())
    assert row["events"] == events
    assert row["months_covered"] == 2 and row["base"] == pytest.approx(200 * 2 / 12)
    assert row["rate"] == pytest.approx(events / (200 * 2 / 12) * 1000)
    assert row["status"] == "ok" and "2 of 3 months" in row["note"]
    with pytest.warns(dispro.DataQualityWarning, match="filtered after reading"):
        whole = search_rates(sub, period="all", population=CITY_POP)
    black = whole[whole.group == "Black"].iloc[0]
    assert black["period"] == "2018-05 to 2020-11"
    assert black["months_covered"] == black["months_in_period"] == 31
    n_black = int((people["ethnicity"] == "Black").sum())
    assert black["base"] == pytest.approx(200 * 31 / 12)
    assert black["rate"] == pytest.approx(n_black / (200 * 31 / 12) * 1000)
    assert set(whole.loc[whole.group != "Not stated", "status"]) == {"ok"}


def test_a_population_naming_none_of_the_areas_is_an_error(wessex_records):
    records, _ = wessex_records
    with pytest.raises(dispro.DisproError, match="no area of the coverage"):
        search_rates(records, period="financial_year", population=CITY_POP)
    # one force missing from the population: no base for it, with the reason
    dorset = pd.DataFrame(
        {"area": "Dorset", "ethnicity": ["White", "Black"], "population": [733_925, 5_315]}
    )
    table = search_rates(records, period="financial_year", population=dorset)
    hants = table[table.force == "Hampshire"]
    assert (hants["status"] == "no_base").all()
    assert hants["note"].str.contains("no population for this area").all()
    black = table[(table.force == "Dorset") & (table.group == "Black")].iloc[0]
    assert black["rate"] == pytest.approx(9 * 12 / 5_315 * 1000)
