"""Adjusted models: logistic regression on collapsed cells, marginal standardisation, Poisson rate
models, sentence length, E-values, inverse-probability weighting and change over time.

The unadjusted RRI asks "how different are the outcomes?"; these models ask "how different are they
for people alike in offence, plea, history, age, sex and area?" (METHODS.md section 5).

One result type
---------------
Every model function returns a :class:`ModelResult`, a small read-only object with

- ``.table``: the tidy term table, exactly :data:`TERM_COLUMNS` (``term, ..., estimate, ...,
  ci_lower, ci_upper, p_value, status``) with the estimate on the ratio scale (odds ratio, rate
  ratio, ratio of means); :func:`change_over_time` gives per-period odds ratios
  (:data:`PERIOD_COLUMNS`) and :func:`ipw_check` weighted rate ratios (:data:`IPW_COLUMNS`);
- ``.adjusted``: adjusted rates and adjusted risk (rate, mean) ratios by marginal standardisation,
  exactly :data:`ADJUSTED_COLUMNS` (``group, adjusted_rate, adjusted_rr, ci_lower, ci_upper`` first),
  or ``None`` where the function has none;
- ``.model``: the fitted statsmodels results object (for :func:`ipw_check`, a dict of fitted
  scikit-learn propensity models), for diagnostics;
- ``.data``: the frame the model was fitted on (the collapsed cells, or the records);
- ``.tests`` (:func:`change_over_time`) and ``.balance`` (:func:`ipw_check`): further tables;
- ``.info``: formula, family, data level, records and cells used, controls used and dropped, each
  control's reference level, cluster, covariance type, alpha and plain-English ``notes``;
- ``.exclusions``: the exclusions ledger (also in ``table.attrs["exclusions"]``).

The fitted model is kept on the result rather than in ``DataFrame.attrs`` because pandas deep-copies
``attrs`` on every operation on a frame (slicing, rounding), which would copy the model and its data
each time.

Collapsed cells
---------------
With categorical covariates only, records sharing a covariate pattern are exchangeable, so the
models are fitted on one row per pattern (per cluster, when clustering): binomial successes out of
trials for :func:`logistic` (a two-column ``events + nonevents`` endog), and ``n``, ``Σy`` and
``Σy²`` for the Gamma and log-OLS sentence-length models. Estimates, standard errors and
cluster-robust standard errors equal those of the record-level fit (tested to 1e-8; see
``tests/models/``) and the fit takes a fraction of the time (``docs/performance.md``).

Formulas and designs
--------------------
Every model is stated as a statsmodels formula with its reference levels
(``C(ethnicity, Treatment(reference="White"))``), kept in ``info["formula"]`` and on the model
(``.model.model.formula``). The design matrix is built from the categorical codes with the names and
column order patsy gives that formula (:func:`_design`, tested equal to patsy's), because patsy
codes each value of a ``C(...)`` term in a Python loop; GLMs are fitted by statsmodels' IRLS with
each step solved on the normal equations (:func:`_irls`). The fitted model is a statsmodels
``GLMResults`` as ``smf.glm(...).fit()`` returns it, and ``predict`` takes data frames.

Modules
-------
The public modules hold the models: :mod:`~dispro.models.binary` (:func:`logistic`),
:mod:`~dispro.models.marginal` (:func:`adjusted_rates`), :mod:`~dispro.models.poisson`
(:func:`poisson_rates`, :func:`change_over_time`), :mod:`~dispro.models.lengths`
(:func:`sentence_length`), :mod:`~dispro.models.sensitivity` (:func:`ipw_check`, :func:`e_value`,
:func:`odds_to_probability`) and :mod:`~dispro.models.results` (:class:`ModelResult` and the
constants). :func:`fit_glm` (:mod:`~dispro.models.engine`) is the engine's public entry point
for other packages (the hit-rate model, the veil of darkness), and :func:`fit_binomial_batch` its
batched binomial fit (the change-over-time tests of ``stopsearch.trend_test``). The engine
itself is private: ``_prepare`` (records checked, encoded and collapsed to cells), ``_design`` (formulas and design matrices), ``_glm`` (the GLM, IRLS on the normal equations
with statsmodels' fit as the fallback, the cluster fix, the term table), ``_separation`` (the
exact separation check), ``_kernels`` (numpy kernels) and ``_fit`` (what the models share).
"""

from __future__ import annotations

from ._glm import GLM  # noqa: F401 - results pickled before the split name dispro.models.GLM
from .binary import logistic
from .engine import GLM_FAMILIES, fit_binomial_batch, fit_glm
from .lengths import sentence_length
from .marginal import adjusted_rates
from .poisson import change_over_time, poisson_rates
from .results import (  # noqa: F401 - FEW_CLUSTERS, OVERDISPERSION: conventions, not in __all__
    ADJUSTED_COLUMNS,
    BALANCE_COLUMNS,
    DATA_LEVELS,
    E_VALUE_COLUMNS,
    E_VALUE_SCALES,
    ESTIMANDS,
    FAMILIES,
    FEW_CLUSTERS,
    IMMEDIATE_CUSTODY,
    IPW_COLUMNS,
    LENGTH_METHODS,
    OVERDISPERSION,
    PERIOD_COLUMNS,
    RR_METHODS,
    TERM_COLUMNS,
    TERM_STATUSES,
    TEST_COLUMNS,
    ModelResult,
    SeparationWarning,
)
from .sensitivity import e_value, ipw_check, odds_to_probability

__all__ = [
    "TERM_COLUMNS",
    "ADJUSTED_COLUMNS",
    "PERIOD_COLUMNS",
    "TEST_COLUMNS",
    "IPW_COLUMNS",
    "BALANCE_COLUMNS",
    "E_VALUE_COLUMNS",
    "TERM_STATUSES",
    "DATA_LEVELS",
    "FAMILIES",
    "LENGTH_METHODS",
    "RR_METHODS",
    "E_VALUE_SCALES",
    "ESTIMANDS",
    "IMMEDIATE_CUSTODY",
    "ModelResult",
    "SeparationWarning",
    "logistic",
    "adjusted_rates",
    "poisson_rates",
    "sentence_length",
    "change_over_time",
    "ipw_check",
    "e_value",
    "odds_to_probability",
    "GLM_FAMILIES",
    "fit_glm",
    "fit_binomial_batch",
]
