"""person_years (residents x months covered / 12) and area_key, against hand computation."""

from __future__ import annotations

import doctest

import pandas as pd
import pytest

import dispro.population.exposure as module
from dispro.errors import DisproError, ParameterError, ValidationError
from dispro.population import area_key, person_years

POP = pd.DataFrame(
    {
        "area": ["Dorset", "Dorset", "Wiltshire", "Wiltshire"],
        "ethnicity": ["White", "Black", "White", "Black"],
        "population": [733_925, 5_315, 671_555, 11_900],
    }
)


def months(force: str, first: str, last: str, **extra) -> pd.DataFrame:
    labels = pd.period_range(first, last, freq="M").strftime("%Y-%m")
    return pd.DataFrame({"force": force, "month": labels, **extra})


def test_residents_times_months_over_twelve():
    cov = pd.concat(
        [months("dorset", "2023-04", "2024-03"), months("Wiltshire", "2023-04", "2023-06")]
    )
    got = person_years(POP, cov).set_index(["area", "ethnicity"])
    assert got.loc[("Dorset", "Black"), "months_covered"] == 12
    assert got.loc[("Dorset", "Black"), "person_years"] == 5_315  # a whole year
    assert got.loc[("Wiltshire", "White"), "months_covered"] == 3
    assert got.loc[("Wiltshire", "White"), "person_years"] == pytest.approx(671_555 * 3 / 12)
    # the residents stay, the exposure is added
    assert got.loc[("Wiltshire", "White"), "population"] == 671_555
    assert got.attrs["unit"] == "person-years"


def test_months_not_supplied_are_not_exposure():
    cov = months("Dorset", "2024-01", "2024-04", present=[True, False, True, True])
    got = person_years(POP[POP.area == "Dorset"], cov)
    assert set(got["months_covered"]) == {3}
    # a month listed twice is one month
    doubled = pd.concat([cov, cov])
    assert set(person_years(POP[POP.area == "Dorset"], doubled)["months_covered"]) == {3}


def test_a_period_column_gives_each_period_its_months():
    cov = months("Dorset", "2023-11", "2024-03")
    cov["period"] = ["2023Q4", "2023Q4", "2024Q1", "2024Q1", "2024Q1"]
    got = person_years(POP[POP.area == "Dorset"], cov, period="period")
    black = got[got.ethnicity == "Black"].set_index("period")
    assert black.loc["2023Q4", "person_years"] == pytest.approx(5_315 * 2 / 12)
    assert black.loc["2024Q1", "person_years"] == pytest.approx(5_315 * 3 / 12)


def test_a_number_of_months_for_every_area():
    got = person_years(POP, 15).set_index(["area", "ethnicity"])
    assert got.loc[("Wiltshire", "Black"), "person_years"] == pytest.approx(11_900 * 15 / 12)
    with pytest.raises(ParameterError, match="must be positive"):
        person_years(POP, 0)


def test_one_area_without_an_area_column():
    pop = POP[POP.area == "Dorset"].drop(columns="area")
    got = person_years(pop, months("Dorset", "2024-01", "2024-06"))
    assert got["person_years"].tolist() == pytest.approx([733_925 / 2, 5_315 / 2])


def test_areas_are_never_summed_or_guessed():
    two = pd.concat(
        [months("Dorset", "2024-01", "2024-02"), months("Wiltshire", "2024-01", "2024-02")]
    )
    with pytest.raises(DisproError, match="no 'area' column"):
        person_years(POP.drop(columns="area"), two)
    with pytest.raises(DisproError, match="coverage names none"):
        person_years(POP, two.drop(columns="force"))
    with pytest.raises(DisproError, match="no area of the coverage"):
        person_years(POP, months("Hampshire", "2024-01", "2024-02"))
    # an area without population is left out, not given another's
    got = person_years(POP, pd.concat([two, months("Hampshire", "2024-01", "2024-02")]))
    assert set(got["area"]) == {"Dorset", "Wiltshire"}


def test_bad_input():
    with pytest.raises(DisproError, match="already holds person-years"):
        person_years(person_years(POP, 12), 12)
    with pytest.raises(ValidationError, match="YYYY-MM"):
        person_years(POP, pd.DataFrame({"force": "Dorset", "month": ["2024-13"]}))
    with pytest.raises(ValidationError, match="no 'month' column"):
        person_years(POP, pd.DataFrame({"force": "Dorset", "when": ["2024-01"]}))
    with pytest.raises(ParameterError, match="or a number of months"):
        person_years(POP, "12")


def test_area_key_matches_force_spellings():
    keys = area_key(["dorset", "Dorset Police", "Dorset", "avon-and-somerset", "Wessex", "WESSEX"])
    assert keys.tolist() == ["Dorset"] * 3 + ["Avon and Somerset", "wessex", "wessex"]


def test_docstring_examples_run():
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_person_years_from_months_already_counted():
    """A table of months per area and period (as age standardisation holds) gives the same
    person-years as the coverage of those months: residents x months / 12, by hand."""
    import pandas as pd

    from dispro.population import person_years

    pop = pd.DataFrame(
        {"area": ["Dorset", "Dorset", "Wiltshire"], "ethnicity": ["White", "Black", "White"],
         "population": [1200.0, 60.0, 2400.0]}
    )  # fmt: skip
    counted = pd.DataFrame(
        {"force": ["Dorset", "Dorset", "Wiltshire"], "period": ["2023Q1", "2023Q2", "2023Q1"],
         "months_covered": [3, 2, 1]}
    )  # fmt: skip
    out = person_years(pop, counted, area="force", period="period")
    got = {(r.area, r.ethnicity, r.period): r.person_years for r in out.itertuples()}
    assert got == {
        ("Dorset", "White", "2023Q1"): 1200 * 3 / 12,
        ("Dorset", "White", "2023Q2"): 1200 * 2 / 12,
        ("Dorset", "Black", "2023Q1"): 60 * 3 / 12,
        ("Dorset", "Black", "2023Q2"): 60 * 2 / 12,
        ("Wiltshire", "White", "2023Q1"): 2400 * 1 / 12,
    }
    listed = pd.DataFrame(
        {"force": ["Dorset"] * 5 + ["Wiltshire"],
         "month": ["2023-01", "2023-02", "2023-03", "2023-04", "2023-05", "2023-01"],
         "period": ["2023Q1"] * 3 + ["2023Q2"] * 2 + ["2023Q1"]}
    )  # fmt: skip
    same = person_years(pop, listed, area="force", period="period")
    assert sorted(same["person_years"]) == sorted(out["person_years"])


def test_months_counted_must_be_one_value_per_key():
    import pandas as pd
    import pytest

    from dispro.errors import ValidationError
    from dispro.population import person_years

    pop = pd.DataFrame({"area": ["Dorset"], "ethnicity": ["White"], "population": [100.0]})
    bad = pd.DataFrame({"force": ["Dorset", "Dorset"], "months_covered": [3, 2]})
    with pytest.raises(ValidationError, match="differs"):
        person_years(pop, bad, area="force")
