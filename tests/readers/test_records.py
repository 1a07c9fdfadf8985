"""Tests of read_records, read_counts and the YAML mappings."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

import dispro
from dispro.errors import DataQualityWarning, DisproError, ParameterError, ValidationError
from dispro.forces import normalise_force, wessex_forces
from dispro.readers.mapping import load_mapping

UOF = "resistancelab_census2011_pfa_use_of_force/cleaned_data/use-of-force/by-ethnicity-force"


# ------------------------------------------------------------------ force names


@pytest.mark.parametrize(
    "name",
    [
        "avon-and-somerset",
        "Avon & Somerset",
        "Avon and Somerset",
        "AVON AND SOMERSET",
        "Avon and Somerset Constabulary",
        "E23000036",
    ],
)
def test_one_normaliser_for_every_force_spelling(name):
    assert normalise_force(name) == "Avon and Somerset"


def test_force_normaliser_rejects_unknown_with_suggestion():
    with pytest.raises(ValidationError, match="'Dorsett' ×1; did you mean 'Dorset'"):
        normalise_force(pd.Series(["Dorset", "Dorsett"]))
    assert wessex_forces() == ["Dorset", "Hampshire", "Wiltshire"]


# ------------------------------------------------------------------ official aggregated tables


def _independent_uof(path):
    """The *Total Tactics row per force, read with the csv module; groups summed by hand."""
    groups = {
        "White": ["White"],
        "Black": ["Black (or Black British)"],
        "Asian": ["Asian (or Asian British)", "Chinese"],
        "Mixed": ["Mixed"],
        "Other": ["Other"],
        "Not stated": ["Don't know", "Not reported"],
    }
    out = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if (
                row["Tactic"] != "*Total Tactics"
                or row["Police Force"] == "Total England and Wales"
            ):
                continue
            for g, cols in groups.items():
                out[(row["Police Force"], g)] = sum(float(row[c]) for c in cols if c in row)
    return out


@pytest.mark.parametrize("year", ["april2018-march2019", "april2019-march2020"])
def test_use_of_force_tables_read_through_the_shipped_mapping(realdata, year):
    path = realdata / UOF / f"{year}.csv"
    counts = dispro.read_counts(path, mapping="home_office_use_of_force_by_ethnicity")
    expected = _independent_uof(path)
    assert len(counts) == len(expected) == 43 * 6
    got = {
        (f, g): e for f, g, e in counts[["force", "ethnicity", "events"]].itertuples(index=False)
    }
    for (force, group), value in expected.items():
        assert got[(normalise_force(force), group)] == value, (force, group)
    # the subtotal and tactic rows are counted in the ledger, not silently dropped
    led = dispro.ledger.exclusions(counts)
    with open(path, newline="", encoding="utf-8") as fh:
        n_rows = sum(1 for _ in csv.DictReader(fh))
    excluded = led.loc[led.action == "excluded", "rows"].sum()
    assert n_rows == excluded + 43  # one *Total Tactics row kept per force


def test_use_of_force_rri_per_wessex_force(realdata):
    path = realdata / UOF / "april2019-march2020.csv"
    counts = dispro.read_counts(path, mapping="home_office_use_of_force_by_ethnicity")
    wessex = counts[counts.force.isin(wessex_forces())]
    pop = dispro.population.census2021(wessex_forces(), by=()).rename(columns={"area": "force"})
    table = dispro.rri(wessex, by="force", base=pop)
    assert set(table.force) == {"Dorset", "Hampshire", "Wiltshire"}
    # Hampshire, independently: *Total Tactics White 8,821 and Black 602 (the csv file);
    # Census 2021 Hampshire PFA White 1,811,055 and Black 29,405 (checked in test_population)
    h = table[(table.force == "Hampshire") & (table.group == "Black")].iloc[0]
    assert (h["events"], h["base"]) == (602, 29_405)
    assert h["rri"] == pytest.approx((602 / 29_405) / (8_821 / 1_811_055))
    assert h["status"] == "ok" and h["ci_lower"] > 1
    # no resident population for Not stated: no rate, never a wrong denominator
    assert set(table.loc[table.group == "Not stated", "status"]) == {"no_base"}


def test_changed_layout_is_noticed(tmp_path, realdata):
    src = pd.read_csv(realdata / UOF / "april2019-march2020.csv", dtype=str)
    src["Gypsy"] = "0"
    path = tmp_path / "changed.csv"
    src.to_csv(path, index=False)
    with pytest.raises(ValidationError, match="column 'Gypsy' is not in the mapping"):
        dispro.read_counts(path, mapping="home_office_use_of_force_by_ethnicity")
    with pytest.warns(DataQualityWarning, match="Gypsy"):
        dispro.read_counts(path, mapping="home_office_use_of_force_by_ethnicity", strict=False)


def test_count_cells_that_are_not_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Police Force,White,Black\nDorset,10,[c]\n", encoding="utf-8")
    mapping = {
        "columns": {"Police Force": "force"},
        "wide": {
            "into": "ethnicity",
            "value": "events",
            "columns": {"White": "White", "Black": "Black"},
        },
    }
    with pytest.raises(ValidationError, match=r"row 2 column 'Black': '\[c\]'"):
        dispro.read_counts(path, mapping=mapping)


# ------------------------------------------------------------------ record extracts


def _sentencing_csv(path, rows=None, **overrides):
    base = {
        "Sentence date": ["03/01/2024", "15/02/2024", "30/03/2024"],
        "PFA": ["Dorset", "Hampshire", "wiltshire"],
        "Court": ["Crown", "Mags", "Crown"],
        "Eth": ["W", "B", "A"],
        "Gender": ["Male", "Female", "Male"],
        "Age": ["25-29", "18-20", "30-39"],
        "Offence": ["drug_offences", "theft_offences", "robbery"],
        "Plea": ["guilty", "guilty", "not_guilty"],
        "Previous": ["0", "3-6", "15+"],
        "Remand": ["bail", "custody", "bail"],
        "Disposal": ["immediate_custody", "fine", "immediate_custody"],
        "Months": ["18", "", "40.5"],
        "Court name": ["Bournemouth", "Portsmouth", "Salisbury"],
    }
    base.update(overrides)
    pd.DataFrame(base).to_csv(path, index=False)
    return path


MAPPING = """
name: a court extract
dataset: sentencing
columns:
  Sentence date: date
  PFA: force
  Court: court_type
  Eth: ethnicity
  Gender: sex
  Age: age_band
  Offence: offence_group
  Plea: plea
  Previous: previous_convictions
  Remand: remand_status
  Disposal: outcome
  Months: custody_months
