"""A report period that starts before the data or runs past them is a warning naming the
months with data and those used (issue 13, item 2)."""

from __future__ import annotations

import warnings

import pytest

import dispro
from dispro.errors import DataQualityWarning
from dispro.report import check_parameters
from dispro.report.inputs import filter_data

CITY = "police_uk_stop_search_city_of_london"


@pytest.fixture(scope="module")
def city(realdata):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return dispro.read_police_uk(realdata / CITY)


def _params(start, end):
    return check_parameters(
        {"area": "City of London", "period_start": start, "period_end": end, "data": "x.yaml"}
    )


@pytest.mark.parametrize(
    ("start", "end", "side", "used"),
    [
        ("2017-06", "2021-03", "starts before and runs past", "2017-12 to 2020-11"),
        ("2019-01", "2021-03", "runs past", "2019-01 to 2020-11"),
        ("2017-01", "2018-06", "starts before", "2017-12 to 2018-06"),
    ],
)
def test_a_period_beyond_the_data_is_a_warning_naming_the_months(city, start, end, side, used):
    with pytest.warns(DataQualityWarning) as caught:
        filter_data({"stop_search": city}, _params(start, end))
    text = " ".join(str(w.message) for w in caught)
    assert f"{side} the stop_search data for City of London" in text
    assert "months with data 2017-12 to 2020-11" in text
    assert f"the figures use {used}" in text


def test_a_period_within_the_data_raises_no_period_warning(city):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        filter_data({"stop_search": city}, _params("2018-04", "2019-03"))
    assert not [w for w in caught if "months with data" in str(w.message)]
