"""Tests of dispro.models: collapsed cells against record-level statsmodels fits, recovery of
planted effects, marginal standardisation, Poisson IRRs against the RRI engine, sentence length,
E-values (published worked example), odds to probabilities, IPW balance, change over time, and bad
input.

The data come from :func:`make_sentencing` below, a seeded generator of sentencing-like records with
known effects (documented in its docstring). It is deliberately independent of ``dispro.synth``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import special
from statsmodels.genmod.generalized_linear_model import GLMResultsWrapper

import dispro
from dispro import models
from dispro.errors import DataQualityWarning, ParameterError, ReferenceGroupError, ValidationError

# --------------------------------------------------------------------------------------------
# a seeded sentencing-like generator with known effects
# --------------------------------------------------------------------------------------------

GROUPS = ["White", "Black", "Asian", "Mixed", "Other", "Not stated"]
GROUP_SHARES = [0.70, 0.10, 0.09, 0.05, 0.04, 0.02]
#: planted conditional log odds ratios of custody against White
TRUE_LOG_OR = {
    "White": 0.0,
    "Black": math.log(1.25),
    "Asian": math.log(1.10),
    "Mixed": 0.0,
    "Other": math.log(0.90),
    "Not stated": 0.0,
}
OFFENCES = [
    "violence_against_the_person",
    "robbery",
    "theft_offences",
    "drug_offences",
    "public_order_offences",
    "summary_non_motoring",
]
OFFENCE_LOG_OR = np.array([0.8, 1.6, 0.0, 0.5, -0.4, -1.2])
#: offence mix by group: the planted confounding (Black and Mixed defendants more often sentenced
#: for robbery, drugs and violence, which carry more custody)
OFFENCE_MIX = {
    "White": [0.20, 0.03, 0.35, 0.12, 0.15, 0.15],
    "Black": [0.25, 0.10, 0.20, 0.25, 0.10, 0.10],
    "Asian": [0.22, 0.05, 0.28, 0.18, 0.13, 0.14],
    "Mixed": [0.24, 0.08, 0.25, 0.20, 0.12, 0.11],
    "Other": [0.20, 0.04, 0.33, 0.13, 0.15, 0.15],
    "Not stated": [0.20, 0.03, 0.35, 0.12, 0.15, 0.15],
}
PREVIOUS = ["0", "1-2", "3-6", "7-10"]
PREVIOUS_LOG_OR = np.array([-0.7, -0.2, 0.2, 0.6])
PREVIOUS_MIX = {
    "White": [0.35, 0.30, 0.20, 0.15],
    "Black": [0.25, 0.27, 0.25, 0.23],
    "Asian": [0.38, 0.30, 0.18, 0.14],
    "Mixed": [0.28, 0.28, 0.23, 0.21],
    "Other": [0.36, 0.30, 0.19, 0.15],
    "Not stated": [0.35, 0.30, 0.20, 0.15],
}
SEXES, SEX_SHARES, SEX_LOG_OR = ["Male", "Female"], [0.85, 0.15], np.array([0.4, 0.0])
AGES = ["18-20", "21-24", "25-29", "30-39", "40-49"]
AGE_SHARES, AGE_LOG_OR = [0.12, 0.18, 0.22, 0.30, 0.18], np.array([-0.3, 0.0, 0.1, 0.1, 0.0])
PLEAS, PLEA_SHARES, PLEA_LOG_OR = (
    ["guilty", "not_guilty", "no_plea"],
    [0.72, 0.18, 0.10],
    np.array([0.0, 0.5, 0.2]),
)
INTERCEPT = -1.3
YEARS = ["2022", "2023", "2024"]
#: planted log ratio of mean custody months against White (Gamma, log link)
TRUE_LOG_LENGTH = {"White": 0.0, "Black": math.log(1.15), "Asian": math.log(1.05)}
OFFENCE_LOG_LENGTH = np.array([0.6, 1.0, 0.0, 0.3, -0.3, -0.6])
GAMMA_SHAPE = 2.0


def _draw(rng, labels, probs_by_row):
    """One categorical draw per row from row-specific probabilities (inverse CDF)."""
    cum = np.cumsum(probs_by_row, axis=1)
    u = rng.random(len(cum))[:, None]
    idx = (u > cum).sum(axis=1)
    return np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)]


def make_sentencing(
    n: int,
    seed: int,
    *,
    controls=("sex", "age_band", "offence_group", "plea", "previous_convictions"),
    force_sd: float = 0.0,
    n_forces: int = 30,
    trend: dict | None = None,
) -> pd.DataFrame:
    """Seeded sentencing-like records with known effects.

    Custody (``outcome == "immediate_custody"``) follows a logistic model with
    ``logit P = -1.3 + TRUE_LOG_OR[ethnicity] + OFFENCE_LOG_OR[offence] + PREVIOUS_LOG_OR[band] +
    SEX_LOG_OR + AGE_LOG_OR + PLEA_LOG_OR (+ a force effect N(0, force_sd) + trend)``: Black 1.25,
    Asian 1.10, Other 0.90, Mixed and Not stated 1.00 conditional odds ratios against White. Only
    the columns in ``controls`` carry their effect (the others are drawn but inert), so a model
    with exactly those controls is correctly specified. Offence mix and previous convictions differ
    by group (``OFFENCE_MIX``, ``PREVIOUS_MIX``): the planted confounding makes the raw RRI of the
    Black group exceed its adjusted ratio. ``trend`` adds ``{group: {year: log OR}}``.
    Custody months are Gamma (shape 2) with log mean ``1.5 + TRUE_LOG_LENGTH + OFFENCE_LOG_LENGTH
    + 0.1 × previous band index``. Columns also hold ``force`` (``n_forces`` forces),
    ``court_type``, ``year`` and the linear predictor ``_eta`` (for the true marginal RR).
    """
    rng = np.random.default_rng(seed)
    eth = rng.choice(np.asarray(GROUPS, dtype=object), n, p=GROUP_SHARES)
    gi = pd.Index(GROUPS).get_indexer(eth)
    off = _draw(rng, OFFENCES, np.asarray([OFFENCE_MIX[g] for g in GROUPS])[gi])
    prev = _draw(rng, PREVIOUS, np.asarray([PREVIOUS_MIX[g] for g in GROUPS])[gi])
    sex = rng.choice(np.asarray(SEXES, dtype=object), n, p=SEX_SHARES)
    age = rng.choice(np.asarray(AGES, dtype=object), n, p=AGE_SHARES)
    plea = rng.choice(np.asarray(PLEAS, dtype=object), n, p=PLEA_SHARES)
    force_idx = rng.integers(0, n_forces, n)
    force_effect = np.random.default_rng(1000 + seed).normal(0, force_sd, n_forces)
    year = rng.choice(np.asarray(YEARS, dtype=object), n)
    eta = INTERCEPT + np.array([TRUE_LOG_OR[g] for g in GROUPS])[gi]
    effects = {
        "offence_group": OFFENCE_LOG_OR[pd.Index(OFFENCES).get_indexer(off)],
        "previous_convictions": PREVIOUS_LOG_OR[pd.Index(PREVIOUS).get_indexer(prev)],
        "sex": SEX_LOG_OR[pd.Index(SEXES).get_indexer(sex)],
        "age_band": AGE_LOG_OR[pd.Index(AGES).get_indexer(age)],
        "plea": PLEA_LOG_OR[pd.Index(PLEAS).get_indexer(plea)],
    }
    for c in controls:
        eta = eta + effects[c]
    eta = eta + force_effect[force_idx]
    for g, by_year in (trend or {}).items():
        for y, v in by_year.items():
            eta = eta + v * ((eth == g) & (year == y))
    custody = rng.random(n) < special.expit(eta)
    log_mean = (
        1.5
        + np.array([TRUE_LOG_LENGTH.get(g, 0.0) for g in GROUPS])[gi]
        + OFFENCE_LOG_LENGTH[pd.Index(OFFENCES).get_indexer(off)]
        + 0.1 * pd.Index(PREVIOUS).get_indexer(prev)
    )
    months = rng.gamma(GAMMA_SHAPE, np.exp(log_mean) / GAMMA_SHAPE)
    outcome = np.where(
        custody, "immediate_custody", rng.choice(["community", "fine", "suspended_sentence"], n)
    )
    return pd.DataFrame(
        {
            "ethnicity": eth,
            "sex": sex,
            "age_band": age,
            "offence_group": off,
            "plea": plea,
            "previous_convictions": prev,
            "force": np.asarray([f"force_{i:02d}" for i in range(n_forces)], dtype=object)[
                force_idx
            ],
            "court_type": np.where(off == "robbery", "crown", "magistrates"),
            "year": year,
            "outcome": outcome,
            "custody": custody,
            "custody_months": np.where(custody, months, np.nan),
            "_eta": eta,
        }
    )


def true_marginal_rr(frame: pd.DataFrame, group: str, reference: str = "White") -> float:
    """The true marginal RR under the data's covariate distribution: each record's true custody
    probability as if in ``group`` and as if in ``reference``, averaged over all records."""
    base = frame["_eta"].to_numpy() - frame["ethnicity"].map(TRUE_LOG_OR).to_numpy()
    p_g = special.expit(base + TRUE_LOG_OR[group]).mean()
    p_r = special.expit(base + TRUE_LOG_OR[reference]).mean()
    return float(p_g / p_r)


CONTROLS = ["sex", "age_band", "offence_group", "plea", "previous_convictions"]


def _rhs(fit) -> str:
    return fit.info["formula"].split("~", 1)[1]


def _record_glm(frame, fit, **fit_kwargs):
    data = frame.assign(_y=frame["custody"].astype(int))
    return smf.glm("_y ~" + _rhs(fit), data=data, family=sm.families.Binomial()).fit(
        tol=1e-12, **fit_kwargs
    )


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    return make_sentencing(60_000, seed=11)


@pytest.fixture(scope="module")
def fit_big(big):
    return models.logistic(big, outcome="custody", controls=CONTROLS)


@pytest.fixture(scope="module")
def mid() -> pd.DataFrame:
    """Smaller records for comparisons with record-level statsmodels fits (slow to build)."""
    return make_sentencing(15_000, seed=13)


@pytest.fixture(scope="module")
def fit_mid(mid):
    return models.logistic(mid, outcome="custody", controls=CONTROLS)


# --------------------------------------------------------------------------------------------
# schema and the result object
# --------------------------------------------------------------------------------------------


def test_schema_and_result_object(fit_big):
    assert tuple(fit_big.table.columns) == models.TERM_COLUMNS
    assert tuple(fit_big.adjusted.columns) == models.ADJUSTED_COLUMNS
    # the public contract's columns, in its order
    contract = ["group", "adjusted_rate", "adjusted_rr", "ci_lower", "ci_upper"]
    assert list(fit_big.adjusted.columns[:5]) == contract
    assert {"term", "estimate", "ci_lower", "ci_upper", "p_value"} <= set(fit_big.table.columns)
    assert isinstance(fit_big.model, GLMResultsWrapper)
    assert fit_big.info["data_level"] == "cells"
    assert fit_big.info["rows_fitted"] == len(fit_big.data) < 60_000 / 10
    # group rows in code-list order after the intercept, reference first in .adjusted
    assert list(fit_big.table["level"][1:6]) == ["Asian", "Black", "Mixed", "Other", "Not stated"]
    assert fit_big.adjusted["group"].iloc[0] == "White"
    assert fit_big.adjusted["adjusted_rr"].iloc[0] == 1.0
    assert "logistic" in repr(fit_big)
    assert list(fit_big.exclusions.columns) == list(dispro.ledger.LEDGER_COLUMNS)


def test_outcome_forms_agree(big):
    sub = big.iloc[:5000]
    a = models.logistic(sub, outcome="custody", controls=["offence_group"])
    b = models.logistic(sub, outcome={"outcome": ["immediate_custody"]}, controls=["offence_group"])
    c = models.logistic(sub, outcome="outcome == 'immediate_custody'", controls=["offence_group"])
    for other in (b, c):
        np.testing.assert_allclose(a.table["estimate"], other.table["estimate"], rtol=1e-12)


# --------------------------------------------------------------------------------------------
# collapsed cells = record level
# --------------------------------------------------------------------------------------------


def test_cells_equal_record_level(mid, fit_mid):
    rec = _record_glm(mid, fit_mid)
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
    rec = _record_glm(frame, fit, cov_type="cluster", cov_kwds={"groups": codes})
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
    rec = _record_glm(frame, fit)
    np.testing.assert_allclose(fit.model.params, rec.params, atol=1e-8)
    row = fit.table.loc[fit.table["variable"] == "age"].iloc[0]
    assert pd.isna(row["level"])
    forced = models.logistic(
        frame, outcome="custody", controls=["offence_group", "age"], data_level="cells"
    )
    assert forced.info["data_level"] == "cells" and len(forced.data) < len(frame)
    np.testing.assert_allclose(forced.model.params, rec.params, atol=1e-8)
    np.testing.assert_allclose(forced.model.bse, rec.bse, atol=1e-8)


# --------------------------------------------------------------------------------------------
# the design from categorical codes and the IRLS fit equal statsmodels' formula API
# --------------------------------------------------------------------------------------------


def _design_frame(rng, n=400):
    """Categoricals with unused categories and category orders that are not alphabetical, numeric
    columns (float, integer, a name that needs ``Q()``), and two responses."""
    offence = pd.Categorical(
        rng.choice(["theft", "robbery", "drugs"], n),
        categories=["theft", "robbery", "drugs", "fraud"],  # "fraud" unused
    )
    band = pd.Categorical(
        rng.choice(["0", "1-2", "3-6"], n), categories=["3-6", "0", "1-2", "15+"], ordered=True
    )
    return pd.DataFrame(
        {
            "ethnicity": pd.Categorical(rng.choice(["White", "Black", "Asian", "Mixed"], n)),
            "offence": offence,
            "previous band": band,
            "year": pd.Categorical(rng.choice(["2022", "2023", "2024"], n)),
            "age": rng.normal(35, 10, n),
            "count": rng.integers(0, 5, n),
            "days in custody": rng.gamma(2, 30, n),
            "_events": rng.integers(0, 10, n),
            "_nonevents": rng.integers(0, 10, n),
        }
    )


@pytest.mark.parametrize(
    "rhs",
    [
        # non-default references, an ordered categorical, an unused category, Q() names
        ["ethnicity:Black", "offence:drugs", "previous band:1-2", "days in custody"],
        # numeric controls first and between categoricals: patsy moves them to the end
        ["age", "ethnicity:White", "count", "offence:theft"],
        # a group x period interaction with its main effects, as change_over_time writes it
        ["ethnicity:White", "year:2023", "ethnicity:White*year:2023", "offence:robbery", "age"],
        ["year:2022*ethnicity:Mixed", "ethnicity:Mixed", "year:2022"],
    ],
)
def test_design_from_codes_equals_patsy(rng, rhs):
    """dispro's design (names, order and values) equals the one patsy builds for the formula."""
    import patsy

    frame = _design_frame(rng)

    def term(spec):
        if "*" in spec:
            return ":".join(term(part) for part in spec.split("*"))
        column, _, reference = spec.partition(":")
        return models._cat_term(column, reference) if reference else models._formula_name(column)

    formula = "_events + _nonevents ~ " + " + ".join(term(t) for t in rhs)
    endog, exog = models._design(formula, frame)
    p_endog, p_exog = patsy.dmatrices(formula, frame, return_type="dataframe")
    assert list(exog.columns) == list(p_exog.columns)
    assert list(endog.columns) == list(p_endog.columns) == ["_events", "_nonevents"]
    np.testing.assert_array_equal(exog.to_numpy(), p_exog.to_numpy())
    np.testing.assert_array_equal(endog.to_numpy(), p_endog.to_numpy())


