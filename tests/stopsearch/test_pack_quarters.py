"""The scrutiny pack's "this quarter" is the last quarter with every month supplied (issue 13,
item 2): checked on the real City of London files, whose last month (2020-11) leaves 2020Q4
with 2 of its 3 months."""

from __future__ import annotations

import warnings

import pytest

import dispro
from dispro.errors import DataQualityWarning
from dispro.stopsearch.scrutiny import pack_quarters, quarterly_rates, supplied_months

CITY = "police_uk_stop_search_city_of_london"


@pytest.fixture(scope="module")
def city(realdata):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return dispro.read_police_uk(realdata / CITY)


def test_supplied_months_are_the_files_months(city, realdata):
    months = sorted(p.name for p in (realdata / CITY).iterdir() if p.is_dir())
    assert supplied_months(city) == months  # 36 folders, 2017-12 to 2020-11


def test_pack_quarters_end_at_the_last_complete_quarter():
    months = [f"2020-{m:02d}" for m in range(1, 12)]  # January to November 2020
    assert pack_quarters("2020-01", "2020-11", supplied=months) == ["2020Q1", "2020Q2", "2020Q3"]
    # without the supplied months, the period end's quarter (the old rule)
    assert pack_quarters("2020-01", "2020-11")[-1] == "2020Q4"
    # a gap inside a quarter makes it incomplete: the latest complete one is used
    gap = [m for m in months if m != "2020-08"]
    assert pack_quarters("2020-01", "2020-11", supplied=gap)[-1] == "2020Q2"
    # a period that starts mid-quarter: an earlier quarter may be partial (its months covered
    # are shown), the latest may not
    assert pack_quarters("2020-02", "2020-06", supplied=months) == ["2020Q1", "2020Q2"]
    assert pack_quarters("2020-02", "2020-03", supplied=months) == ["2020Q1"]  # none complete
    # no complete quarter: the last quarter holding a supplied month
    assert pack_quarters("2020-01", "2020-11", supplied=["2020-05"]) == ["2020Q1", "2020Q2"]


def test_this_quarter_of_the_city_pack_is_2020q3_and_says_why(city):
    table = quarterly_rates(
        city, period_start="2017-12", period_end="2020-11", area="City of London"
    )
    assert table.attrs["quarters"][-1] == "2020Q3"
    assert len(table.attrs["quarters"]) == 8
    assert set(table["period"]) == set(table.attrs["quarters"])
    note = table.attrs["quarter_note"]
    assert "2020Q4 has 2 of its 3 months" in note and "2020-10, 2020-11" in note
    # a period ending with a whole quarter needs no note
    whole = quarterly_rates(
        city, period_start="2017-12", period_end="2020-09", area="City of London"
    )
    assert whole.attrs["quarters"][-1] == "2020Q3" and whole.attrs["quarter_note"] == ""
    # the latest quarter's searches are a hand count of the files' rows (person searches)
    latest = table[table["period"] == "2020Q3"]
    rows = city[
        city["month"].isin(["2020-07", "2020-08", "2020-09"])
        & ~city["vehicle_only"].fillna(False).astype(bool)
    ]
    stated = rows[rows["ethnicity"] != "Not stated"]
    assert int(latest["events"].sum()) == len(stated)
