"""Tests of dispro.models._separation: separation found exactly, named and reported."""

from __future__ import annotations

import numpy as np
import pytest

from dispro import models


def test_separation_warns_naming_cells_and_levels(big):
    frame = big.iloc[:20_000].copy()
    motoring = frame["offence_group"] == "summary_non_motoring"
    frame.loc[motoring, "custody"] = False  # no custody ever: quasi-complete separation
    with pytest.warns(models.SeparationWarning, match=r"offence_group=summary_non_motoring") as rec:
        fit = models.logistic(
            frame, outcome="custody", controls=["offence_group", "previous_convictions"]
        )
    message = str(rec[0].message)
    assert "0 of" in message and "ethnicity=" in message
    row = fit.table.set_index("level").loc["summary_non_motoring"]
    assert row["status"] == "separated" and np.isnan(row["estimate"]) and np.isnan(row["ci_upper"])
    assert np.isfinite(
        fit.table["estimate"].drop(fit.table.index[fit.table["status"] == "separated"])
    ).all()
    # the group's estimates are still those of the model without the separated records
    kept = models.logistic(
        frame[~motoring], outcome="custody", controls=["offence_group", "previous_convictions"]
    )
    a = fit.table.set_index("level").loc[["Black", "Asian"], "estimate"]
    b = kept.table.set_index("level").loc[["Black", "Asian"], "estimate"]
    np.testing.assert_allclose(a, b, rtol=1e-4)


def test_separation_of_a_group(big):
    frame = big.iloc[:20_000].copy()
    frame.loc[frame["ethnicity"] == "Other", "custody"] = False
    with pytest.warns(models.SeparationWarning, match="ethnicity=Other"):
        fit = models.logistic(frame, outcome="custody", controls=["offence_group"])
    assert fit.table.set_index("level").loc["Other", "status"] == "separated"
    other = fit.adjusted.set_index("group").loc["Other"]
    assert other["adjusted_rate"] < 1e-6 and np.isnan(other["ci_lower"])
