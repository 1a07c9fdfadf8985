"""Tests of dispro.stopsearch.concordance.

The cross-table is checked against the raw data.police.uk CSVs read with the csv module (groups
mapped by hand here); kappa, its standard error and the agreement interval are computed by hand
from that table (Cohen 1960; Fleiss, Cohen and Everitt 1969).
"""

from __future__ import annotations

import csv
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import dispro
from dispro.errors import DisproError, ValidationError
from dispro.stopsearch.concordance import (
    CONCORDANCE_COLUMNS,
    NOT_STATED_COLUMNS,
    SHARED_GROUPS,
    SUMMARY_COLUMNS,
    concordance,
    concordance_summary,
    not_stated_by_officer_group,
)

COL = "police_uk_stop_search_city_of_london"
SELF = ["Asian", "Black", "Mixed", "White", "Other", "Not stated"]
OFFICER = ["Asian", "Black", "White", "Other", "Not stated"]
SHARED = ["Asian", "Black", "White", "Other"]
_PREFIX = {
    "White": "White",
    "Black/African/Caribbean/Black British": "Black",
    "Asian/Asian British": "Asian",
    "Mixed/Multiple ethnic groups": "Mixed",
    "Other ethnic group": "Other",
}


def _self_group(label: str) -> str:
    if label == "" or label == "Other ethnic group - Not stated":
        return "Not stated"
    return _PREFIX[label.split(" - ")[0]]