def test_design_leaves_other_formulas_to_patsy(rng):
    frame = _design_frame(rng)
    for formula in (
        "_events ~ np.log(age)",  # a transform
        "_events ~ C(offence)",  # no stated reference
        "_events ~ 0 + age",  # no intercept
        "_events ~ age:count",  # a numeric interaction
        '_events ~ C(offence, Treatment(reference="theft")):year',  # no main effects
        '_events ~ C(offence, Treatment(reference="shoplifting"))',  # not a level
    ):
        assert models._design(formula, frame) is None, formula
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = models._model(smf.glm, "_events ~ np.log(age)", frame)
    assert isinstance(model, sm.GLM) and "np.log(age)" in model.exog_names


def test_model_is_the_formula_model(mid, fit_mid):
    """The fitted model is what smf.glm would give: names, formula, predict on data frames."""
    cells = fit_mid.data
    formula_fit = smf.glm(
        fit_mid.info["formula"], data=cells, family=sm.families.Binomial()
    ).fit(atol=1e-10, rtol=1e-13)  # fmt: skip
    assert fit_mid.model.model.formula == fit_mid.info["formula"]
    assert list(fit_mid.model.params.index) == list(formula_fit.params.index)
    assert fit_mid.model.model.endog_names == formula_fit.model.endog_names
    assert fit_mid.model.df_model == formula_fit.df_model
    assert fit_mid.model.df_resid == formula_fit.df_resid
    np.testing.assert_allclose(fit_mid.model.params, formula_fit.params, rtol=0, atol=1e-10)
    assert fit_mid.model.llf == pytest.approx(formula_fit.llf, rel=1e-12)
    # predict takes records, through patsy's design information made from the formula
    records = mid.iloc[:200]
    np.testing.assert_allclose(
        fit_mid.model.predict(records), formula_fit.predict(records), rtol=1e-10
    )
    np.testing.assert_allclose(fit_mid.model.predict(cells), fit_mid.model.fittedvalues, rtol=1e-12)
    assert "GLM" in str(fit_mid.model.summary())


