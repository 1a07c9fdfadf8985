"""The reconciliation of data.police.uk records with the Home Office published totals
(dispro.stopsearch.reconcile): the real City of London files against totals written here,
checked against a hand count of the CSV rows (csv module) over exactly April to March."""

from __future__ import annotations

import csv
import shutil
import warnings

import pandas as pd
import pytest

import dispro
from dispro.errors import DataQualityWarning, ParameterError, ValidationError
from dispro.stopsearch.reconcile import RECONCILE_COLUMNS, financial_years, reconcile_totals

#: The totals written for the test: 2018/19 within 5% of the records, 2019/20 beyond it.
TOTALS = {2019: 1550, 2020: 3200}


def _months(first: str, last: str) -> list[str]:
    return [str(p) for p in pd.period_range(first, last, freq="M")]


def _hand_count(folder, months) -> dict[str, int]:
    """Rows of each month's City of London file, counted with the csv module, by search type."""
    counts: dict[str, int] = {}
    for month in months:
        path = folder / month / f"{month}-city-of-london-stop-and-search.csv"
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                counts[row["Type"]] = counts.get(row["Type"], 0) + 1
    return counts


@pytest.fixture(scope="module")
def city(realdata):
    folder = realdata / "police_uk_stop_search_city_of_london"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        records = dispro.read_police_uk(folder)
    return folder, records


@pytest.fixture
def totals_file(tmp_path):
    path = tmp_path / "totals.csv"
    lines = ["force_id,pfa_code,year_end,published_total,scope,retrieved,source"]
    lines += [f"city-of-london,E23000034,{y},{t},test,2026-12-03,test" for y, t in TOTALS.items()]
    lines.append("dorset,E23000039,2019,999,test,2026-12-03,test")  # a force not in the records
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_city_of_london_against_a_hand_count(city, totals_file):
    folder, records = city
    table = reconcile_totals(records, totals_file)
    assert list(table.columns) == list(RECONCILE_COLUMNS)
    # the files run 2017-12 to 2020-11: the whole financial years are 2018/19 and 2019/20
    assert table["financial_year"].tolist() == ["2018/19", "2019/20"]
    assert set(table["force"]) == {"City of London"}
    vehicle_only = 0
    for row in table.to_dict("records"):
        end = int(row["financial_year"][:4]) + 1
        by_type = _hand_count(folder, _months(f"{end - 1}-04", f"{end}-03"))
        hand = sum(by_type.values())
        vehicle_only += by_type.get("Vehicle search", 0)
        assert row["records"] == hand
        assert row["published_total"] == TOTALS[end]
        assert row["difference"] == hand - TOTALS[end]
        assert row["difference_pct"] == pytest.approx(100 * (hand - TOTALS[end]) / TOTALS[end])
        assert row["months_supplied"] == 12 and row["months_missing"] == ""
        assert row["period"] == f"{end - 1}-04 to {end}-03"
    assert vehicle_only > 0  # vehicle-only searches are counted too
    within, beyond = table.to_dict("records")
    assert abs(within["difference_pct"]) <= 5 and not within["beyond_tolerance"]
    assert within["note"] == ""
    assert abs(beyond["difference_pct"]) > 5 and beyond["beyond_tolerance"]
    assert f"{abs(beyond['difference']):,}" in beyond["note"] and "5%" in beyond["note"]
    assert f"{beyond['records']:,} searches" in beyond["note"] and "3,200" in beyond["note"]
    assert table.attrs["tolerance"] == 5


def test_a_year_cut_short_is_shown_with_its_missing_months(city, totals_file):
    folder, records = city
    table = reconcile_totals(records, totals_file, financial_years=["2020/21"])
    (row,) = table.to_dict("records")
    assert row["financial_year"] == "2020/21"
    assert row["months_supplied"] == 8 and row["months_missing"] == "2020-12 to 2021-03"
    assert row["records"] == sum(_hand_count(folder, _months("2020-04", "2020-11")).values())
    assert pd.isna(row["published_total"]) and pd.isna(row["difference_pct"])
    assert pd.isna(row["beyond_tolerance"])
    assert "No published total" in row["note"] and "2020-12 to 2021-03" in row["note"]


