"""Tests of the data standard: the files, validation and rendering."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dispro
from dispro import dictionary
from dispro.errors import ParameterError, ValidationError

DATASETS = ("charging", "disposals", "population", "sentencing", "stop_search")


# ------------------------------------------------------------------ the files


def test_every_dataset_is_defined():
    assert dictionary.datasets() == DATASETS


@pytest.mark.parametrize("name", DATASETS)
def test_fields_are_complete_and_their_code_lists_exist(name):
    spec = dictionary.dataset(name)
    names = [f["name"] for f in spec["fields"]]
    assert len(names) == len(set(names)), "duplicate field"
    for f in spec["fields"]:
        assert f["type"] in dictionary.TYPES, f
        assert isinstance(f["required"], bool) and isinstance(f["nullable"], bool), f
        assert f["description"].strip(), f
        if f["type"] == "category":
            assert f.get("codes") in dictionary.codelists(), f
    assert spec["description"].strip()


def test_design_key_fields_are_present():
    # DESIGN.md's data model: the key fields of each dataset
    key_fields = {
        "stop_search": "date force search_type self_defined_ethnicity officer_defined_ethnicity "
        "ethnicity sex age_band legislation object_of_search outcome outcome_raw outcome_linked "
        "removal_outer_clothing latitude longitude",
        "disposals": "date force ethnicity sex age_band offence_group disposal",
        "charging": "date area ethnicity sex age_band offence_group decision",
        "sentencing": "date force court_type ethnicity sex age_band offence_group plea "
        "previous_convictions remand_status outcome custody_months",
        "population": "area area_level ethnicity sex age_band population source",
    }
    for name, fields in key_fields.items():
        have = {f["name"] for f in dictionary.dataset(name)["fields"]}
        assert set(fields.split()) <= have, (name, set(fields.split()) - have)


def test_code_lists_are_clean():
    for name in dictionary.codelists():
        table = dictionary.codelist(name)
        assert table.columns[0] == "code", name
        assert table["code"].is_unique, name
        assert (table["code"] == table["code"].str.strip()).all(), name
        assert (table["code"] != "").all(), name


def test_design_code_lists():
    assert dictionary.codes("disposal") == [
        "charge_summons",
        "caution",
        "conditional_caution",
        "community_resolution",
        "penalty_notice",
        "cannabis_khat_warning",
        "youth_caution",
        "youth_conditional_caution",
    ]
    assert set(dictionary.codes("charging_decision")) == {
        "charge",
        "nfa_evidential",
        "nfa_public_interest",
        "out_of_court",
        "other",
    }
    assert set(dictionary.codes("sentencing_outcome")) == {
        "immediate_custody",
        "suspended_sentence",
        "community",
        "fine",
        "discharge",
        "other",
    }
    assert dictionary.codes("ethnicity_groups") == [
        "Asian",
        "Black",
        "Mixed",
        "White",
        "Other",
        "Not stated",
    ]


def test_missing_dataset_or_code_list_is_a_clear_error():
    with pytest.raises(ParameterError, match="did you mean 'sentencing'"):
        dictionary.dataset("sentencng")
    with pytest.raises(ParameterError, match="not in data_dictionary"):
        dictionary.codelist("no_such_list")


# ------------------------------------------------------------------ validation


def sentencing_frame(n=6):
    return pd.DataFrame(
        {
            "date": ["2024-01-05"] * n,
            "force": ["Dorset"] * n,
            "court_type": ["crown"] * n,
            "ethnicity": ["White", "Black", "Asian", "Mixed", "Other", "Not stated"][:n],
            "sex": ["Male"] * n,
            "age_band": ["25-29"] * n,
            "offence_group": ["drug_offences"] * n,
            "plea": ["guilty"] * n,
            "previous_convictions": ["0"] * n,
            "remand_status": [dictionary.codes("remand_status")[0]] * n,
            "outcome": ["immediate_custody"] * n,
            "custody_months": [6.0] * n,
        }
    )


def test_a_valid_frame_has_no_problems():
    frame = sentencing_frame()
    problems = dispro.validate(frame, "sentencing")
    assert problems.empty
    assert tuple(problems.columns) == dictionary.PROBLEM_COLUMNS


def test_every_problem_is_reported_at_once():
    frame = sentencing_frame()
    frame = frame.rename(columns={"offence_group": "offence_grp"})  # near-miss column name
    frame.loc[[1, 3], "ethnicity"] = ["Blak", "black"]  # near-miss codes
    frame.loc[2, "ethnicity"] = "Martian"
    frame.loc[4, "custody_months"] = -2  # below the minimum
    frame.loc[5, "date"] = "31/12/2024"  # not ISO 8601
    frame.loc[0, "force"] = None  # blank in a field that must be filled
    with pytest.raises(ValidationError) as info:
        dispro.validate(frame, "sentencing", source="courts.csv")
    message = str(info.value)
    problems = info.value.problems
    assert "courts.csv" in message
    errors = problems[problems.severity == "error"]
    by_col = dict(zip(errors.column, errors.problem, strict=False))
    assert set(by_col) >= {"offence_group", "ethnicity", "custody_months", "date", "force"}
    assert (
        "did you mean 'offence_grp'"
        in problems.loc[problems.column == "offence_group", "hint"].iloc[0]
    )
    eth = problems[problems.column == "ethnicity"].iloc[0]
    assert eth["count"] == 3 and eth["rows"] == "1, 2, 3"
    assert "'Blak' ×1" in eth["values"] and "'Martian' ×1" in eth["values"]
    assert "'Blak' did you mean 'Black'" in eth["hint"]
    assert problems.loc[problems.column == "custody_months", "rows"].iloc[0] == "4"
    warn = problems[problems.severity == "warning"]
    assert "offence_grp" in set(warn.column)


def test_non_strict_returns_the_table():
    frame = sentencing_frame()
    frame.loc[0, "plea"] = "guity"
    problems = dispro.validate(frame, "sentencing", strict=False)
    assert problems["count"].tolist() == [1]


def test_value_counts_are_reported():
    frame = sentencing_frame(6)
    frame["court_type"] = ["crown", "Crown", "Crown", "Crown", "mags", "crown"]
    problems = dispro.validate(frame, "sentencing", strict=False)
    row = problems[problems.column == "court_type"].iloc[0]
    assert row["count"] == 4
    assert row["values"].startswith("'Crown' ×3")


def test_types_are_checked():
    frame = sentencing_frame(3)
    frame["custody_months"] = ["6", "six", "7.5"]
    problems = dispro.validate(frame, "sentencing", strict=False)
    row = problems[problems.column == "custody_months"].iloc[0]
    assert row["count"] == 1 and "'six'" in row["values"]


def test_validate_real_police_uk_labels_through_code_lists(realdata):
    files = sorted((realdata / "police_uk_stop_search_city_of_london").glob("*/*.csv"))
    raw = pd.concat([pd.read_csv(f, dtype=str) for f in files], ignore_index=True)
    assert len(raw) == 6855
    # every label in the real files is in the standard's code lists
    self_codes = set(dictionary.codes("ethnicity_police_self_defined"))
    assert set(raw["Self-defined ethnicity"].dropna()) <= self_codes
    assert set(raw["Officer-defined ethnicity"].dropna()) <= set(
        dictionary.codes("ethnicity_officer_defined")
    )
    assert set(raw["Outcome"].dropna()) <= set(dictionary.codes("stop_search_outcome_map"))
    assert set(raw["Legislation"].dropna()) <= set(dictionary.codes("legislation"))
    assert set(raw["Object of search"].dropna()) <= set(dictionary.codes("object_of_search"))
    assert set(raw["Type"].dropna()) <= set(dictionary.codes("search_type"))
    assert set(raw["Age range"].dropna()) <= set(dictionary.codes("age_band_police_uk"))


def test_render_markdown_and_html():
    md = dictionary.render("markdown")
    assert "## Dataset `sentencing`" in md and "### `ethnicity_police_self_defined`" in md
    assert "Other ethnic group - Not stated" in md
    html = dictionary.render("html")
    assert html.startswith("<!DOCTYPE html>") and "<table>" in html
    assert "<script" not in html


def test_render_escapes_text(monkeypatch):
    evil = pd.DataFrame({"code": ["<script>alert(1)</script>"], "label": ["a|b"]})
    assert "&lt;script&gt;" in dictionary._md_table(evil)
    assert "a\\|b" in dictionary._md_table(evil)
    assert not np.any(["<script>" in line for line in dictionary._md_table(evil).splitlines()])