@pytest.mark.parametrize("case", ["binomial", "cluster", "gamma", "quasi_poisson", "offset"])
def test_fast_irls_equals_statsmodels_irls(big, stop_counts, case):
    """dispro's IRLS (normal equations) gives statsmodels' fit (SVD steps) to rounding."""
    if case in ("binomial", "cluster"):
        fit = models.logistic(big.iloc[:20_000], outcome="custody", controls=CONTROLS)
        kwargs = {**models._IRLS, "maxiter": 100}
        family = sm.families.Binomial()
        if case == "cluster":
            groups = np.arange(len(fit.data)) % 25
            kwargs.update(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False})
    elif case == "gamma":
        fit = models.sentence_length(big.iloc[:20_000], controls=["offence_group"])
        kwargs = {**models._IRLS, "maxiter": 200, "scale": 0.7, "start_params": None}
        family = sm.families.Gamma(sm.families.links.Log())
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)
            fit = models.poisson_rates(stop_counts, covariates=["force"])
        kwargs = {
            **models._IRLS,
            "maxiter": 100,
            "scale": "X2" if case == "quasi_poisson" else None,
        }
        family = sm.families.Poisson()
    extra = {}
    if fit.info["function"] == "sentence_length":
        extra["var_weights"] = fit.data["_n"].to_numpy(dtype=float)
    if fit.info["function"] == "poisson_rates":
        extra["offset"] = np.log(fit.data["_exposure"].to_numpy())
    model = models._model(smf.glm, fit.info["formula"], fit.data, family=family, **extra)
    ours, conv_a, _ = models._quiet_fit(model, **kwargs)
    theirs, conv_b, _ = models._quiet_fit(model, fast=False, **kwargs)
    assert conv_a and conv_b
    assert ours.mle_settings["optimizer"] == "IRLS" and ours.cov_type == theirs.cov_type
    np.testing.assert_allclose(ours.params, theirs.params, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.bse, theirs.bse, rtol=1e-9)
    np.testing.assert_allclose(ours.cov_params(), theirs.cov_params(), rtol=1e-8, atol=1e-15)
    for attr in ("scale", "llf", "deviance", "pearson_chi2", "df_model", "df_resid"):
        assert getattr(ours, attr) == pytest.approx(getattr(theirs, attr), rel=1e-9), attr