@pytest.fixture(scope="module")
def pairs(realdata) -> Counter:
    """(self group, officer group) of every person search, from the raw CSVs."""
    out = Counter()
    for path in sorted((realdata / COL).rglob("*-stop-and-search.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row["Type"] == "Vehicle search":
                    continue
                officer = row["Officer-defined ethnicity"] or "Not stated"
                out[(_self_group(row["Self-defined ethnicity"]), officer)] += 1
    return out


@pytest.fixture(scope="module")
def records(realdata):
    return dispro.read_police_uk(realdata / COL)


def _wilson(k, n, alpha=0.05):
    z = stats.norm.ppf(1 - alpha / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _kappa_by_hand(table: np.ndarray) -> tuple[float, float]:
    """Cohen's kappa and the Fleiss-Cohen-Everitt (1969) large-sample standard error."""
    n = table.sum()
    p = table / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    p_o = np.trace(p)
    p_e = float(rows @ cols)
    kappa = (p_o - p_e) / (1 - p_e)
    k = len(table)
    diag = sum(p[i, i] * (1 - (rows[i] + cols[i]) * (1 - kappa)) ** 2 for i in range(k))
    off = (1 - kappa) ** 2 * sum(
        p[i, j] * (cols[i] + rows[j]) ** 2 for i in range(k) for j in range(k) if i != j
    )
    var = (diag + off - (kappa - p_e * (1 - kappa)) ** 2) / (n * (1 - p_e) ** 2)
    return kappa, math.sqrt(var)


# ------------------------------------------------------------------ the cross-table


def test_concordance_counts_match_the_raw_csv(records, pairs):
    out = concordance(records)
    assert list(out.columns) == list(CONCORDANCE_COLUMNS)
    assert len(out) == len(SELF) * len(OFFICER)  # every pair, zeros included
    assert out["self_group"].unique().tolist() == SELF
    assert out["officer_group"].unique().tolist() == OFFICER
    got = {(r.self_group, r.officer_group): r.searches for r in out.itertuples()}
    for key in got:
        assert got[key] == pairs.get(key, 0), key
    assert out["searches"].sum() == sum(pairs.values()) == 6855 - 17
    totals = out.groupby("self_group")["searches"].transform("sum")
    np.testing.assert_allclose(out["share_of_self_group"], out["searches"] / totals)
    # the figures quoted in the report
    assert got[("Mixed", "Black")] == 109 and got[("Mixed", "White")] == 52
    assert got[("White", "White")] == 2277 and got[("Black", "Black")] == 812


def test_concordance_undoes_the_fallback(realdata, records):
    fallback = dispro.read_police_uk(realdata / COL, fallback=True)
    assert (fallback["ethnicity"] == "Not stated").sum() < (
        records["ethnicity"] == "Not stated"
    ).sum()
    pd.testing.assert_frame_equal(concordance(fallback), concordance(records))
    stripped = fallback.drop(columns="ethnicity_basis")
    with pytest.raises(ValidationError, match="fallback=True.*ethnicity_basis"):
        concordance(stripped)


# ------------------------------------------------------------------ kappa and agreement


def test_kappa_by_hand_from_the_cross_table(records, pairs):
    table = np.array([[pairs.get((s, o), 0) for o in SHARED] for s in SHARED], dtype=float)
    kappa, se = _kappa_by_hand(table)
    n = int(table.sum())
    agree = int(np.trace(table))
    out = concordance_summary(records).set_index("statistic")
    assert list(out.reset_index().columns) == list(SUMMARY_COLUMNS)
    assert tuple(SHARED_GROUPS) == tuple(SHARED)
    assert out.loc["kappa", "estimate"] == pytest.approx(kappa, rel=1e-12)
    assert out.loc["kappa", "std_error"] == pytest.approx(se, rel=1e-10)
    z = stats.norm.ppf(0.975)
    assert out.loc["kappa", "ci_lower"] == pytest.approx(kappa - z * se, rel=1e-10)
    assert out.loc["kappa", "ci_upper"] == pytest.approx(kappa + z * se, rel=1e-10)
    assert out.loc["percent_agreement", "estimate"] == pytest.approx(agree / n, rel=1e-12)
    lo, hi = _wilson(agree, n)
    assert out.loc["percent_agreement", "ci_lower"] == pytest.approx(lo, rel=1e-10)
    assert out.loc["percent_agreement", "ci_upper"] == pytest.approx(hi, rel=1e-10)
    assert (out["searches"] == n).all() and n == 4188
    assert kappa == pytest.approx(0.906653, abs=1e-6)
    np.testing.assert_array_equal(out.attrs["table"].to_numpy(), table)


def test_kappa_leaves_out_mixed_and_not_stated_and_counts_them(records, pairs):
    out = concordance_summary(records)
    excluded = out.attrs["excluded"]
    self_ns = sum(v for (s, _), v in pairs.items() if s == "Not stated")
    mixed = sum(v for (s, o), v in pairs.items() if s == "Mixed" and o != "Not stated")
    officer_ns = sum(v for (s, o), v in pairs.items() if o == "Not stated" and s != "Not stated")
    assert excluded == {"vehicle_only": 17, "self_not_stated": self_ns, "self_mixed": mixed,
                        "officer_not_stated": officer_ns}  # fmt: skip
    assert out["searches"].iloc[0] + self_ns + mixed + officer_ns == sum(pairs.values())
    assert "Mixed" in " ".join(out.attrs["notes"])
    rules = dispro.ledger.exclusions(out)
    assert (
        rules[rules["step"] == "concordance_summary"]["rows"].sum()
        == 17 + self_ns + mixed + officer_ns
    )


def test_kappa_textbook_values():
    """Perfect agreement gives 1; agreement no better than chance gives 0."""
    frame = pd.DataFrame(
        {"vehicle_only": False, "ethnicity": SHARED * 5, "officer_ethnicity": SHARED * 5}
    )
    assert concordance_summary(frame).set_index("statistic").loc[
        "kappa", "estimate"
    ] == pytest.approx(1)
    # independent margins: every self group spread evenly over every officer group
    self_, officer = zip(*[(s, o) for s in SHARED for o in SHARED], strict=True)
    frame = pd.DataFrame({"vehicle_only": False, "ethnicity": self_, "officer_ethnicity": officer})
    summary = concordance_summary(frame).set_index("statistic")
    assert summary.loc["kappa", "estimate"] == pytest.approx(0, abs=1e-12)
    assert summary.loc["percent_agreement", "estimate"] == pytest.approx(0.25)


# ------------------------------------------------------------------ not stated by officer group


def test_not_stated_by_officer_group_matches_the_raw_csv(records, pairs):
    out = not_stated_by_officer_group(records)
    assert list(out.columns) == list(NOT_STATED_COLUMNS)
    assert out["officer_group"].tolist() == OFFICER
    for row in out.itertuples():
        n = sum(v for (s, o), v in pairs.items() if o == row.officer_group)
        k = pairs.get(("Not stated", row.officer_group), 0)
        assert (row.searches, row.not_stated) == (n, k)
        assert row.share == pytest.approx(k / n, rel=1e-12)
        assert (row.ci_lower, row.ci_upper) == pytest.approx(_wilson(k, n), rel=1e-10)
    assert out.set_index("officer_group").loc["Black", "not_stated"] == 527


# ------------------------------------------------------------------ degenerate inputs


def test_degenerate_inputs(records):
    with pytest.raises(ValidationError, match="no 'officer_ethnicity' column"):
        concordance(records.drop(columns="officer_ethnicity"))
    with pytest.raises(ValidationError, match="no 'vehicle_only' column"):
        concordance_summary(records.drop(columns="vehicle_only"))
    with pytest.raises(DisproError, match="0 rows"):
        not_stated_by_officer_group(records.iloc[:0])
    nobody = pd.DataFrame({"vehicle_only": False, "ethnicity": ["Not stated", "Mixed"],
                           "officer_ethnicity": ["White", "Black"]})  # fmt: skip
    with pytest.raises(DisproError, match="agreement cannot be computed"):
        concordance_summary(nobody)
    wrong = pd.DataFrame(
        {"vehicle_only": False, "ethnicity": ["White"], "officer_ethnicity": ["Mixed"]}
    )
    with pytest.raises(ValidationError, match="4\\+1 groups"):
        concordance(wrong)
    # a group nobody is in still has its row, with no share
    out = not_stated_by_officer_group(nobody).set_index("officer_group")
    assert out.loc["Asian", "searches"] == 0 and np.isnan(out.loc["Asian", "share"])
