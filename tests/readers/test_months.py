"""The coverage of the records actually passed, and the one rule for a record's month
(dispro.readers.months).

The City of London files (../shared/realdata) hold 36 monthly files, 2017-12 to 2020-11.
"""

from __future__ import annotations

import doctest
import warnings

import pandas as pd
import pytest

import dispro.readers.months as module
from dispro import person_searches, read_police_uk
from dispro.errors import DataQualityWarning, ValidationError
from dispro.readers import coverage, record_months

FOLDER = "police_uk_stop_search_city_of_london"
ALL_MONTHS = pd.period_range("2017-12", "2020-11", freq="M").strftime("%Y-%m").tolist()


@pytest.fixture(scope="module")
def city(realdata):
    return read_police_uk(realdata / FOLDER)


def quiet(records, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        return coverage(records, **kwargs)


def test_the_readers_table_as_it_is(city):
    cov = quiet(city)
    assert cov["month"].tolist() == ALL_MONTHS and cov["present"].all()
    assert cov["rows"].sum() == len(city) == 6855


def test_records_filtered_by_month_lose_the_months_filtered_out(city):
    """Issue 11, defect 3: pandas keeps attrs through a filter, so the reader's table still
    listed 2017-12 to 2018-04 for records from 2018-05 on."""
    sub = city[city["month"] >= "2018-05"]
    assert len(sub.attrs["coverage"]) == 36  # the stale table pandas carried
    with pytest.warns(DataQualityWarning, match=r"City of London 2017-12 to 2018-04\)"):
        cov = coverage(sub)
    assert cov["month"].tolist() == ALL_MONTHS[5:]
    window = city[(city["month"] >= "2018-05") & (city["month"] <= "2019-02")]
    with pytest.warns(DataQualityWarning, match="2017-12 to 2018-04, 2019-03 to 2020-11"):
        assert coverage(window)["month"].tolist() == ALL_MONTHS[5:15]
    # person searches of the window (the vehicle-only searches left out of every month)
    with pytest.warns(DataQualityWarning, match="2019-03 to 2020-11"):
        assert coverage(person_searches(window))["month"].tolist() == ALL_MONTHS[5:15]
    # a month cut out of the middle, all other months whole: it is gone too
    with pytest.warns(DataQualityWarning, match="2019-08"):
        holed = coverage(city[city["month"] != "2019-08"])
    assert "2019-08" not in set(holed["month"]) and len(holed) == 35


def test_records_filtered_by_group_keep_every_supplied_month(city):
    # the City's searches of people of an Other ethnic group: some months have none, but those
    # months were supplied
    other = city[city["ethnicity"] == "Other"]
    assert other["month"].nunique() < 36
    cov = quiet(other)
    assert cov["month"].tolist() == ALL_MONTHS
    assert cov["rows"].sum() == 6855  # the files' rows, not the subset's


def test_without_the_readers_table_months_come_from_the_records(city):
    bare = city.copy()
    bare.attrs = {}
    cov = quiet(bare)
    assert cov["month"].tolist() == ALL_MONTHS
    assert cov["rows"].tolist() == city.groupby("month").size().tolist()
    assert cov["outcome_linked_supplied"].all()
    # another area column, or none
    per_area = quiet(bare.assign(area="London"), area="area")
    assert list(per_area.columns[:2]) == ["area", "month"] and len(per_area) == 36
    assert "force" not in quiet(bare, area=None).columns


def test_records_holding_months_the_table_lacks_are_added(city):
    records = city.copy()
    records.attrs = {**city.attrs, "coverage": city.attrs["coverage"][:-1]}
    with pytest.warns(DataQualityWarning, match="does not list as supplied"):
        cov = coverage(records)
    assert cov["month"].tolist() == ALL_MONTHS


def test_a_records_month_is_its_uk_local_month():
    stamps = pd.Series(
        [
            "2023-03-31T23:00:00+00:00",  # 00:00 BST on 1 April
            "2023-10-31T23:30:00+00:00",  # 23:30 GMT on 31 October
            "2023-06-30T23:59:00Z",  # 00:59 BST on 1 July
        ]
    )
    assert record_months(pd.DataFrame({"date": stamps})).tolist() == [
        "2023-04",
        "2023-10",
        "2023-07",
    ]
    aware = pd.DataFrame({"date": pd.to_datetime(stamps, utc=True)})
    assert record_months(aware).tolist() == ["2023-04", "2023-10", "2023-07"]
    # a date without a time zone is UK local time already
    naive = pd.DataFrame({"date": pd.to_datetime(["2023-03-31 23:30", "2023-04-01 00:00"])})
    assert record_months(naive).tolist() == ["2023-03", "2023-04"]
    # the police.uk month column wins over the date
    both = aware.assign(month=["2023-03", "2023-10", "2023-06"])
    assert record_months(both).tolist() == ["2023-03", "2023-10", "2023-06"]


def test_bad_input():
    with pytest.raises(ValidationError, match="no coverage table"):
        coverage(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValidationError, match="'force' .* not in the records"):
        coverage(pd.DataFrame({"month": ["2024-01"]}))
    with pytest.raises(ValidationError, match="YYYY-MM"):
        record_months(pd.DataFrame({"month": ["2024-1"]}))


def test_docstring_examples_run():
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
