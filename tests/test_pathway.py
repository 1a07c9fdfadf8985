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