def test_full_rank_shortcut_agrees_with_the_svd(rng):
    X = (rng.random((500, 8)) < 0.4).astype(float)
    X[:, 0] = 1.0
    assert models._clearly_full_rank(X, 1e-10)
    assert np.linalg.matrix_rank(X) == 8
    collinear = np.column_stack([X, X[:, 1] + X[:, 2]])
    assert not models._clearly_full_rank(collinear, 1e-10)
    assert models._null_space(collinear).shape == (9, 1)
    assert models._null_space(X).shape == (8, 0)
    assert not models._clearly_full_rank(X[:5], 1e-10)  # wide: not decided here


def test_collapse_counts_a_boolean_outcome_as_the_float_sums(big):
    frame = big.iloc[:5000]
    prep = models._prepare(
        frame, func="t", group="ethnicity", reference="White", controls=CONTROLS, dropna=False
    )
    keys = ["ethnicity", *CONTROLS]
    y = frame["custody"].to_numpy()
    a = models._collapse(prep, keys, {"_events": y})
    b = models._collapse(prep, keys, {"_events": y.astype(float)})
    pd.testing.assert_frame_equal(a, b)
    assert a["_events"].sum() == y.sum() and a["_n"].sum() == len(frame)


# --------------------------------------------------------------------------------------------
# marginal standardisation
# --------------------------------------------------------------------------------------------