ignore: [Court name]
codes:
  court_type: {Crown: crown, Mags: magistrates}
  ethnicity: {W: White, B: Black, A: Asian, M: Mixed, O: Other, NS: Not stated}
  force: {wiltshire: Wiltshire}
date_format: "%d/%m/%Y"
"""


def test_read_records_through_a_yaml_mapping(tmp_path):
    mapping = tmp_path / "courts.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    codes = dispro.dictionary.codes("remand_status")
    path = _sentencing_csv(tmp_path / "courts.csv", Remand=[codes[0], codes[1], codes[0]])
    records = dispro.read_records(path, dataset="sentencing", mapping=mapping)
    assert records["ethnicity"].tolist() == ["White", "Black", "Asian"]
    assert records["court_type"].tolist() == ["crown", "magistrates", "crown"]
    assert records["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-03",
        "2024-02-15",
        "2024-03-30",
    ]
    assert records["custody_months"].isna().tolist() == [False, True, False]
    assert records["custody_months"].sum() == 58.5
    assert "Court name" not in records.columns
    led = dispro.ledger.exclusions(records)
    assert led.iloc[0]["rows"] == 3 and led.iloc[0]["action"] == "read"


def test_read_records_reports_every_problem_with_line_numbers(tmp_path):
    mapping = tmp_path / "courts.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    codes = dispro.dictionary.codes("remand_status")
    path = _sentencing_csv(
        tmp_path / "courts.csv",
        Remand=[codes[0]] * 3,
        Eth=["W", "Blak", "X"],
        Plea=["guilty", "guity", "guilty"],
    )
    with pytest.raises(ValidationError) as info:
        dispro.read_records(path, dataset="sentencing", mapping=mapping)
    text = str(info.value)
    assert "courts.csv" in text
    problems = info.value.problems.set_index("column")
    assert problems.loc["ethnicity", "rows"] == "3, 4"  # file lines (header is line 1)
    assert "'Blak' ×1" in problems.loc["ethnicity", "values"]
    assert "did you mean 'Black'" in problems.loc["ethnicity", "hint"]
    assert problems.loc["plea", "rows"] == "3"


def test_read_records_parquet_and_glob(tmp_path):
    good = pd.DataFrame(
        {
            "date": ["2024-02-01", "2024-03-01"],
            "force": ["Dorset", "Dorset"],
            "ethnicity": ["Black", "White"],
            "sex": ["Male", "Female"],
            "age_band": ["18-20", "25-29"],
            "offence_group": ["drug_offences"] * 2,
            "disposal": ["caution", "charge_summons"],
        }
    )
    good.to_parquet(tmp_path / "a.parquet")
    good.to_csv(tmp_path / "b.csv", index=False)
    both = dispro.read_records(str(tmp_path / "*"), dataset="disposals")
    assert len(both) == 4
    assert dispro.ledger.exclusions(both).iloc[0]["rows"] == 4


def test_read_records_bad_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DisproError, match="empty.csv: the file is empty"):
        dispro.read_records(empty, dataset="disposals")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("date,force\n2024-01-01,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(DisproError, match="not UTF-8 at byte 25 \\(line 2\\)"):
        dispro.read_records(latin, dataset="disposals")
    with pytest.raises(DisproError, match="no files match"):
        dispro.read_records(str(tmp_path / "nothing*.csv"), dataset="disposals")
    with pytest.raises(ParameterError, match="did you mean 'disposals'"):
        dispro.read_records(latin, dataset="disposal")


def test_bom_and_crlf_read_the_same(tmp_path):
    text = (
        "date,force,ethnicity,sex,age_band,offence_group,disposal\n"
        "2024-02-01,Dorset,Black,Male,18-20,drug_offences,caution\n"
    )
    plain = tmp_path / "plain.csv"
    plain.write_text(text, encoding="utf-8")
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    a = dispro.read_records(plain, dataset="disposals")
    b = dispro.read_records(bom, dataset="disposals")
    pd.testing.assert_frame_equal(a, b)


def test_mapping_errors_are_clear(tmp_path):
    with pytest.raises(
        ValidationError, match="unknown key\\(s\\) 'colums'; did you mean 'columns'"
    ):
        load_mapping({"colums": {}})
    with pytest.raises(ParameterError, match="shipped"):
        load_mapping("no_such_mapping")
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns: [unclosed", encoding="utf-8")
    with pytest.raises(DisproError, match="not valid YAML"):
        load_mapping(bad)
