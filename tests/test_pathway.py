"""Stages from stages.yaml and the pathway matrix, against hand computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dispro import ledger
from dispro.errors import ParameterError, ValidationError
from dispro.pathway import PATHWAY_COLUMNS, pathway_matrix, ratio_of_means, stage_counts, stages
from dispro.rates import RRI_COLUMNS


def rows(n, **values):
    return pd.DataFrame({k: [v] * n for k, v in values.items()})


@pytest.fixture
def datasets():
    disposals = pd.concat(
        [
            rows(30, force="Dorset", ethnicity="White", disposal="caution"),
            rows(70, force="Dorset", ethnicity="White", disposal="charge_summons"),
            rows(5, force="Dorset", ethnicity="Black", disposal="community_resolution"),
            rows(20, force="Dorset", ethnicity="Black", disposal="charge_summons"),
        ],
        ignore_index=True,
    )
    sentencing = pd.concat(
        [
            rows(
                40,
                force="Dorset",
                ethnicity="White",
                outcome="immediate_custody",
                custody_months=10.0,
            ),
            rows(
                10,
                force="Dorset",
                ethnicity="White",
                outcome="immediate_custody",
                custody_months=20.0,
            ),
            rows(
                150, force="Dorset", ethnicity="White", outcome="community", custody_months=np.nan
            ),
            rows(
                15,
                force="Dorset",
                ethnicity="Black",
                outcome="immediate_custody",
                custody_months=15.0,
            ),
            rows(
                5,
                force="Dorset",
                ethnicity="Black",
                outcome="immediate_custody",
                custody_months=np.nan,
            ),
            rows(30, force="Dorset", ethnicity="Black", outcome="fine", custody_months=np.nan),
            rows(3, force="Dorset", ethnicity="Black", outcome=None, custody_months=np.nan),
        ],
        ignore_index=True,
    )
    return {"disposals": disposals, "sentencing": sentencing}


def test_stages_come_from_the_yaml_in_order():
    table = stages()
    assert table["name"].tolist() == [
        "stop_search",
        "search_outcome",
        "out_of_court",
        "charge",
        "custody",
        "sentence_length",
    ]
    assert table["order"].is_monotonic_increasing


def test_stage_counts_by_hand(datasets):
    c = stage_counts(datasets["disposals"], "out_of_court", by="force").set_index("ethnicity")
    assert (c.loc["White", "events"], c.loc["White", "base"]) == (30, 100)
    assert (c.loc["Black", "events"], c.loc["Black", "base"]) == (5, 25)
    custody = stage_counts(datasets["sentencing"], "custody", by="force")
    led = ledger.exclusions(custody)
    assert led["rows"].tolist() == [3]  # the 3 rows with a blank outcome left the base, counted


def test_pathway_matrix_chained(datasets):
    out = pathway_matrix(datasets, by="force")
    assert tuple(out.columns) == (*PATHWAY_COLUMNS, "force", *RRI_COLUMNS)
    assert out.attrs["skipped"] == ["stop_search", "search_outcome", "charge"]
    oocd = out[(out.stage == "out_of_court") & (out.group == "Black")].iloc[0]
    assert oocd["rri"] == pytest.approx((5 / 25) / (30 / 100))
    assert oocd["rate"] == pytest.approx(20.0)  # per 100
    custody = out[(out.stage == "custody") & (out.group == "Black")].iloc[0]
    assert custody["rri"] == pytest.approx((20 / 50) / (50 / 200))
    length = out[(out.stage == "sentence_length") & (out.group == "Black")].iloc[0]
    assert length["rate"] == 15.0 and length["reference_rate"] == 12.0
    assert length["rri"] == pytest.approx(15 / 12)
    # q-values over the whole matrix
    assert out.attrs["family"] == "whole pathway matrix"


def test_ratio_of_means_interval_by_hand():
    counts = pd.DataFrame(
        {
            "ethnicity": ["White", "Black"],
            "events": [4, 3],
            "value_sum": [40.0, 36.0],
            "value_sumsq": [10**2 + 8**2 + 12**2 + 10**2, 10**2 + 12**2 + 14**2],
        }
    )
    out = ratio_of_means(counts).set_index("group").loc["Black"]
    m_w, m_b = 10.0, 12.0
    v_w = np.var([10, 8, 12, 10], ddof=1)
    v_b = np.var([10, 12, 14], ddof=1)
    se = np.sqrt(v_b / (3 * m_b**2) + v_w / (4 * m_w**2))
    assert out["rri"] == pytest.approx(1.2)
    assert out["ci_lower"] == pytest.approx(1.2 * np.exp(-1.959963985 * se))
    assert out["ci_upper"] == pytest.approx(1.2 * np.exp(1.959963985 * se))


def test_population_basis_uses_residents():
    pop = pd.DataFrame(
        {
            "force": ["Dorset", "Dorset"],
            "ethnicity": ["White", "Black"],
            "population": [700_000.0, 5_000.0],
        }
    )
    sentencing = pd.concat(
        [
            rows(200, force="Dorset", ethnicity="White", outcome="immediate_custody"),
            rows(10, force="Dorset", ethnicity="Black", outcome="immediate_custody"),
        ],
        ignore_index=True,
    )
    out = pathway_matrix({"sentencing": sentencing}, by="force", basis="population", population=pop)
    row = out[(out.stage == "custody") & (out.group == "Black")].iloc[0]
    assert row["basis"] == "population"
    assert row["rri"] == pytest.approx((10 / 5_000) / (200 / 700_000))
    assert row["rate"] == pytest.approx(10 / 5_000 * 1000)
    assert "sentence_length" not in set(out.stage)


def test_bad_input():
    with pytest.raises(ParameterError, match="did you mean 'custody'"):
        stage_counts(pd.DataFrame({"ethnicity": []}), "custdy")
    with pytest.raises(ValidationError, match="none of the stages"):
        pathway_matrix({"nothing": pd.DataFrame()})
    with pytest.raises(ValidationError, match="lacks column 'disposal'|needs column 'disposal'"):
        stage_counts(pd.DataFrame({"ethnicity": ["White"]}), "out_of_court")


# ------------------------------------------------------------------ the population basis: person-years

# Census 2021 Dorset PFA (independent sums of the ONS export in tests/population/test_census.py)
D_WHITE, D_BLACK = 733_925, 5_315


def sentences(first: str, last: str) -> pd.DataFrame:
    """Dorset sentences on the 15th of each month: 20 White and 2 Black to immediate custody."""
    days = pd.period_range(first, last, freq="M").to_timestamp() + pd.Timedelta(days=14)
    return pd.concat(
        [
            pd.DataFrame({"date": day, "force": "Dorset", "ethnicity": group,
                          "outcome": "immediate_custody"}, index=range(n))
            for day in days
            for group, n in (("White", 20), ("Black", 2))
        ],
        ignore_index=True,
    )  # fmt: skip


def searches(first: str, last: str) -> pd.DataFrame:
    days = pd.period_range(first, last, freq="M").to_timestamp() + pd.Timedelta(days=9)
    return pd.DataFrame(
        {"date": days, "force": "Dorset", "ethnicity": "White", "search_type": "Person search"}
    )


def custody(datasets) -> pd.Series:
    out = pathway_matrix(datasets, by="force", basis="population", stages_=["custody"])
    return out[out.group == "Black"].iloc[0]


def test_each_stage_is_rated_over_the_months_of_its_own_records():
    """Issue 11, defect 4: the population basis scaled every stage by the span of the
    stop-search records, so the same custody rate changed with the other datasets passed."""
    sentencing = sentences("2023-01", "2024-03")  # 15 months
    expected = 2 * 15 / (D_BLACK * 15 / 12) * 1000  # per 1,000 residents a year
    for others in ({}, {"stop_search": searches("2021-04", "2024-03")},
                   {"stop_search": searches("2024-01", "2024-03")}):  # fmt: skip
        row = custody({"sentencing": sentencing, **others})
        assert row["base"] == pytest.approx(D_BLACK * 15 / 12)
        assert row["rate"] == pytest.approx(expected)
        assert row["rri"] == pytest.approx((2 / D_BLACK) / (20 / D_WHITE))
    out = pathway_matrix({"sentencing": sentencing}, by="force", basis="population")
    assert out.attrs["rate_units"]["custody"] == "per 1,000 person-years (a rate a year)"
    assert {"stage": "custody", "area": "Dorset", "months_covered": 15} in out.attrs["person_years"]


def test_a_records_month_is_its_uk_local_month():
    """Issue 11, defect 4: months were UTC calendar months, so a year of searches starting at
    00:00 BST on 1 April gained March (13 months of exposure for 12)."""
    local = pd.date_range("2023-04-01", "2024-03-31", freq="D", tz="Europe/London")
    records = pd.DataFrame(
        {
            "date": local.tz_convert("UTC"),
            "force": "Dorset",
            "ethnicity": np.where(np.arange(len(local)) % 10 == 0, "Black", "White"),
            "search_type": "Person search",
        }
    )
    assert records["date"].iloc[0] == pd.Timestamp("2023-03-31 23:00", tz="UTC")
    out = pathway_matrix({"stop_search": records}, by="force", stages_=["stop_search"])
    black = out[out.group == "Black"].iloc[0]
    n_black = int((records["ethnicity"] == "Black").sum())
    assert black["base"] == pytest.approx(D_BLACK)  # 12 months: one person-year per resident
    assert black["rate"] == pytest.approx(n_black / D_BLACK * 1000)


def test_person_years_are_not_accepted_as_the_population():
    from dispro.population import person_years

    pop = pd.DataFrame({"force": "Dorset", "ethnicity": ["White", "Black"], "population": [1, 2]})
    with pytest.raises(ParameterError, match="holds person-years"):
        pathway_matrix(
            {"sentencing": sentences("2024-01", "2024-02")},
            by="force",
            basis="population",
            population=person_years(pop.rename(columns={"force": "area"}), 12),
        )