def test_adjusted_rates_equal_direct_g_computation(mid, fit_mid):
    rec = _record_glm(mid, fit_mid)
    rates = {}
    for g in GROUPS:
        counterfactual = mid.assign(ethnicity=g, _y=0)
        rates[g] = float(rec.predict(counterfactual).mean())
    adj = fit_mid.adjusted.set_index("group")
    for g in GROUPS:
        assert adj.loc[g, "adjusted_rate"] == pytest.approx(rates[g], rel=1e-9)
        assert adj.loc[g, "adjusted_rr"] == pytest.approx(rates[g] / rates["White"], rel=1e-9)


def test_delta_method_matches_numerical_gradient(fit_big):
    spec = fit_big._spec
    X, w, beta, V = spec["X"], spec["weights"], spec["beta"], spec["cov"]
    col = spec["group_col"]["Black"]

    def log_rr(b):
        base = X.copy()
        base[:, [c for c in spec["group_col"].values() if c is not None]] = 0
        eta = base @ b
        return np.log((w @ special.expit(eta + b[col])) / (w @ special.expit(eta)))

    eps = 1e-6
    grad = np.array(
        [(log_rr(beta + eps * e) - log_rr(beta - eps * e)) / (2 * eps) for e in np.eye(len(beta))]
    )
    se = math.sqrt(grad @ V @ grad)
    row = fit_big.adjusted.set_index("group").loc["Black"]
    z = 1.959963984540054
    assert row["ci_lower"] == pytest.approx(row["adjusted_rr"] * math.exp(-z * se), rel=1e-6)
    assert row["ci_upper"] == pytest.approx(row["adjusted_rr"] * math.exp(z * se), rel=1e-6)


def test_bootstrap_agrees_with_delta(big):
    sub = big.iloc[:20_000]
    fit = models.logistic(
        sub, outcome="custody", controls=["offence_group", "previous_convictions"]
    )
    boot = models.adjusted_rates(fit, method="bootstrap", n_boot=300, seed=5)
    assert tuple(boot.columns) == models.ADJUSTED_COLUMNS
    delta = fit.adjusted.set_index("group")
    b = boot.set_index("group")
    for g in ["Black", "Asian"]:
        np.testing.assert_allclose(b.loc[g, "adjusted_rr"], delta.loc[g, "adjusted_rr"])
        width_d = math.log(delta.loc[g, "ci_upper"] / delta.loc[g, "ci_lower"])
        width_b = math.log(b.loc[g, "ci_upper"] / b.loc[g, "ci_lower"])
        assert 0.75 < width_b / width_d < 1.33
    assert boot.attrs["method"] == "bootstrap" and boot.attrs["bootstrap_failed"] == 0


def test_standard_population_option(fit_mid, mid):
    rec = _record_glm(mid, fit_mid)
    black = mid[mid["ethnicity"] == "Black"]
    p_b = rec.predict(black.assign(_y=0)).mean()
    p_w = rec.predict(black.assign(ethnicity="White", _y=0)).mean()
    out = models.adjusted_rates(fit_mid, standard="Black").set_index("group")
    assert out.loc["Black", "adjusted_rr"] == pytest.approx(p_b / p_w, rel=1e-9)
    with pytest.raises(ParameterError, match="did you mean 'Black'"):
        models.adjusted_rates(fit_mid, standard="Blak")


# --------------------------------------------------------------------------------------------
# recovery of planted effects (simulation)
# --------------------------------------------------------------------------------------------


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


def test_share_explained_only_on_the_same_side():
    share = models._share_explained(
        np.array([1.2, 0.9, 1.1, 0.8, 1.0]), np.array([1.5, 1.2, 1.1, 0.5, 1.3])
    )
    assert share[0] == pytest.approx(1 - math.log(1.2) / math.log(1.5))
    assert np.isnan(share[1])  # opposite sides of 1
    assert share[2] == pytest.approx(0.0)
    assert share[3] == pytest.approx(1 - math.log(0.8) / math.log(0.5))
    assert np.isnan(share[4])  # adjusted exactly 1


