"""Planted results produce the right sentence."""

from __future__ import annotations

import numpy as np
import pandas as pd

import dispro
from dispro.report.wording import (
    confidence_level,
    describe_change,
    describe_rri,
    describe_table,
)


def test_planted_results_give_the_right_sentences():
    counts = pd.DataFrame(
        {
            "ethnicity": ["White", "Black", "Asian", "Mixed", "Other", "Not stated"],
            "events": [1000, 300, 101, 3, 0, 40],
            "base": [1_000_000, 50_000, 100_000, 20_000, 10_000, np.nan],
        }
    )
    table = dispro.rri(counts.dropna(subset=["base"]), method="poisson_exact", suppress=4)
    text = describe_table(table, reference="White", outcome="stopped and searched").set_index(
        "group"
    )
    # significant and higher: disproportionate, with the per-100 phrase from the table's own RRI
    black = text.loc["Black"]
    assert black["kind"] == "higher"
    assert (
        "for every 100 White people stopped and searched, 600 Black people were"
        in black["sentence"]
    )
    assert "6.0 times as likely" in black["sentence"] and "disproportionate" in black["sentence"]
    # interval includes 1: no clear evidence
    assert text.loc["Asian", "kind"] == "no_clear_difference"
    assert text.loc["Asian", "sentence"].startswith("There is no clear evidence of a difference")
    assert "disproportionate" not in text.loc["Asian", "sentence"]
    # suppressed and zero: too few cases to tell (a different sentence)
    assert text.loc["Mixed", "kind"] == "too_few" and text.loc["Other", "kind"] == "too_few"
    assert text.loc["Mixed", "sentence"].startswith("There are too few cases to tell")
    assert text.loc["White", "kind"] == "reference"


def test_lower_and_not_significant_after_adjustment():
    row = {
        "group": "Asian",
        "rri": 0.5,
        "ci_lower": 0.4,
        "ci_upper": 0.62,
        "significant": True,
        "status": "ok",
    }
    sentence, kind = describe_rri(row, reference="White", outcome="charged")
    assert (
        kind == "lower" and "for every 100 White people charged, 50 Asian people were" in sentence
    )
    # interval excludes 1 but not significant after the multiple-testing rule: no clear evidence
    row["significant"] = False
    assert describe_rri(row, reference="White", outcome="charged")[1] == "no_clear_difference"
    no_base = {**row, "status": "no_base"}
    assert describe_rri(no_base, reference="White", outcome="charged")[1] == "no_base"


def test_change_sentences():
    assert "has grown since 2022" in describe_change(
        {"p_value": 0.001, "estimate": 1.4}, group="Black", reference="White", since="2022"
    )
    assert "no clear evidence" in describe_change(
        {"p_value": 0.4, "estimate": 1.1}, group="Black", reference="White", since="2022"
    )


def test_interval_excluding_one_but_not_significant_after_correction_says_so():
    row = {
        "group": "Black",
        "rri": 0.83,
        "ci_lower": 0.71,
        "ci_upper": 0.98,
        "significant": False,
        "status": "ok",
    }
    sentence, kind = describe_rri(row, reference="White", outcome="searched")
    assert kind == "no_clear_difference"
    assert "once the number of comparisons in this report is allowed for" in sentence


def test_change_wording_rules():
    base = {"p_value": 0.001, "q_value": 0.004, "estimate": 2.0, "ci_lower": 1.4, "ci_upper": 2.9}
    grown = describe_change(
        {**base, "earlier_rri": 2.0, "latest_rri": 4.0},
        group="Black",
        reference="White",
        since="2023",
    )
    assert "has grown since 2023 (the relative rate went from 2.0 to 4.0; q = 0.004)" in grown
    # towards 1 from below is a narrowing even though the ratio of ratios is above 1
    narrowed = describe_change(
        {**base, "earlier_rri": 0.4, "latest_rri": 0.8},
        group="Asian",
        reference="White",
        since="2023",
    )
    assert "has narrowed since 2023" in narrowed
    assert "has reversed" in describe_change(
        {**base, "earlier_rri": 0.7, "latest_rri": 1.4},
        group="Asian",
        reference="White",
        since="2023",
    )
    # the q-value decides, not the raw p-value
    assert describe_change(
        {**base, "q_value": 0.2}, group="Black", reference="White", since="2023"
    ).startswith("There is no clear evidence")
    # an interval that includes 1 is never a clear change
    assert describe_change(
        {**base, "ci_lower": 0.98}, group="Black", reference="White", since="2023"
    ).startswith("There is no clear evidence")
    assert describe_change(
        {"status": "suppressed", "p_value": np.nan}, group="Black", reference="White", since="2023"
    ).startswith("There are too few cases")


def test_confidence_level_from_alpha():
    assert confidence_level(0.05) == "95%" and confidence_level(0.1) == "90%"
    assert confidence_level(0.025) == "97.5%" and confidence_level(0.01) == "99%"
    row = {"group": "Black", "rri": 2.0, "ci_lower": 1.5, "ci_upper": 2.6, "significant": True,
           "status": "ok"}  # fmt: skip
    sentence, _ = describe_rri(row, reference="White", outcome="searched", level=0.9)
    assert "(90% confidence interval 1.5 to 2.6)" in sentence


def test_a_change_rows_significant_decides_when_it_has_one():
    base = {"p_value": 0.001, "estimate": 2.0, "ci_lower": 1.4, "ci_upper": 2.9}
    assert describe_change(
        {**base, "significant": False}, group="Black", reference="White", since="2023"
    ).startswith("There is no clear evidence")
    assert describe_change(
        {**base, "significant": True}, group="Black", reference="White", since="2023"
    ).startswith("The difference between Black and White people has grown since 2023")
    # a missing decision falls back on the rule
    assert describe_change(
        {**base, "significant": pd.NA}, group="Black", reference="White", since="2023"
    ).startswith("The difference between Black and White people has grown")
