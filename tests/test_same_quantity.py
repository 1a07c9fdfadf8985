"""The same quantity by every route (issue 11, acceptance): one rate, one path.

The stop-search rate per 1,000 residents a year of each force and group, from
:func:`dispro.stopsearch.search_rates`, from :func:`dispro.pathway.pathway_matrix` with
``basis="population"``, from :func:`dispro.rri_from_records` with
:func:`dispro.population.person_years` as the base, and from the report's own call (the stop and
search notebook's ``search_rates`` on the report's filtered data, and the table it publishes),
agree to 1e-9, and with a hand computation from the raw rows: on the City of London files and on
synthetic Wessex data, for the whole period, one financial year and records filtered to a window.

The report route runs on the synthetic data only: the report takes its population from the
bundled Census, which has none for the City of London (it merges the City with Westminster), so
its City rates have no base by design. The City's population here is invented for the test
(round numbers): what matters is that every route is given the same one.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import dispro
from dispro.pathway import pathway_matrix
from dispro.population import census2021, person_years
from dispro.report import chapter
from dispro.report.assemble import read_published
from dispro.report.inputs import filter_data
from dispro.report.sections import stop_search
from dispro.stopsearch import search_rates

pytestmark = pytest.mark.filterwarnings("ignore::dispro.errors.DisproWarning")

CITY_POP = pd.DataFrame(
    {
        "area": "City of London",
        "ethnicity": ["White", "Black", "Asian", "Mixed", "Other"],
        "population": [5_000, 200, 1_300, 400, 300],
    }
)
#: (whole period, a financial year and its label, a window) of each data set
SELECTIONS = {
    "city": {"whole": ("2017-12", "2020-11"), "fy": ("2018-04", "2019-03", "2018-19"),
             "window": ("2018-05", "2019-02")},
    "synthetic": {"whole": ("2021-04", "2024-03"), "fy": ("2022-04", "2023-03", "2022-23"),
                  "window": ("2022-05", "2023-02")},
}  # fmt: skip


@pytest.fixture(scope="module")
def city(realdata):
    return dispro.read_police_uk(realdata / "police_uk_stop_search_city_of_london")


@pytest.fixture(scope="module")
def synthetic():
    return dispro.synth.wessex(seed=11, scale=0.2, datasets="stop_search")["stop_search"]


def between(records, first, last):
    return records[(records["month"] >= first) & (records["month"] <= last)]


def residents(records, population):
    if population is not None:
        return population
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dispro.DataQualityWarning)
        return census2021(sorted(records["force"].unique()), by=())


def tidy(table, force="force"):
    out = table[table["group"] != "Not stated"].rename(columns={force: "force"})
    return out.set_index(["force", "group"])[["events", "base", "rate"]].sort_index()


def by_hand(records, population) -> pd.DataFrame:
    """Person searches over residents x months with records / 12, from the raw rows."""
    people = records[~records["vehicle_only"]]
    events = people.groupby(["force", "ethnicity"]).size()
    months = records.groupby("force")["month"].nunique()
    pop = population.set_index(["area", "ethnicity"])["population"].astype(float)
    rows = []
    for (force, group), n in events.items():
        if group == "Not stated":
            continue
        base = pop[force, group] * months[force] / 12
        rows.append({"force": force, "group": group, "events": n, "base": base,
                     "rate": n / base * 1000})  # fmt: skip
    return pd.DataFrame(rows).set_index(["force", "group"]).sort_index()


def routes(records, selected, population, period, label) -> dict[str, pd.DataFrame]:
    """Every library route to the rate, on ``selected`` (``records`` filtered)."""
    rates = search_rates(records, period=period, population=population)
    if label is not None:
        rates = rates[rates["period"] == label]
    matrix = pathway_matrix(
        {"stop_search": selected},
        stages_=["stop_search"],
        by="force",
        basis="population",
        population=population,
    )
    base = person_years(residents(selected, population), dispro.coverage(selected))
    direct = dispro.rri_from_records(
        selected, events={"vehicle_only": [False]}, by="force", base=base
    )
    return {
        "search_rates": tidy(rates),
        "pathway_matrix": tidy(matrix),
        "rri_from_records": tidy(direct),
    }


def assert_agree(got: dict[str, pd.DataFrame], reference: pd.DataFrame) -> None:
    for name, table in got.items():
        assert table.index.equals(reference.index), name
        assert (table["events"] == reference["events"]).all(), name
        for col in ("base", "rate"):
            np.testing.assert_allclose(table[col], reference[col], rtol=1e-9, atol=0, err_msg=name)


@pytest.mark.parametrize("selection", ["whole", "fy", "window"])
def test_city_of_london_rates_agree_by_every_route(city, selection):
    first, last, *label = SELECTIONS["city"][selection]
    selected = between(city, first, last)
    if selection == "fy":  # the financial year's row of the whole table
        got = routes(city, selected, CITY_POP, "financial_year", label[0])
    else:
        got = routes(selected, selected, CITY_POP, "all", None)
    assert_agree(got, by_hand(selected, CITY_POP))
    assert got["search_rates"]["rate"].notna().all()


@pytest.mark.parametrize("selection", ["whole", "fy", "window"])
def test_synthetic_rates_agree_by_every_route(synthetic, selection, tmp_path):
    first, last, *label = SELECTIONS["synthetic"][selection]
    selected = between(synthetic, first, last)
    if selection == "fy":
        got = routes(synthetic, selected, None, "financial_year", label[0])
    else:
        got = routes(selected, selected, None, "all", None)
    # the report: its data filtered to the period, then the stop and search notebook's call
    params = {"area": "Wessex", "period_start": first, "period_end": last, "alpha": 0.05,
              "reference": "White", "ethnicity": "self_defined"}  # fmt: skip
    data = filter_data({"stop_search": synthetic}, params)
    report_rates = search_rates(
        data["stop_search"],
        period="all",
        ethnicity=params["ethnicity"],
        reference=params["reference"],
        alpha=params["alpha"],
    )
    got["report"] = tidy(report_rates)
    assert_agree(got, by_hand(selected, residents(selected, None)))
    # the table the report publishes is that one, formatted to 2 decimals (counts of 1 to 4
    # withheld as [c])
    ch = chapter("stop_search", title="t", work_dir=str(tmp_path), suppression_threshold=4)
    stop_search.rates(ch, report_rates, params)
    published = read_published(tmp_path / "content" / "stop_search__rates.json")
    published = published[published["group"] != "Not stated"].set_index(["force", "group"])
    published = published.sort_index()
    numbers = published[["events", "rate"]].apply(
        lambda c: pd.to_numeric(c.str.replace(",", ""), errors="coerce")
    )
    shown = numbers["rate"].notna() & numbers["events"].notna()
    assert shown.sum() >= 12
    assert (numbers.loc[shown, "events"] == got["report"].loc[shown, "events"]).all()
    np.testing.assert_allclose(
        numbers.loc[shown, "rate"], got["report"].loc[shown, "rate"], rtol=0, atol=0.005 + 1e-12
    )
