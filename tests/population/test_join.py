"""The one join of a population table to counts (dispro.population.join), through dispro.rri.

Census 2021 figures used as references: Dorset PFA White 733,925, Black 5,315; Wiltshire PFA
White 671,555, Black 11,900 (independent sums of the ONS export in test_census.py).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import dispro
from dispro.errors import DataQualityWarning, DisproError, ValidationError
from dispro.population import census2021, join_population, person_years

pytestmark = pytest.mark.filterwarnings("ignore::dispro.errors.DataQualityWarning")

D_WHITE, D_BLACK = 733_925, 5_315
W_WHITE, W_BLACK = 671_555, 11_900


def row(table, **where):
    mask = np.ones(len(table), dtype=bool)
    for k, v in where.items():
        mask &= (table[k] == v).to_numpy()
    assert mask.sum() == 1, where
    return table[mask].iloc[0]


def census(areas):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return census2021(areas, by=())


def test_counts_by_force_are_matched_to_each_forces_area():
    """Issue 11, defect 1: the population is keyed by `area`, the counts by `force`. Before the
    fix both forces got the sum of both areas: Dorset's Black RRI came out 0.32, not 9.67."""
    counts = pd.DataFrame(
        {
            "force": ["Dorset", "Dorset", "Metropolitan Police", "Metropolitan Police"],
            "ethnicity": ["White", "Black", "White", "Black"],
            "events": [1000, 70, 40_000, 60_000],
        }
    )
    out = dispro.rri(counts, base=census(["Dorset", "Metropolitan Police"]), by="force")
    black = row(out, force="Dorset", group="Black")
    assert (black["base"], black["reference_base"]) == (D_BLACK, D_WHITE)
    assert black["rri"] == pytest.approx((70 / D_BLACK) / (1000 / D_WHITE))  # 9.666
    # the Met's own residents: the same as asking for the Met alone
    met = row(out, force="Metropolitan Police", group="Black")
    alone = census("Metropolitan Police").set_index("ethnicity")["population"]
    assert (met["base"], met["reference_base"]) == (alone["Black"], alone["White"])


def test_force_spellings_match_and_unmatched_areas_have_no_base():
    counts = pd.DataFrame(
        {
            "force": ["dorset", "dorset", "Wiltshire Police", "Wiltshire Police"],
            "ethnicity": ["White", "Black"] * 2,
            "events": [300, 40, 500, 60],
        }
    )
    out = dispro.rri(counts, base=census(["Dorset"]), by="force")
    assert row(out, force="dorset", group="Black")["base"] == D_BLACK
    assert set(out.loc[out.force == "Wiltshire Police", "status"]) == {"no_base"}


def test_a_sum_over_areas_is_refused():
    counts = pd.DataFrame({"ethnicity": ["White", "Black"], "events": [300, 40]})
    with pytest.raises(DisproError, match="holds 2 areas"):
        dispro.rri(counts, base=census(["Dorset", "Wiltshire"]))
    # an area split the population cannot match: never the same population for every area
    by_force = counts.assign(force="Dorset")
    no_area = census("Dorset").drop(columns="area")
    with pytest.raises(DisproError, match="names areas"):
        dispro.rri(by_force, base=no_area, by="force")
    # a join that matches no area is an error, not a table of no_base
    with pytest.raises(DisproError, match="no area of the counts"):
        dispro.rri(by_force.assign(force="Hampshire"), base=census("Dorset"), by="force")


def test_one_area_and_splits_that_are_not_areas_share_the_population():
    counts = pd.DataFrame(
        {
            "period": ["2023Q1", "2023Q1", "2023Q2", "2023Q2"],
            "ethnicity": ["White", "Black"] * 2,
            "events": [300, 40, 310, 35],
        }
    )
    out = dispro.rri(counts, base=census("Dorset"), by="period")
    assert set(out.loc[out.group == "Black", "base"]) == {D_BLACK}


def test_sex_is_joined_when_both_have_it():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        pop = census2021("Dorset", by=("sex",))
    by_sex = pop.set_index(["sex", "ethnicity"])["population"]
    counts = pd.DataFrame(
        {
            "force": "Dorset",
            "sex": ["Female", "Female", "Male", "Male"],
            "ethnicity": ["White", "Black"] * 2,
            "events": [100, 10, 300, 40],
        }
    )
    out = dispro.rri(counts, base=pop, by=["force", "sex"])
    assert row(out, sex="Male", group="Black")["base"] == by_sex["Male", "Black"]
    # without sex in `by`, the sexes are summed
    both = dispro.rri(counts, base=pop, by="force")
    assert row(both, group="Black")["base"] == D_BLACK


def test_rates_against_residents_say_they_are_not_rates_a_year():
    """Issue 11, defect 7: 15 months of searches against residents gave a "rate per 1,000"
    that is per 15 months, and said so nowhere. Now it says so (a warning and
    attrs["rate_unit"]), and person-years give the rate a year."""
    counts = pd.DataFrame({"ethnicity": ["White", "Black"], "events": [1500, 150]})
    pop = census("Dorset")
    with pytest.warns(DataQualityWarning, match="not a rate a year"):
        over_period = dispro.rri(counts, base=pop)
    assert "not a rate a year" in over_period.attrs["rate_unit"]
    assert row(over_period, group="Black")["rate"] == pytest.approx(150 / D_BLACK * 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        a_year = dispro.rri(counts, base=person_years(pop, 15))
    assert a_year.attrs["rate_unit"] == "per 1,000 person-years (a rate a year)"
    black = row(a_year, group="Black")
    assert black["base"] == pytest.approx(D_BLACK * 15 / 12)
    assert black["rate"] == pytest.approx(150 / (D_BLACK * 15 / 12) * 1000)
    # the ratio does not depend on the exposure
    assert black["rri"] == pytest.approx(row(over_period, group="Black")["rri"])
    assert dispro.rri(counts.assign(base=[100_000, 5_000])).attrs["rate_unit"] == (
        "per 1 of the base column 'base'"
    )


def test_join_population_directly():
    counts = pd.DataFrame({"force": ["Wiltshire", "Dorset"], "ethnicity": ["Black", "White"]})
    base, unit = join_population(
        counts, census(["Dorset", "Wiltshire"]), group="ethnicity", by=["force"]
    )
    assert base.tolist() == [W_BLACK, D_WHITE] and unit == "residents"
    with pytest.raises(ValidationError, match="'ethnicity' .* not in the population table"):
        join_population(counts, census("Dorset").drop(columns="ethnicity"), group="ethnicity")