def test_a_month_without_a_file_and_a_header_only_month(city, tmp_path, totals_file):
    folder, _ = city
    copy = tmp_path / "files"
    for month in _months("2018-04", "2019-03"):
        if month != "2018-07":  # no file for July 2018
            shutil.copytree(folder / month, copy / month)
    path = copy / "2018-10" / "2018-10-city-of-london-stop-and-search.csv"
    header = path.read_text(encoding="utf-8").splitlines()[0]
    path.write_text(header + "\n", encoding="utf-8")  # October 2018: a header and no searches
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        records = dispro.read_police_uk(copy)
        table = reconcile_totals(records, totals_file, financial_years=[2019])
    (row,) = table.to_dict("records")
    kept = [m for m in _months("2018-04", "2019-03") if m not in ("2018-07", "2018-10")]
    hand = sum(_hand_count(folder, kept).values())
    assert row["records"] == hand
    assert row["months_supplied"] == 10 and row["months_missing"] == "2018-07, 2018-10"
    assert row["difference"] == hand - TOTALS[2019]
    assert "10 of the 12 months" in row["note"] and "2018-07, 2018-10" in row["note"]


def test_records_filtered_after_reading_are_warned_about(city, totals_file):
    _, records = city
    people = dispro.person_searches(records)
    with pytest.warns(DataQualityWarning, match="fewer rows than the files"):
        table = reconcile_totals(people, totals_file, financial_years=[2019])
    assert table["records"].iloc[0] == int(
        (
            ~records["vehicle_only"].astype(bool) & records["month"].between("2018-04", "2019-03")
        ).sum()
    )


def test_the_bundled_totals_have_no_year_of_these_files(city):
    _, records = city
    table = reconcile_totals(records)  # the bundled table: year ending March 2025 only
    assert table["published_total"].isna().all()
    assert table["note"].str.startswith("No published total for City of London").all()
    (row,) = reconcile_totals(records, financial_years=[2025]).to_dict("records")
    assert row["published_total"] == 2348 and row["months_supplied"] == 0 and row["records"] == 0
    assert pd.isna(row["difference"]) and "no month of the year was supplied" in row["note"]


def test_the_tolerance_is_strict_and_counted_on_records_without_a_coverage_table():
    def records(n):
        return pd.DataFrame({"force": ["Dorset"] * n, "month": ["2024-04"] * n})

    totals = pd.DataFrame({"force": ["Dorset"], "year_end": [2025], "published_total": [100]})
    at = reconcile_totals(records(95), totals, financial_years=[2025]).iloc[0]
    assert at["difference"] == -5 and at["difference_pct"] == pytest.approx(-5.0)
    assert not at["beyond_tolerance"] and at["months_supplied"] == 1
    assert at["months_missing"] == "2024-05 to 2025-03"
    past = reconcile_totals(records(106), totals, financial_years=[2025]).iloc[0]
    assert past["beyond_tolerance"] and "6 (6.0%) more than" in past["note"]
    zero = pd.DataFrame({"force": ["Dorset"], "year_end": [2025], "published_total": [0]})
    row = reconcile_totals(records(3), zero, financial_years=[2025]).iloc[0]
    assert row["difference"] == 3 and pd.isna(row["difference_pct"]) and "is 0" in row["note"]


def test_financial_years_of_a_period():
    assert financial_years("2017-12", "2020-11") == [2019, 2020]
    assert financial_years("2018-04", "2019-03") == [2019]
    assert financial_years("2018-05", "2020-03") == [2020]
    assert financial_years("2018-04", "2019-02") == []
    with pytest.raises(ParameterError, match="YYYY-MM"):
        financial_years("April 2018", "2019-03")


def test_no_records_and_bad_arguments(city):
    _, records = city
    empty = reconcile_totals(None)
    assert list(empty.columns) == list(RECONCILE_COLUMNS) and empty.empty
    for years in (["2018/20"], [1066], ["2019"], [True], [2019.0]):
        with pytest.raises(ParameterError, match="`financial_years`"):
            reconcile_totals(records, financial_years=years)
    for tolerance in (0, -1, 100, True, "5"):
        with pytest.raises(ParameterError, match="`tolerance`"):
            reconcile_totals(records, tolerance=tolerance)
    with pytest.raises(ParameterError, match="`records`"):
        reconcile_totals([1, 2])
    with pytest.raises(ParameterError, match="`totals`"):
        reconcile_totals(records, 5)
    with pytest.raises(ValidationError, match="'force'"):
        reconcile_totals(records.drop(columns="force"))
    twice = pd.DataFrame({"force": ["Dorset"] * 2, "year_end": [2025] * 2, "published_total": 1})
    with pytest.raises(ValidationError, match="more than once"):
        reconcile_totals(records, twice)
    with pytest.raises(ValidationError, match="'published_total'"):
        reconcile_totals(records, twice.drop(columns="published_total"))
