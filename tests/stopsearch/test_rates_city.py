"""The City of London's searches per 1,000 residents a year, on Census 2021 TS021 (stopsearch.rates).

References, read here in place from ``../shared/realdata`` with plain pandas: the 36 raw
data.police.uk CSVs of the City of London (person searches by self-defined group and month), the
TS021 table by police force area (the City's residents) and the ONS local-authority export with
the Wessex local authority codes written out (the Wessex forces' residents, unchanged).
"""

from __future__ import annotations

import pandas as pd
import pytest

import dispro
from dispro.stopsearch import search_rates

CITY_FILES = "police_uk_stop_search_city_of_london"
TS021 = "nomis_census2021_ts021_pfa/ts021_pfa_ethnic_group_5.csv"
GROUPS = ["White", "Asian", "Black", "Mixed", "Other"]
TS021_TEXT = "Census 2021 TS021 by police force area (unrounded)"
LA_TEXT = "Census 2021 by local authority and sex (cells rounded to 5)"
WESSEX_LAS = {
    "Hampshire": [f"E070000{n}" for n in range(84, 95)] + ["E06000044", "E06000045", "E06000046"],
    "Dorset": ["E06000058", "E06000059"],
    "Wiltshire": ["E06000054", "E06000030"],
}

pytestmark = pytest.mark.filterwarnings("ignore::dispro.errors.DataQualityWarning")


def _group(label: str) -> str:
    """The 5+1 group of a self-defined label, by its prefix (blank and 'Not stated' apart)."""
    if not label or label == "Other ethnic group - Not stated":
        return "Not stated"
    return next(g for g in GROUPS if label.startswith(g))


@pytest.fixture(scope="module")
def raw(realdata) -> pd.DataFrame:
    """Person searches (vehicle-only searches left out) with their month and 5+1 group."""
    frames = [
        pd.read_csv(path, dtype=str, keep_default_na=False).assign(month=path.parent.name)
        for path in sorted((realdata / CITY_FILES).glob("*/*.csv"))
    ]
    rows = pd.concat(frames, ignore_index=True)
    assert len(frames) == 36 and len(rows) == 6855
    people = rows[rows["Type"] != "Vehicle search"].copy()
    people["group"] = people["Self-defined ethnicity"].map(_group)
    people["fy"] = [f"{int(m[:4]) - (int(m[5:]) < 4)}" for m in people["month"]]
    return people


@pytest.fixture(scope="module")
def city_population(realdata) -> dict[str, int]:
    ts = pd.read_csv(realdata / TS021)
    return ts[ts["geography_code"] == "E23000034"].set_index("ethnicity")["population"].to_dict()


@pytest.fixture(scope="module")
def records(realdata) -> pd.DataFrame:
    return dispro.read_police_uk(realdata / CITY_FILES)


def test_every_group_with_a_population_has_a_rate_and_a_ratio(records, raw, city_population):
    table = search_rates(records, period="financial_year")
    with_pop = table[table["group"].isin(GROUPS)]
    assert len(with_pop) == 4 * 5  # 2017-18 (from December) to 2020-21 (to November)
    assert (with_pop["status"] == "ok").all()
    assert with_pop[["rate", "rri"]].notna().all().all()
    ratios = with_pop[with_pop["group"] != "White"]
    assert ratios[["ci_lower", "ci_upper"]].notna().all().all()
    assert (table.loc[table["group"] == "Not stated", "status"] == "no_base").all()
    assert table.attrs["population_source"] == {"City of London": TS021_TEXT}

    # hand computation: person searches / (population x months / 12) x 1000
    for fy, label in (("2019", "2019-20"), ("2020", "2020-21"), ("2017", "2017-18")):
        year = raw[raw["fy"] == fy]
        months = year["month"].nunique()
        got = table[table["period"] == label].set_index("group")
        assert (got.loc[GROUPS, "months_covered"] == months).all()
        rates = {}
        for group in GROUPS:
            searches = int((year["group"] == group).sum())
            rates[group] = searches / (city_population[group] * months / 12) * 1000
            assert got.loc[group, "events"] == searches
            assert got.loc[group, "base"] == pytest.approx(city_population[group] * months / 12)
            assert got.loc[group, "rate"] == pytest.approx(rates[group], rel=1e-12)
            assert got.loc[group, "rri"] == pytest.approx(rates[group] / rates["White"])
    # one figure written out: Black, April 2019 to March 2020, 354 searches of 232 residents
    black = table[(table["period"] == "2019-20") & (table["group"] == "Black")].iloc[0]
    assert black["events"] == 354 and black["rate"] == pytest.approx(354 / 232 * 1000)


