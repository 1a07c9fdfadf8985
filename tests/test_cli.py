"""Tests of the `dispro` command."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

import dispro
from dispro.cli import app

runner = CliRunner()


@pytest.fixture
def counts_csv(tmp_path):
    counts = pd.DataFrame(
        {
            "force": ["Dorset"] * 3 + ["Wiltshire"] * 3,
            "ethnicity": ["White", "Black", "Asian"] * 2,
            "events": [400, 120, 30, 500, 80, 40],
            "base": [5000, 1000, 400, 6000, 700, 500],
        }
    )
    path = tmp_path / "counts.csv"
    counts.to_csv(path, index=False)
    return path, counts


@pytest.mark.parametrize("command", ["rri", "validate", "dictionary", "population"])
def test_help_says_what_and_gives_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example: dispro " + command in " ".join(result.output.split())


def test_rri_to_csv_matches_the_api(counts_csv, tmp_path):
    path, counts = counts_csv
    out = tmp_path / "rri.csv"
    result = runner.invoke(app, ["rri", str(path), "--by", "force", "-o", str(out)])
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out)
    expected = dispro.rri(counts, by="force")
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_series_equal(got["rri"], expected["rri"], check_names=False)
    pd.testing.assert_series_equal(got["ci_upper"], expected["ci_upper"], check_names=False)


def test_rri_to_xlsx_opens_in_excel_format(counts_csv, tmp_path):
    path, _ = counts_csv
    out = tmp_path / "rri.xlsx"
    result = runner.invoke(
        app, ["rri", str(path), "--by", "force", "--method", "poisson_wald", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out).active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header == ["force", *dispro.RRI_COLUMNS]
    assert sheet.max_row == 7


def test_rri_errors_are_clear_and_exit_non_zero(counts_csv):
    path, _ = counts_csv
    result = runner.invoke(app, ["rri", str(path), "--reference", "Whyte"])
    assert result.exit_code == 2
    assert "did you mean 'White'" in result.output
    result = runner.invoke(app, ["rri", str(path), "--method", "kats"])
    assert result.exit_code == 2 and "did you mean 'katz'" in result.output


def test_validate_exit_codes_and_full_problem_list(tmp_path):
    good = pd.DataFrame(
        {
            "date": ["2024-02-01"],
            "force": ["Dorset"],
            "ethnicity": ["Black"],
            "sex": ["Male"],
            "age_band": ["18-20"],
            "offence_group": ["drug_offences"],
            "disposal": ["caution"],
        }
    )
    good_path = tmp_path / "good.csv"
    good.to_csv(good_path, index=False)
    result = runner.invoke(app, ["validate", "disposals", str(good_path)])
    assert result.exit_code == 0, result.output
    bad = pd.concat([good] * 3, ignore_index=True)
    bad.loc[1, "disposal"] = "cautoin"
    bad.loc[2, "ethnicity"] = "Whte"
    bad_path = tmp_path / "bad.csv"
    bad.to_csv(bad_path, index=False)
    result = runner.invoke(
        app, ["validate", "disposals", str(good_path), str(bad_path)], terminal_width=250
    )
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "2 error(s)" in text and "cautoin" in text and "Whte" in text
    # row numbers are the file's line numbers (header is line 1)
    problems = dispro.validate(
        pd.read_csv(bad_path).set_axis(range(2, 5)), "disposals", strict=False
    )
    assert set(problems["rows"]) == {"3", "4"}


def test_dictionary_command_writes_html(tmp_path):
    out = tmp_path / "standard.html"
    result = runner.invoke(app, ["dictionary", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and "stop_search" in text
    result = runner.invoke(app, ["dictionary"])
    assert result.output.startswith("# The dispro data standard")


def test_rri_against_census2021_population(tmp_path):
    # Dorset PFA, Census 2021 (sums of EthnicGroup.csv, checked independently in test_population):
    # White 733,925, Black 5,315
    counts = pd.DataFrame({"ethnicity": ["White", "Black"], "events": [700, 40]})
    path = tmp_path / "searches.csv"
    counts.to_csv(path, index=False)
    out = tmp_path / "rates.csv"
    result = runner.invoke(
        app, ["rri", str(path), "--population", "census2021", "--area", "Dorset", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out).set_index("group")
    assert got.loc["Black", "base"] == 5_315 and got.loc["White", "base"] == 733_925
    assert got.loc["Black", "rate"] == pytest.approx(40 / 5_315 * 1000)
    assert got.loc["Black", "rri"] == pytest.approx((40 / 5_315) / (700 / 733_925))


def test_rri_by_area_joins_population_per_area(tmp_path):
    counts = pd.DataFrame(
        {
            "area": ["Dorset", "Dorset", "Wiltshire", "Wiltshire"],
            "ethnicity": ["White", "Black", "White", "Black"],
            "events": [700, 40, 600, 90],
        }
    )
    path = tmp_path / "searches.csv"
    counts.to_csv(path, index=False)
    out = tmp_path / "rates.csv"
    result = runner.invoke(
        app,
        [
            "rri",
            str(path),
            "--by",
            "area",
            "--population",
            "census2021",
            "--area",
            "Dorset",
            "--area",
            "Wiltshire",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out).set_index(["area", "group"])
    # Wiltshire PFA: White 671,555, Black 11,900
    assert got.loc[("Wiltshire", "Black"), "rri"] == pytest.approx((90 / 11_900) / (600 / 671_555))


def test_rri_by_force_against_named_areas_matches_each_force(tmp_path):
    """Issue 11, defect 1 (the help's own example): counts by force, population of two named
    areas. Before the fix both forces were rated against the sum of both areas."""
    counts = pd.DataFrame(
        {
            "force": ["Dorset", "Dorset", "Metropolitan Police", "Metropolitan Police"],
            "ethnicity": ["White", "Black"] * 2,
            "events": [1000, 70, 40_000, 60_000],
        }
    )
    path = tmp_path / "searches.csv"
    counts.to_csv(path, index=False)
    out = tmp_path / "rates.csv"
    args = ["rri", str(path), "--by", "force", "--population", "census2021"]
    areas = ["--area", "Dorset", "--area", "Metropolitan Police"]
    result = runner.invoke(app, [*args, *areas, "-o", str(out)])
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out).set_index(["force", "group"])
    # Dorset PFA, Census 2021: White 733,925, Black 5,315 (test_population)
    assert got.loc[("Dorset", "Black"), "base"] == 5_315
    assert got.loc[("Dorset", "Black"), "rri"] == pytest.approx((70 / 5_315) / (1000 / 733_925))
    # without --area the areas come from the counts, row by row: the same table
    per_row = tmp_path / "per_row.csv"
    result = runner.invoke(app, [*args, "-o", str(per_row)])
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_csv(per_row), pd.read_csv(out))


def test_rri_against_census2021_needs_the_area(tmp_path):
    """Issue 11, defect 2: without --area, all of England and Wales was the base of any
    force's counts (exit code 0)."""
    counts = pd.DataFrame({"ethnicity": ["White", "Black"], "events": [700, 40]})
    path = tmp_path / "searches.csv"
    counts.to_csv(path, index=False)
    result = runner.invoke(app, ["rri", str(path), "--population", "census2021"])
    assert result.exit_code == 2
    assert "needs the area the counts are for" in result.output
    # counts that name their area, but without --by: say how to use it
    counts.assign(force="Dorset").to_csv(path, index=False)
    result = runner.invoke(app, ["rri", str(path), "--population", "census2021"])
    assert result.exit_code == 2 and "add --by force" in result.output


def test_rri_months_give_rates_a_year(tmp_path):
    counts = pd.DataFrame({"ethnicity": ["White", "Black"], "events": [700, 40]})
    path = tmp_path / "searches.csv"
    counts.to_csv(path, index=False)
    out = tmp_path / "rates.csv"
    args = ["rri", str(path), "--population", "census2021", "--area", "Dorset"]
    result = runner.invoke(app, [*args, "--months", "15", "-o", str(out)])
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out).set_index("group")
    assert got.loc["Black", "base"] == pytest.approx(5_315 * 15 / 12)
    assert got.loc["Black", "rate"] == pytest.approx(40 / (5_315 * 15 / 12) * 1000)
    # without --months the rate is over the whole period of the counts, and the command says so
    result = runner.invoke(app, [*args, "-o", str(out)])
    assert result.exit_code == 0 and "not a rate a year" in result.output


def test_population_command(tmp_path):
    out = tmp_path / "pop.csv"
    result = runner.invoke(app, ["population", "--area", "Wessex", "--no-sex", "-o", str(out)])
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out)
    assert got["population"].sum() == 3_521_790
    result = runner.invoke(app, ["population", "--area", "City of London"])
    assert result.exit_code == 2 and "Westminster" in result.output


def test_synth_command_writes_files_that_say_synthetic(tmp_path):
    out = tmp_path / "synthetic"
    result = runner.invoke(
        app,
        ["synth", "--out", str(out), "--scale", "0.05", "--start", "2023-01", "--end", "2023-03"],
    )
    assert result.exit_code == 0, result.output
    files = [p for p in out.rglob("*") if p.is_file()]
    data_files = [p for p in files if p.suffix == ".csv"]
    assert data_files and all("synthetic" in p.name for p in data_files)
    assert (out / "SYNTHETIC.md").is_file()
    searches = dispro.read_police_uk(out / "stop_search")
    assert set(searches["force"]) == {"Dorset", "Hampshire", "Wiltshire"}
    assert dispro.coverage(searches)["present"].all()
