"""Tests of the ethnicity schemes and mappings (all read from data_dictionary/)."""

from __future__ import annotations

import pandas as pd
import pytest

from dispro import dictionary
from dispro.errors import ValidationError
from dispro.ethnicity import group_order, to_group


def test_not_stated_and_blank_are_not_recorded_never_other():
    values = pd.Series(
        [
            "Other ethnic group - Not stated",
            "",
            None,
            "  ",
            "Other ethnic group - Any other ethnic group",
        ]
    )
    assert to_group(values, "self_defined").tolist() == ["Not stated"] * 4 + ["Other"]


def test_real_city_of_london_labels_map_to_five_plus_one(realdata):
    files = sorted((realdata / "police_uk_stop_search_city_of_london").glob("*/*.csv"))
    raw = pd.concat([pd.read_csv(f, dtype=str) for f in files], ignore_index=True)
    groups = to_group(raw["Self-defined ethnicity"], "self_defined")
    assert groups.notna().all()
    counts = groups.value_counts()
    # independent count from the labels' own prefixes
    label = raw["Self-defined ethnicity"].fillna("")
    expected_not_stated = (label.eq("") | label.eq("Other ethnic group - Not stated")).sum()
    assert counts["Not stated"] == expected_not_stated == 383 + 2050
    assert counts["White"] == label.str.startswith("White - ").sum()
    assert counts["Black"] == label.str.startswith("Black/").sum()
    assert counts["Asian"] == label.str.startswith("Asian/").sum()
    assert counts["Mixed"] == label.str.startswith("Mixed/").sum()
    assert counts["Other"] == label.eq("Other ethnic group - Any other ethnic group").sum()
    officer = to_group(raw["Officer-defined ethnicity"], "officer_defined")
    assert "Mixed" not in set(officer)  # the real files have no officer-defined Mixed


def test_both_police_wordings_present():
    table = dictionary.codelist("ethnicity_police_self_defined")
    assert {"2011 (18+1)", "2001 (16+1)"} <= set(table["wording"])
    not_recorded = table[table["not_recorded"] == "true"]
    assert set(not_recorded["group"]) == {"Not stated"}
    assert "Other ethnic group - Not stated" in set(not_recorded["code"])


def test_census_19_roll_up_to_5():
    census = dictionary.codelist("ethnicity_census2021")
    assert len(census) == 19
    assert census.groupby("group").size().to_dict() == {
        "Asian": 5,
        "Black": 3,
        "Mixed": 4,
        "White": 5,
        "Other": 2,
    }
    assert to_group(
        pd.Series(["White: Roma", "Other ethnic group: Arab"]), "census2021"
    ).tolist() == ["White", "Other"]


def test_officer_defined_is_four_plus_one():
    assert group_order("4+1") == ["Asian", "Black", "White", "Other", "Not stated"]
    ic = to_group(pd.Series(["IC1", "IC2", "IC3", "IC4", "IC5", "IC6", "IC9"]), "officer_defined")
    assert ic.tolist() == ["White", "White", "Black", "Asian", "Asian", "Other", "Not stated"]


def test_unknown_label_lists_every_value_with_counts():
    values = pd.Series(["White - Irish", "White - Irsh", "White - Irsh", "Purple"])
    with pytest.raises(ValidationError, match="'White - Irsh' ×2; did you mean 'White - Irish'"):
        to_group(values, "self_defined", column="Self-defined ethnicity")
    out = to_group(values, "self_defined", unknown="missing")
    assert out.isna().sum() == 3
