"""Tests of dispro.models.binary (logistic): collapsed cells against record-level statsmodels
fits, recovery of planted effects, and bad input.

The data come from ``sentencing.make_sentencing`` (beside this file), a seeded generator of
sentencing-like records with known effects, deliberately independent of ``dispro.synth``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sentencing import CONTROLS, GROUPS, make_sentencing, record_glm, true_marginal_rr

import dispro
from dispro import models
from dispro.errors import DataQualityWarning, ParameterError, ReferenceGroupError, ValidationError


def test_outcome_forms_agree(big):
    sub = big.iloc[:5000]
    a = models.logistic(sub, outcome="custody", controls=["offence_group"])
    b = models.logistic(sub, outcome={"outcome": ["immediate_custody"]}, controls=["offence_group"])
    c = models.logistic(sub, outcome="outcome == 'immediate_custody'", controls=["offence_group"])
    for other in (b, c):
        np.testing.assert_allclose(a.table["estimate"], other.table["estimate"], rtol=1e-12)


def test_cells_equal_record_level(mid, fit_mid):
    rec = record_glm(mid, fit_mid)
    cells = fit_mid.model
    assert list(rec.params.index) == list(cells.params.index)
    np.testing.assert_allclose(cells.params, rec.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(cells.bse, rec.bse, rtol=0, atol=1e-8)
    # dispro's own record-level path agrees too
    own = models.logistic(mid, outcome="custody", controls=CONTROLS, data_level="records")
    assert own.info["data_level"] == "records"
    np.testing.assert_allclose(own.table["estimate"], fit_mid.table["estimate"], rtol=1e-9)
    np.testing.assert_allclose(own.table["std_error"], fit_mid.table["std_error"], atol=1e-8)
    pd.testing.assert_frame_equal(own.adjusted, fit_mid.adjusted, check_exact=False, rtol=1e-8)


def test_cells_equal_record_level_cluster_robust():
    frame = make_sentencing(20_000, seed=12, force_sd=0.3)
    fit = models.logistic(frame, outcome="custody", controls=CONTROLS, cluster="force")
    codes = pd.factorize(frame["force"])[0]
    rec = record_glm(frame, fit, cov_type="cluster", cov_kwds={"groups": codes})
    np.testing.assert_allclose(fit.model.params, rec.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(fit.model.bse, rec.bse, rtol=0, atol=1e-8)
    # robust errors differ from the model-based ones here (a force effect is left out)
    plain = models.logistic(frame, outcome="custody", controls=CONTROLS)
    assert not np.allclose(plain.model.bse, fit.model.bse, rtol=0.01)
    assert fit.info["cov_type"] == "cluster" and fit.info["clusters"] == 30


def test_continuous_control_falls_back_to_records(big):
    frame = big.iloc[:8000].assign(
        age=np.random.default_rng(1).integers(18, 70, 8000).astype(float)
    )
    fit = models.logistic(frame, outcome="custody", controls=["offence_group", "age"])
    assert fit.info["data_level"] == "records"
    rec = record_glm(frame, fit)
    np.testing.assert_allclose(fit.model.params, rec.params, atol=1e-8)
    row = fit.table.loc[fit.table["variable"] == "age"].iloc[0]
    assert pd.isna(row["level"])
    forced = models.logistic(
        frame, outcome="custody", controls=["offence_group", "age"], data_level="cells"
    )
    assert forced.info["data_level"] == "cells" and len(forced.data) < len(frame)
    np.testing.assert_allclose(forced.model.params, rec.params, atol=1e-8)
    np.testing.assert_allclose(forced.model.bse, rec.bse, atol=1e-8)


@pytest.mark.slow
def test_recovery_coverage_of_or_and_marginal_rr():
    """400 seeded replicates of 4,000 records: the 95% intervals of the adjusted OR (Black vs
    White, planted 1.25) and of the marginal adjusted RR (true value from the generating model
    under each replicate's covariate distribution) each cover in 92% to 98% of replicates."""
    controls = ["sex", "offence_group", "previous_convictions"]
    cover_or = cover_rr = 0
    reps = 400
    for seed in range(reps):
        frame = make_sentencing(4000, seed=10_000 + seed, controls=controls)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", models.SeparationWarning)
            fit = models.logistic(frame, outcome="custody", controls=controls)
        row = fit.table.set_index("level").loc["Black"]
        cover_or += row["ci_lower"] <= 1.25 <= row["ci_upper"]
        adj = fit.adjusted.set_index("group").loc["Black"]
        truth = true_marginal_rr(frame, "Black")
        cover_rr += adj["ci_lower"] <= truth <= adj["ci_upper"]
    assert 0.92 <= cover_or / reps <= 0.98, cover_or / reps
    assert 0.92 <= cover_rr / reps <= 0.98, cover_rr / reps


def test_planted_confounding_direction_and_share_explained(fit_big, big):
    adj = fit_big.adjusted.set_index("group")
    black = adj.loc["Black"]
    truth = true_marginal_rr(big, "Black")
    # confounding by offence mix and previous convictions inflates the raw ratio
    assert black["rri"] > black["adjusted_rr"] > 1
    assert black["ci_lower"] <= truth <= black["ci_upper"]
    expected = 1 - math.log(black["adjusted_rr"]) / math.log(black["rri"])
    assert black["share_explained"] == pytest.approx(expected, rel=1e-12)
    assert 0 < black["share_explained"] < 1
    # the OR overstates the RR for a common outcome
    or_black = fit_big.table.set_index("level").loc["Black", "estimate"]
    assert or_black > black["adjusted_rr"]
    # rri in .adjusted is the Katz RRI of dispro.rri on the same records
    counts = dispro.count_events(big, events="custody")
    ref = dispro.rri(counts).set_index("group")
    for g in GROUPS[1:]:
        assert adj.loc[g, "rri"] == pytest.approx(ref.loc[g, "rri"], rel=1e-12)
        assert adj.loc[g, "rri_ci_lower"] == pytest.approx(ref.loc[g, "ci_lower"], rel=1e-12)


def test_single_level_control_is_dropped_with_a_warning(big):
    frame = big.iloc[:5000].assign(court_type="crown")
    with pytest.warns(DataQualityWarning, match=r"\['court_type'\].*single value"):
        fit = models.logistic(frame, outcome="custody", controls=["offence_group", "court_type"])
    assert fit.info["dropped_controls"] == ["court_type"]
    assert "court_type" not in set(fit.table["variable"])


def test_missing_reference_lists_groups(big):
    frame = big.iloc[:2000]
    with pytest.raises(ReferenceGroupError, match="'Whit'.*did you mean 'White'.*groups present"):
        models.logistic(frame, outcome="custody", reference="Whit")
    no_white = frame[frame["ethnicity"] != "White"]
    with pytest.raises(ReferenceGroupError, match="'White' has no records"):
        models.logistic(no_white, outcome="custody")


def test_missing_values_raise_unless_dropna(big):
    frame = big.iloc[:3000].copy()
    frame["custody"] = frame["custody"].astype("boolean")
    frame.loc[frame.index[:7], "offence_group"] = np.nan
    frame.loc[frame.index[5:9], "custody"] = pd.NA
    with pytest.raises(
        ValidationError, match=r"'offence_group': 7 record.*outcome: 4 record.*dropna=True"
    ):
        models.logistic(frame, outcome="custody", controls=["offence_group"])
    fit = models.logistic(frame, outcome="custody", controls=["offence_group"], dropna=True)
    assert fit.info["records"] == 3000 - 9
    led = fit.exclusions
    assert list(led["rows"]) == [7, 2]
    assert led["rule"].str.contains("missing").all()


def test_other_bad_parameters(big):
    frame = big.iloc[:1000]
    with pytest.raises(ValidationError, match="did you mean 'offence_group'"):
        models.logistic(frame, outcome="custody", controls=["offence_grp"])
    with pytest.raises(ParameterError, match="data_level"):
        models.logistic(frame, outcome="custody", data_level="cell")
    with pytest.raises(ParameterError, match="alpha"):
        models.logistic(frame, outcome="custody", alpha=5)
    with pytest.raises(ParameterError, match="DataFrame"):
        models.logistic(frame.to_dict(), outcome="custody")
    with pytest.raises(ParameterError, match="must not also be a control"):
        models.logistic(frame, outcome="custody", controls=["ethnicity"])
    with pytest.raises(ParameterError, match="not boolean"):
        models.logistic(frame, outcome="outcome")
    only_white = frame[frame["ethnicity"] == "White"]
    with pytest.raises(dispro.DisproError, match="only one group"):
        models.logistic(only_white, outcome="custody")
    with pytest.warns(DataQualityWarning, match="only 3 clusters"):
        models.logistic(
            frame.assign(area=np.resize(["a", "b", "c"], len(frame))),
            outcome="custody",
            cluster="area",
        )
    with pytest.raises(ParameterError, match="bootstrap"):
        fit = models.logistic(
            frame.assign(age=np.arange(len(frame)) % 50 + 18.0), outcome="custody", controls=["age"]
        )
        models.adjusted_rates(fit, method="bootstrap")
