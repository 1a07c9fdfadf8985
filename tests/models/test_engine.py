"""Tests of dispro.models.engine (fit_glm and fit_binomial_batch, the GLM engine's public entry
points), each against
statsmodels' own fit of the same model on the same rows (or on the records the cells stand for)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from dispro.errors import DisproError, ParameterError, ValidationError
from dispro.models import fit_binomial_batch, fit_glm

GROUP = 'C(group, Treatment(reference="White"))'
AREA = 'C(area, Treatment(reference="north"))'


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    """Hits of searches: logit P = -1 + group + area effects + an area-level random effect."""
    rng = np.random.default_rng(31)
    n = 6000
    group = rng.choice(np.array(["White", "Black", "Asian"]), n, p=[0.6, 0.25, 0.15])
    area = rng.choice(np.array([f"a{i:02d}" for i in range(24)] + ["north"]), n)
    effect = dict(zip(np.unique(area), rng.normal(0, 0.4, 25), strict=True))
    eta = -1 + np.select([group == "Black", group == "Asian"], [-0.3, 0.2], 0.0)
    eta = eta + np.array([effect[a] for a in area])
    return pd.DataFrame(
        {"group": group, "area": area, "hit": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)}
    )


def _cells(records: pd.DataFrame) -> pd.DataFrame:
    cells = records.groupby(["group", "area"], as_index=False)["hit"].agg(hits="sum", n="size")
    cells["misses"] = cells["n"] - cells["hits"]
    return cells


def test_formula_fit_equals_statsmodels(records):
    formula = f"hit ~ {GROUP} + {AREA}"
    ours = fit_glm(records, formula)
    theirs = smf.glm(formula, data=records, family=sm.families.Binomial()).fit(tol=1e-12)
    assert list(ours.params.index) == list(theirs.params.index)
    np.testing.assert_allclose(ours.params, theirs.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.bse, theirs.bse, rtol=0, atol=1e-8)
    assert ours.llf == pytest.approx(theirs.llf, rel=1e-12)
    assert ours.model.formula == formula and ours.converged


def test_cells_equal_records_including_cluster_robust_errors(records):
    """Cells with the cluster in their key, n_records given: the record-level cluster fit."""
    cells = _cells(records)
    ours = fit_glm(cells, f"hits + misses ~ {GROUP}", cov_type="cluster",
                   cov_kwds={"groups": "area"}, n_records=len(records))  # fmt: skip
    theirs = smf.glm(f"hit ~ {GROUP}", data=records, family=sm.families.Binomial()).fit(
        tol=1e-12, cov_type="cluster", cov_kwds={"groups": pd.factorize(records["area"])[0]}
    )
    np.testing.assert_allclose(ours.params, theirs.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.bse, theirs.bse, rtol=0, atol=1e-8)
    # without n_records statsmodels' factor counts the cells, not the records: wider errors
    plain = fit_glm(cells, f"hits + misses ~ {GROUP}", cov_type="cluster",
                    cov_kwds={"groups": cells["area"].to_numpy()})  # fmt: skip
    assert (plain.bse > ours.bse).all()


def test_unpolished_fit_is_statsmodels_fit(records):
    """polish=False with statsmodels' tol: the same iterations, estimates and covariance."""
    formula = f"hit ~ {GROUP} + {AREA}"
    ours = fit_glm(records, formula, tol=1e-8, polish=False)
    theirs = smf.glm(formula, data=records, family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(ours.params, theirs.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.cov_params(), theirs.cov_params(), rtol=1e-9, atol=1e-15)
    assert ours.fit_history["iteration"] == theirs.fit_history["iteration"]
    assert ours.converged == theirs.converged


def test_design_offset_weights_and_scale_equal_statsmodels():
    rng = np.random.default_rng(5)
    n = 80
    frame = pd.DataFrame({"g": pd.Categorical(rng.choice(["White", "Black"], n)),
                          "pop": rng.integers(1000, 50_000, n).astype(float)})  # fmt: skip
    frame["y"] = rng.poisson(frame["pop"] * np.where(frame["g"] == "Black", 0.02, 0.01)
                             * rng.gamma(4, 1 / 4, n))  # fmt: skip
    formula = 'y ~ C(g, Treatment(reference="White"))'
    ours = fit_glm(frame, formula, family="poisson", offset=np.log(frame["pop"]), scale="X2")
    theirs = smf.glm(formula, data=frame, family=sm.families.Poisson(),
                     offset=np.log(frame["pop"])).fit(scale="X2", tol=1e-12)  # fmt: skip
    np.testing.assert_allclose(ours.params, theirs.params, rtol=1e-10)
    np.testing.assert_allclose(ours.bse, theirs.bse, rtol=1e-8)
    assert ours.scale == pytest.approx(theirs.pearson_chi2 / theirs.df_resid, rel=1e-9)
    # a design (endog, exog) and a column name for the offset give the same fit
    X = np.column_stack([np.ones(n), (frame["g"] == "Black").to_numpy(float)])
    design = fit_glm(None, (frame["y"].to_numpy(float), X), family=sm.families.Poisson(),
                     offset=np.log(frame["pop"].to_numpy()), scale="X2")  # fmt: skip
    np.testing.assert_allclose(design.params, ours.params.to_numpy(), rtol=1e-10)
    # a Gamma model of cell means with var_weights and an offset, both given as column names
    frame["months"] = rng.gamma(2.0, 3.0, n)
    frame["w"] = rng.integers(1, 20, n).astype(float)
    frame["lo"] = rng.normal(0, 0.1, n)
    gamma = sm.families.Gamma(sm.families.links.Log())
    ours_g = fit_glm(frame, formula.replace("y ~", "months ~"), family=gamma, offset="lo",
                     var_weights="w")  # fmt: skip
    theirs_g = smf.glm(formula.replace("y ~", "months ~"), data=frame, family=gamma,
                       offset=frame["lo"], var_weights=frame["w"]).fit(tol=1e-12)  # fmt: skip
    np.testing.assert_allclose(ours_g.params, theirs_g.params, rtol=1e-9)
    np.testing.assert_allclose(ours_g.bse, theirs_g.bse, rtol=1e-8)


def test_statsmodels_warnings_reach_the_caller_once():
    frame = pd.DataFrame({"x": np.linspace(-1, 1, 40)})
    frame["y"] = (frame["x"] > 0).astype(int)  # complete separation
    with pytest.warns(PerfectSeparationWarning) as caught:
        warnings.simplefilter("ignore", RuntimeWarning)  # exp overflows as the slope runs off
        fit_glm(frame, "y ~ x", polish=False)
    messages = [str(w.message) for w in caught if w.category is PerfectSeparationWarning]
    assert len(messages) == len(set(messages)) == 1


def test_bad_input_raises_dispro_errors(records):
    with pytest.raises(ParameterError, match="`family` must be"):
        fit_glm(records, "hit ~ group", family="logit")
    with pytest.raises(ParameterError, match="DataFrame"):
        fit_glm(records.to_dict(), "hit ~ group")
    with pytest.raises(ValidationError, match="cannot be built"):
        fit_glm(records, "hit ~ grup")
    with pytest.raises(ValidationError, match="did you mean 'area'"):
        fit_glm(records, "hit ~ group", offset="aera")
    with pytest.raises(ValidationError, match="one value per row"):
        fit_glm(records, "hit ~ group", offset=np.zeros(3))
    with pytest.raises(ValidationError, match="proportion from 0 to 1"):
        fit_glm(records.assign(hit=2), "hit ~ group")
    with pytest.raises(ParameterError, match="cov_kwds"):
        fit_glm(records, "hit ~ group", cov_type="cluster")
    with pytest.raises(ParameterError, match="maxiter"):
        fit_glm(records, "hit ~ group", maxiter=0)
    with pytest.raises(DisproError, match="could not be fitted"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # an offset that overflows the Poisson mean: the fit is infeasible
        fit_glm(records, "hit ~ group", family="poisson",
                offset=np.r_[800.0, np.zeros(len(records) - 1)])  # fmt: skip
    with pytest.raises(ValidationError, match="1 row"):
        fit_glm(records, "hit ~ group", offset=np.r_[np.nan, np.zeros(len(records) - 1)])


def test_batched_binomial_fits_equal_statsmodels_fit_one_by_one():
    """k random problems of different sizes (padded with trials 0), with offsets and 1-3 columns,
    fitted at once: each equals statsmodels' GLM Binomial fit of that problem alone."""
    rng = np.random.default_rng(11)
    k, u = 6, 9
    for q in (1, 2, 3):
        X = np.concatenate([np.ones((k, u, 1)), rng.normal(0, 1, (k, u, q - 1))], axis=-1)
        trials = rng.integers(1, 400, (k, u)).astype(float)
        rows = rng.integers(q + 2, u + 1, k)  # problem i uses its first rows[i] rows
        trials[np.arange(u) >= rows[:, None]] = 0.0
        offset = rng.normal(0, 0.5, (k, u))
        beta = rng.normal(0, 0.6, (k, q)) - np.r_[1.0, np.zeros(q - 1)]  # intercepts near -1
        p = 1 / (1 + np.exp(-(offset + np.einsum("kuq,kq->ku", X, beta))))
        events = rng.binomial(trials.astype(int), p).astype(float)
        fit = fit_binomial_batch(events, trials, X, offset=offset)
        assert fit.converged.all()
        for i in range(k):
            n = rows[i]
            endog = np.column_stack([events[i, :n], trials[i, :n] - events[i, :n]])
            theirs = sm.GLM(endog, X[i, :n], family=sm.families.Binomial(),
                            offset=offset[i, :n]).fit(tol=1e-12)  # fmt: skip
            np.testing.assert_allclose(fit.params[i], theirs.params, rtol=0, atol=1e-8)
            # statsmodels stops on the deviance, a step earlier: its bse is at slightly other params
            np.testing.assert_allclose(fit.bse[i], theirs.bse, rtol=1e-6)
            assert fit.pearson_chi2[i] == pytest.approx(theirs.pearson_chi2, rel=1e-8)
            assert fit.deviance[i] == pytest.approx(theirs.deviance, rel=1e-8, abs=1e-9)


def test_batched_binomial_flags_separation_and_bad_input():
    X = np.stack([np.ones((1, 4)), np.array([[0.0, 0.0, 1.0, 1.0]])], axis=-1)
    with np.errstate(over="ignore"):  # no events at x = 1: the slope runs to -infinity
        fit = fit_binomial_batch(np.array([[3.0, 4.0, 0.0, 0.0]]), np.full((1, 4), 10.0), X)
    assert not fit.converged[0] and fit.params[0, 1] < -10
    with pytest.raises(ValidationError, match="shape"):
        fit_binomial_batch(np.ones((1, 3)), np.ones((1, 4)), X)
    with pytest.raises(ValidationError, match="from 0 to `trials`"):
        fit_binomial_batch(np.full((1, 4), 11.0), np.full((1, 4), 10.0), X)
    with pytest.raises(ValidationError, match="missing or infinite"):
        fit_binomial_batch(np.full((1, 4), np.nan), np.full((1, 4), 10.0), X)