# --------------------------------------------------------------------------------------------
# Poisson rate models
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stop_counts() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    rate = {"White": 0.006, "Black": 0.030, "Asian": 0.011, "Mixed": 0.015, "Other": 0.008}
    area_effect = {"Hampshire": 1.0, "Dorset": 0.7, "Wiltshire": 0.85}
    for area, ae in area_effect.items():
        for q in ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]:
            for g, r in rate.items():
                pop = (
                    int(rng.integers(20_000, 400_000))
                    if g == "White"
                    else int(rng.integers(3_000, 40_000))
                )
                rows.append({"force": area, "quarter": q, "ethnicity": g, "population": pop,
                             "events": int(rng.poisson(pop * r * ae / 4))})  # fmt: skip
    return pd.DataFrame(rows)


def test_poisson_irr_equals_rri(stop_counts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # area effect left out: overdispersed
        fit = models.poisson_rates(stop_counts, events="events", exposure="population")
    summed = stop_counts.groupby("ethnicity", as_index=False)[["events", "population"]].sum()
    ref = dispro.rri(summed, base="population", method="poisson_wald").set_index("group")
    table = fit.table.set_index("level")
    for g in ["Black", "Asian", "Mixed", "Other"]:
        assert table.loc[g, "estimate"] == pytest.approx(ref.loc[g, "rri"], rel=1e-9)
        assert table.loc[g, "ci_lower"] == pytest.approx(ref.loc[g, "ci_lower"], rel=1e-8)
        assert table.loc[g, "ci_upper"] == pytest.approx(ref.loc[g, "ci_upper"], rel=1e-8)
        assert table.loc[g, "p_value"] == pytest.approx(ref.loc[g, "p_value"], rel=1e-6, abs=1e-300)
    adj = fit.adjusted.set_index("group")
    np.testing.assert_allclose(adj.loc[ref.index, "adjusted_rr"], ref["rri"], rtol=1e-9)
    np.testing.assert_allclose(adj.loc[ref.index, "rri"], ref["rri"], rtol=1e-12)
    assert adj.loc["White", "rate"] == pytest.approx(ref.loc["White", "rate"] * 1000, rel=1e-12)


def test_poisson_families_and_dispersion(stop_counts):
    with pytest.warns(DataQualityWarning, match="Pearson dispersion"):
        plain = models.poisson_rates(stop_counts, covariates=[])
    quasi = models.poisson_rates(stop_counts, family="quasi")
    phi = plain.info["dispersion"]
    assert phi > 1.5 and quasi.info["dispersion"] == pytest.approx(phi)
    np.testing.assert_allclose(quasi.table["estimate"], plain.table["estimate"], rtol=1e-10)
    np.testing.assert_allclose(
        quasi.table["std_error"], plain.table["std_error"] * math.sqrt(phi), rtol=1e-8
    )
    adjusted = models.poisson_rates(stop_counts, covariates=["force", "quarter"])
    assert adjusted.info["dispersion"] < 1.5  # the area effect was the overdispersion
    black = adjusted.table.set_index("level").loc["Black"]
    assert black["ci_lower"] < 0.030 / 0.006 < black["ci_upper"]
    nb = models.poisson_rates(stop_counts, family="negative_binomial")
    assert nb.info["nb_alpha"] > 0
    assert "alpha" not in set(nb.table["term"])
    assert tuple(nb.adjusted.columns) == models.ADJUSTED_COLUMNS
    # log link, no interaction: standardised ratio = IRR
    np.testing.assert_allclose(
        adjusted.adjusted.set_index("group").loc[["Black", "Asian"], "adjusted_rr"],
        adjusted.table.set_index("level").loc[["Black", "Asian"], "estimate"],
        rtol=1e-9,
    )


def test_poisson_bad_input(stop_counts):
    bad = stop_counts.copy()
    bad.loc[0, "population"] = 0
    bad.loc[0, "events"] = 3
    with pytest.raises(ValidationError, match="zero `exposure`"):
        models.poisson_rates(bad)
    zero = stop_counts.copy()
    zero.loc[0, ["population", "events"]] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        fit = models.poisson_rates(zero)
    assert fit.exclusions["rows"].iloc[0] == 1
    with pytest.raises(ParameterError, match="family"):
        models.poisson_rates(stop_counts, family="poison")


# --------------------------------------------------------------------------------------------
# sentence length
# --------------------------------------------------------------------------------------------


def test_sentence_length_gamma_equals_record_level(big):
    fit = models.sentence_length(big, controls=["offence_group", "previous_convictions"])
    custody = big[big["outcome"] == "immediate_custody"]
    rec = smf.glm(
        "custody_months ~" + _rhs(fit), data=custody,
        family=sm.families.Gamma(sm.families.links.Log()),
    ).fit(tol=1e-12)  # fmt: skip
    np.testing.assert_allclose(fit.model.params, rec.params, atol=1e-8)
    np.testing.assert_allclose(fit.model.bse, rec.bse, atol=1e-8)
    black = fit.table.set_index("level").loc["Black"]
    assert black["ci_lower"] < 1.15 < black["ci_upper"]
    assert fit.info["data_level"] == "cells"
    led = fit.exclusions
    assert led["rows"].iloc[0] == (big["outcome"] != "immediate_custody").sum()


def test_sentence_length_log_ols_equals_ols(big):
    fit = models.sentence_length(
        big, controls=["offence_group", "previous_convictions"], method="log_ols"
    )
    custody = big[big["outcome"] == "immediate_custody"].assign(
        _log=lambda f: np.log(f["custody_months"])
    )
    ols = smf.ols("_log ~" + _rhs(fit), data=custody).fit()
    np.testing.assert_allclose(fit.model.params, ols.params, atol=1e-8)
    np.testing.assert_allclose(fit.model.bse, ols.bse, atol=1e-8)
    ci = np.exp(ols.conf_int(0.05))
    table = fit.table.set_index("term")
    np.testing.assert_allclose(table.loc[ci.index, "ci_lower"], ci[0], rtol=1e-8)
    np.testing.assert_allclose(table.loc[ci.index, "ci_upper"], ci[1], rtol=1e-8)
    np.testing.assert_allclose(table.loc[ci.index, "p_value"], ols.pvalues, rtol=1e-6, atol=1e-300)


def test_sentence_length_cluster_and_bad_values(big):
    frame = big.iloc[:30_000]
    fit = models.sentence_length(frame, controls=["offence_group"], cluster="force")
    rec = models.sentence_length(
        frame, controls=["offence_group"], cluster="force", data_level="records"
    )
    np.testing.assert_allclose(fit.model.bse, rec.model.bse, atol=1e-8)
    custody = frame[frame["outcome"] == "immediate_custody"]
    sm_rec = smf.glm(
        "custody_months ~" + _rhs(fit), data=custody,
        family=sm.families.Gamma(sm.families.links.Log()),
    ).fit(tol=1e-12, cov_type="cluster", cov_kwds={"groups": pd.factorize(custody["force"])[0]})  # fmt: skip
    np.testing.assert_allclose(fit.model.bse, sm_rec.bse, atol=1e-8)
    bad = frame.copy()
    first = bad.index[bad["outcome"] == "immediate_custody"][0]
    bad.loc[first, "custody_months"] = 0.0
    with pytest.raises(ValidationError, match="0 or less"):
        models.sentence_length(bad)
    life = frame.copy()
    life.loc[first, "custody_months"] = np.nan
    out = models.sentence_length(life)
    assert out.exclusions["rows"].iloc[1] == 1
    with pytest.raises(ParameterError, match="method"):
        models.sentence_length(frame, method="ols")


# --------------------------------------------------------------------------------------------
# E-values and odds to probabilities
# --------------------------------------------------------------------------------------------


def test_e_value_published_example():
    """VanderWeele & Ding (2017), Ann Intern Med 167:268: RR 3.9 (95% CI 1.8 to 8.7) gives
    E-values 7.2 for the estimate and 3.0 for the lower limit. By hand:
    3.9 + sqrt(3.9 × 2.9) = 7.263 (the paper truncates to 7.2); 1.8 + sqrt(1.8 × 0.8) = 3.0."""
    out = models.e_value(3.9, 1.8)
    assert tuple(out.columns) == models.E_VALUE_COLUMNS
    assert out["e_value"].iloc[0] == pytest.approx(3.9 + math.sqrt(3.9 * 2.9), rel=1e-12)
    assert math.floor(out["e_value"].iloc[0] * 10) / 10 == 7.2
    assert out["e_value_ci"].iloc[0] == pytest.approx(3.0, abs=1e-12)


def test_e_value_protective_crossing_and_conversions():
    out = models.e_value([0.5, 1.3, 1.0], [0.8, 0.9, 1.0])
    e2 = 2 + math.sqrt(2)  # RR 0.5 -> 1/0.5 = 2
    assert out["e_value"].iloc[0] == pytest.approx(e2)
    assert out["e_value_ci"].iloc[0] == pytest.approx(1.25 + math.sqrt(1.25 * 0.25))
    assert out["e_value_ci"].iloc[1] == 1.0  # interval includes 1
    assert out["e_value"].iloc[2] == 1.0
    common = models.e_value(4.0, 2.25, scale="or_common")  # sqrt: RR 2, limit 1.5
    assert common["rr"].iloc[0] == 2.0
    assert common["e_value"].iloc[0] == pytest.approx(e2)
    assert common["e_value_ci"].iloc[0] == pytest.approx(1.5 + math.sqrt(0.75))
    assert models.e_value(2.0, scale="or_rare")["e_value"].iloc[0] == pytest.approx(e2)
    assert np.isnan(models.e_value(2.0)["e_value_ci"].iloc[0])
    with pytest.raises(ParameterError):
        models.e_value(-1.0)
    with pytest.raises(ParameterError, match="scale"):
        models.e_value(2.0, scale="hr")


def test_e_values_in_adjusted_table(fit_big):
    row = fit_big.adjusted.set_index("group").loc["Black"]
    ref = models.e_value(row["adjusted_rr"], row["ci_lower"])
    assert row["e_value"] == pytest.approx(ref["e_value"].iloc[0])
    assert row["e_value_ci"] == pytest.approx(ref["e_value_ci"].iloc[0])


def test_odds_to_probability_methods_example():
    # METHODS.md section 5: p0 = 0.37 and OR 1.5 give 0.468
    p1 = models.odds_to_probability(1.5, 0.37)
    assert p1 == pytest.approx(1.5 * 0.37 / 0.63 / (1 + 1.5 * 0.37 / 0.63), rel=1e-15)
    assert round(p1, 3) == 0.468
    np.testing.assert_allclose(models.odds_to_probability([1.0, 2.0], 0.5), [0.5, 2 / 3])
    with pytest.raises(ParameterError, match="p0"):
        models.odds_to_probability(1.5, 1.0)
    with pytest.raises(ParameterError, match="or_"):
        models.odds_to_probability(-1, 0.3)


# --------------------------------------------------------------------------------------------
# inverse-probability weighting
# --------------------------------------------------------------------------------------------


def test_ipw_balances_and_agrees_with_g_computation(big, fit_big):
    controls = ["offence_group", "previous_convictions"]
    ipw = models.ipw_check(big, outcome="custody", controls=controls)
    assert tuple(ipw.table.columns) == models.IPW_COLUMNS
    assert tuple(ipw.balance.columns) == models.BALANCE_COLUMNS
    black = ipw.table.set_index("group").loc["Black"]
    assert black["max_abs_smd_before"] > 0.1  # planted imbalance
    assert black["max_abs_smd_after"] < 0.01
    assert black["weighted_rr"] < black["rri"]
    # the outcome-model analogue: g-computation standardised to the Black group's case mix
    fit = models.logistic(big, outcome="custody", controls=controls)
    g = models.adjusted_rates(fit, standard="Black").set_index("group").loc["Black", "adjusted_rr"]
    assert black["weighted_rr"] == pytest.approx(g, rel=0.01)
    assert black["ci_lower"] < g < black["ci_upper"]
    assert set(ipw.model) == {"Black", "Asian", "Mixed", "Other", "Not stated"}
    ate = models.ipw_check(big, outcome="custody", controls=controls, estimand="ate")
    assert ate.table.set_index("group").loc["Black", "max_abs_smd_after"] < 0.02


def test_ipw_warns_without_overlap(big):
    frame = big.iloc[:10_000].copy()
    frame.loc[frame["ethnicity"] == "White", "plea"] = "guilty"
    frame.loc[frame.index[frame["ethnicity"] == "Black"][:20], "plea"] = "no_plea"
    with pytest.warns(DataQualityWarning, match="no overlap.*plea=no_plea"):
        models.ipw_check(frame, outcome="custody", controls=["plea", "offence_group"])


# --------------------------------------------------------------------------------------------
# change over time
# --------------------------------------------------------------------------------------------


def test_change_over_time_detects_planted_trend():
    frame = make_sentencing(30_000, seed=21, trend={"Black": {"2024": math.log(1.6)}})
    out = models.change_over_time(frame, outcome="custody", period="year", controls=CONTROLS)
    assert tuple(out.table.columns) == models.PERIOD_COLUMNS
    assert tuple(out.tests.columns) == models.TEST_COLUMNS
    tests = out.tests.set_index("group")
    assert tests.loc["all groups", "method"] == "likelihood ratio"
    assert tests.loc["all groups", "df"] == 5 * 2
    assert tests.loc["Black", "p_value"] < 0.001
    per = out.table.set_index(["group", "period"])
    assert per.loc[("Black", "2022"), "ci_lower"] < 1.25 < per.loc[("Black", "2022"), "ci_upper"]
    assert (
        per.loc[("Black", "2024"), "ci_lower"] < 1.25 * 1.6 < per.loc[("Black", "2024"), "ci_upper"]
    )
    # the LR statistic equals the record-level one
    data = frame.assign(_y=frame["custody"].astype(int))
    full = smf.glm("_y ~" + _rhs(out), data=data, family=sm.families.Binomial()).fit(tol=1e-12)
    restricted_rhs = out.info["restricted_formula"].split("~", 1)[1]
    restricted = smf.glm("_y ~" + restricted_rhs, data=data, family=sm.families.Binomial()).fit(
        tol=1e-12
    )
    lr = 2 * (full.llf - restricted.llf)
    assert tests.loc["all groups", "statistic"] == pytest.approx(lr, rel=1e-7)


def test_change_over_time_no_trend_and_cluster():
    frame = make_sentencing(30_000, seed=22)
    out = models.change_over_time(
        frame, outcome="custody", period="year", controls=["offence_group"], cluster="force"
    )
    assert out.tests["method"].iloc[0] == "Wald (cluster-robust)"
    assert out.tests["p_value"].iloc[0] > 0.001
    with pytest.raises(ParameterError, match="period_reference"):
        models.change_over_time(frame, outcome="custody", period="year", period_reference="2021")


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------


def test_single_level_control_is_dropped_with_a_warning(big):
    frame = big.iloc[:5000].assign(court_type="crown")
    with pytest.warns(DataQualityWarning, match=r"\['court_type'\].*single value"):
        fit = models.logistic(frame, outcome="custody", controls=["offence_group", "court_type"])
    assert fit.info["dropped_controls"] == ["court_type"]
    assert "court_type" not in set(fit.table["variable"])


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