def test_the_last_quarter_of_two_months_is_a_rate_a_year(records, raw, city_population):
    table = search_rates(records, period="quarter")
    last = table[table["period"] == "2020Q4"].set_index("group")
    quarter = raw[raw["month"].isin(["2020-10", "2020-11"])]
    for group in GROUPS:
        searches = int((quarter["group"] == group).sum())
        expected = searches / (city_population[group] * 2 / 12) * 1000
        assert last.loc[group, "rate"] == pytest.approx(expected, rel=1e-12)
        assert last.loc[group, "status"] in ("ok", "zero_events")
    assert (last.loc[GROUPS, "months_covered"] == 2).all()


def test_by_sex_the_city_has_no_base_and_says_why(records):
    table = search_rates(records, period="all", by="sex")
    assert (table["status"] == "no_base").all() and table["rate"].isna().all()
    assert table["note"].str.contains("no Census 2021 population by sex").all()
    assert table.attrs["population_source"] == {}


@pytest.fixture(scope="module")
def wessex_population(realdata) -> dict[tuple[str, str], float]:
    """Each Wessex force's residents by group: the published cells of the ONS export."""
    raw = pd.read_csv(
        realdata / "ons_census2021_ethnic_group_la" / "EthnicGroup.csv",
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
    )
    cells = raw.melt(id_vars=["Geography Code", "Region", "Sex"], var_name="cat", value_name="v")
    cells["value"] = pd.to_numeric(cells["v"].where(cells["v"] != "c"))
    high = {
        "Asian, Asian British or Asian Welsh": "Asian",
        "Black, Black British, Black Welsh, Caribbean or African": "Black",
        "White": "White",
    }
    cells["group"] = cells["cat"].str.split(": ", n=1).str[0].map(high)
    out = {}
    for force, codes in WESSEX_LAS.items():
        mine = cells[cells["Geography Code"].isin(codes)]
        for group, value in mine.groupby("group")["value"].sum().items():
            out[force, group] = float(value)
    return out


def test_wessex_forces_keep_the_local_authority_population(
    planted_searches, wessex_population, city_population
):
    counts = {"2024Q1": {"White": 40, "Black": 9, "Asian": 6}}
    forces = ["Dorset", "Hampshire", "Wiltshire", "City of London"]
    parts = [planted_searches(counts, force=f) for f in forces]
    records = pd.concat(parts, ignore_index=True)
    records.attrs["coverage"] = [row for p in parts for row in p.attrs["coverage"]]
    table = search_rates(records, period="quarter").set_index(["force", "group"])
    for force in forces[:3]:
        for group in ("White", "Black", "Asian"):
            residents = wessex_population[force, group]
            assert table.loc[(force, group), "base"] == pytest.approx(residents * 3 / 12)
    for group in ("White", "Black", "Asian"):
        residents = city_population[group]
        assert table.loc[("City of London", group), "base"] == pytest.approx(residents * 3 / 12)
    assert table.attrs["population_source"] == {
        "Dorset": LA_TEXT,
        "Hampshire": LA_TEXT,
        "Wiltshire": LA_TEXT,
        "City of London": TS021_TEXT,
    }
    wessex = pd.concat(parts[:3], ignore_index=True)
    wessex.attrs["coverage"] = [row for p in parts[:3] for row in p.attrs["coverage"]]
    combined = search_rates(wessex, period="quarter", combine="Wessex")
    total = combined[(combined["force"] == "Wessex") & (combined["group"] == "Black")].iloc[0]
    residents = sum(wessex_population[f, "Black"] for f in ("Dorset", "Hampshire", "Wiltshire"))
    assert total["base"] == pytest.approx(residents * 3 / 12)
    assert combined.attrs["population_source"]["Wessex"] == LA_TEXT
